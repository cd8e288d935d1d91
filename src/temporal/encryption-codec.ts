import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { METADATA_ENCODING_KEY, type Payload, type PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';

// Payloads (workflow and activity arguments, results, signals, failure messages) are what Temporal
// stores in its history. They carry record ids, not personal data, but a firm that keeps its
// Temporal server elsewhere (Temporal Cloud, a shared cluster) may want the server to hold nothing
// it can read at all: this codec encrypts every payload before it leaves the process.

/** The encoding of an encrypted payload; its data is IV, ciphertext and GCM tag of the original Payload message. */
export const encryptedEncoding = 'binary/encrypted';
/** Names the key a payload was encrypted with, so that a key can be told from another after a rotation. */
export const keyIdMetadataKey = 'encryption-key-id';

const algorithm = 'aes-256-gcm';
const ivBytes = 12;
const tagBytes = 16;

export interface EncryptionKey {
  id: string;
  /** 32 bytes. */
  key: Buffer;
}

/** Reads a key as configured: base64 of 32 random bytes (`openssl rand -base64 32`). */
export function encryptionKeyFromBase64(id: string, base64: string): EncryptionKey {
  const key = Buffer.from(base64, 'base64');
  if (key.length !== 32) throw new Error(`the encryption key ${id} must be 32 bytes in base64 (openssl rand -base64 32); it is ${key.length} bytes`);
  return { id, key };
}

/**
 * Encrypts every payload with AES-256-GCM: the whole Payload message (metadata and data) becomes
 * the ciphertext, so not even the original encoding is visible. Decoding leaves alone what it did
 * not encrypt: plain payloads (written before encryption was switched on) and payloads of another
 * key id, which the payload converter then refuses with a message naming their encoding.
 */
export class EncryptionCodec implements PayloadCodec {
  private readonly keyId: Uint8Array;

  constructor(private readonly key: EncryptionKey) {
    if (key.key.length !== 32) throw new Error(`the encryption key ${key.id} must be 32 bytes`);
    this.keyId = Buffer.from(key.id, 'utf8');
  }

  // Synchronous work, but a failure must reject the promise rather than throw at the call.
  encode(payloads: Payload[]): Promise<Payload[]> {
    return Promise.resolve().then(() => payloads.map((payload) => this.encrypt(payload)));
  }

  decode(payloads: Payload[]): Promise<Payload[]> {
    return Promise.resolve().then(() => payloads.map((payload) => (this.isOurs(payload) ? this.decrypt(payload) : payload)));
  }

  private encrypt(payload: Payload): Payload {
    const plain = temporal.api.common.v1.Payload.encode(payload).finish();
    const iv = randomBytes(ivBytes);
    const cipher = createCipheriv(algorithm, this.key.key, iv);
    const sealed = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
    return {
      metadata: { [METADATA_ENCODING_KEY]: Buffer.from(encryptedEncoding, 'utf8'), [keyIdMetadataKey]: this.keyId },
      data: sealed,
    };
  }

  private decrypt(payload: Payload): Payload {
    const sealed = Buffer.from(payload.data ?? new Uint8Array());
    if (sealed.length < ivBytes + tagBytes) throw new Error(`an encrypted payload of key ${this.key.id} is too short to decrypt`);
    const decipher = createDecipheriv(algorithm, this.key.key, sealed.subarray(0, ivBytes));
    decipher.setAuthTag(sealed.subarray(sealed.length - tagBytes));
    let plain: Buffer;
    try {
      plain = Buffer.concat([decipher.update(sealed.subarray(ivBytes, sealed.length - tagBytes)), decipher.final()]);
    } catch {
      // GCM checks integrity: a wrong key under the same id, or a changed payload.
      throw new Error(`an encrypted payload of key ${this.key.id} does not decrypt with the configured key: wrong key or altered payload`);
    }
    return temporal.api.common.v1.Payload.decode(plain);
  }

  private isOurs(payload: Payload): boolean {
    const metadata = payload.metadata ?? {};
    const encoding = metadata[METADATA_ENCODING_KEY];
    const keyId = metadata[keyIdMetadataKey];
    return (
      encoding !== undefined &&
      keyId !== undefined &&
      Buffer.from(encoding).toString('utf8') === encryptedEncoding &&
      Buffer.from(keyId).equals(this.keyId)
    );
  }
}
