import { join } from 'node:path';
import type { Engine } from '../engine.js';
import { ContainerStore, type ContainerRecord } from '../containers/store.js';
import { containerDir } from '../containers/paths.js';
import { PodStore } from '../pods/store.js';
import { engineEnv } from '../process-env.js';
import { EngineError } from '../../util/errors.js';

export const SYSTEMD_RESTART = ['no', 'on-success', 'on-failure', 'on-abnormal', 'on-watchdog', 'on-abort', 'always'] as const;
export type SystemdRestart = typeof SYSTEMD_RESTART[number];

export interface SystemdRequest {
  /** The command that runs rootlet: absolute paths (node and the script, or the installed wrapper). */
  rootlet: string[];
  /** Recreate the container or pod at each start from a kube manifest written beside the unit (kube play --replace), instead of starting the existing one. */
  new?: boolean;
  restartPolicy?: SystemdRestart;
  /** Seconds a stop waits before killing (default: the container's stop timeout). */
  stopTimeoutSec?: number;
}

export interface SystemdUnit {
  /** The unit's file name: container-NAME.service, pod-NAME.service. */
  name: string;
  text: string;
  /** For --new: the manifest the unit plays (its file name and text), written beside the unit. */
  manifest?: { name: string; text: string };
}

/** A systemd word: quoted when it holds what systemd would split or expand. */
export function word(s: string): string {
  const escaped = s.replace(/%/g, '%%').replace(/\$/g, '$$$$');
  return /^[\w@%+=:,./$-]+$/.test(escaped) ? escaped : `"${escaped.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

export function line(argv: string[]): string {
  return argv.map(word).join(' ');
}

/** The engine's store and configuration as environment lines, so the unit's rootlet finds the same store. */
export function environment(): string[] {
  const env = engineEnv();
  return ['XDG_DATA_HOME', 'XDG_CONFIG_HOME', 'ROOTLET_ROOT', 'ROOTLET_RUNROOT', 'CONTAINERS_CONF'].filter((k) => env[k]).map((k) => `Environment=${word(`${k}=${env[k]!}`)}`);
}

/**
 * `generate systemd`: a user unit that owns a container or a pod, so that
 * `systemctl --user enable --now UNIT` keeps it across logout (with
 * lingering) and reboot. Without --new it starts and stops the existing
 * one (Type=forking, its monitor's pid file: conmon stays in the unit's
 * cgroup and systemd's Restart= sees it end). With --new each start
 * recreates it from a kube manifest (as Quadlet's .kube units do): what the
 * container was made of is the manifest, so the unit outlives the
 * container it was generated from.
 */
export async function generateUnit(engine: Engine, ref: string, req: SystemdRequest): Promise<SystemdUnit> {
  if (!req.rootlet.length || !req.rootlet[0]!.startsWith('/')) throw new EngineError('generate systemd: the rootlet command must be an absolute path');
  const pod = new PodStore(engine.db).find(ref);
  const store = new ContainerStore(engine.db);
  const ctr = pod ? undefined : store.find(ref);
  if (!pod && !ctr) throw new EngineError(`no such container or pod: ${ref}`);
  if (ctr?.spec.pod) throw new EngineError(`container ${ctr.name} is in a pod: generate a unit for the pod`);
  if (ctr?.spec.rm) throw new EngineError(`container ${ctr.name} is removed when it stops (--rm): a unit could not start it again; use --new, or a container without --rm`);
  const kind = pod ? 'pod' : 'container';
  const name = pod ? pod.name : ctr!.name;
  const unitName = `${kind}-${name}.service`;
  const stopTimeout = req.stopTimeoutSec ?? (ctr ? ctr.spec.stopTimeout : 10);
  const head = [
    `# ${unitName}, made by rootlet generate systemd`,
    '[Unit]',
    `Description=rootlet ${kind} ${name}`,
    'Wants=network-online.target',
    'After=network-online.target',
    `RequiresMountsFor=${word(engine.paths.dataDir)}`,
    '',
    '[Service]',
    ...environment(),
    `Restart=${req.restartPolicy ?? 'on-failure'}`,
    `TimeoutStopSec=${stopTimeout + 60}`,
  ];
  let body: string[];
  let manifest: SystemdUnit['manifest'];
  if (req.new) {
    const { generateKube } = await import('../kube/generate.js');
    const kube = generateKube(engine, [name], {});
    manifest = { name: `${kind}-${name}.yaml`, text: kube.yaml };
    // %E: the user's configuration directory ($XDG_CONFIG_HOME), where the unit and its manifest are put.
    const file = `%E/systemd/user/${manifest.name}`;
    body = [
      `ExecStart=${line(req.rootlet)} kube play --replace ${file}`,
      `ExecStop=${line(req.rootlet)} kube play --down ${file}`,
      'Type=oneshot',
      'RemainAfterExit=yes',
    ];
  } else {
    const pidOf = (c: ContainerRecord) => join(containerDir(engine, c.id), 'conmon.pid');
    const holder = pod ? store.get(pod.infraId) : ctr!;
    if (!holder) throw new EngineError(`the infra container of pod ${name} is gone: remove the pod and create it again`);
    const verb = pod ? ['pod'] : [];
    body = [
      `ExecStart=${line([...req.rootlet, ...verb, 'start', name])}`,
      `ExecStop=${line([...req.rootlet, ...verb, 'stop', '-t', String(stopTimeout), name])}`,
      `ExecStopPost=${line([...req.rootlet, ...verb, 'stop', '-t', String(stopTimeout), name])}`,
      `PIDFile=${word(pidOf(holder))}`,
      'Type=forking',
    ];
  }
  const text = [...head, ...body, '', '[Install]', 'WantedBy=default.target', ''].join('\n');
  return { name: unitName, text, ...(manifest ? { manifest } : {}) };
}
