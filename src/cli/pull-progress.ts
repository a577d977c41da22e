import type { PullEvent } from '../engine/images/pull.js';
import { LineBlock, palette, progressText } from './progress-lines.js';

/**
 * Docker's pull output. On a terminal: one line per layer, redrawn in
 * place and fitted to the terminal's width ("a1b2c3d4e5f6: Downloading
 * [=====>     ]  12.3MB/45.6MB"), at most ten times a second. Otherwise: a
 * plain line per change of state.
 */
export class PullProgress {
  private readonly block: LineBlock;
  private readonly colour: ReturnType<typeof palette>;
  private readonly pending: string[] = [];
  /** True once the registry answered with a manifest: before that, a failure is the only line printed. */
  started = false;

  constructor(private readonly out: NodeJS.WriteStream, tty = !!out.isTTY) {
    this.block = new LineBlock(out, tty);
    this.colour = palette(out);
  }

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
      process.stderr.write(`${palette(process.stderr).yellow('WARNING')}: ${e.message}\n`);
    } else if (e.type === 'layer') {
      const text = { waiting: 'Pulling fs layer', exists: 'Already exists', complete: this.colour.green('Pull complete') }[e.state];
      this.block.set(e.digest.slice(7, 19), text, true);
    } else if (e.type === 'progress' && this.block.tty) {
      this.block.set(e.digest.slice(7, 19), progressText('Downloading', e.bytes, e.total, this.block.columns()), false);
    }
  };

  /** Ends the layer block: later output goes below it. */
  flush(): void {
    this.block.flush();
  }
}
