import { existsSync } from 'node:fs';
import { containerDir } from './paths.js';
import type { ContainerRecord } from './store.js';
import type { Engine } from '../engine.js';
import { containerDirs } from '../../storage/rootfs.js';

export interface ContainerSize {
  /** Bytes the container wrote: its upper directory (Docker's SizeRw). */
  rw: number;
  /** What its root filesystem holds in all: image and writes (Docker's SizeRootFs, "virtual"). */
  rootFs: number;
}

/** Sums `find -printf '%i %s'` output, each inode once (hard links share their bytes). */
export function sumFileSizes(findOutput: string): number {
  const seen = new Set<string>();
  let total = 0;
  for (const line of findOutput.split('\n')) {
    const [inode, size] = line.split(' ');
    if (!inode || size === undefined || seen.has(inode)) continue;
    seen.add(inode);
    total += Number(size) || 0;
  }
  return total;
}

/**
 * Measures a container as `ps -s` and `inspect -s` report it: files other
 * than directories, counted once per inode. The walk runs in the user's
 * namespace, where directories of subordinate ids can be read.
 */
export async function containerSize(engine: Engine, rec: ContainerRecord): Promise<ContainerSize> {
  const imageSize = engine.images.get(rec.imageId)?.size ?? 0;
  const upper = containerDirs(containerDir(engine, rec.id)).upper;
  if (!existsSync(upper)) return { rw: 0, rootFs: imageSize };
  const r = await engine.ns().runAsync(['find', upper, '-xdev', '!', '-type', 'd', '!', '-name', '.rootlet-complete', '-printf', '%i %s\\n']);
  let rw = sumFileSizes(r.stdout);
  // vfs copies the image into the upper directory: what the container wrote is the excess (deletions are not seen).
  if (rec.spec.driver === 'vfs') rw = Math.max(0, rw - imageSize);
  return { rw, rootFs: imageSize + rw };
}
