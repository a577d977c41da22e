import type { Command } from 'commander';
import {
  bindSourceExists, checkAlias, checkDevice, checkSeccompProfile, normalizeCap, checkHostPorts, checkNetworkRequest, parseAddHost, unprivilegedPortStart, validateContainerName,
  checkLogConfig, checkUlimits, DEFAULT_DETACH_KEYS, parseDetachKeys,
} from '../engine/index.js';
import {
  expandEnv, healthInterval, parseCpus, parseDevice, parseGroupAdd, parseIsolation, parseLabels, parseMemory, parsePidsLimit, parseRestart, parseSecurityOpt,
  parseUserns, parseVolume, splitTmpfs, parseMount, parseUlimit, parsePlatformFlag, parseAnnotations, parseLogConfig,
} from '../grammar/create-flags.js';
import {
  parseAbsolutePath, parseBool, parseChoice, parseDuration, parseExpose, parseInteger, parseIp, parsePublish, parseSeconds, parseSignal, parseUserSpec,
} from '../util/values.js';
import { existsSync, writeFileSync } from 'node:fs';
import { openError } from '../util/os-errors.js';
import { EngineError } from '../util/errors.js';
import { collect } from './common.js';
import { checkReadable } from './files.js';
import { checkedOption, listOption, valueOption } from './flag-values.js';

const isRoot = () => process.getuid?.() === 0;

/** -v: the spec, and a bind source that exists but cannot be looked at (a missing one is created later, as Docker). */
function checkVolume(v: string): void {
  const parsed = parseVolume(v, process.cwd(), process.env.HOME);
  if (parsed.kind === 'bind') bindSourceExists(parsed.source);
}

/** -p: the form, and a host port this user may not bind (below net.ipv4.ip_unprivileged_port_start). */
function checkPublish(v: string, flag: string): void {
  checkHostPorts(parsePublish(v, flag), unprivilegedPortStart(), isRoot());
}

/** --network: the mode, names and container: form, as run parses them (whether a named network exists is checked later). */
function checkNetwork(v: string): void {
  checkNetworkRequest({ network: v, ports: [], publishAll: false, expose: [], dns: [], dnsSearch: [], dnsOptions: [], addHosts: [], aliases: [] }, []);
}

/** --security-opt: the form, and a seccomp profile file that can be read and is one. */
function checkSecurityOpt(v: string): void {
  const o = parseSecurityOpt(v, process.cwd());
  if (o.seccomp && o.seccomp !== 'unconfined') checkSeccompProfile(o.seccomp);
}

/** --mount: the form, and a bind source that exists (--mount, unlike -v, does not make it). */
function checkMount(v: string): void {
  const m = parseMount(v, process.cwd(), process.env.HOME);
  if (m.type === 'bind' && !bindSourceExists(m.source)) throw new EngineError(`invalid mount config for type "bind": bind source path does not exist: ${m.source}`);
}

/** --cidfile: Docker refuses a file that exists (another container's, maybe still running). */
function checkCidfile(v: string): void {
  if (existsSync(v)) throw new EngineError(`container ID file found, make sure the other container isn't running or delete ${v}`);
}

const ATTACH_STREAMS = ['stdin', 'stdout', 'stderr'] as const;

/**
 * Every value is checked as the command line is parsed (src/cli/flag-values.ts),
 * so a bad one is refused before an image is pulled or anything is created.
 */
export function addCreateOptions(cmd: Command): Command {
  return cmd
    .option('--rm', 'remove the container when it exits')
    .addOption(checkedOption('--name <name>', 'name the container', (v) => validateContainerName(v)))
    .addOption(listOption('-e, --env <KEY=VALUE>', 'set an environment variable (KEY alone takes the host\'s value)', (v) => expandEnv(v, process.env)))
    .addOption(listOption('--env-file <file>', 'read environment variables from a file', (v) => checkReadable(v), { wrap: false }))
    .addOption(checkedOption('-w, --workdir <dir>', 'working directory inside the container', parseAbsolutePath))
    .addOption(checkedOption('-u, --user <user[:group]>', 'user to run as: name or uid, optionally :group or :gid', parseUserSpec))
    .option('--entrypoint <cmd>', 'override the image\'s ENTRYPOINT ("" clears it)')
    .addOption(listOption('-v, --volume <src:dst[:ro]>', 'bind mount a host path, or mount a named volume', checkVolume))
    .addOption(listOption('--tmpfs <dst[:opts]>', 'mount a tmpfs', (v) => splitTmpfs(v)))
    .option('--read-only', 'mount the container\'s root filesystem read-only')
    .option('-h, --hostname <name>', 'container host name')
    .addOption(checkedOption('--net, --network <mode>', 'network: a rootlet network by name (default: rootlet), pasta or slirp4netns (a stack of its own), none, host, or container:NAME', checkNetwork))
    .addOption(listOption('-p, --publish <[ip:][hostport:]port[/proto]>', 'publish a container port on the host (ranges: 8000-8001:80-81; no host port: a free one)', checkPublish))
    .option('-P, --publish-all', 'publish every exposed port on a free host port')
    .addOption(listOption('--expose <port[/proto]>', 'expose a port or range (for -P and ps)', parseExpose))
    .addOption(listOption('--network-alias <name>', 'another name the container is found by on its networks', checkAlias))
    .addOption(listOption('--dns <ip>', 'name server for the container (replaces the default)', parseIp))
    .option('--dns-search <domain>', 'DNS search domain ("." for none)', collect)
    .option('--dns-option <option>', 'resolv.conf option (e.g. ndots:2)', collect)
    .addOption(listOption('--add-host <name:ip>', 'add a line to /etc/hosts (ip may be host-gateway)', (v) => parseAddHost(v)))
    .option('-i, --interactive', 'keep stdin open and pass it to the container')
    .option('-t, --tty', 'allocate a pseudo-TTY')
    .option('--init', 'run an init (catatonit) as PID 1 that forwards signals and reaps zombies')
    .addOption(checkedOption('--userns <mode>', 'keep-id: run as your own uid and gid inside', (v) => parseUserns(v)))
    .option('--runtime <name>', 'OCI runtime: crun, runc, runsc (gVisor) or one named in [engine.runtimes] of the config (default: the fastest that works here)')
    .addOption(checkedOption('--isolation <mode>', 'sandbox: run on gVisor\'s user-space kernel (runsc), not the host\'s; default: the runtime\'s own', (v) => parseIsolation(v)))
    .addOption(checkedOption('--restart <policy>', 'no, on-failure[:max-retries], always or unless-stopped (detached containers)', (v) => parseRestart(v)))
    .addOption(checkedOption('--stop-signal <signal>', 'signal that stops the container (default: the image\'s, else SIGTERM)', parseSignal))
    .addOption(valueOption('--stop-timeout <seconds>', 'seconds to wait after the stop signal before SIGKILL (default 10)', parseSeconds))
    .addOption(listOption('-l, --label <KEY=VALUE>', 'set a label', (v) => parseLabels([v])))
    .addOption(checkedOption('-m, --memory <bytes>', 'memory limit, e.g. 64m (needs cgroup v2 delegation)', (v) => parseMemory(v)))
    .addOption(checkedOption('--cpus <number>', 'CPU limit, e.g. 1.5 (needs cgroup v2 delegation)', (v) => parseCpus(v)))
    .addOption(checkedOption('--pids-limit <n>', 'process limit, -1 for none (needs cgroup v2 delegation)', (v) => parsePidsLimit(v)))
    .option('--health-cmd <command>', 'command (run with sh -c in the container) that says whether it is healthy')
    .addOption(checkedOption('--health-interval <duration>', 'time between health checks (default 30s)', (v) => healthInterval(v)))
    .addOption(checkedOption('--health-timeout <duration>', 'time a health check may take (default 30s)', parseDuration))
    .addOption(checkedOption('--health-retries <n>', 'failures in a row that make it unhealthy (default 3)', (v, flag) => parseInteger(v, flag, 1)))
    .addOption(checkedOption('--health-start-period <duration>', 'failures in this first period do not count (default 0s)', parseDuration))
    .option('--no-healthcheck', 'disable the image\'s health check')
    .addOption(listOption('--cap-add <capability>', 'add a Linux capability (NET_ADMIN, SYS_PTRACE, ... or ALL), within your user namespace', (v, flag) => normalizeCap(v, flag)))
    .addOption(listOption('--cap-drop <capability>', 'drop a capability of the default set, or ALL', (v, flag) => normalizeCap(v, flag)))
    .addOption(listOption('--security-opt <option>', 'no-new-privileges, seccomp=unconfined, seccomp=PROFILE.json, mask=PATH[:PATH], unmask=ALL|PATH[:PATH]', checkSecurityOpt, { wrap: false }))
    .option('--privileged', 'rootless: every capability of your user namespace, no seccomp filter, no masked paths, the host devices you can open')
    .addOption(listOption('--device <host[:container][:perms]>', 'bind in a host device you can open (perms: r, w, m)', (v) => checkDevice(parseDevice(v)), { wrap: false }))
    .addOption(listOption('--group-add <group>', 'an extra group for the container\'s process (name or gid), or keep-groups to keep your own groups (crun)', (v) => parseGroupAdd(v)))
    .addOption(valueOption('--pull <policy>', 'pull the image: missing (when not here), always, or never', (v, flag) => parseChoice(v, flag, PULL_POLICIES, 'a pull policy')).default('missing'))
    .addOption(listOption('--mount <type=...,source=...,target=...>', 'mount: type=bind|volume|tmpfs, source (src), target (dst), readonly (ro), bind-propagation, volume-opt, tmpfs-size, tmpfs-mode', checkMount))
    .addOption(listOption('--ulimit <name=soft[:hard]>', 'a resource limit (nofile=1024:2048); at most your own hard limit', (v) => checkUlimits([parseUlimit(v)])))
    .option('--pod <pod>', 'join a pod (name or id): its network, IPC and UTS namespaces; its ports are the pod\'s')
    .addOption(checkedOption('--platform <os/arch[/variant]>', 'the platform the image must be for (pulled for it when missing)', (v) => parsePlatformFlag(v)))
    .addOption(listOption('--label-file <file>', 'read labels from a file (KEY=VALUE lines)', (v) => checkReadable(v), { wrap: false }))
    .addOption(listOption('--annotation <KEY=VALUE>', 'add an OCI annotation to the runtime\'s config', (v) => parseAnnotations([v])))
    .addOption(checkedOption('--log-driver <driver>', 'k8s-file (default), none, or journald (where systemd-journald runs)', (v) => checkLogConfig(parseLogConfig(v, []))))
    .addOption(listOption('--log-opt <KEY=VALUE>', 'log driver option: max-size=SIZE (k8s-file: the log starts anew beyond it)', (v) => checkLogConfig(parseLogConfig(undefined, [v]))))
    .addOption(checkedOption('--cidfile <file>', 'write the container\'s id to a file (which must not exist)', checkCidfile, { wrap: false }));
}

/** `run`'s own: how a foreground run joins the caller. */
export function addRunOptions(cmd: Command): Command {
  return cmd
    .addOption(listOption('-a, --attach <stream>', 'attach to stdin, stdout or stderr (repeatable; default: all)', (v, flag) => parseChoice(v, flag, ATTACH_STREAMS, 'a stream')))
    .addOption(checkedOption('--detach-keys <keys>', 'keys that detach a run -it from a terminal, leaving the container running ("" for none)', (v) => parseDetachKeys(v)).default(DEFAULT_DETACH_KEYS))
    .addOption(valueOption('--sig-proxy [bool]', 'pass the signals rootlet receives to the container (--sig-proxy=false: keep them from it)', (v, flag) => parseBool(v, flag)).default(true));
}

/** Writes --cidfile once the container exists; exclusive, as Docker (another may have made it since the check). */
export function writeCidfile(path: string | undefined, id: string): void {
  if (!path) return;
  try {
    writeFileSync(path, id, { flag: 'wx', mode: 0o644 });
  } catch (err) {
    throw openError(path, err);
  }
}

const PULL_POLICIES = ['missing', 'always', 'never'] as const;
export type { CreateFlags } from '../grammar/create-flags.js';
