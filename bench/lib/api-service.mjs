// An engine's Docker API service for a figure (`rootlet system service`,
// `podman system service`): started on a socket of the figure's, waited
// for, and the docker CLI's command line pointed at it. The API figure
// measures the socket itself; the scale figures time the docker CLI through
// it beside each engine's own CLI: a process that is already started and
// warm answers the request, so what is left is the client's start.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

/** Resolves once `path` exists; rejects if `child` exits first or 15 s pass. */
async function waitSocket(path, child) {
  for (let i = 0; i < 300 && !existsSync(path); i++) {
    if (child.exitCode !== null) throw new Error(`the service exited ${child.exitCode}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  if (!existsSync(path)) throw new Error(`no socket at ${path}`);
}

/**
 * Starts `serviceArgv` (the engine's command up to and including `system
 * service`), listening on `sock` and never idling out. `docker(args)` is
 * the docker CLI's argv on that socket, with a config directory of the
 * sandbox's; `stop()` ends the service (SIGTERM) and resolves once it has exited.
 */
export async function startService(sb, serviceArgv, sock) {
  const argv = [...serviceArgv, '--time', '0', `unix://${sock}`];
  const child = spawn(argv[0], argv.slice(1), { env: sb.env, cwd: sb.root, stdio: 'ignore' });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  // Waited for (SIGKILL after 10 s), so that nothing of the service is left running into the figure's next step.
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10000);
    await exited;
    clearTimeout(timer);
  };
  try {
    await waitSocket(sock, child);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    docker: (args) => ['env', `DOCKER_HOST=unix://${sock}`, `DOCKER_CONFIG=${sb.path('docker-config')}`, 'docker', ...args],
    stop,
  };
}
