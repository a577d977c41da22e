import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cgroupLayout } from './runtime.js';

/** The systemd user service's cgroup: where a user's delegated subtree lives on a cgroup v2 host. */
export function userServiceCgroup(uid: number): string {
  return `/user.slice/user-${uid}.slice/user@${uid}.service`;
}

/** Controllers delegated to the user (cgroup v2 only); an empty list when there is no delegation. */
export function delegatedControllers(uid: number): string[] {
  if (cgroupLayout() !== 'v2') return [];
  try {
    return readFileSync(join('/sys/fs/cgroup', userServiceCgroup(uid), 'cgroup.controllers'), 'utf8').trim().split(/\s+/).filter(Boolean);
  } catch {
    return [];
  }
}
