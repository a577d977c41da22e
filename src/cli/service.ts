import type { Command } from 'commander';
import { join } from 'node:path';
import { EngineError } from '../util/errors.js';
import { invalid } from '../util/values.js';
import { services } from './common.js';
import { valueOption } from './flag-values.js';

/** Where `system service` listens by default: a socket in the user's runtime directory (docs/api.md). */
export function defaultSocket(env: NodeJS.ProcessEnv = process.env): string {
  const dir = env.XDG_RUNTIME_DIR || (process.getuid ? `/run/user/${process.getuid()}` : '');
  if (!dir) throw new EngineError('XDG_RUNTIME_DIR is not set: give the socket as unix:///PATH');
  return join(dir, 'rootlet', 'docker.sock');
}

/** `rootlet system service`: the Docker Engine API on a socket of the user's own (src/api). */
export function registerService(system: Command): void {
  system
    .command('service')
    .description('Serve the Docker Engine API on a socket only you can open, for docker, docker-compose and other clients (exits after --time idle seconds)')
    .argument('[uri]', 'unix:///PATH (default $XDG_RUNTIME_DIR/rootlet/docker.sock) or tcp://127.0.0.1:PORT')
    .addOption(valueOption('-t, --time <seconds>', 'seconds without a client before the service exits (0: never)', (v, flag) => (/^\d+$/.test(v) ? Number(v) : invalid(flag, v, 'a number of seconds'))).default(5))
    .action(async (uri: string | undefined, flags: { time: number }) => {
      const { parseListen, serve } = await import('../api/server.js');
      const listen = parseListen(uri ?? `unix://${defaultSocket()}`);
      if (listen.kind === 'tcp') {
        process.stderr.write(`WARNING: the API on tcp://${listen.host}:${listen.port} has no per-user protection: every local user (and, off loopback, every host that reaches it) can run containers as you\n`);
      }
      const svc = await services();
      const version = await svc.system.version();
      const { server, closed } = await serve(svc, {
        listen,
        idleMs: flags.time * 1000,
        apiVersion: version.apiVersion,
        serverVersion: version.version,
        log: (line) => process.stderr.write(`${line}\n`),
      });
      // What the user's clients need, once the socket is there to be used.
      if (listen.kind === 'unix') process.stderr.write(`export DOCKER_HOST=unix://${listen.path}\n`);
      const stop = () => server.close();
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
      // Open connections (a follow, an attach) do not hold the exit once the service was told to stop.
      server.once('close', () => server.closeAllConnections());
      await closed;
      process.exit(0);
    });
}
