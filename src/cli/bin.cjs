#!/usr/bin/env node
'use strict';
// The `portal-sync` command. The CLI is TypeScript run through tsx, as `npm start` runs it, so a
// checkout needs no build step.
require('tsx/cjs');
require('./main.ts').runCli(process.argv);
