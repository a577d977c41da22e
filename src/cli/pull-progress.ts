import type { PullEvent } from '../engine/images/pull.js';
import { humanSize } from './format.js';

/**
 * Docker's pull output. On a terminal: one line per layer, redrawn in
 * place ("a1b2c3d4e5f6: Downloading [=====>     ]  12.3MB/45.6MB"), at
 * most ten times a second. Otherwise: a plain line per change of state.
 * Hand-written (~60 lines): the layout is Docker's, not a progress-bar
 * library's, and nothing extra loads on `run`'s path.
 */
export class PullProgress {
  private readonly order: string[] = [];
  private readonly lines = new Map<string, string>();
  private drawn = 0;
  private last = 0;
  private readonly pending: string[] = [];
  /** True once the registry answered with a manifest: before that, a failure is the only line printed. */
  started = false;

  constructor(private readonly out: NodeJS.WriteStream, private readonly tty = !!out.isTTY) {}

  /** A line printed when the pull gets going (held back so that a pull that fails at once says one line). */
  header(text: string): void {
    if (this.started) this.out.write(`${text}\n`);
    else this.pending.push(text);
  }

  readonly onEvent = (e: PullEvent): void => {
    if (e.type === 'resolved') {
      this.started = true;
      for (const line of this.pending.splice(0)) this.out.write(`${line}\n`);
      this.header(`${e.tag}: Pulling from ${e.path}`);
    } else if (e.type === 'warning') {
      this.flush();
      process.stderr.write(`WARNING: ${e.message}\n`);
    } else if (e.type === 'layer') {
      const text = { waiting: 'Pulling fs layer', exists: 'Already exists', complete: 'Pull complete' }[e.state];
      this.set(e.digest, text, true);
    } else if (e.type === 'progress' && this.tty) {
      const width = 50;
      const done = Math.min(width, Math.floor((e.bytes / Math.max(1, e.total)) * width));
      const bar = `[${'='.repeat(Math.max(0, done - 1))}${done ? '>' : ''}${' '.repeat(width - done)}]`;
      this.set(e.digest, `Downloading ${bar} ${humanSize(e.bytes)}/${humanSize(e.total)}`, false);
    }
  };

  private set(digest: string, text: string, important: boolean): void {
    const id = digest.slice(7, 19);
    if (!this.lines.has(id)) this.order.push(id);
    this.lines.set(id, text);
    if (!this.tty) {
      this.out.write(`${id}: ${text}\n`);
      return;
    }
    const now = Date.now();
    if (!important && now - this.last < 100) return;
    this.last = now;
    this.redraw();
  }

  private redraw(): void {
    let s = this.drawn ? `\x1b[${this.drawn}A` : '';
    for (const id of this.order) s += `\x1b[2K${id}: ${this.lines.get(id)}\n`;
    this.drawn = this.order.length;
    this.out.write(s);
  }

  /** Ends the layer block: later output goes below it. */
  flush(): void {
    if (this.tty && this.order.length) this.redraw();
    this.order.length = 0;
    this.lines.clear();
    this.drawn = 0;
  }
}
