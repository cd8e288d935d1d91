/**
 * Progress of long work (an offboarding's steps, a reconcile run). On a terminal a block of lines
 * is drawn and redrawn in place, with a spinner; anywhere else (a pipe, a log, CI) each change is
 * one plain line, and nothing is redrawn. With --json there is no progress at all.
 */
export interface LiveView {
  /** Terminal: redraw the block (`spinner` is the current frame). Elsewhere: ignored. */
  frame(render: (spinner: string) => string[]): void;
  /** Elsewhere: print this line. Terminal: ignored (the frame shows it). */
  change(line: string): void;
  /**
   * Ends the view with these lines. A terminal keeps the last frame (drawn without spinner) above
   * them, or erases it with `erase` (when the lines say it all).
   */
  close(lines?: string[], options?: { erase?: boolean }): void;
}

const spinnerFrames = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const tickMs = 100;

export function createLiveView(options: { json: boolean; stream?: NodeJS.WriteStream }): LiveView {
  const stream = options.stream ?? process.stdout;
  if (options.json) return { frame: () => undefined, change: () => undefined, close: () => undefined };
  if (!stream.isTTY) {
    return {
      frame: () => undefined,
      change: (line) => void stream.write(`${line}\n`),
      close: (lines = []) => void (lines.length > 0 && stream.write(`${lines.join('\n')}\n`)),
    };
  }
  return new TerminalView(stream);
}

class TerminalView implements LiveView {
  private render: ((spinner: string) => string[]) | undefined;
  private drawnLines = 0;
  private tick = 0;
  private readonly timer: NodeJS.Timeout;
  private readonly restoreCursor = () => this.stream.write('\x1b[?25h');

  constructor(private readonly stream: NodeJS.WriteStream) {
    this.stream.write('\x1b[?25l');
    process.once('exit', this.restoreCursor);
    this.timer = setInterval(() => {
      this.tick += 1;
      this.draw();
    }, tickMs);
  }

  frame(render: (spinner: string) => string[]): void {
    this.render = render;
    this.draw();
  }

  change(): void {}

  close(lines: string[] = [], { erase = false } = {}): void {
    clearInterval(this.timer);
    if (erase) {
      this.stream.write(`${this.drawnLines > 0 ? `\x1b[${this.drawnLines}F` : ''}\x1b[0J`);
      this.drawnLines = 0;
    } else this.draw(' ');
    this.restoreCursor();
    process.removeListener('exit', this.restoreCursor);
    if (lines.length > 0) this.stream.write(`${lines.join('\n')}\n`);
  }

  private draw(spinner = spinnerFrames[this.tick % spinnerFrames.length] ?? '-'): void {
    if (!this.render) return;
    // Lines are cut to the terminal's width: a wrapped line would throw off the redraw.
    const width = Math.max(20, (this.stream.columns || 80) - 1);
    const lines = this.render(spinner).map((line) => (line.length > width ? `${line.slice(0, width - 1)}…` : line));
    const up = this.drawnLines > 0 ? `\x1b[${this.drawnLines}F` : '';
    this.stream.write(`${up}\x1b[0J${lines.join('\n')}\n`);
    this.drawnLines = lines.length;
  }
}
