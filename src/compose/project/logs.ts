import { Writable } from 'node:stream';
import type { CallerContext, ContainerSummary, Services } from '../../engine/index.js';

const COLOURS = [36, 33, 32, 35, 34, 96, 93, 92, 95, 94];

/**
 * A stream that writes each line with `prefix` in front (Compose's
 * `name  | `), holding a partial line until its end arrives, so that two
 * containers' output interleaves by lines, never inside one.
 */
export function prefixed(prefix: string, out: NodeJS.WritableStream | Writable): Writable {
  let rest = '';
  return new Writable({
    write(chunk: Buffer | string, _enc, cb) {
      const text = rest + chunk.toString();
      const lines = text.split('\n');
      rest = lines.pop()!;
      if (lines.length) out.write(lines.map((l) => `${prefix}${l}\n`).join(''));
      cb();
    },
    final(cb) {
      if (rest) out.write(`${prefix}${rest}\n`);
      cb();
    },
  });
}

/** `name  | ` padded to the longest name, coloured on a terminal. */
export function prefixes(names: string[], colour: boolean): Map<string, string> {
  const width = Math.max(0, ...names.map((n) => n.length));
  return new Map(names.map((n, i) => {
    const p = `${n.padEnd(width)}  | `;
    return [n, colour ? `\x1b[${COLOURS[i % COLOURS.length]}m${p}\x1b[0m` : p];
  }));
}

export interface ProjectLogsOptions {
  follow?: boolean;
  tail?: number;
  timestamps?: boolean;
  colour: boolean;
  /** Called when a container's log ends (it exited, with follow). */
  ended?: (c: ContainerSummary) => void;
}

/** Each container's log to the caller's stdout, every line prefixed with its name; all at once with follow. */
export async function projectLogs(svc: Services, cs: ContainerSummary[], opts: ProjectLogsOptions, ctx: CallerContext): Promise<void> {
  const pre = prefixes(cs.map((c) => c.name), opts.colour);
  const one = async (c: ContainerSummary) => {
    const out = prefixed(pre.get(c.name)!, ctx.streams.stdout);
    const err = prefixed(pre.get(c.name)!, ctx.streams.stderr);
    try {
      await svc.containers.logs(c.id, { follow: !!opts.follow, tail: opts.tail, timestamps: !!opts.timestamps }, {
        ...ctx, streams: { stdout: out, stderr: err },
      });
    } finally {
      // Ended and flushed (a last line without its newline) before the caller hears that this log is done.
      await Promise.all([new Promise<void>((r) => out.end(r)), new Promise<void>((r) => err.end(r))]);
    }
    opts.ended?.(c);
  };
  if (opts.follow) await Promise.all(cs.map(one));
  else for (const c of cs) await one(c);
}
