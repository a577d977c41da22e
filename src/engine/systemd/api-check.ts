import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { findInPath, runCapture } from '../../util/proc.js';

/**
 * `system check`'s API item: whether a systemd user manager runs for the
 * user, so that `system service --install` can start the API at the first
 * connection; where none does (no login through pam_systemd, a container,
 * WSL), how to start it by hand.
 */
export function checkApiService(env: NodeJS.ProcessEnv): { item: string; status: 'ok' | 'warn'; required: boolean; detail: string; fix?: string } {
  const runtime = env.XDG_RUNTIME_DIR;
  const sock = runtime ? join(runtime, 'rootlet', 'docker.sock') : '$XDG_RUNTIME_DIR/rootlet/docker.sock';
  // The manager's private socket is there while it runs; systemctl --user then answers on it.
  const manager = !!runtime && existsSync(join(runtime, 'systemd', 'private')) && !!findInPath('systemctl')
    && runCapture('systemctl', ['--user', 'show', '--property=Version'], { env: { ...env }, timeoutMs: 5000 }).code === 0;
  if (manager) return { item: 'API service', status: 'ok', required: false, detail: 'a systemd user manager runs: `rootlet system service --install` starts the API at the first connection' };
  return {
    item: 'API service',
    status: 'warn',
    required: false,
    detail: 'no systemd user session (systemctl --user cannot reach a manager): the API socket cannot start on demand',
    fix: `start it by hand: rootlet system service --time 0 & export DOCKER_HOST=unix://${sock}`,
  };
}
