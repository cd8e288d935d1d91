import type { CoErrorBody, CoServiceErrorCode } from '../../portals/client-online/api';

/** A refusal the simulated service answers as `{"error":{"code","message"}}` with its status. */
export class ClientOnlineSimulatorError extends Error {
  readonly status: number;
  readonly code: CoServiceErrorCode;

  constructor(status: number, code: CoServiceErrorCode, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }

  get body(): CoErrorBody {
    return errorBody(this.code, this.message);
  }
}

export function errorBody(code: CoServiceErrorCode, message: string): CoErrorBody {
  return { error: { code, message } };
}
