import { join } from 'node:path';
import type { MountRequest } from '../../runtime/spec.js';
import type { ContainerSpec } from './spec.js';

/** A mount as Docker's API describes it (inspect's Mounts, ps's Mounts column). */
export interface MountPoint {
  Type: 'bind' | 'volume';
  Name?: string;
  Source: string;
  Destination: string;
  Driver?: string;
  Mode: string;
  RW: boolean;
  Propagation: string;
}

const PROPAGATION = /^r?(shared|slave|private)$/;

function volumeOf(volumesDir: string, spec: ContainerSpec, m: MountRequest) {
  return spec.volumes.find((v) => m.source === join(volumesDir, v.name, '_data'));
}

/**
 * The container's bind mounts and volumes, told apart by where their source
 * lives (the spec keeps both as bind mounts). tmpfs mounts are not listed:
 * Docker shows `--tmpfs` in HostConfig.Tmpfs only.
 */
export function mountPoints(volumesDir: string, spec: ContainerSpec): MountPoint[] {
  return spec.mounts.filter((m) => m.type === 'bind').map((m) => {
    const ro = m.options.includes('ro');
    const propagation = m.options.find((o) => PROPAGATION.test(o));
    const vol = volumeOf(volumesDir, spec, m);
    const mode = [...(ro ? ['ro'] : []), ...(propagation ? [propagation] : [])].join(',');
    if (vol) {
      return {
        Type: 'volume', Name: vol.name, Source: m.source, Destination: m.destination, Driver: 'local',
        // Docker's default mode for a named volume given with -v is "z"; an anonymous one has none.
        Mode: mode || (vol.anonymous ? '' : 'z'), RW: !ro, Propagation: propagation ?? '',
      };
    }
    return { Type: 'bind', Source: m.source, Destination: m.destination, Mode: mode, RW: !ro, Propagation: propagation ?? 'rprivate' };
  });
}

/** HostConfig.Binds: the -v arguments that named a host path or a volume, as SRC:DST[:OPTS]; null when none. */
export function binds(volumesDir: string, spec: ContainerSpec): string[] | null {
  const out = mountPoints(volumesDir, spec)
    .filter((m) => !(m.Type === 'volume' && spec.volumes.find((v) => v.name === m.Name)?.anonymous))
    .map((m) => {
      const opts = m.Mode === 'z' ? '' : m.Mode;
      return `${m.Type === 'volume' ? m.Name : m.Source}:${m.Destination}${opts ? `:${opts}` : ''}`;
    });
  return out.length ? out : null;
}

/** tmpfs mounts as Docker's HostConfig.Tmpfs: destination -> the options beyond the defaults rootlet adds. */
export function tmpfsMounts(spec: ContainerSpec): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of spec.mounts.filter((x) => x.type === 'tmpfs').sort((a, b) => a.destination.localeCompare(b.destination))) {
    const opts = [...m.options];
    // parseTmpfs puts its defaults (nosuid, nodev, noexec) first.
    while (opts.length && ['nosuid', 'nodev', 'noexec'].includes(opts[0]!)) opts.shift();
    out[m.destination] = opts.join(',');
  }
  return out;
}

/** Config.Volumes: the container paths of anonymous volumes. */
export function anonymousVolumes(volumesDir: string, spec: ContainerSpec): Record<string, object> | null {
  const dests = mountPoints(volumesDir, spec)
    .filter((m) => m.Type === 'volume' && spec.volumes.find((v) => v.name === m.Name)?.anonymous)
    .map((m) => m.Destination)
    .sort();
  return dests.length ? Object.fromEntries(dests.map((d) => [d, {}])) : null;
}
