import { Option, type Command } from 'commander';
import type { CreateOptions } from '../engine/container-spec.js';
import { collect } from './common.js';

/** The flags `run` and `create` share, as Docker names them. */
export interface CreateFlags {
  rm?: boolean;
  name?: string;
  env?: string[];
  envFile?: string[];
  workdir?: string;
  user?: string;
  entrypoint?: string;
  volume?: string[];
  tmpfs?: string[];
  readOnly?: boolean;
  hostname?: string;
  net?: string;
  network?: string;
  publish?: string[];
  publishAll?: boolean;
  expose?: string[];
  dns?: string[];
  dnsSearch?: string[];
  dnsOption?: string[];
  addHost?: string[];
  networkAlias?: string[];
  interactive?: boolean;
  tty?: boolean;
  init?: boolean;
  userns?: string;
  runtime?: string;
  restart?: string;
  stopSignal?: string;
  stopTimeout?: string;
  label?: string[];
  memory?: string;
  cpus?: string;
  pidsLimit?: string;
  healthCmd?: string;
  healthInterval?: string;
  healthTimeout?: string;
  healthRetries?: string;
  healthStartPeriod?: string;
  healthcheck?: boolean;
  pull?: string;
}

export function addCreateOptions(cmd: Command): Command {
  return cmd
    .option('--rm', 'remove the container when it exits')
    .option('--name <name>', 'name the container')
    .option('-e, --env <KEY=VALUE>', 'set an environment variable (KEY alone takes the host\'s value)', collect)
    .option('--env-file <file>', 'read environment variables from a file', collect)
    .option('-w, --workdir <dir>', 'working directory inside the container')
    .option('-u, --user <user[:group]>', 'user to run as: name or uid, optionally :group or :gid')
    .option('--entrypoint <cmd>', 'override the image\'s ENTRYPOINT ("" clears it)')
    .option('-v, --volume <src:dst[:ro]>', 'bind mount a host path, or mount a named volume', collect)
    .option('--tmpfs <dst[:opts]>', 'mount a tmpfs', collect)
    .option('--read-only', 'mount the container\'s root filesystem read-only')
    .option('-h, --hostname <name>', 'container host name')
    .option('--net, --network <mode>', 'network: a rootlet network by name (default: rootlet), pasta or slirp4netns (a stack of its own), none, host, or container:NAME')
    .option('-p, --publish <[ip:][hostport:]port[/proto]>', 'publish a container port on the host (ranges: 8000-8001:80-81; no host port: a free one)', collect)
    .option('-P, --publish-all', 'publish every exposed port on a free host port')
    .option('--expose <port[/proto]>', 'expose a port or range (for -P and ps)', collect)
    .option('--network-alias <name>', 'another name the container is found by on its networks', collect)
    .option('--dns <ip>', 'name server for the container (replaces the default)', collect)
    .option('--dns-search <domain>', 'DNS search domain ("." for none)', collect)
    .option('--dns-option <option>', 'resolv.conf option (e.g. ndots:2)', collect)
    .option('--add-host <name:ip>', 'add a line to /etc/hosts (ip may be host-gateway)', collect)
    .option('-i, --interactive', 'keep stdin open and pass it to the container')
    .option('-t, --tty', 'allocate a pseudo-TTY')
    .option('--init', 'run an init (catatonit) as PID 1 that forwards signals and reaps zombies')
    .option('--userns <mode>', 'keep-id: run as your own uid and gid inside')
    .option('--runtime <name>', 'OCI runtime: runc or crun (default: the fastest that works here)')
    .option('--restart <policy>', 'no, on-failure[:max-retries], always or unless-stopped (detached containers)')
    .option('--stop-signal <signal>', 'signal that stops the container (default: the image\'s, else SIGTERM)')
    .option('--stop-timeout <seconds>', 'seconds to wait after the stop signal before SIGKILL (default 10)')
    .option('-l, --label <KEY=VALUE>', 'set a label', collect)
    .option('-m, --memory <bytes>', 'memory limit, e.g. 64m (needs cgroup v2 delegation)')
    .option('--cpus <number>', 'CPU limit, e.g. 1.5 (needs cgroup v2 delegation)')
    .option('--pids-limit <n>', 'process limit (needs cgroup v2 delegation)')
    .option('--health-cmd <command>', 'command (run with sh -c in the container) that says whether it is healthy')
    .option('--health-interval <duration>', 'time between health checks (default 30s)')
    .option('--health-timeout <duration>', 'time a health check may take (default 30s)')
    .option('--health-retries <n>', 'failures in a row that make it unhealthy (default 3)')
    .option('--health-start-period <duration>', 'failures in this first period do not count (default 0s)')
    .option('--no-healthcheck', 'disable the image\'s health check')
    .addOption(new Option('--pull <policy>', 'pull the image: missing (when not here), always, or never').choices(['missing', 'always', 'never']).default('missing'));
}

export function toCreateOptions(image: string, command: string[], f: CreateFlags, detach: boolean): CreateOptions {
  return {
    image,
    command,
    name: f.name,
    env: f.env ?? [],
    envFiles: f.envFile ?? [],
    workdir: f.workdir,
    user: f.user,
    entrypoint: f.entrypoint,
    volumes: f.volume ?? [],
    tmpfs: f.tmpfs ?? [],
    readOnly: !!f.readOnly,
    hostname: f.hostname,
    network: f.network ?? f.net,
    publish: f.publish ?? [],
    publishAll: !!f.publishAll,
    expose: f.expose ?? [],
    dns: f.dns ?? [],
    dnsSearch: f.dnsSearch ?? [],
    dnsOptions: f.dnsOption ?? [],
    addHosts: f.addHost ?? [],
    networkAliases: f.networkAlias ?? [],
    interactive: !!f.interactive,
    tty: !!f.tty,
    init: !!f.init,
    userns: f.userns,
    rm: !!f.rm,
    runtime: f.runtime,
    detach,
    restart: f.restart,
    stopSignal: f.stopSignal,
    stopTimeout: f.stopTimeout !== undefined ? Number(f.stopTimeout) : undefined,
    labels: f.label ?? [],
    memory: f.memory,
    cpus: f.cpus,
    pidsLimit: f.pidsLimit,
    healthCmd: f.healthCmd,
    healthInterval: f.healthInterval,
    healthTimeout: f.healthTimeout,
    healthRetries: f.healthRetries,
    healthStartPeriod: f.healthStartPeriod,
    noHealthcheck: f.healthcheck === false,
  };
}
