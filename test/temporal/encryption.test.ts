import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { WorkflowFailedError, type Client } from '@temporalio/client';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectTemporal, type TemporalConnection } from '../../src/dev/local-infra';
import { temporalConnectionOptions } from '../../src/temporal/connection-options';
import { encodingFailureConverterPath } from '../../src/temporal/data-converter';
import { EncryptionCodec, encryptedEncoding, encryptionKeyFromBase64, keyIdMetadataKey } from '../../src/temporal/encryption-codec';
import { startTemporal } from '../support/temporal';
import type { activityRefusesWorkflow, echoWorkflow, EchoActivities, workflowRefusesWorkflow } from './workflows/echo';

const key = encryptionKeyFromBase64('2026-01', randomBytes(32).toString('base64'));
const codec = new EncryptionCodec(key);
const text = (payload: Payload) => Buffer.from(payload.data ?? new Uint8Array()).toString('utf8');
const metadata = (payload: Payload, name: string) => Buffer.from(payload.metadata?.[name] ?? new Uint8Array()).toString('utf8');

describe('the encryption codec', () => {
  it('encrypts a payload, metadata and all, and decrypts it again', async () => {
    const plain = defaultPayloadConverter.toPayload({ clientNumber: '1001', note: 'plaintext-marker' });
    const [encrypted] = await codec.encode([plain]);
    expect(metadata(encrypted!, 'encoding')).toBe(encryptedEncoding);
    expect(metadata(encrypted!, keyIdMetadataKey)).toBe('2026-01');
    expect(Object.keys(encrypted!.metadata ?? {}).sort()).toEqual(['encoding', keyIdMetadataKey].sort());
    expect(text(encrypted!)).not.toContain('plaintext-marker');
    expect(text(encrypted!)).not.toContain('json/plain');

    const [decrypted] = await codec.decode([encrypted!]);
    expect(defaultPayloadConverter.fromPayload(decrypted!)).toEqual({ clientNumber: '1001', note: 'plaintext-marker' });
    expect(metadata(decrypted!, 'encoding')).toBe('json/plain');
  });

  it('encrypts the same payload differently each time (a fresh IV)', async () => {
    const plain = defaultPayloadConverter.toPayload('same');
    const [first, second] = await codec.encode([plain, plain]);
    expect(Buffer.from(first!.data!).equals(Buffer.from(second!.data!))).toBe(false);
  });

  it('passes plain payloads and payloads of another key through on decode', async () => {
    const plain = defaultPayloadConverter.toPayload('written before encryption was on');
    const other = new EncryptionCodec(encryptionKeyFromBase64('2025-12', randomBytes(32).toString('base64')));
    const [ofOtherKey] = await other.encode([plain]);
    const [stillPlain, stillEncrypted] = await codec.decode([plain, ofOtherKey!]);
    expect(stillPlain).toBe(plain);
    expect(stillEncrypted).toBe(ofOtherKey);
  });

  it('refuses an altered payload, or one of the same key id under another key, naming the key and not the data', async () => {
    const [encrypted] = await codec.encode([defaultPayloadConverter.toPayload('secret')]);
    const altered = Buffer.from(encrypted!.data!);
    altered[altered.length - 20]! ^= 1;
    await expect(codec.decode([{ ...encrypted!, data: altered }])).rejects.toThrow(/key 2026-01 does not decrypt.*wrong key or altered payload/);
    const impostor = new EncryptionCodec(encryptionKeyFromBase64('2026-01', randomBytes(32).toString('base64')));
    await expect(impostor.decode([encrypted!])).rejects.toThrow(/does not decrypt/);
  });

  it('takes keys of 32 bytes only', () => {
    expect(() => encryptionKeyFromBase64('short', randomBytes(16).toString('base64'))).toThrow(/32 bytes.*16 bytes/);
  });
});

describe('a workflow run with encryption on', () => {
  let env: TestWorkflowEnvironment;
  let bundle: WorkflowBundleWithSourceMap;
  let connected: TemporalConnection;
  let encrypting: Client;
  const marker = `marker-${randomBytes(6).toString('hex')}`;
  const taskQueue = `encryption-${randomBytes(4).toString('hex')}`;
  const activities: EchoActivities = {
    shout: async (input) => input.toUpperCase(),
    refuse: async (input) => {
      throw new Error(`the activity refuses ${input}`);
    },
  };

  beforeAll(async () => {
    [env, bundle] = await Promise.all([
      startTemporal(),
      bundleWorkflowCode({
        workflowsPath: path.resolve(__dirname, 'workflows', 'echo.ts'),
        failureConverterPath: encodingFailureConverterPath,
        logger: { trace: () => undefined, debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined, log: () => undefined },
      }),
    ]);
    // As the service connects: the configured key gives the client, and the worker, the codec.
    const options = temporalConnectionOptions({ TEMPORAL_ENCRYPTION_KEY: key.key.toString('base64'), TEMPORAL_ENCRYPTION_KEY_ID: key.id });
    connected = await connectTemporal(env.address, env.namespace ?? 'default', options);
    encrypting = connected.client;
  });

  afterAll(async () => {
    await connected?.close();
    await env?.teardown();
  });

  async function withWorker<T>(run: () => Promise<T>): Promise<T> {
    const worker = await Worker.create({
      connection: connected.connection,
      namespace: connected.namespace,
      taskQueue,
      workflowBundle: bundle,
      activities,
      dataConverter: connected.dataConverter,
    });
    return worker.runUntil(run);
  }

  /** The history as Temporal stores it, read by a client without the codec. */
  async function storedHistory(workflowId: string) {
    const history = await env.client.workflow.getHandle(workflowId).fetchHistory();
    return { history, bytes: Buffer.from(temporal.api.history.v1.History.encode(history).finish()) };
  }

  it('stores no plaintext of inputs, activity arguments or results, and decodes with the codec', async () => {
    const workflowId = `echo-${taskQueue}`;
    const result = await withWorker(() =>
      encrypting.workflow.execute<typeof echoWorkflow>('echoWorkflow', { workflowId, taskQueue, args: [marker] }),
    );
    expect(result).toBe(marker.toUpperCase());

    const { history, bytes } = await storedHistory(workflowId);
    expect(bytes.includes(marker)).toBe(false);
    expect(bytes.includes(marker.toUpperCase())).toBe(false);
    expect(bytes.includes('json/plain')).toBe(false);

    const started = history.events?.find((event) => event.workflowExecutionStartedEventAttributes)?.workflowExecutionStartedEventAttributes;
    const input = started?.input?.payloads?.[0] as Payload;
    expect(metadata(input, 'encoding')).toBe(encryptedEncoding);
    const [decoded] = await codec.decode([input]);
    expect(defaultPayloadConverter.fromPayload(decoded!)).toBe(marker);

    // A client without the key cannot read the result.
    await expect(env.client.workflow.getHandle(workflowId).result()).rejects.toThrow(/binary\/encrypted/);
  });

  it('stores failure messages and stack traces encrypted, and the client with the key reads them', async () => {
    for (const workflowType of ['activityRefusesWorkflow', 'workflowRefusesWorkflow'] as const) {
      const workflowId = `${workflowType}-${taskQueue}`;
      const failure = await withWorker(() =>
        encrypting.workflow
          .execute<typeof activityRefusesWorkflow | typeof workflowRefusesWorkflow>(workflowType, { workflowId, taskQueue, args: [marker] })
          .then(() => undefined, (error: unknown) => error),
      );
      expect(failure).toBeInstanceOf(WorkflowFailedError);
      const messages: string[] = [];
      for (let cause: unknown = failure; cause instanceof Error; cause = cause.cause) messages.push(cause.message);
      expect(messages.join(' | '), workflowType).toContain(`refuses ${marker}`);

      const { history, bytes } = await storedHistory(workflowId);
      expect(bytes.includes(marker), workflowType).toBe(false);
      expect(bytes.includes('refuses'), workflowType).toBe(false);
      const failed = history.events?.find((event) => event.workflowExecutionFailedEventAttributes)?.workflowExecutionFailedEventAttributes;
      expect(failed?.failure?.message).toBe('Encoded failure');
      const innermost = failed?.failure?.cause ?? failed?.failure;
      const [attributes] = await codec.decode([innermost?.encodedAttributes as Payload]);
      expect(defaultPayloadConverter.fromPayload<{ message: string }>(attributes!).message).toContain(`refuses ${marker}`);
    }
  });
});
