import type { Command } from 'commander';
import { invalid, parseBool } from '../util/values.js';
import { checkedOption, valueOption } from './flag-values.js';
import type { RegistryAccess } from '../image/registry/client.js';
import type { Credentials } from '../image/registry/credentials.js';

/** The flags pull, push, login and run --pull share, as Podman names them. */
export interface RegistryFlags {
  tlsVerify?: string | boolean;
  certDir?: string;
  authfile?: string;
  creds?: string;
}

export function addRegistryOptions(cmd: Command): Command {
  return cmd
    .addOption(valueOption('--tls-verify [bool]', 'verify the registry\'s TLS certificate (default true; false also allows plain HTTP)', parseBool))
    .option('--cert-dir <dir>', 'CA certificates (*.crt) and client certificate (*.cert, *.key) for the registry')
    .option('--authfile <file>', 'credentials file (default $XDG_RUNTIME_DIR/containers/auth.json, then ~/.docker/config.json)')
    .addOption(checkedOption('--creds <user[:password]>', 'credentials for this one command', (v) => credsFlag(v)));
}

/** --tls-verify, --tls-verify=true|false; undefined when not given (registries.conf decides). */
export function tlsVerifyFlag(v: string | boolean | undefined): boolean | undefined {
  if (v === undefined || typeof v === 'boolean') return v;
  return parseBool(v, '--tls-verify');
}

export function credsFlag(v: string | undefined): Credentials | undefined {
  if (v === undefined) return undefined;
  const colon = v.indexOf(':');
  if (colon < 0) return invalid('--creds', '…', 'not USER:PASSWORD (no colon)');
  return { username: v.slice(0, colon), password: v.slice(colon + 1) };
}

export function registryOptions(f: RegistryFlags): RegistryAccess {
  return { tlsVerify: tlsVerifyFlag(f.tlsVerify), certDir: f.certDir, authfile: f.authfile, credentials: credsFlag(f.creds) };
}
