/** Where a command's result goes: JSON alone with --json, text for people otherwise. */
export interface Output {
  readonly json: boolean;
  /** The command's result: `value` as JSON with --json, else the text `human` makes of it. */
  result<T>(value: T, human: (value: T) => string[]): void;
  /** A line for people only (nothing with --json, which keeps stdout to the result). */
  say(line: string): void;
}

export function createOutput(options: { json?: boolean }, stdout: NodeJS.WritableStream = process.stdout): Output {
  const json = options.json === true;
  return {
    json,
    result(value, human) {
      stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${human(value).join('\n')}\n`);
    },
    say(line) {
      if (!json) stdout.write(`${line}\n`);
    },
  };
}

/** One JSON object a line, for the events of a long-running process command with --json. */
export function jsonEvent(event: Record<string, unknown>, stdout: NodeJS.WritableStream = process.stdout): void {
  stdout.write(`${JSON.stringify(event)}\n`);
}
