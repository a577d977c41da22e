import { readdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { EngineError } from '../../util/errors.js';

/** CA certificates and a client certificate for one registry host, from certs.d directories. */
export interface TlsFiles {
  ca: string[];
  cert?: string;
  key?: string;
  /** The directories that held something, for messages. */
  from: string[];
}

/** Where Podman and Docker look for a host's certificates, most specific first. */
export function certDirsFor(host: string, env: NodeJS.ProcessEnv = process.env): string[] {
  const config = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config');
  return [join(config, 'containers/certs.d', host), join('/etc/containers/certs.d', host), join('/etc/docker/certs.d', host)];
}

/**
 * Reads `*.crt` (CAs) and `*.cert` + `*.key` (a client certificate) as
 * containers/image and Docker do. With `certDir` (--cert-dir) only that
 * directory is read, and it must exist.
 */
export function loadTlsFiles(host: string, certDir?: string): TlsFiles {
  const out: TlsFiles = { ca: [], from: [] };
  const dirs = certDir ? [certDir] : certDirsFor(host);
  for (const dir of dirs) {
    let names: string[];
    try {
      names = readdirSync(dir).sort();
    } catch (err) {
      if (certDir) throw new EngineError(`--cert-dir ${certDir}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such directory' : (err as Error).message}`);
      continue;
    }
    const read = (n: string) => readFileSync(join(dir, n), 'utf8');
    let used = false;
    for (const n of names) {
      if (n.endsWith('.crt')) { out.ca.push(read(n)); used = true; }
      if (n.endsWith('.cert') && !out.cert) {
        const keyName = `${n.slice(0, -5)}.key`;
        if (!names.includes(keyName)) throw new EngineError(`${join(dir, n)} has no matching key ${keyName}: a client certificate needs both`);
        out.cert = read(n);
        out.key = read(keyName);
        used = true;
      }
    }
    if (used) out.from.push(dir);
  }
  return out;
}
