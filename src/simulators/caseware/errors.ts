/** A refusal the simulated service answers as `{"errors":[{"message":...}]}` with its status. */
export class SimulatorError extends Error {
  readonly status: number;
  readonly messages: string[];

  constructor(status: number, message: string | string[]) {
    const messages = Array.isArray(message) ? message : [message];
    super(messages.join('; '));
    this.status = status;
    this.messages = messages;
  }
}
