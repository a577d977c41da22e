import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { EngineError } from '../../util/errors.js';
import { randomHex } from '../../util/random.js';

/**
 * Registry credentials in the files Podman and Docker use: rootlet writes
 * `$XDG_RUNTIME_DIR/containers/auth.json` (Podman's, or $REGISTRY_AUTH_FILE
 * or --authfile), and reads it, then `$XDG_CONFIG_HOME/containers/auth.json`,
 * then `~/.docker/config.json`. Entries are `{"auths": {KEY: {"auth":
 * base64("user:password")}}}`, KEY a host, host/namespace, or a URL; a
 * file may instead name credential helpers (`credHelpers`, `credsStore`),
 * which are asked as Docker asks them.
 */

export interface Credentials {
  username: string;
  password: string;
}

interface AuthFile {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }>;
  /** Docker's: a credential helper per registry (`docker-credential-NAME`). */
  credHelpers?: Record<string, string>;
  /** Docker's: the helper that holds every other registry's credentials. */
  credsStore?: string;
  [k: string]: unknown;
}

/** The file login writes and logout edits. */
export function defaultAuthFile(env: NodeJS.ProcessEnv = process.env): string {
  if (env.REGISTRY_AUTH_FILE) return env.REGISTRY_AUTH_FILE;
  if (env.XDG_RUNTIME_DIR) return join(env.XDG_RUNTIME_DIR, 'containers/auth.json');
  return join(env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config'), 'containers/auth.json');
}

/** Every file read for credentials, in order. */
export function authFiles(authfile?: string, env: NodeJS.ProcessEnv = process.env): string[] {
  if (authfile) return [authfile];
  const home = env.HOME || homedir();
  const files = [defaultAuthFile(env), join(env.XDG_CONFIG_HOME || join(home, '.config'), 'containers/auth.json'), join(env.DOCKER_CONFIG || join(home, '.docker'), 'config.json')];
  return [...new Set(files)];
}

function readAuthFile(file: string): AuthFile | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  try {
    return JSON.parse(text) as AuthFile;
  } catch {
    throw new EngineError(`${file} is not valid JSON: fix it or remove it`);
  }
}

/** Docker Hub's credentials live under its legacy index URL in Docker's file. */
const DOCKER_HUB_KEYS = ['docker.io', 'index.docker.io', 'https://index.docker.io/v1/'];

/** Keys that may hold credentials for `host` and repository `path`, most specific first. */
function keysFor(host: string, path?: string): string[] {
  const keys: string[] = [];
  if (path) {
    const parts = path.split('/');
    for (let i = parts.length; i > 0; i--) keys.push(`${host}/${parts.slice(0, i).join('/')}`);
  }
  keys.push(host, `https://${host}`, `http://${host}`, `https://${host}/v1/`, `https://${host}/v2/`);
  if (DOCKER_HUB_KEYS.includes(host)) keys.push(...DOCKER_HUB_KEYS);
  return keys;
}

/**
 * The credentials for a registry, from the first file that has any: in
 * each file, as Docker decides, the registry's `credHelpers` entry first,
 * then an `auths` entry with credentials in it, then `credsStore`.
 */
export function lookupCredentials(host: string, path?: string, authfile?: string): Credentials | undefined {
  for (const file of authFiles(authfile)) {
    const data = readAuthFile(file);
    if (!data) continue;
    const keys = keysFor(host, path);
    const helper = keys.map((k) => data.credHelpers?.[k]).find((h) => typeof h === 'string' && h);
    if (helper) {
      const c = fromHelper(helper, host, file);
      if (c) return c;
      continue;
    }
    const auths = data.auths ?? {};
    for (const key of keys) {
      const e = auths[key];
      if (!e) continue;
      if (e.username !== undefined && e.password !== undefined) return { username: e.username, password: e.password };
      if (e.auth) {
        const plain = Buffer.from(e.auth, 'base64').toString('utf8');
        const colon = plain.indexOf(':');
        if (colon < 0) throw new EngineError(`${file}: the entry for ${key} is not base64 of user:password`);
        return { username: plain.slice(0, colon), password: plain.slice(colon + 1) };
      }
    }
    if (typeof data.credsStore === 'string' && data.credsStore) {
      const c = fromHelper(data.credsStore, host, file);
      if (c) return c;
    }
  }
  return undefined;
}

/**
 * Asks `docker-credential-NAME get` with the registry on stdin, as Docker
 * does (Docker Hub under its index URL). "Not found" is no credentials;
 * any other failure is an error: a pull without the credentials the user
 * set up would fail later, less clearly.
 */
function fromHelper(name: string, host: string, file: string): Credentials | undefined {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name)) throw new EngineError(`${file}: "${name}" is not a credential helper name`);
  const server = DOCKER_HUB_KEYS.includes(host) ? 'https://index.docker.io/v1/' : host;
  // Once per process: a pull asks for credentials at each request, a helper may prompt or unlock a keychain.
  const key = `${name}\0${server}`;
  if (!helperAnswers.has(key)) helperAnswers.set(key, askHelper(name, server, file));
  return helperAnswers.get(key);
}

const helperAnswers = new Map<string, Credentials | undefined>();

function askHelper(name: string, server: string, file: string): Credentials | undefined {
  const bin = `docker-credential-${name}`;
  const r = spawnSync(bin, ['get'], { input: server, encoding: 'utf8', timeout: 60_000 });
  const err = r.error as NodeJS.ErrnoException | undefined;
  if (err?.code === 'ENOENT') throw new EngineError(`${file} names the credential helper ${bin}, which is not installed (not on PATH): install it or remove it from the file`);
  // EPIPE: the helper exited without reading the server name (a failing one often does); its status and output say why.
  if (err && !(err.code === 'EPIPE' && r.status !== null)) throw new EngineError(`credential helper ${bin} failed: ${err.message}`);
  const out = (r.stdout ?? '').trim();
  if (r.status !== 0) {
    if (/credentials not found/i.test(out) || /credentials not found/i.test(r.stderr ?? '')) return undefined;
    const why = (out || (r.stderr ?? '').trim() || `exit status ${r.status}`).split('\n')[0];
    throw new EngineError(`credential helper ${bin} failed for ${server}: ${why}`);
  }
  let reply: { Username?: unknown; Secret?: unknown };
  try {
    reply = JSON.parse(out) as typeof reply;
  } catch {
    throw new EngineError(`credential helper ${bin} answered for ${server} with something that is not JSON`);
  }
  if (typeof reply.Username !== 'string' || typeof reply.Secret !== 'string') {
    throw new EngineError(`credential helper ${bin} answered for ${server} without a Username and Secret`);
  }
  return { username: reply.Username, password: reply.Secret };
}

/** Writes the file atomically with mode 0600: it holds passwords. */
function writeAuthFile(file: string, data: AuthFile): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${randomHex(4)}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(data, null, '\t')}\n`, { mode: 0o600 });
  renameSync(tmp, file);
}

export function storeCredentials(key: string, creds: Credentials, authfile = defaultAuthFile()): void {
  const data = readAuthFile(authfile) ?? {};
  data.auths = { ...data.auths, [key]: { auth: Buffer.from(`${creds.username}:${creds.password}`).toString('base64') } };
  writeAuthFile(authfile, data);
}

/** Removes the entry for `key` (or all with key undefined); false when there was none. */
export function removeCredentials(key: string | undefined, authfile = defaultAuthFile()): boolean {
  const data = readAuthFile(authfile);
  if (!data?.auths) return false;
  if (key === undefined) {
    const had = Object.keys(data.auths).length > 0;
    data.auths = {};
    writeAuthFile(authfile, data);
    return had;
  }
  if (!(key in data.auths)) return false;
  delete data.auths[key];
  writeAuthFile(authfile, data);
  return true;
}
