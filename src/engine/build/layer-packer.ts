import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { PackAnswer, PackRequest } from '../../storage/pack-server.js';
import { EngineError } from '../../util/errors.js';
import { lastLine } from '../../rootless/userns.js';
import type { Engine } from '../engine.js';

type Waiter = { resolve: (v: unknown) => void; reject: (e: Error) => void };
type Request = PackRequest extends infer R ? (R extends PackRequest ? Omit<R, 'id'> : never) : never;

/**
 * The engine's side of the build's layer packer (storage/pack-server.ts):
 * one helper process inside the user's namespace, started at the first
 * step that makes a layer and ended with the build (`close`), answering
 * every step's request. A helper that dies fails the requests it had; the
 * next request starts another.
 */
export class LayerPacker {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private readonly waiting = new Map<number, Waiter>();
  private nextId = 1;

  constructor(private readonly engine: Engine) {}

  /** Starts the helper ahead of its first request: node's start then overlaps the step's container run. */
  warm(): void {
    if (this.child) return;
    const ns = this.engine.ns();
    const child = spawn('nsenter', [...ns.nsenterArgs(), '--', ...this.engine.helperCommand('__pack-server', [])], {
      env: this.engine.helperEnv(), stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.child = child;
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    child.stdin!.on('error', () => { /* it died: 'close' fails what it had */ });
    createInterface({ input: child.stdout!, crlfDelay: Infinity }).on('line', (line) => {
      const a = JSON.parse(line) as PackAnswer;
      const w = this.waiting.get(a.id);
      if (!w) return;
      this.waiting.delete(a.id);
      if (a.ok) w.resolve(a.result);
      else w.reject(new EngineError(a.error));
    });
    this.exited = new Promise((resolve) => {
      const done = (why: string) => {
        if (this.child === child) this.child = undefined;
        const err = new EngineError(lastLine(stderr) || `rootlet's layer helper ended (${why})`);
        for (const w of this.waiting.values()) w.reject(err);
        this.waiting.clear();
        resolve();
      };
      child.on('error', (e) => done(e.message));
      child.on('close', (code, signal) => done(signal ? `signal ${signal}` : `exit status ${code}`));
    });
  }

  /** Sends one request; resolves with its answer's result. */
  request<T>(req: Request): Promise<T> {
    this.warm();
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.child!.stdin!.write(`${JSON.stringify({ ...req, id })}\n`);
    });
  }

  /** Ends the helper once it has answered what it was asked (a request still waiting is failed by it: the build ended). */
  async close(): Promise<void> {
    this.child?.stdin!.end();
    await this.exited;
  }
}
