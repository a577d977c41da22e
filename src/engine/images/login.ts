import { clientFor } from '../../image/registry/client.js';
import { defaultAuthFile, removeCredentials, storeCredentials, type Credentials } from '../../image/registry/credentials.js';
import { endpointsFor, loadRegistriesConf } from '../../image/registry/registries-conf.js';
import { DEFAULT_DOMAIN } from '../../image/reference.js';
import { EngineError } from '../../util/errors.js';

/**
 * `login`: the credentials are tried against the registry (its challenge
 * answered with them) before they are written, so a typo is caught now,
 * not at the next pull.
 */

/** "https://host/v2/" and "host/" as Docker accepts them, to the host[:port] the auth file is keyed by. */
export function registryKey(input: string): string {
  let s = input.replace(/^[a-z]+:\/\//, '').replace(/\/.*$/, '');
  if (s === 'index.docker.io' || s === 'registry-1.docker.io') s = DEFAULT_DOMAIN;
  if (!s) throw new EngineError(`"${input}" is not a registry: give host[:port]`);
  return s;
}

/** The password the flags give: -p, or what `readStdin` reads (--password-stdin, its last newline dropped). */
async function readPassword(flags: LoginOptions, readStdin: () => Promise<string>): Promise<string> {
  if (flags.passwordStdin) {
    if (flags.password) throw new EngineError('--password and --password-stdin are mutually exclusive');
    if (!flags.username) throw new EngineError('--password-stdin needs --username');
    return (await readStdin()).replace(/\r?\n$/, '');
  }
  if (flags.password !== undefined) return flags.password;
  throw new EngineError('no password: give --password-stdin (and pipe the password in) or -p');
}

export interface LoginOptions {
  username?: string;
  password?: string;
  passwordStdin?: boolean;
  tlsVerify?: boolean;
  certDir?: string;
  authfile?: string;
}

/** `readStdin` gives the caller's input (the password, with --password-stdin). */
export async function login(registry: string, flags: LoginOptions, readStdin: () => Promise<string>): Promise<string> {
  const key = registryKey(registry);
  if (!flags.username) throw new EngineError('no user name: give -u NAME');
  const creds: Credentials = { username: flags.username, password: await readPassword(flags, readStdin) };
  const conf = await loadRegistriesConf();
  const ep = endpointsFor(conf, { domain: key, path: 'x' }, flags.tlsVerify).find((e) => !e.mirror)!;
  const client = clientFor(ep, { certDir: flags.certDir, credentials: creds });
  try {
    await client.checkLogin();
  } finally {
    client.close();
  }
  storeCredentials(key, creds, flags.authfile ?? defaultAuthFile());
  return key;
}

/** Removes one registry's credentials, or with `all` every one; returns whose (no registry: all). */
export function logout(registry: string | undefined, flags: { all?: boolean; authfile?: string }): { registry?: string } {
  const file = flags.authfile ?? defaultAuthFile();
  if (flags.all) {
    removeCredentials(undefined, file);
    return {};
  }
  if (!registry) throw new EngineError('logout needs a registry, or --all');
  const key = registryKey(registry);
  if (!removeCredentials(key, file)) throw new EngineError(`not logged in to ${key} (no entry in ${file})`);
  return { registry: key };
}
