import { closeSync, openSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resizeConmonTerminal } from '../../runtime/conmon.js';
import { containerDir } from './paths.js';
import type { ContainerRecord } from './store.js';
import type { Engine } from '../engine.js';
import { EngineError } from '../../util/errors.js';
import type { CallerContext } from '../context.js';

// conmon's attach socket is SOCK_SEQPACKET, which node's net cannot open
// (docs/decisions.md); loaded only by `attach` and `start -a`.
const require = createRequire(import.meta.url);
type Seqpacket = import('node-unix-socket').SeqpacketSocket;

/* conmon's stream numbers (its stdpipe_t) */
const PIPE_STDOUT = 2;
const PIPE_STDERR = 3;

export interface Attachment {
  /** Resolves 'ended' when the container's output ended, 'detached' when the user typed the detach keys. */
  done: Promise<'ended' | 'detached'>;
}

/**
 * Connects to the attach socket conmon keeps for a detached container:
 * its output (each packet tagged stdout or stderr) to the caller's, the
 * caller's input to the container's (when it was created with -i), window
 * sizes through conmon's control FIFO. Resolves once connected, so a caller can start the
 * container without losing its first output.
 */
export function attach(engine: Engine, rec: ContainerRecord, opts: { stdin: boolean; detachKeys: Buffer }, ctx: CallerContext): Promise<Attachment> {
  const { SeqpacketSocket } = require('node-unix-socket') as typeof import('node-unix-socket');
  const bundle = containerDir(engine, rec.id);
  // The socket path is longer than sun_path allows; a directory descriptor shortens it.
  const dirFd = openSync(bundle, 'r');
  const sock: Seqpacket = new SeqpacketSocket();
  return new Promise((resolveConnect, rejectConnect) => {
    sock.once('error', (e: Error) => {
      closeSync(dirFd);
      rejectConnect(new EngineError(`cannot attach to ${rec.name}: ${e.message} (is it running, and detached?)`));
    });
    sock.connect(`/proc/self/fd/${dirFd}/attach`, () => {
      closeSync(dirFd);
      resolveConnect({ done: pump(sock, rec, bundle, opts, ctx) });
    });
  });
}

function pump(sock: Seqpacket, rec: ContainerRecord, bundle: string, opts: { stdin: boolean; detachKeys: Buffer }, ctx: CallerContext): Promise<'ended' | 'detached'> {
  const { stdout, stderr, terminal } = ctx.streams;
  const input = opts.stdin && rec.spec.interactive ? ctx.streams.stdin : undefined;
  return new Promise((resolve) => {
    let finished = false;
    const raw = rec.spec.tty && !!terminal?.input && !!input;
    let stopResize: (() => void) | undefined;
    const cleanup = () => {
      input?.off('data', onInput);
      stopResize?.();
      if (raw) terminal!.setRaw(false);
      // An open input (the user detached) would keep the caller alive.
      input?.destroy();
    };
    const finish = (how: 'ended' | 'detached') => {
      if (finished) return;
      finished = true;
      cleanup();
      try { sock.destroy(); } catch { /* closed */ }
      resolve(how);
    };
    sock.on('data', (buf: Buffer) => {
      if (!buf.length) return;
      const data = buf.subarray(1);
      if (buf[0] === PIPE_STDERR) stderr.write(data);
      else if (buf[0] === PIPE_STDOUT) stdout.write(data);
    });
    sock.on('end', () => finish('ended'));
    sock.on('error', () => finish('ended'));
    const resize = () => {
      const size = terminal?.size();
      if (size) resizeConmonTerminal(bundle, size);
    };
    // Detach keys are matched across reads; bytes of a partial match are held back.
    let held = Buffer.alloc(0);
    const onInput = (chunk: Buffer) => {
      let data = Buffer.concat([held, chunk]);
      held = Buffer.alloc(0);
      const keys = opts.detachKeys;
      if (keys.length) {
        const at = data.indexOf(keys);
        if (at >= 0) {
          if (at > 0) sock.write(data.subarray(0, at));
          finish('detached');
          return;
        }
        for (let n = Math.min(keys.length - 1, data.length); n > 0; n--) {
          if (data.subarray(data.length - n).equals(keys.subarray(0, n))) {
            held = data.subarray(data.length - n);
            data = data.subarray(0, data.length - n);
            break;
          }
        }
      }
      if (data.length) sock.write(data);
    };
    if (rec.spec.tty && terminal) {
      resize();
      stopResize = terminal.onResize(resize);
    }
    // The caller went away (an API client that disconnected): the session ends, the container goes on.
    if (ctx.signal) {
      if (ctx.signal.aborted) finish('detached');
      else ctx.signal.addEventListener('abort', () => finish('detached'), { once: true });
    }
    if (input) {
      if (raw) terminal!.setRaw(true);
      input.on('data', onInput);
      // End of the caller's input closes the container's (conmon shuts its stdin pipe).
      input.on('end', () => { if (!finished) sock.end(); });
      input.resume();
    }
  });
}
