// A refused registry operation, the one error type every registry module throws and the API maps
// to a status code (src/api/errors.ts).

export type RegistryErrorCode = 'not-found' | 'conflict' | 'rule';

/**
 * A refused registry operation. Messages name record ids and client numbers only, never personal
 * data, because they end up in logs and API responses.
 */
export class RegistryError extends Error {
  override readonly name = 'RegistryError';

  constructor(
    readonly code: RegistryErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export function isRegistryError(error: unknown): error is RegistryError {
  return error instanceof RegistryError;
}
