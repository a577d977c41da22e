import { spawn } from 'node:child_process';
import { closeSync, openSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { openError } from '../../util/os-errors.js';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { hexOf, tmpName } from '../../image/store.js';
import { lastLine } from '../../rootless/userns.js';
import { besideEntry, type Engine } from '../engine.js';
import { EngineError } from '../../util/errors.js';
import type { BlobSource } from '../../image/registry/client.js';
import { trustedCertificates } from '../../image/registry/transport.js';

export interface StoredLayer {
  digest: string;
  diffId: string;
  blobSize: number;
  tarSize: number;
  remapped: number;
  /** Device nodes left out (a user namespace cannot create them); absent for a layer stored before. */
  skippedDevices?: number;
}

export interface StoreLayerOptions {
  outsideIds?: 'fail' | 'root';
  /** Refuse a tar without a single entry, with this message (import: an empty file is no root file system). */
  emptyMessage?: string;
  /** Where a warning about the layer goes (the caller decides how the user sees it). */
  warn: (message: string) => void;
  /** The digest (and size) the blob must have, e.g. from a manifest: anything else is refused and nothing is kept. */
  expect?: { digest: string; size?: number };
}

/**
 * Extracts a layer stream (a file path, '-' for our stdin, or a stream such
 * as an HTTP body or an archive member) into the store inside the user's
 * namespace, keeping the raw bytes as a blob. Both land
 * under temporary names and are renamed into place only when extraction
 * succeeded, so an interrupted or refused layer leaves the store unchanged.
 */
export async function storeLayer(engine: Engine, source: string | Readable, opts: StoreLayerOptions): Promise<StoredLayer> {
  const ns = engine.ns();
  const { tmpLayer, tmpBlob } = layerTemps(engine);
  let input: number | 'inherit' | 'pipe' = 'inherit';
  let sourceError: Error | undefined;
  if (typeof source !== 'string') {
    input = 'pipe';
  } else if (source !== '-') {
    try {
      input = openSync(source, 'r');
    } catch (err) {
      throw openError(source, err);
    }
  }
  const cmd = engine.helperCommand('__extract-layer', [tmpLayer, tmpBlob, String(ns.size), opts.outsideIds ?? 'fail']);
  const result = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    const child = spawn('nsenter', [...ns.nsenterArgs(), '--', ...cmd], { stdio: [input, 'pipe', 'pipe'], env: extractEnv(engine) });
    if (typeof source !== 'string') {
      // A source that fails mid-way (a connection cut) ends the helper's input: it then refuses a truncated layer.
      source.once('error', (e) => { sourceError = e; child.stdin!.end(); });
      // The helper stops reading when it refuses the layer: stop the source too.
      child.stdin!.on('error', () => source.destroy());
      source.pipe(child.stdin!);
    }
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
  if (typeof input === 'number') closeSync(input);
  if (sourceError) await discardTemps(engine, tmpLayer, tmpBlob, `${sourceError.message}; nothing was stored`);
  return finishLayer(engine, tmpLayer, tmpBlob, result, opts);
}

export interface FetchLayerOptions extends StoreLayerOptions {
  expect: { digest: string; size: number };
  onProgress?: (bytes: number) => void;
  /** Called with a way to stop this download (another layer failed). */
  onStart?: (stop: () => void) => void;
}

/**
 * A registry blob fetched by the extraction helper itself (pull): the body
 * goes from the socket into extraction with no relay through this process.
 * Checked and adopted like storeLayer's. 'refetch' when the registry
 * answered other than 200: the caller asks again itself (getBlob renews a
 * stale token and words the registry's error) and hands the body to storeLayer.
 */
export async function fetchLayer(engine: Engine, source: BlobSource, opts: FetchLayerOptions): Promise<StoredLayer | 'refetch'> {
  const ns = engine.ns();
  const { tmpLayer, tmpBlob } = layerTemps(engine);
  const cmd = engine.helperCommand('__fetch-layer', [tmpLayer, tmpBlob, String(ns.size), opts.outsideIds ?? 'fail']);
  // The request (with its Authorization) on stdin, never on a command line others can read.
  const result = await runFetcher(engine, cmd, JSON.stringify({ ...source, ...opts.expect }), extractEnv(engine), tmpLayer, tmpBlob, opts);
  if (result === 'refetch') return result;
  return finishLayer(engine, tmpLayer, tmpBlob, result, opts);
}

/**
 * The same by rootlet-layer-fetch (src/image/layer-fetch.c): one C process
 * per layer where the Node helper spent four times the CPU
 * (docs/decisions.md, "Pull: measured choices"), over HTTP or HTTPS, and
 * following redirects (to blob storage) as the Transport does. 'fallback'
 * when it handed the layer back having kept nothing (zstd, GNU sparse
 * files, a TLS handshake that failed ...): the caller runs fetchLayer,
 * whose words then say what went wrong.
 */
export async function fetchLayerNative(engine: Engine, source: BlobSource, opts: FetchLayerOptions): Promise<StoredLayer | 'refetch' | 'fallback'> {
  const url = new URL(source.url);
  const headers: Record<string, string> = { Host: url.host, 'User-Agent': 'rootlet', Accept: '*/*', Connection: 'close', ...source.headers };
  const https = url.protocol === 'https:';
  // A value that would split the request is Node's to refuse, in its words.
  if ((!https && url.protocol !== 'http:') || Object.entries(headers).some(([k, v]) => /[\r\n]/.test(k + v))) return 'fallback';
  const head = [`GET ${url.pathname}${url.search} HTTP/1.1`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`), '', ''].join('\r\n');
  // After the head, what TLS takes, as the Transport's agent (also for a plain-HTTP registry's redirect to HTTPS):
  // the certificates to trust, and the client certificate and its key (certs.d), each after a NUL.
  const tls = [source.tlsVerify ? trustedCertificates(source.tls.ca).join('\n') : '', source.tls.cert ?? '', source.tls.key ?? ''];
  const ns = engine.ns();
  const { tmpLayer, tmpBlob } = layerTemps(engine);
  const cmd = [
    besideEntry('rootlet-layer-fetch'), tmpLayer, tmpBlob, String(ns.size), opts.outsideIds ?? 'fail',
    opts.expect.digest, String(opts.expect.size), url.hostname.replace(/^\[(.*)\]$/, '$1'), url.port || (https ? '443' : '80'),
    https ? 'https' : 'http', source.tlsVerify ? 'verify' : 'noverify',
  ];
  const result = await runFetcher(engine, cmd, [head, ...tls].join('\0'), { PATH: process.env.PATH ?? '/usr/bin:/bin' }, tmpLayer, tmpBlob, opts);
  if (result === 'refetch') return result;
  if (result.code === 4 && result.stdout.startsWith('f ')) {
    await discardTemps(engine, tmpLayer, tmpBlob);
    return 'fallback';
  }
  return finishLayer(engine, tmpLayer, tmpBlob, result, opts);
}

/** Runs a layer fetcher in the namespace: the request on stdin, "p BYTES" progress lines, "s STATUS" and exit 3 for a refetch. */
async function runFetcher(
  engine: Engine, cmd: string[], request: string, env: NodeJS.ProcessEnv, tmpLayer: string, tmpBlob: string, opts: FetchLayerOptions,
): Promise<{ code: number; stdout: string; stderr: string } | 'refetch'> {
  let stopped = false;
  const result = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    const child = spawn('nsenter', [...engine.ns().nsenterArgs(), '--', ...cmd], { stdio: ['pipe', 'pipe', 'pipe'], env });
    child.stdin!.on('error', () => {});
    child.stdin!.end(request);
    opts.onStart?.(() => { stopped = true; child.kill('SIGKILL'); });
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      let nl: number;
      while ((nl = stdout.indexOf('\n')) >= 0 && stdout.startsWith('p ')) {
        opts.onProgress?.(Number(stdout.slice(2, nl)));
        stdout = stdout.slice(nl + 1);
      }
    });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
  if (stopped) await discardTemps(engine, tmpLayer, tmpBlob, 'pull stopped: another layer failed');
  if (result.code === 3 && result.stdout.startsWith('s ')) {
    await discardTemps(engine, tmpLayer, tmpBlob);
    return 'refetch';
  }
  return result;
}

/** Removes a refused layer's temporaries (the helper's files belong to subordinate ids: only the namespace can); throws message if given. */
async function discardTemps(engine: Engine, tmpLayer: string, tmpBlob: string, message?: string): Promise<void> {
  await engine.ns().runAsync(['rm', '-rf', tmpLayer]);
  rmSync(tmpBlob, { force: true });
  if (message !== undefined) throw new EngineError(message);
}

/** The helper's answer checked (exit status, an empty tar where refused, the digest expected) and the layer adopted. */
async function finishLayer(engine: Engine, tmpLayer: string, tmpBlob: string, result: { code: number; stdout: string; stderr: string }, opts: StoreLayerOptions): Promise<StoredLayer> {
  if (result.code !== 0) await discardTemps(engine, tmpLayer, tmpBlob, lastLine(result.stderr) || `layer extraction failed (exit ${result.code})`);
  const r = JSON.parse(result.stdout) as StoredLayer & { entries: number };
  if (opts.emptyMessage && r.entries === 0) await discardTemps(engine, tmpLayer, tmpBlob, opts.emptyMessage);
  const mismatch = opts.expect && blobMismatch(opts.expect, r.digest, r.blobSize);
  if (mismatch) await discardTemps(engine, tmpLayer, tmpBlob, `layer ${opts.expect!.digest} ${mismatch}: the source is corrupt or not what it claims; nothing was stored`);
  return adoptLayer(engine, tmpLayer, tmpBlob, r, opts);
}

/**
 * The extraction helper's environment: glibc's malloc keeps freed buffers
 * (up to 8 MiB each, and 256 MiB of free heap) for reuse rather than
 * returning them to the kernel and faulting fresh pages for the next one;
 * see the minor collections in src/image/extract.ts.
 */
function extractEnv(engine: Engine): NodeJS.ProcessEnv {
  return { ...engine.helperEnv(), MALLOC_MMAP_THRESHOLD_: String(8 << 20), MALLOC_TRIM_THRESHOLD_: String(256 << 20) };
}

/** Where a helper extracts a layer before adoptLayer renames it into place. */
export function layerTemps(engine: Engine): { tmpLayer: string; tmpBlob: string } {
  return { tmpLayer: join(engine.paths.layers, `.${tmpName('tmp')}`), tmpBlob: join(engine.paths.tmp, tmpName('blob')) };
}

/**
 * Takes a layer the helper extracted under temporary names (storeLayer's,
 * or a build step's packed and extracted in one pass) into the store.
 */
export async function adoptLayer(engine: Engine, tmpLayer: string, tmpBlob: string, r: StoredLayer, opts: Pick<StoreLayerOptions, 'warn'>): Promise<StoredLayer> {
  await commitLayer(engine, tmpLayer, r.diffId);
  const blobDest = engine.images.blobPath(r.digest);
  try {
    renameSync(tmpBlob, blobDest);
  } catch {
    rmSync(tmpBlob, { force: true });
  }
  engine.images.recordLayerBlob(r.digest, r.diffId, r.blobSize, r.tarSize);
  if (r.skippedDevices) opts.warn(skippedDevicesWarning(r.skippedDevices, r.digest));
  return r;
}

/** One line for all the device nodes of a layer, as Podman says it: the layer is stored without them. */
export function skippedDevicesWarning(count: number, digest: string): string {
  return `${count} device node${count === 1 ? '' : 's'} in layer ${digest} ${count === 1 ? 'was' : 'were'} skipped: a rootless user cannot create devices`;
}

/** Why a blob is not the one expected (a digest or size that differs), or undefined when it is. */
export function blobMismatch(expect: { digest: string; size?: number }, digest: string, size: number): string | undefined {
  if (digest !== expect.digest) return `does not match its digest (the content hashes to ${digest})`;
  if (expect.size !== undefined && size !== expect.size) return `has ${size} bytes where ${expect.size} were announced`;
  return undefined;
}

/** Renames an extracted layer into place; if another process got there first, ours is dropped. */
async function commitLayer(engine: Engine, tmpLayer: string, diffId: string): Promise<void> {
  const dest = join(engine.paths.layers, hexOf(diffId));
  try {
    renameSync(tmpLayer, dest);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
    await engine.ns().runAsync(['rm', '-rf', tmpLayer]);
  }
}

/** Deletes extracted layers (their files belong to subordinate ids: only the namespace can). */
export async function removeLayerDirs(engine: Engine, diffIds: string[]): Promise<void> {
  if (!diffIds.length) return;
  const hexes = diffIds.map(hexOf);
  // Each layer plus its --userns=keep-id copies (HEX-keepid-UID-GID).
  const names = readdirSync(engine.paths.layers).filter((n) => hexes.some((h) => n === h || n.startsWith(`${h}-`)));
  // Renamed away first, in one step each: a deletion cut short (kill -9) leaves a temporary name that
  // the next pull sweeps, never a half-emptied layer under its real name that a pull would take as whole.
  const doomed: string[] = [];
  for (const n of names) {
    const tmp = join(engine.paths.layers, `.${tmpName('tmp')}`);
    try {
      renameSync(join(engine.paths.layers, n), tmp);
      doomed.push(tmp);
    } catch { /* gone meanwhile */ }
  }
  if (doomed.length) await engine.ns().runAsync(['rm', '-rf', ...doomed]);
}
