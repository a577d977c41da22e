import { mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { EngineError } from '../util/errors.js';
import type { UserNamespace } from '../rootless/userns.js';
import { findInPath } from '../util/proc.js';

export type DriverName = 'overlay' | 'fuse-overlayfs' | 'vfs';
export const DRIVERS: DriverName[] = ['overlay', 'fuse-overlayfs', 'vfs'];

/** The kernel's limit on an overlay's lower layers (OVL_MAX_STACK). */
export const OVERLAY_MAX_LAYERS = 500;

/** Refuses, before anything is made, an image deeper than an overlay mount can stack. */
export function checkOverlayDepth(layers: number): void {
  if (layers > OVERLAY_MAX_LAYERS) {
    throw new EngineError(`the image has ${layers} layers; an overlay mount stacks at most ${OVERLAY_MAX_LAYERS}: squash the image (e.g. rebuild it with fewer steps) or use the vfs storage driver`);
  }
}

/**
 * Where an overlay mount names its lower layers from, so that the option
 * string fits in the one page mount(2) takes. Layer directories are named
 * by their 64-hex diff ids: past about 55 layers the names no longer fit,
 * and the mount fails with a bare "invalid argument". Then the container's
 * directory gets a `lower/` of short links (`0`, `1`, ...: the bottom
 * layer first) to the layer directories, and the mount names those,
 * relative to it; overlay follows the links when it mounts. Returns the
 * directory the mount must run in and the names to give it.
 */
export function overlayLowers(layersDir: string, layerNames: string[], d: ContainerDirs): { cwd: string; names: string[] } {
  checkOverlayDepth(layerNames.length);
  if (overlayOptions(layerNames, d).length < 3800) return { cwd: layersDir, names: layerNames };
  const links = join(d.dir, 'lower');
  rmSync(links, { recursive: true, force: true });
  mkdirSync(links);
  layerNames.forEach((n, i) => symlinkSync(join(layersDir, n), join(links, String(i))));
  return { cwd: links, names: layerNames.map((_, i) => String(i)) };
}

/** Quotes a word for sh. */
export function shq(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The directories of one container's root filesystem. */
export interface ContainerDirs {
  dir: string;
  upper: string;
  work: string;
  merged: string;
}

export function containerDirs(containerDir: string): ContainerDirs {
  return { dir: containerDir, upper: join(containerDir, 'upper'), work: join(containerDir, 'work'), merged: join(containerDir, 'merged') };
}

/** overlay's mount options for layer directory names, bottom layer first (relative to the directory the mount runs in). */
export function overlayOptions(layerNames: string[], d: ContainerDirs): string {
  return `lowerdir=${[...layerNames].reverse().join(':')},upperdir=${d.upper},workdir=${d.work},userxattr`;
}

/**
 * Shell (run as root of the user's namespace, in `layersDir`) that makes the
 * merged root filesystem from layer directory names, bottom layer first,
 * in the directories the caller made.
 * Lower directories are given relative to `layersDir` so that many layers
 * fit in mount(2)'s one-page option string.
 */
export function mountScript(driver: DriverName, layersDir: string, layerNames: string[], d: ContainerDirs): string {
  switch (driver) {
    case 'overlay':
      return `mount -t overlay overlay -o ${shq(overlayOptions(layerNames, d))} ${shq(d.merged)}`;
    case 'fuse-overlayfs':
      // fuse-overlayfs runs on as a daemon from another directory: it needs absolute lower paths.
      return `fuse-overlayfs -o ${shq(`lowerdir=${[...layerNames].reverse().map((n) => join(layersDir, n)).join(':')},upperdir=${d.upper},workdir=${d.work}`)} ${shq(d.merged)}`;
    case 'vfs':
      // A private copy of every layer, whiteouts applied: slow, but needs nothing from the kernel.
      return `if [ ! -e ${shq(d.upper)}/.rootlet-complete ]; then ${layerNames.map((n) => applyLayerScript(n, d.upper)).join(' && ')} && : > ${shq(d.upper)}/.rootlet-complete; fi && mount --bind ${shq(d.upper)} ${shq(d.merged)}`;
  }
}

/** Copies one overlay-format layer onto a directory, turning its whiteouts into deletions. */
function applyLayerScript(layer: string, dest: string): string {
  const L = shq(layer);
  const D = shq(dest);
  return [
    `(cd ${L} && find . -type c | while read -r p; do [ "$(stat -c %t:%T "$p")" = 0:0 ] && rm -rf ${D}/"$p"; done; ` +
      `find . -type d | while read -r p; do [ "$(getfattr --only-values -n user.overlay.opaque "$p" 2>/dev/null)" = y ] && find ${D}/"$p" -mindepth 1 -delete 2>/dev/null; done; true)`,
    `cp -a ${L}/. ${D}/`,
    `(cd ${L} && find . -type c | while read -r p; do [ "$(stat -c %t:%T "$p")" = 0:0 ] && rm -f ${D}/"$p"; done; true)`,
  ].join(' && ');
}

export function unmountScript(driver: DriverName, d: ContainerDirs): string {
  const m = shq(d.merged);
  // Lazy unmount: a process still holding a file there must not keep the mount around.
  const um = driver === 'fuse-overlayfs' ? `(fusermount3 -u ${m} 2>/dev/null || umount -l ${m})` : `umount -l ${m}`;
  return `if mountpoint -q ${m}; then ${um}; fi`;
}

/**
 * Finds the best driver that works here, by trying each in the namespace.
 * `scratch` must be this caller's alone: processes that start on a fresh
 * store probe at once, and one's `rm -rf` under another's mount made the
 * other fall back to a weaker driver and leave its fuse daemon behind. Every
 * exit path unmounts, so a failed step never leaves a daemon or a mount.
 */
export function probeDriver(ns: UserNamespace, scratch: string): { driver: DriverName; notes: string[] } {
  const notes: string[] = [];
  const t = shq(scratch);
  const attempt = (mount: string, unmount: string) => ns.run(['sh', '-c',
    // The trap ends in `exit`, so the script exits with its own status, not the cleanup's.
    `set -e; rm -rf ${t}; undo() { s=$?; set +e; { ${unmount}; } 2>/dev/null; rm -rf ${t}; exit $s; }; trap undo EXIT; ` +
    `mkdir -p ${t}/l ${t}/u ${t}/w ${t}/m; : > ${t}/l/f; ${mount}; rm ${t}/m/f; : > ${t}/m/g`]);
  const overlay = attempt(
    `mount -t overlay overlay -o lowerdir=${t}/l,upperdir=${t}/u,workdir=${t}/w,userxattr ${t}/m`,
    `umount ${t}/m`);
  if (overlay.code === 0) return { driver: 'overlay', notes };
  notes.push(`overlay in a user namespace failed (${overlay.stderr.trim().split('\n').pop() || 'unknown error'})`);
  if (findInPath('fuse-overlayfs')) {
    const fuse = attempt(
      `fuse-overlayfs -o lowerdir=${t}/l,upperdir=${t}/u,workdir=${t}/w ${t}/m`,
      `fusermount3 -u ${t}/m || umount ${t}/m`);
    if (fuse.code === 0) return { driver: 'fuse-overlayfs', notes };
    notes.push(`fuse-overlayfs failed (${fuse.stderr.trim().split('\n').pop() || 'unknown error'})`);
  } else {
    notes.push('fuse-overlayfs is not installed');
  }
  return { driver: 'vfs', notes };
}

export function parseDriver(name: string): DriverName {
  if ((DRIVERS as string[]).includes(name)) return name as DriverName;
  throw new EngineError(`unknown storage driver "${name}": use one of ${DRIVERS.join(', ')}`);
}
