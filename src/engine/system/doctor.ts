import { accessSync, constants, mkdirSync, readFileSync, rmSync, statfsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Engine } from '../engine.js';
import { errorMessage } from '../../util/errors.js';
import { delegatedControllers } from '../../runtime/cgroups.js';
import { cgroupLayout, runtimeBlocker, RUNTIMES, runtimeArgs, type RuntimeName } from '../../runtime/runtime.js';
import { probeDriver } from '../../storage/rootfs.js';
import { findInPath, runCapture } from '../../util/proc.js';
import type { Identity } from '../../rootless/identity.js';
import { readSubIds, totalIds } from '../../rootless/subid.js';
import { lastLine } from '../../rootless/userns.js';
import { randomHex } from '../../util/random.js';
import { checkLinger } from '../systemd/linger.js';
import { checkApiService } from '../systemd/api-check.js';

export type CheckStatus = 'ok' | 'warn' | 'failed' | 'skipped';

export interface CheckResult {
  item: string;
  status: CheckStatus;
  detail: string;
  fix?: string;
  /** A failed required item makes the host unusable for rootlet. */
  required: boolean;
}

const MIN_IDS = 65536;

function readSysctl(name: string): string | undefined {
  try {
    return readFileSync(`/proc/sys/${name.replace(/\./g, '/')}`, 'utf8').trim();
  } catch {
    return undefined;
  }
}

function checkIdmapTools(): CheckResult[] {
  return (['newuidmap', 'newgidmap'] as const).map((tool) => {
    const path = findInPath(tool);
    if (!path) return { item: tool, status: 'failed', required: true, detail: 'not installed', fix: 'apt-get install uidmap (as root)' };
    const st = statSync(path);
    if (st.uid === 0 && (st.mode & 0o4000)) return { item: tool, status: 'ok', required: true, detail: `${path} (setuid root)` };
    const caps = runCapture('getcap', [path]);
    const need = tool === 'newuidmap' ? 'cap_setuid' : 'cap_setgid';
    if (caps.code === 0 && caps.stdout.includes(need)) return { item: tool, status: 'ok', required: true, detail: `${path} (file capability ${need})` };
    return { item: tool, status: 'failed', required: true, detail: `${path} is neither setuid root nor has ${need}`, fix: `chmod u+s ${path} (as root), or setcap ${need}+ep ${path}` };
  });
}

function checkSubIds(id: Identity): CheckResult[] {
  const sub = readSubIds(id);
  const out: CheckResult[] = [];
  for (const [file, ranges] of [['/etc/subuid', sub.uids], ['/etc/subgid', sub.gids]] as const) {
    const total = totalIds(ranges);
    const fix = `usermod --add-subuids 100000-165535 --add-subgids 100000-165535 ${id.name} (as root, with a range no other user has)`;
    if (!ranges.length) {
      out.push({ item: `${file} range`, status: 'failed', required: true, detail: `no range for ${id.name} in ${file} (nor from NSS through getsubids)`, fix });
    } else if (total < MIN_IDS) {
      out.push({ item: `${file} range`, status: 'failed', required: true, detail: `${id.name} has ${total} ids in ${file}; images need at least ${MIN_IDS}`, fix });
    } else {
      const from = sub.source.includes('getsubids') ? ' (from NSS through getsubids)' : '';
      out.push({ item: `${file} range`, status: 'ok', required: true, detail: `${ranges.map((r) => `${r.start}+${r.count}`).join(', ')}${from}` });
    }
  }
  return out;
}

function checkUserns(): CheckResult {
  const max = readSysctl('user.max_user_namespaces');
  if (max === '0') return { item: 'user namespaces', status: 'failed', required: true, detail: 'user.max_user_namespaces is 0', fix: 'sysctl -w user.max_user_namespaces=28633 (as root; persist it in /etc/sysctl.d/)' };
  const clone = readSysctl('kernel.unprivileged_userns_clone');
  if (clone === '0') return { item: 'user namespaces', status: 'failed', required: true, detail: 'kernel.unprivileged_userns_clone is 0 (Debian)', fix: 'sysctl -w kernel.unprivileged_userns_clone=1 (as root; persist it in /etc/sysctl.d/)' };
  const r = runCapture('unshare', ['--user', 'true'], { timeoutMs: 5000 });
  if (r.code !== 0) {
    const aa = readSysctl('kernel.apparmor_restrict_unprivileged_userns');
    if (aa === '1') {
      return { item: 'user namespaces', status: 'failed', required: true, detail: 'AppArmor restricts unprivileged user namespaces (Ubuntu)', fix: 'sysctl -w kernel.apparmor_restrict_unprivileged_userns=0 (as root), or an AppArmor profile that allows userns for unshare and nsenter' };
    }
    return { item: 'user namespaces', status: 'failed', required: true, detail: `unshare --user failed: ${lastLine(r.stderr)}`, fix: 'enable user namespaces in the kernel (CONFIG_USER_NS) and sysctls' };
  }
  return { item: 'user namespaces', status: 'ok', required: true, detail: `allowed (max ${max ?? '?'})` };
}

const NETWORK_FS: Record<number, string> = {
  0x6969: 'NFS', 0xff534d42: 'CIFS', 0xfe534d42: 'SMB2', 0x0bd00bd0: 'Lustre', 0x47504653: 'GPFS', 0x00c36400: 'CephFS', 0x65735546: 'FUSE',
};

function checkStoreFilesystem(engine: Engine): CheckResult {
  let type = 0;
  try { type = statfsSync(engine.paths.dataDir).type; } catch { /* unknown */ }
  const fs = NETWORK_FS[type >>> 0];
  const fix = `put the store on local disk: in ${engine.paths.configFile} set [storage] root = "/var/tmp/${engine.id.name}-rootlet"`;
  if (fs) return { item: 'store filesystem', status: 'failed', required: true, detail: `${engine.paths.dataDir} is on ${fs}, where overlay and chown to subordinate ids fail`, fix };
  return { item: 'store filesystem', status: 'ok', required: true, detail: `${engine.paths.dataDir} (local)` };
}

function checkChownInStore(engine: Engine): CheckResult {
  const probe = join(engine.paths.tmp, 'chown-probe');
  const r = engine.ns().run(['sh', '-c', `: > ${probe} && chown 1:1 ${probe}; rc=$?; rm -f ${probe}; exit $rc`]);
  if (r.code !== 0) {
    return { item: 'store ownership', status: 'failed', required: true, detail: `cannot give a file in the store to a subordinate id: ${lastLine(r.stderr)}`, fix: `put the store on local disk: in ${engine.paths.configFile} set [storage] root = "/var/tmp/${engine.id.name}-rootlet"` };
  }
  return { item: 'store ownership', status: 'ok', required: true, detail: 'files can belong to subordinate ids' };
}

function checkStorage(engine: Engine): CheckResult {
  const { driver, notes } = probeDriver(engine.ns(), join(engine.paths.tmp, `doctor-probe-${process.pid}`));
  const configured = engine.config.storage.driver;
  if (driver === 'overlay') return { item: 'storage driver', status: 'ok', required: true, detail: `overlay in the user namespace (native, userxattr)${configured ? `; configured: ${configured}` : ''}` };
  const detail = `${driver} (${notes.join('; ')})`;
  if (driver === 'fuse-overlayfs') return { item: 'storage driver', status: 'warn', required: true, detail, fix: 'native overlay needs Linux >= 5.11; fuse-overlayfs works but is slower' };
  return { item: 'storage driver', status: 'warn', required: true, detail, fix: 'every container copies its image (vfs): use Linux >= 5.11, or install fuse-overlayfs and make /dev/fuse mode 0666' };
}

function checkDevice(path: string, what: string, pkgFix: string): CheckResult {
  try {
    accessSync(path, constants.R_OK | constants.W_OK);
    return { item: path, status: 'ok', required: false, detail: `usable (${what})` };
  } catch {
    const exists = (() => { try { statSync(path); return true; } catch { return false; } })();
    return {
      item: path,
      status: 'warn',
      required: false,
      detail: exists ? `not readable and writable by you: ${what} will not work` : `missing: ${what} will not work`,
      fix: exists ? `chmod 0666 ${path} (as root; the distribution default)` : pkgFix,
    };
  }
}

/** Starts a real container (the host's own /bin/true, bound read-only into an empty root) with each installed runtime. */
function checkRuntimes(engine: Engine): CheckResult[] {
  const layout = cgroupLayout();
  const out: CheckResult[] = [];
  let anyOk = false;
  for (const name of RUNTIMES as RuntimeName[]) {
    const path = findInPath(name);
    if (!path) {
      out.push({ item: `runtime ${name}`, status: 'skipped', required: false, detail: 'not installed' });
      continue;
    }
    const blocker = runtimeBlocker(name, layout);
    if (blocker) {
      out.push({ item: `runtime ${name}`, status: 'warn', required: false, detail: `${blocker}: rootlet uses another runtime here` });
      continue;
    }
    const r = tryRuntime(engine, name, path);
    if (r === undefined) {
      anyOk = true;
      out.push({ item: `runtime ${name}`, status: 'ok', required: false, detail: `${path} starts a container` });
    } else {
      out.push({ item: `runtime ${name}`, status: 'warn', required: false, detail: `${path} cannot start a container here: ${r}` });
    }
  }
  out.push(anyOk
    ? { item: 'OCI runtime', status: 'ok', required: true, detail: 'at least one runtime works' }
    : { item: 'OCI runtime', status: 'failed', required: true, detail: 'no installed runtime starts a container here', fix: 'apt-get install crun or runc (as root)' });
  return out;
}

function tryRuntime(engine: Engine, name: RuntimeName, path: string): string | undefined {
  // Unique per check, so that two checks at once do not share a bundle or a container id.
  const tag = randomHex(4);
  const bundle = join(engine.paths.tmp, `doctor-${name}-${tag}`);
  const id = `rootlet-doctor-${tag}`;
  try {
    engine.mkdirForNs(bundle);
    engine.mkdirForNs(join(bundle, 'rootfs'));
    const binds = ['/usr', '/bin', '/lib', '/lib64'].filter((d) => { try { return statSync(d).isDirectory(); } catch { return false; } })
      .map((d) => ({ destination: d, type: 'bind', source: d, options: ['rbind', 'ro'] }));
    const config = {
      ociVersion: '1.0.2',
      process: { terminal: false, user: { uid: 0, gid: 0 }, args: ['/bin/true'], env: ['PATH=/usr/bin:/bin'], cwd: '/' },
      root: { path: join(bundle, 'rootfs'), readonly: false },
      hostname: 'doctor',
      mounts: [
        { destination: '/proc', type: 'proc', source: 'proc' },
        { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'mode=755'] },
        ...binds,
      ],
      linux: { namespaces: [{ type: 'pid' }, { type: 'mount' }, { type: 'ipc' }, { type: 'uts' }, { type: 'network' }] },
    };
    engine.writeFileForNs(join(bundle, 'config.json'), JSON.stringify(config));
    const log = join(bundle, 'log.json');
    const r = engine.ns().run([path, ...runtimeArgs({ kind: name }, engine.paths.runcRoot, log), 'run', '--bundle', bundle, id]);
    if (r.code === 0) return undefined;
    return lastLine(r.stderr) || `exit status ${r.code}`;
  } catch (err) {
    return errorMessage(err);
  } finally {
    engine.ns().run(['rm', '-rf', bundle]);
  }
}

function checkNetworkTools(): CheckResult {
  const found = ['pasta', 'slirp4netns'].filter((t) => findInPath(t));
  if (!found.length) {
    return { item: 'user-mode network', status: 'warn', required: false, detail: 'neither pasta nor slirp4netns is installed: only --net none and host work', fix: 'apt-get install passt slirp4netns (as root)' };
  }
  const missing = ['ip', 'nft'].filter((t) => !findInPath(t));
  if (missing.length) {
    return { item: 'user-mode network', status: 'warn', required: false, detail: `${missing.join(' and ')} not installed: rootlet's networks cannot be set up`, fix: 'apt-get install iproute2 nftables (as root)' };
  }
  return { item: 'user-mode network', status: 'ok', required: false, detail: `${found.join(', ')} installed (rootlet's networks use ${found[0]}), with ip and nft` };
}

function checkCgroups(id: Identity): CheckResult {
  const layout = cgroupLayout();
  if (layout !== 'v2') {
    return { item: 'cgroups', status: 'warn', required: false, detail: `${layout === 'hybrid' ? 'hybrid v1/v2' : layout} hierarchy: limits (--memory, --cpus, --pids-limit) are refused here`, fix: 'boot with systemd.unified_cgroup_hierarchy=1 for cgroup v2 with delegation' };
  }
  // The same reading `run` uses to accept or refuse limits.
  const delegated = delegatedControllers(id.uid);
  const controllers = delegated.join(' ');
  const missing = ['cpu', 'memory', 'pids'].filter((c) => !delegated.includes(c));
  if (missing.length) return { item: 'cgroups', status: 'warn', required: false, detail: `cgroup v2, but ${missing.join(', ')} not delegated to you: those limits are refused`, fix: 'delegate them: systemctl edit user@.service with [Service] Delegate=cpu cpuset io memory pids' };
  return { item: 'cgroups', status: 'ok', required: false, detail: `cgroup v2 with delegated controllers: ${controllers}` };
}

function checkRuntimeDir(engine: Engine): CheckResult {
  // The engine's own environment placed its runtime directory, not the caller's.
  const base = engine.hostEnv().XDG_RUNTIME_DIR;
  if (!base) return { item: 'runtime directory', status: 'warn', required: false, detail: `XDG_RUNTIME_DIR is not set; using ${engine.paths.runDir}`, fix: 'log in through PAM (pam_systemd sets it), or export XDG_RUNTIME_DIR=/run/user/$(id -u)' };
  try {
    mkdirSync(engine.paths.runDir, { recursive: true });
    const probe = join(engine.paths.runDir, '.probe');
    writeFileSync(probe, '');
    rmSync(probe);
    return { item: 'runtime directory', status: 'ok', required: true, detail: engine.paths.runDir };
  } catch (err) {
    return { item: 'runtime directory', status: 'failed', required: true, detail: `${engine.paths.runDir} is not writable: ${errorMessage(err)}`, fix: 'export XDG_RUNTIME_DIR to a directory you own (mode 0700)' };
  }
}

/** Every prerequisite, in the order a person would fix them. Items that need an earlier one are skipped when it failed. */
export function runChecks(engine: Engine): CheckResult[] {
  const results: CheckResult[] = [];
  results.push(...checkIdmapTools(), ...checkSubIds(engine.id), checkUserns(), checkRuntimeDir(engine), checkStoreFilesystem(engine));
  const blocked = results.some((r) => r.required && r.status === 'failed');
  const needsNs = ['namespace', 'store ownership', 'storage driver', 'OCI runtime'];
  if (blocked) {
    for (const item of needsNs) results.push({ item, status: 'skipped', required: true, detail: 'needs the items above' });
  } else {
    try {
      const ns = engine.ns();
      results.push({ item: 'namespace', status: 'ok', required: true, detail: `held by pid ${ns.pid}, ${ns.size} ids mapped` });
      results.push(checkChownInStore(engine), checkStorage(engine), ...checkRuntimes(engine));
    } catch (err) {
      results.push({ item: 'namespace', status: 'failed', required: true, detail: errorMessage(err) });
    }
  }
  results.push(
    checkDevice('/dev/net/tun', 'pasta and slirp4netns networking', 'load the tun module (modprobe tun, as root)'),
    checkDevice('/dev/fuse', 'fuse-overlayfs', 'load the fuse module (modprobe fuse, as root)'),
    checkNetworkTools(),
    checkCgroups(engine.id),
  );
  results.push(checkLinger(engine.id), checkApiService(engine.hostEnv()));
  const init = findInPath('catatonit');
  results.push(init
    ? { item: 'init for --init', status: 'ok', required: false, detail: init }
    : { item: 'init for --init', status: 'warn', required: false, detail: 'catatonit is not installed: --init fails', fix: 'apt-get install catatonit (as root)' });
  return results;
}
