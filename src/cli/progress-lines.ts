import { humanSize } from './format.js';

/**
 * A block of progress lines on a terminal, one per item (a layer, a blob),
 * redrawn in place: each line is cut to the terminal's width, so that none
 * wraps and the cursor moves back over exactly the lines drawn (a wrapped
 * line would leave a copy of the block in the scrollback at each redraw).
 * Off a terminal, a plain line per change of state. Hand-written (~80
 * lines): the layout is Docker's, and nothing extra loads on `run`'s path.
 */
export class LineBlock {
  private readonly order: string[] = [];
  private readonly lines = new Map<string, string>();
  private drawn = 0;
  private last = 0;

  constructor(private readonly out: NodeJS.WriteStream, readonly tty = !!out.isTTY) {}

  /** The terminal's width now (it may change during a pull); 80 when it does not say. */
  columns(): number {
    return this.out.columns || 80;
  }

  /** Sets an item's line; on a terminal, redrawn at most ten times a second unless `important`. */
  set(id: string, text: string, important: boolean): void {
    if (!this.lines.has(id)) this.order.push(id);
    this.lines.set(id, text);
    if (!this.tty) {
      this.out.write(`${id}: ${plain(text)}\n`);
      return;
    }
    const now = Date.now();
    if (!important && now - this.last < 100) return;
    this.last = now;
    this.redraw();
  }

  private redraw(): void {
    const width = this.columns();
    let s = this.drawn ? `\x1b[${this.drawn}A` : '';
    for (const id of this.order) s += `\r\x1b[2K${fit(`${id}: ${this.lines.get(id)}`, width)}\n`;
    this.drawn = this.order.length;
    this.out.write(s);
  }

  /** Ends the block: later output goes below it. */
  flush(): void {
    if (this.tty && this.order.length) this.redraw();
    this.order.length = 0;
    this.lines.clear();
    this.drawn = 0;
  }
}

const ESC = /\x1b\[[0-9;]*m/g;

function plain(s: string): string {
  return s.replace(ESC, '');
}

/** The line cut to width - 1 visible characters (the last column would wrap on some terminals); colour codes do not count. */
export function fit(line: string, width: number): string {
  const max = Math.max(1, width - 1);
  if (plain(line).length <= max) return line;
  let out = '';
  let seen = 0;
  for (let i = 0; i < line.length && seen < max;) {
    const m = /^\x1b\[[0-9;]*m/.exec(line.slice(i));
    if (m) {
      out += m[0];
      i += m[0].length;
      continue;
    }
    out += line[i++];
    seen++;
  }
  return line.includes('\x1b[') ? `${out}\x1b[0m` : out;
}

/**
 * "Downloading [=====>     ]  12.3MB/45.6MB", its bar as wide as the
 * terminal leaves room for beside the id (at most Docker's 50; none on a
 * very narrow one).
 */
export function progressText(verb: string, bytes: number, total: number, columns: number, idWidth = 14): string {
  const sizes = `${humanSize(bytes)}/${humanSize(total)}`;
  const room = columns - 1 - idWidth - verb.length - sizes.length - 4;
  const width = Math.min(50, room);
  if (width < 10) return `${verb} ${sizes}`;
  const done = Math.min(width, Math.floor((bytes / Math.max(1, total)) * width));
  return `${verb} [${'='.repeat(Math.max(0, done - 1))}${done ? '>' : ''}${' '.repeat(width - done)}] ${sizes}`;
}

/**
 * Colour as Docker's and Podman's users see it on a terminal (a finished
 * step green, a warning yellow); none off a terminal or with NO_COLOR
 * (https://no-color.org: set and not empty).
 */
export function palette(out: NodeJS.WriteStream, env: NodeJS.ProcessEnv = process.env): { green(s: string): string; yellow(s: string): string } {
  const on = !!out.isTTY && !env.NO_COLOR && env.TERM !== 'dumb';
  const wrap = (code: number) => (s: string) => (on ? `\x1b[${code}m${s}\x1b[0m` : s);
  return { green: wrap(32), yellow: wrap(33) };
}

/**
 * One line of progress for a whole archive (save -o, load -i), on stderr
 * when it is a terminal: redrawn in place at most ten times a second from
 * `bytes()`, which is polled (the file's size, the read stream's count),
 * so the archive's own stream is never touched. With a total, a bar;
 * without, the bytes so far. Nothing off a terminal.
 */
export function archiveProgress(verb: string, bytes: () => number, total?: number, out: NodeJS.WriteStream = process.stderr): { end(ok: boolean): void } {
  if (!out.isTTY) return { end: () => {} };
  const draw = () => {
    const columns = out.columns || 80;
    const n = bytes();
    const text = total ? progressText(verb, n, total, columns, 0) : `${verb} ${humanSize(n)}`;
    out.write(`\r\x1b[2K${fit(text, columns)}`);
  };
  const timer = setInterval(draw, 100);
  timer.unref();
  return {
    end(ok) {
      clearInterval(timer);
      if (ok) {
        draw();
        out.write('\n');
      } else {
        out.write('\r\x1b[2K');
      }
    },
  };
}
