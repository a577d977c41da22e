/**
 * A compose project after loading: every file found and merged, `extends`
 * followed, variables interpolated, profiles applied, validated, and every
 * short syntax turned into its long form. This is the shape `compose config`
 * prints (as `docker compose config` does, field names as in the
 * compose-spec) and the only shape the rest of compose sees: the loader
 * (src/compose/load) makes it, the project operations (up, down, ps, ...)
 * read it.
 *
 * Conventions of the normal form, as Docker's:
 * - lists that the spec allows as a map or a list (environment, labels,
 *   extra_hosts, sysctls) are maps; an environment value is `null` when the
 *   variable was named without a value and is unset where compose runs;
 * - command, entrypoint and healthcheck.test are argument vectors (a string
 *   form is split as a shell would, `healthcheck.test` keeps its
 *   `CMD`/`CMD-SHELL`/`NONE` head);
 * - durations are Go duration strings as written (`1m30s`) and sizes as
 *   written; the project operations convert them;
 * - relative paths (build.context, bind sources, env_file, secrets and
 *   configs files) are absolute, resolved against the project directory
 *   (or the directory of the file that named them, for `extends` from
 *   another file);
 * - depends_on is a map with condition, required and restart filled;
 * - a service without `networks` is on `default`, and the project has a
 *   `default` network unless every service uses `network_mode`.
 */
export interface ComposeProject {
  /** Lower-case, [a-z0-9_-], as Docker normalises it. */
  name: string;
  /** Absolute. */
  workingDir: string;
  /** Absolute paths of the files loaded, in order. */
  files: string[];
  services: Record<string, ComposeService>;
  networks: Record<string, ComposeNetwork>;
  volumes: Record<string, ComposeVolume>;
  secrets: Record<string, ComposeFileObject>;
  configs: Record<string, ComposeFileObject>;
  /** Services left out by profiles: `up` ignores them, `run SERVICE` may name one (and so enables it). */
  disabledServices: Record<string, ComposeService>;
  /** Top-level `x-*` keys, kept for `config`. */
  extensions?: Record<string, unknown>;
}

export interface ComposeService {
  name: string;
  image?: string;
  build?: ComposeBuild;
  command?: string[] | null;
  entrypoint?: string[] | null;
  environment: Record<string, string | null>;
  /** Already read into `environment` by the loader; kept for `config`. */
  env_file?: string[];
  ports: ComposePort[];
  expose?: string[];
  volumes: ComposeServiceVolume[];
  tmpfs?: string[];
  /** Network name (project-level key) → attachment. */
  networks: Record<string, ComposeServiceNetwork | null>;
  network_mode?: string;
  depends_on: Record<string, ComposeDependency>;
  /** `SERVICE` or `SERVICE:ALIAS`. */
  links?: string[];
  /** `SERVICE[:ro|rw]` or `container:NAME[:ro|rw]`. */
  volumes_from?: string[];
  healthcheck?: ComposeHealthcheck;
  restart?: 'no' | 'always' | 'on-failure' | 'unless-stopped' | string;
  user?: string;
  working_dir?: string;
  read_only?: boolean;
  cap_add?: string[];
  cap_drop?: string[];
  security_opt?: string[];
  privileged?: boolean;
  devices?: string[];
  labels: Record<string, string>;
  init?: boolean;
  stop_signal?: string;
  stop_grace_period?: string;
  tty?: boolean;
  stdin_open?: boolean;
  hostname?: string;
  domainname?: string;
  container_name?: string;
  extra_hosts?: Record<string, string>;
  dns?: string[];
  dns_search?: string[];
  ulimits?: Record<string, { soft: number; hard: number }>;
  sysctls?: Record<string, string>;
  shm_size?: string;
  pids_limit?: number;
  mem_limit?: string;
  cpus?: number;
  deploy?: ComposeDeploy;
  /** From `scale:` or `deploy.replicas`; 1 when neither is given. */
  scale?: number;
  profiles?: string[];
  pull_policy?: 'always' | 'never' | 'missing' | 'build' | string;
  platform?: string;
  secrets?: ComposeServiceFileRef[];
  configs?: ComposeServiceFileRef[];
  logging?: { driver?: string; options?: Record<string, string> };
  /** `x-*` keys of the service, kept for `config`. */
  extensions?: Record<string, unknown>;
}

export interface ComposeBuild {
  /** Absolute. */
  context: string;
  /** Relative to the context, as written (`Dockerfile` when absent). */
  dockerfile?: string;
  /** Inline Dockerfile content. */
  dockerfile_inline?: string;
  args?: Record<string, string | null>;
  target?: string;
  labels?: Record<string, string>;
  secrets?: ComposeServiceFileRef[];
  no_cache?: boolean;
  pull?: boolean;
  platforms?: string[];
  tags?: string[];
}

export interface ComposePort {
  /** Container port. */
  target: number;
  /** Host port or range as a string (`"8080"`, `"8000-8010"`); absent: a random host port. */
  published?: string;
  host_ip?: string;
  protocol: 'tcp' | 'udp';
  mode: 'ingress' | 'host';
  name?: string;
}

export interface ComposeServiceVolume {
  type: 'bind' | 'volume' | 'tmpfs';
  /** Absolute host path (bind), project-level volume key (volume, absent: anonymous). */
  source?: string;
  target: string;
  read_only?: boolean;
  bind?: { create_host_path?: boolean; propagation?: string; selinux?: 'z' | 'Z' };
  volume?: { nocopy?: boolean; subpath?: string };
  tmpfs?: { size?: number | string; mode?: number };
}

export interface ComposeServiceNetwork {
  aliases?: string[];
  ipv4_address?: string;
  ipv6_address?: string;
  priority?: number;
}

export interface ComposeDependency {
  condition: 'service_started' | 'service_healthy' | 'service_completed_successfully';
  required: boolean;
  restart: boolean;
}

export interface ComposeHealthcheck {
  /** `['CMD', ...]`, `['CMD-SHELL', cmd]` or `['NONE']`. */
  test?: string[];
  interval?: string;
  timeout?: string;
  retries?: number;
  start_period?: string;
  start_interval?: string;
  disable?: boolean;
}

export interface ComposeDeploy {
  replicas?: number;
  resources?: {
    limits?: { cpus?: string | number; memory?: string; pids?: number };
    reservations?: { cpus?: string | number; memory?: string; devices?: unknown[] };
  };
  restart_policy?: { condition?: 'none' | 'on-failure' | 'any'; delay?: string; max_attempts?: number; window?: string };
  labels?: Record<string, string>;
  /** Anything else under deploy (placement, update_config, ...): named in an error by the operations when it cannot be honoured. */
  [other: string]: unknown;
}

export interface ComposeServiceFileRef {
  /** Project-level secret/config key. */
  source: string;
  /** Absolute path in the container (secrets default to /run/secrets/SOURCE, configs to /SOURCE). */
  target: string;
  uid?: string;
  gid?: string;
  mode?: number;
}

export interface ComposeNetwork {
  /** The engine's network name: `PROJECT_KEY` unless `name:` or `external` says otherwise. */
  name: string;
  external?: boolean;
  internal?: boolean;
  driver?: string;
  driver_opts?: Record<string, string>;
  ipam?: { driver?: string; config?: { subnet?: string; gateway?: string; ip_range?: string }[] };
  enable_ipv6?: boolean;
  labels?: Record<string, string>;
}

export interface ComposeVolume {
  /** The engine's volume name: `PROJECT_KEY` unless `name:` or `external` says otherwise. */
  name: string;
  external?: boolean;
  driver?: string;
  driver_opts?: Record<string, string>;
  labels?: Record<string, string>;
}

/** A project-level secret or config: from a file, an environment variable or (configs) inline content. */
export interface ComposeFileObject {
  name: string;
  /** Absolute. */
  file?: string;
  environment?: string;
  content?: string;
  external?: boolean;
}

/** What the caller tells the loader (the global flags of `compose` and the caller's place). */
export interface LoadOptions {
  /** `-f`, in order; empty: find compose.yaml & co. in cwd and its parents, or `COMPOSE_FILE`. A `-` reads stdin. */
  files: string[];
  /** `-p`. */
  projectName?: string;
  /** `--profile`, plus `COMPOSE_PROFILES`. */
  profiles: string[];
  /** `--env-file`, in order; empty: `.env` in the project directory when present. */
  envFiles: string[];
  /** `--project-directory`. */
  projectDirectory?: string;
  cwd: string;
  env: Record<string, string | undefined>;
  /** Read when a file is `-`. */
  stdin?: () => Promise<string>;
  /** Warnings Docker prints and goes on (an unset variable, an obsolete `version`); none when absent. */
  warn?: (message: string) => void;
}
