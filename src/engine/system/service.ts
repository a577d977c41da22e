import { spawn } from 'node:child_process';
import { arch, platform, release } from 'node:os';
import type { CallerContext } from '../context.js';
import type { Engine } from '../engine.js';
import type { CheckResult } from './doctor.js';
import type { EngineInfo } from './info.js';
import type { CheckResult as StoreCheckResult } from './store-check.js';
import type { DatabaseVerdict } from './store-recover.js';
import type { NameKind } from './names.js';
import { VERSION } from '../../util/version.js';

export type { CheckResult, CheckStatus } from './doctor.js';
export type { EngineInfo } from './info.js';
export type { CheckResult as StoreCheckResult, Problem as StoreProblem } from './store-check.js';
export type { DatabaseVerdict } from './store-recover.js';
export type { DiskUsage, UsageRow, ImageUsage, ContainerUsage, VolumeUsage } from './df.js';
import type { DiskUsage } from './df.js';
import type { SystemPruneRequest, SystemPruneResult } from './prune.js';
export type { SystemPruneRequest, SystemPruneResult } from './prune.js';
export { NAME_KINDS, type NameKind } from './names.js';

/** `version`: what this engine is and where it runs. */
export interface VersionInfo {
  version: string;
  /**
   * The Docker Engine API version whose behaviour rootlet follows (e.g.
   * volume prune's anonymous-only default, from 1.42); the API server,
   * when there is one, answers for it.
   */
  apiVersion: string;
  os: string;
  arch: string;
  kernel: string;
  /** The node.js that runs the engine (Docker shows its Go version here). */
  nodeVersion: string;
}

/** `system check`: each prerequisite; `ok` is false when a required one failed. */
export interface CheckReport {
  ok: boolean;
  checks: CheckResult[];
}

/** A step of `system recover`, told as it happens (the rebuild can take a while). */
export type RecoverStep =
  | { kind: 'verdict'; database: string; verdict: DatabaseVerdict }
  | { kind: 'moved-aside'; file: string };

export interface RecoverResult {
  database: string;
  verdict: DatabaseVerdict;
  /** False when the database was sound and not forced: nothing was done. */
  rebuilt: boolean;
  movedAside: string[];
  restored: string[];
  notRestored: string[];
}

/**
 * The system operations every front door calls (the CLI, compose, the API
 * server, pods): one method per operation, taking a typed request,
 * returning plain data. The CLI formats what they return.
 */
export class SystemService {
  constructor(private readonly engine: Engine) {}

  /**
   * `unshare`: a command (default: the caller's shell) inside the user's
   * namespace, as its root, started in the caller's directory; its exit
   * code. With the caller's descriptors it has the caller's terminal.
   */
  async unshare(command: string[], ctx: CallerContext): Promise<number> {
    const { signalNumber } = await import('../../util/proc.js');
    const args = command.length ? command : [ctx.env.SHELL || '/bin/sh'];
    const env = { ...ctx.env, ROOTLET_UNSHARE: '1', ROOTLET_STORAGE: this.engine.paths.dataDir };
    // The directory is entered inside the namespace (nsenter --wd would keep the host's mount namespace).
    const inDir = ['sh', '-c', 'cd "$0" 2>/dev/null; exec "$@"', ctx.cwd, ...args];
    const fds = ctx.streams.fds;
    return new Promise<number>((resolve) => {
      const child = spawn('nsenter', [...this.engine.ns().nsenterArgs(), '--', ...inDir], { stdio: fds ? [fds.stdin, fds.stdout, fds.stderr] : 'pipe', env });
      if (!fds) {
        const { stdin, stdout, stderr } = ctx.streams;
        if (stdin) stdin.pipe(child.stdin!);
        else child.stdin!.end();
        child.stdout!.on('data', (d: Buffer) => stdout.write(d));
        child.stderr!.on('data', (d: Buffer) => stderr.write(d));
      }
      child.on('error', () => resolve(125));
      child.on('close', (c, sig) => resolve(c ?? 128 + signalNumber(sig)));
    });
  }

  /** What the engine is, without opening a store (the CLI's `version` stays that cheap). */
  static version(): VersionInfo {
    return { version: VERSION, apiVersion: '1.43', os: platform(), arch: arch(), kernel: release(), nodeVersion: process.versions.node };
  }

  /** `version`, with the runtime this engine would use. */
  async version(): Promise<VersionInfo & { runtime: EngineInfo['runtime'] }> {
    const { chooseRuntime } = await import('../../runtime/runtime.js');
    const { errorMessage } = await import('../../util/errors.js');
    const { runCapture } = await import('../../util/proc.js');
    const runtime: EngineInfo['runtime'] = {};
    try {
      const rt = chooseRuntime(this.engine.config.engine.runtime, undefined, this.engine.config.engine.runtimes);
      runtime.name = rt.name;
      runtime.path = rt.path;
      runtime.version = runCapture(rt.path, ['--version']).stdout.split('\n')[0];
    } catch (err) {
      runtime.error = errorMessage(err);
    }
    return { ...SystemService.version(), runtime };
  }

  /** `info`: runtime, storage, network, id mappings and paths. */
  async info(): Promise<EngineInfo> {
    const { engineInfo } = await import('./info.js');
    return engineInfo(this.engine);
  }

  /** `system check`: every rootless prerequisite, with the fix for each failure. */
  async check(): Promise<CheckReport> {
    const [{ runChecks }, { policyCheck }] = await Promise.all([import('./doctor.js'), import('../policy/binding.js')]);
    const checks = [...runChecks(this.engine), await policyCheck(this.engine)];
    return { ok: !checks.some((r) => r.required && r.status === 'failed'), checks };
  }

  /**
   * `system reset`: every container removed (killed if running), the store
   * deleted, the namespace stopped. The engine is closed afterwards: the
   * services cannot be used again. Returns the data directory removed.
   */
  async reset(): Promise<{ removed: string }> {
    const { resetStore } = await import('./reset.js');
    const removed = this.engine.paths.dataDir;
    resetStore(this.engine);
    return { removed };
  }

  /** `image check [--repair]`: the store check (blobs re-hashed, images' parts, leftovers, the database). */
  async imageCheck(req: { repair?: boolean } = {}): Promise<StoreCheckResult> {
    const { checkStore } = await import('./store-check.js');
    return checkStore(this.engine, !!req.repair);
  }

  /**
   * `system prune`: stopped containers, unused networks, nameless images
   * (every unused one with `all`) and with `volumes` unused anonymous
   * volumes. Undefined when `confirm` said no (nothing removed).
   */
  async prune(req: SystemPruneRequest = {}): Promise<SystemPruneResult | undefined> {
    const { systemPrune } = await import('./prune.js');
    return systemPrune(this.engine, req);
  }

  /** Names for shell completion (`__complete`): containers, images, networks or volumes; cheap, no reconciling. */
  async names(kind: NameKind): Promise<string[]> {
    const { completionNames } = await import('./names.js');
    return completionNames(this.engine, kind);
  }

  /** `system df`: counts, sizes and what could be reclaimed, of images, containers and volumes; each item too. */
  async df(): Promise<DiskUsage> {
    const { diskUsage } = await import('./df.js');
    return diskUsage(this.engine);
  }

  /**
   * `system recover`: a lost or damaged state database is moved aside and
   * rebuilt from the store. Static: it must look at the database before an
   * engine opens it (opening refuses a damaged one). `onStep` hears the
   * verdict and each file moved aside before the rebuild starts.
   */
  static async recover(req: { force?: boolean } = {}, onStep: (step: RecoverStep) => void = () => {}): Promise<RecoverResult> {
    const [{ databaseVerdict, moveDatabaseAside, rebuildState }, { Engine }] = await Promise.all([import('./store-recover.js'), import('../engine.js')]);
    const { paths } = await Engine.locate();
    const verdict = databaseVerdict(paths.db);
    const result: RecoverResult = { database: paths.db, verdict, rebuilt: false, movedAside: [], restored: [], notRestored: [] };
    if (verdict.state === 'sound' && !req.force) return result;
    onStep({ kind: 'verdict', database: paths.db, verdict });
    for (const file of moveDatabaseAside(paths.db)) {
      result.movedAside.push(file);
      onStep({ kind: 'moved-aside', file });
    }
    const engine = await Engine.open({ fresh: 'allow' });
    try {
      const report = await rebuildState(engine);
      return { ...result, rebuilt: true, restored: report.restored, notRestored: report.notRestored };
    } finally {
      engine.close();
    }
  }
}
