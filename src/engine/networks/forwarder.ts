import { spawn } from 'node:child_process';
import { besideEntry, type Engine } from '../engine.js';
import { EngineError } from '../../util/errors.js';
import type { PortBinding } from './ports.js';

/** Raised when a published port cannot be bound: `run` then leaves no container behind. */
export class PortError extends EngineError {}

/**
 * Starts rootlet-portfwd (src/network/portfwd.c) for a container's
 * published ports: it binds them on the host, then relays into the
 * network namespace `netFile` to `targetIp`. Resolves once every port is
 * bound, with free ports (host port 0) replaced by those the kernel chose.
 * `onSpawn` records the pid at once, so that a rootlet killed meanwhile
 * leaves nothing that the next look cannot find and stop.
 */
export function startForwarder(engine: Engine, netFile: string, targetIp: string, ports: PortBinding[], onSpawn: (pid: number) => void): Promise<{ pid: number; ports: PortBinding[] }> {
  const specs = ports.map((p) => `${p.protocol},${p.hostIp},${p.hostPort},${targetIp},${p.containerPort}`);
  // In the user's namespace, to open the namespace file in its holder's mount namespace; the
  // host ports are still bound in the host's network namespace, with the user's rights.
  const child = spawn('nsenter', [...engine.ns().holderArgs(), '--', besideEntry('rootlet-portfwd'), netFile, ...specs], {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid) onSpawn(child.pid);
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const done = () => {
      child.stdout!.destroy();
      child.stderr!.destroy();
      child.unref();
    };
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const line = /^ok((?: \d+)*)\n/.exec(out);
      if (!line) return;
      const bound = line[1]!.trim().split(' ').map(Number);
      done();
      resolve({ pid: child.pid!, ports: ports.map((p, i) => ({ ...p, hostPort: bound[i] ?? p.hostPort })) });
    });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => { err += d; });
    child.on('error', (e) => reject(new EngineError(`cannot start the port forwarder: ${e.message}`)));
    child.on('exit', (code) => {
      if (/^ok/.test(out)) return;
      reject(forwarderError(err, code));
    });
  });
}

/** "bind tcp,,18080,...: Address already in use" as one line a user can act on. */
export function forwarderError(stderr: string, code: number | null): EngineError {
  const m = /bind (tcp|udp),([^,]*),(\d+),[^:]*: (.*)/.exec(stderr);
  if (m) {
    const [, proto, ip, port, why] = m;
    const where = `${ip ? `${ip.includes(':') ? `[${ip}]` : ip}:` : ''}${port}/${proto}`;
    if (/in use/i.test(why!)) return new PortError(`cannot publish host port ${where}: it is already in use by another process: stop it, or publish another host port`);
    if (/not available|cannot assign/i.test(why!)) return new PortError(`cannot publish host port ${where}: ${ip} is not an address of this host`);
    return new PortError(`cannot publish host port ${where}: ${why}`);
  }
  return new EngineError(`the port forwarder failed: ${stderr.trim().split('\n').pop() || `exit status ${code}`}`);
}
