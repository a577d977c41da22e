import type { Command } from 'commander';
import type { Listen } from '../api/server.js';
import { join, resolve } from 'node:path';
import { EngineError } from '../util/errors.js';
import { invalid } from '../util/values.js';
import { services } from './common.js';
import { valueOption } from './flag-values.js';
import { removeUnits, userUnitDir, writeUnits } from './service-units.js';

/** Where `system service` listens by default: a socket in the user's runtime directory (docs/api.md). */
export function defaultSocket(env: NodeJS.ProcessEnv = process.env): string {
  const dir = env.XDG_RUNTIME_DIR || (process.getuid ? `/run/user/${process.getuid()}` : '');
  if (!dir) throw new EngineError('XDG_RUNTIME_DIR is not set: give the socket as unix:///PATH');
  return join(dir, 'rootlet', 'docker.sock');
}

/**
 * The socket systemd passed (socket activation: LISTEN_PID is ours and
 * LISTEN_FDS counts from fd 3), or none. The variables are taken out of the
 * environment, as sd_listen_fds does, so nothing the service starts reads them.
 */
export function activatedSocket(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const pid = env.LISTEN_PID;
  const fds = Number(env.LISTEN_FDS);
  delete env.LISTEN_PID;
  delete env.LISTEN_FDS;
  delete env.LISTEN_FDNAMES;
  if (pid !== String(process.pid) || !Number.isInteger(fds) || fds < 1) return undefined;
  if (fds > 1) process.stderr.write(`WARNING: systemd passed ${fds} sockets: the API is served on the first (fd 3)\n`);
  return 3;
}

/** This rootlet as a unit runs it: node and the script it was started as (absolute paths). */
function selfCommand(): string[] {
  return [process.execPath, resolve(process.argv[1] ?? '')];
}

interface ServiceFlags { time: number; install?: boolean; uninstall?: boolean }

/** `rootlet system service`: the Docker Engine API on a socket of the user's own (src/api). */
export function registerService(system: Command): void {
  system
    .command('service')
    .description('Serve the Docker Engine API on a socket only you can open, for docker, docker-compose and other clients (exits after --time idle seconds)')
    .argument('[uri]', 'unix:///PATH (default $XDG_RUNTIME_DIR/rootlet/docker.sock) or tcp://127.0.0.1:PORT')
    .addOption(valueOption('-t, --time <seconds>', 'seconds without a client before the service exits (0: never)', (v, flag) => (/^\d+$/.test(v) ? Number(v) : invalid(flag, v, 'a number of seconds'))).default(5))
    .option('--install', 'write a systemd user socket and service (rootlet.socket, rootlet.service) that start the service at the first connection, instead of serving')
    .option('--uninstall', 'remove the units --install wrote')
    .action(async (uri: string | undefined, flags: ServiceFlags) => {
      const { parseListen } = await import('../api/server.js');
      if (flags.install && flags.uninstall) throw new EngineError('--install and --uninstall exclude each other');
      if (flags.uninstall) {
        if (uri) throw new EngineError('--uninstall takes no address: it removes the units wherever they listen');
        return uninstall();
      }
      if (flags.install) return install(uri ? parseListen(uri) : undefined, flags.time);
      const fd = activatedSocket();
      if (fd !== undefined && uri) process.stderr.write(`WARNING: started by systemd with a socket: ${uri} is not listened on\n`);
      return serveApi(fd !== undefined ? { kind: 'fd', fd } : parseListen(uri ?? `unix://${defaultSocket()}`), flags.time);
    });
}

async function install(listen: Listen | undefined, idleSec: number): Promise<void> {
  if (listen?.kind === 'fd') throw new EngineError('--install takes unix:///PATH or tcp://127.0.0.1:PORT');
  const units = await (await services()).systemd.apiUnits({ rootlet: selfCommand(), idleSec, ...(listen ? { listen } : {}) });
  const paths = writeUnits(userUnitDir(), units);
  const host = !listen ? `unix://${defaultSocket()}` : listen.kind === 'unix' ? `unix://${listen.path}` : `tcp://${listen.host}:${listen.port}`;
  process.stdout.write([
    ...paths.map((p) => `Wrote ${p}`),
    'Start the socket (the service starts at the first connection):',
    '  systemctl --user daemon-reload && systemctl --user enable --now rootlet.socket',
    'Then point clients at it:',
    `  export DOCKER_HOST=${host}`,
    '',
  ].join('\n'));
  if (listen?.kind === 'tcp') process.stderr.write(`WARNING: the API on tcp://${listen.host}:${listen.port} has no per-user protection: every local user can run containers as you\n`);
}

function uninstall(): void {
  const paths = removeUnits(userUnitDir());
  process.stdout.write([
    ...paths.map((p) => `Removed ${p}`),
    'Stop what systemd still runs:',
    '  systemctl --user disable --now rootlet.socket rootlet.service; systemctl --user daemon-reload',
    '',
  ].join('\n'));
}

async function serveApi(listen: Listen, idleSec: number): Promise<void> {
  const { serve } = await import('../api/server.js');
  if (listen.kind === 'tcp') {
    process.stderr.write(`WARNING: the API on tcp://${listen.host}:${listen.port} has no per-user protection: every local user (and, off loopback, every host that reaches it) can run containers as you\n`);
  }
  const svc = await services();
  const version = await svc.system.version();
  const { closed, shutdown } = await serve(svc, {
    listen,
    idleMs: idleSec * 1000,
    apiVersion: version.apiVersion,
    serverVersion: version.version,
    log: (line) => process.stderr.write(`${line}\n`),
  });
  // What the user's clients need, once the socket is there to be used.
  if (listen.kind === 'unix') process.stderr.write(`export DOCKER_HOST=unix://${listen.path}\n`);
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
  await closed;
  process.exit(0);
}
