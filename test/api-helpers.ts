import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { BIN, type Result, type Sandbox, until } from './helpers.js';

/** A registries.conf in the sandbox that lets the service pull from and push to the local test registry over plain HTTP. */
export function insecureRegistryEnv(sb: Sandbox, host: string): { CONTAINERS_REGISTRIES_CONF: string } {
  const conf = sb.path('registries.conf');
  writeFileSync(conf, `[[registry]]\nlocation = "${host}"\ninsecure = true\n`);
  return { CONTAINERS_REGISTRIES_CONF: conf };
}

/** `rootlet system service` of a sandbox, on a socket in the sandbox's runtime directory, and the docker CLI pointed at it. */
export class ApiService {
  readonly sock: string;
  readonly child: ChildProcess;
  readonly log: string;
  /** The environment the docker CLI (or any client) needs: DOCKER_HOST, and a config directory of the test's own. */
  readonly clientEnv: NodeJS.ProcessEnv;

  constructor(readonly sb: Sandbox, opts: { env?: NodeJS.ProcessEnv; args?: string[] } = {}) {
    this.sock = join(sb.env.XDG_RUNTIME_DIR!, 'rootlet', 'docker.sock');
    this.log = sb.path('service.log');
    const fd = openSync(this.log, 'a');
    this.child = spawn(process.execPath, ['--', BIN, 'system', 'service', '--time', '0', ...(opts.args ?? [])], {
      env: { ...sb.env, ...opts.env }, cwd: sb.root, stdio: ['ignore', fd, fd],
    });
    const dockerConfig = sb.path('docker-config');
    mkdirSync(dockerConfig, { recursive: true });
    this.clientEnv = { ...process.env, DOCKER_HOST: `unix://${this.sock}`, DOCKER_CONFIG: dockerConfig };
  }

  async ready(): Promise<void> {
    await until('the API socket', () => existsSync(this.sock) || this.child.exitCode !== null);
    if (this.child.exitCode !== null) throw new Error(`system service exited ${this.child.exitCode}: ${readFileSync(this.log, 'utf8')}`);
  }

  /** The docker CLI, to completion. */
  docker(args: string[], opts: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Result {
    const r = spawnSync('docker', args, { env: { ...this.clientEnv, ...opts.env }, input: opts.input, encoding: 'utf8', timeout: opts.timeoutMs ?? 120_000, cwd: this.sb.root });
    return { code: r.status ?? 128, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  }

  dockerOk(args: string[], opts: { input?: string } = {}): string {
    const r = this.docker(args, opts);
    if (r.code !== 0) throw new Error(`docker ${args.join(' ')} exited ${r.code}: ${r.stderr.trim()}\n${this.serviceLog()}`);
    return r.stdout;
  }

  /** The docker CLI in the background (follows, attach). */
  dockerSpawn(args: string[]): ChildProcess {
    return spawn('docker', args, { env: this.clientEnv, cwd: this.sb.root, stdio: ['pipe', 'pipe', 'pipe'] });
  }

  /** A raw request on the socket: status, headers and body text. */
  request(method: string, path: string, body?: string | Buffer, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
    return new Promise((resolve, reject) => {
      const req = request({ socketPath: this.sock, method, path, headers: { ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}), ...headers } }, (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (d: string) => { text += d; });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
      });
      req.on('error', reject);
      // A refusal that comes before the whole body was sent (413) may end the connection under the rest of it:
      // the socket's late EPIPE, once the request has let go of it, is no failure of the request.
      req.on('socket', (s) => s.on('error', () => {}));
      req.end(body);
    });
  }

  serviceLog(): string {
    return existsSync(this.log) ? readFileSync(this.log, 'utf8') : '';
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.kill('SIGTERM');
    await exited;
  }
}
