/* eslint-disable @typescript-eslint/no-require-imports, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-member-access */
// The failure converter of an encrypting data converter: failure messages and stack traces go into
// a payload (encodeCommonAttributes), so that the payload codec encrypts them with everything else.
//
// The SDK loads this module by path (DataConverter.failureConverterPath) twice: webpack bundles it
// into the workflow sandbox, and the client and the worker's main thread `require()` it. Under tsx
// that require compiles TypeScript; under vitest it is Node's own, which reads the file as plain
// JavaScript. So this file is written in the part of TypeScript that is also CommonJS JavaScript.
const { DefaultFailureConverter } = require('@temporalio/common');

exports.failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
