import { PassThrough, type Readable } from 'node:stream';
import { setEntryPath } from '../src/engine/engine.js';
import { after, before } from 'node:test';
import { openServices, type CallerContext, type Services } from '../src/engine/index.js';
import { BIN, Sandbox } from './helpers.js';

/**
 * Helpers for contract tests: they call the engine's services directly,
 * in this process, with no CLI and no text parsing. Each test file gets
 * a store of its own (a Sandbox's directories, set in process.env before
 * the engine is opened, as the CLI would see them), and callers whose
 * output is collected in memory.
 */

export interface ContractStore {
  /** The sandbox behind the store: its `ok`/`run` drive the CLI over the same store (e.g. `importBusybox` for setup). */
  sb: Sandbox;
  services: Services;
  /** Closes the services and removes the store, its namespace holder included. */
  close(): void;
}

/**
 * A sandbox whose store this process's engine uses too (its directories
 * set in process.env, where the engine looks when it opens), for tests
 * that open the services themselves.
 */
export function isolatedSandbox(name: string): Sandbox {
  const sb = new Sandbox(name);
  for (const k of ['XDG_DATA_HOME', 'XDG_CONFIG_HOME', 'XDG_RUNTIME_DIR'] as const) process.env[k] = sb.env[k];
  // The engine runs its helpers (layer extraction, the exit hook) from beside the CLI bundle under test.
  setEntryPath(BIN);
  return sb;
}

/**
 * Opens services over a fresh isolated store. One per test file: the
 * engine reads XDG_* from process.env when it opens, so two stores in one
 * process would have to be opened one after the other.
 */
export async function openContractStore(name: string): Promise<ContractStore> {
  const sb = isolatedSandbox(name);
  const services = await openServices();
  let closed = false;
  return {
    sb,
    services,
    close() {
      if (closed) return;
      closed = true;
      services.close();
      sb.destroy();
    },
  };
}

/** A caller whose output is kept in memory: `out()` and `err()` read what was written so far. */
export interface MemoryCaller {
  ctx: CallerContext;
  stdout: PassThrough;
  stderr: PassThrough;
  out(): string;
  err(): string;
  /** The warnings the engine gave through ctx.warn, one per call. */
  warnings: string[];
}

export function memoryContext(opts: { cwd?: string; env?: Record<string, string | undefined>; stdin?: Readable | string | Buffer } = {}): MemoryCaller {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const chunks = { out: [] as Buffer[], err: [] as Buffer[] };
  stdout.on('data', (c: Buffer) => chunks.out.push(c));
  stderr.on('data', (c: Buffer) => chunks.err.push(c));
  let stdin: Readable | undefined;
  if (typeof opts.stdin === 'string' || Buffer.isBuffer(opts.stdin)) {
    const p = new PassThrough();
    p.end(opts.stdin);
    stdin = p;
  } else stdin = opts.stdin;
  const warnings: string[] = [];
  return {
    ctx: {
      cwd: opts.cwd ?? process.cwd(),
      env: opts.env ?? {},
      streams: { stdin, stdout, stderr },
      warn: (line) => { warnings.push(line); },
    },
    stdout,
    stderr,
    out: () => Buffer.concat(chunks.out).toString('utf8'),
    err: () => Buffer.concat(chunks.err).toString('utf8'),
    warnings,
  };
}

/**
 * For a describe block over one sandbox: imports busybox and opens the
 * services before its tests, closes them and removes the store after.
 * `services` is set once the block's tests run.
 */
export function servicesFor(sb: Sandbox): { services: Services } {
  const held = {} as { services: Services };
  before(async () => {
    sb.importBusybox();
    held.services = await openServices();
  });
  after(() => {
    // A test may have closed them already (system reset).
    try { held.services?.close(); } catch { /* closed */ }
    sb.destroy();
  });
  return held;
}
