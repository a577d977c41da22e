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
 * base64("user:password")}}}`, KEY a host, host/namespace, or a URL.
 */

export interface Credentials {
  username: string;
  password: string;
}

interface AuthFile {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }>;
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

export function lookupCredentials(host: string, path?: string, authfile?: string): Credentials | undefined {
  for (const file of authFiles(authfile)) {
    const auths = readAuthFile(file)?.auths;
    if (!auths) continue;
    for (const key of keysFor(host, path)) {
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
  }
  return undefined;
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
