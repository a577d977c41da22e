import type { Command } from 'commander';
import type { ComposeProject, LoadOptions } from '../compose/model.js';
import { EngineError } from '../util/errors.js';
import { invalid, parseInteger, parseSignal } from '../util/values.js';
import { collect, services } from './common.js';
import { valueOption } from './flag-values.js';
import { formatList, type ListKind } from './list-format.js';
import { formatPorts } from './ports-format.js';
import { psRow } from './ps-format.js';
import { processContext } from './process-context.js';
import { table, humanSize } from './format.js';
import { registerComposeConfig } from './compose-config.js';

/**
 * `rootlet compose`: compose-spec projects, run by rootlet itself (no
 * daemon, no socket). Each subcommand loads the project (src/compose/load)
 * and calls one operation of src/compose/project, which drives the engine's
 * services; this file parses flags and prints.
 */

interface GlobalFlags {
  file?: string[];
  projectName?: string;
  profile?: string[];
  envFile?: string[];
  projectDirectory?: string;
}

function globals(cmd: Command): GlobalFlags {
  let c: Command | null = cmd;
  while (c && c.name() !== 'compose') c = c.parent;
  return (c?.opts() ?? {}) as GlobalFlags;
}

/** The loader's options from the `compose` flags and the caller's place. */
function loadOptions(cmd: Command): LoadOptions {
  const g = globals(cmd);
  return {
    files: g.file ?? [],
    ...(g.projectName !== undefined ? { projectName: g.projectName } : {}),
    profiles: g.profile ?? [],
    envFiles: g.envFile ?? [],
    ...(g.projectDirectory !== undefined ? { projectDirectory: g.projectDirectory } : {}),
    cwd: process.cwd(),
    env: process.env,
    stdin: async () => {
      const chunks: Buffer[] = [];
      for await (const c of process.stdin) chunks.push(c as Buffer);
      return Buffer.concat(chunks).toString('utf8');
    },
    warn: (m) => process.stderr.write(`WARNING: ${m}\n`),
  };
}

/** The project, with the services named on the command line enabled even where a profile left them out (as Docker does). */
async function project(cmd: Command, named: string[] = []): Promise<ComposeProject> {
  const { loadProject, activateServices } = await import('../compose/load/index.js');
  return activateServices(await loadProject(loadOptions(cmd)), named);
}

/** Compose's progress lines (`Container p-web-1  Started`) go to stderr, as Docker's. */
const say = (line: string) => { process.stderr.write(` ${line}\n`); };

function parseScale(v: string, flag: string, prev: Record<string, number> = {}): Record<string, number> {
  const m = /^([^=]+)=(\d+)$/.exec(v);
  if (!m) return invalid(flag, v, 'use SERVICE=NUMBER');
  return { ...prev, [m[1]!]: parseInteger(m[2]!, flag, 0) };
}

const PS_KIND: ListKind = {
  table: 'table {{.Name}}\t{{.Image}}\t{{.Command}}\t{{.Service}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}',
  headers: { Name: 'NAME', Image: 'IMAGE', Command: 'COMMAND', Service: 'SERVICE', RunningFor: 'CREATED', Status: 'STATUS', Ports: 'PORTS', ID: 'CONTAINER ID', State: 'STATE', Project: 'PROJECT', Names: 'NAMES', Labels: 'LABELS' },
};

function stdoutIsTerminal(): boolean {
  return !!process.stdout.isTTY;
}

export function register(program: Command): void {
  const compose = program
    .command('compose')
    .description('Run compose-spec projects (compose.yaml): up, down, ps, logs, ...')
    .usage('[OPTIONS] COMMAND')
    .option('-f, --file <file>', 'a compose file (repeatable; default: compose.yaml & co. here or in a parent directory)', collect)
    .option('-p, --project-name <name>', 'the project name (default: COMPOSE_PROJECT_NAME, the file\'s name:, else the directory\'s)')
    .option('--profile <profile>', 'enable a profile (repeatable; also COMPOSE_PROFILES)', collect)
    .option('--env-file <file>', 'a file of variables for interpolation (repeatable; default: .env in the project directory)', collect)
    .option('--project-directory <dir>', 'the project directory (default: the first file\'s)')
    .enablePositionalOptions();

  registerComposeConfig(compose, () => loadOptions(compose));

  compose.command('up')
    .description('Create and start the project\'s containers (in the foreground, streaming their output, unless -d)')
    .argument('[service...]')
    .option('-d, --detach', 'run in the background')
    .option('--build', 'build images before starting')
    .option('--no-build', 'never build a missing image')
    .option('--force-recreate', 'recreate containers even if their configuration is unchanged')
    .option('--no-recreate', 'never recreate existing containers')
    .option('--no-deps', 'do not start the services these depend on')
    .option('--remove-orphans', 'remove containers of services no longer in the files')
    .option('--scale <service=n>', 'run n containers of a service (repeatable; over scale and deploy.replicas)', (v: string, prev: Record<string, number> | undefined) => parseScale(v, '--scale', prev))
    .option('--wait', 'with -d: wait until every container runs and is healthy')
    .option('--abort-on-container-exit', 'stop every container when one exits (its exit code is up\'s)')
    .action(async (names: string[], f: { detach?: boolean; build?: boolean; recreate?: boolean; forceRecreate?: boolean; deps?: boolean; removeOrphans?: boolean; scale?: Record<string, number>; wait?: boolean; abortOnContainerExit?: boolean }, cmd: Command) => {
      if (f.wait && !f.detach) throw new EngineError('--wait needs -d, --detach');
      if (f.abortOnContainerExit && f.detach) throw new EngineError('-d, --detach and --abort-on-container-exit cannot be combined');
      if (f.forceRecreate && f.recreate === false) throw new EngineError('--force-recreate and --no-recreate cannot be combined');
      const p = await project(cmd, names);
      const { up } = await import('../compose/project/up.js');
      process.exitCode = await up(await services(), p, {
        services: names, detach: !!f.detach, build: f.build === true, noBuild: f.build === false, forceRecreate: !!f.forceRecreate,
        noRecreate: f.recreate === false, noDeps: f.deps === false, removeOrphans: !!f.removeOrphans, scale: f.scale ?? {},
        wait: !!f.wait, abortOnContainerExit: !!f.abortOnContainerExit, colour: stdoutIsTerminal(),
      }, processContext(), say);
    });

  compose.command('create')
    .description('Create the project\'s containers without starting them')
    .argument('[service...]')
    .option('--build', 'build images before creating')
    .option('--no-build', 'never build a missing image')
    .option('--force-recreate', 'recreate containers even if their configuration is unchanged')
    .option('--no-recreate', 'never recreate existing containers')
    .action(async (names: string[], f: { build?: boolean; recreate?: boolean; forceRecreate?: boolean }, cmd: Command) => {
      const p = await project(cmd, names);
      const { converge } = await import('../compose/project/converge.js');
      await converge(await services(), p, { services: names, build: f.build === true, noBuild: f.build === false, forceRecreate: !!f.forceRecreate, noRecreate: f.recreate === false, noStart: true }, processContext(), say);
    });

  compose.command('down')
    .description('Stop and remove the project\'s containers and networks (-v: and its volumes)')
    .option('-v, --volumes', 'also remove the project\'s named volumes (never external ones)')
    .addOption(valueOption('--rmi <type>', 'also remove images: local (those built without an image name) or all', (v, flag) => {
      if (v !== 'local' && v !== 'all') return invalid(flag, v, 'use local or all');
      return v;
    }))
    .option('--remove-orphans', 'also remove containers of services no longer in the files')
    .addOption(valueOption('-t, --timeout <seconds>', 'seconds to wait for each container to stop before killing it', (v, flag) => parseInteger(v, flag, 0)))
    .action(async (f: { volumes?: boolean; rmi?: 'local' | 'all'; removeOrphans?: boolean; timeout?: number }, cmd: Command) => {
      const p = await project(cmd);
      const { down } = await import('../compose/project/down.js');
      await down(await services(), p, { volumes: !!f.volumes, ...(f.rmi ? { rmi: f.rmi } : {}), removeOrphans: !!f.removeOrphans, ...(f.timeout !== undefined ? { timeoutSec: f.timeout } : {}) }, say);
    });

  compose.command('ps')
    .description('List the project\'s containers')
    .argument('[service...]')
    .option('-a, --all', 'also stopped containers')
    .option('-q, --quiet', 'only the ids')
    .option('--services', 'only the service names')
    .option('--format <format>', 'table (default), json, or a Go template')
    .action(async (names: string[], f: { all?: boolean; quiet?: boolean; services?: boolean; format?: string }, cmd: Command) => {
      const p = await project(cmd);
      const { serviceContainers } = await import('../compose/project/ops.js');
      const cs = await serviceContainers(await services(), p, names, !!f.all);
      if (f.quiet) {
        process.stdout.write(cs.map((c) => `${c.id}\n`).join(''));
        return;
      }
      if (f.services) {
        process.stdout.write([...new Set(cs.map((c) => c.labels['com.docker.compose.service']))].map((s) => `${s}\n`).join(''));
        return;
      }
      const now = Date.now();
      const rows = cs.map((c) => {
        const r = psRow(c, { trunc: false, now });
        return {
          ...r, Name: c.name, Service: c.labels['com.docker.compose.service'] ?? '', Project: c.labels['com.docker.compose.project'] ?? '',
          Health: c.health ?? '', ExitCode: c.exitCode ?? 0, Command: JSON.stringify(c.command), Publishers: c.ports.map((b) => ({ URL: b.hostIp || '0.0.0.0', TargetPort: b.containerPort, PublishedPort: b.hostPort, Protocol: b.protocol })),
          Ports: formatPorts(c.ports, c.exposed),
        };
      });
      process.stdout.write(formatList(f.format, rows, PS_KIND));
    });

  compose.command('logs')
    .description('Print the output of the project\'s containers, each line prefixed with the container\'s name')
    .argument('[service...]')
    .option('-f, --follow', 'keep printing new output')
    .addOption(valueOption('-n, --tail <n>', 'only the last n lines of each container ("all" for every line)', (v, flag) => (v === 'all' ? undefined : parseInteger(v, flag, 0))))
    .option('-t, --timestamps', 'print the time of each line')
    .option('--no-log-prefix', 'do not prefix the lines')
    .option('--no-color', 'no colours')
    .action(async (names: string[], f: { follow?: boolean; tail?: number; timestamps?: boolean; logPrefix?: boolean; color?: boolean }, cmd: Command) => {
      const p = await project(cmd);
      const { serviceContainers } = await import('../compose/project/ops.js');
      const { projectLogs } = await import('../compose/project/logs.js');
      const svc = await services();
      const cs = await serviceContainers(svc, p, names, true);
      const ctx = processContext();
      const ac = new AbortController();
      const off = ctx.signals?.on((sig) => { if (sig === 'SIGINT' || sig === 'SIGTERM') ac.abort(); });
      try {
        if (f.logPrefix === false) {
          for (const c of cs) await svc.containers.logs(c.id, { follow: !!f.follow, tail: f.tail, timestamps: !!f.timestamps }, { ...ctx, signal: ac.signal });
        } else {
          await projectLogs(svc, cs, { follow: !!f.follow, ...(f.tail !== undefined ? { tail: f.tail } : {}), timestamps: !!f.timestamps, colour: f.color !== false && stdoutIsTerminal() }, { ...ctx, signal: ac.signal });
        }
      } finally {
        off?.();
      }
    });

  compose.command('build')
    .description('Build the images of the services that have a build section')
    .argument('[service...]')
    .option('--no-cache', 'do not use the build cache')
    .option('-q, --quiet', 'print nothing but errors')
    .action(async (names: string[], f: { cache?: boolean; quiet?: boolean }, cmd: Command) => {
      const p = await project(cmd);
      const { buildRequest } = await import('../compose/project/images.js');
      const svc = await services();
      const ctx = processContext();
      for (const n of names.length ? names : Object.keys(p.services)) {
        const s = p.services[n] ?? p.disabledServices[n];
        if (!s) throw new EngineError(`no such service: ${n}`, 1);
        if (!s.build) continue;
        if (!f.quiet) say(`Service ${n}  Building`);
        await svc.build.build(buildRequest(p, s, ctx.env, f.cache === false), ctx, { quiet: !!f.quiet });
        if (!f.quiet) say(`Service ${n}  Built`);
      }
    });

  compose.command('pull')
    .description('Pull the images of the services')
    .argument('[service...]')
    .option('--ignore-buildable', 'skip services that have a build section')
    .option('-q, --quiet', 'print nothing but errors')
    .action(async (names: string[], f: { ignoreBuildable?: boolean; quiet?: boolean }, cmd: Command) => {
      const p = await project(cmd);
      const svc = await services();
      for (const n of names.length ? names : Object.keys(p.services)) {
        const s = p.services[n] ?? p.disabledServices[n];
        if (!s) throw new EngineError(`no such service: ${n}`, 1);
        if (!s.image || (s.build && f.ignoreBuildable)) continue;
        try {
          await svc.images.pull(s.image);
        } catch (err) {
          // A service that is built may name an image no registry has yet, as Docker lets it.
          if (!s.build) throw err;
        }
        if (!f.quiet) say(`Image ${s.image}  Pulled`);
      }
    });

  compose.command('push')
    .description('Push the images of the services (those with both image and build)')
    .argument('[service...]')
    .action(async (names: string[], _f: unknown, cmd: Command) => {
      const p = await project(cmd);
      const svc = await services();
      for (const n of names.length ? names : Object.keys(p.services)) {
        const s = p.services[n] ?? p.disabledServices[n];
        if (!s) throw new EngineError(`no such service: ${n}`, 1);
        if (!s.image || !s.build) continue;
        await svc.images.push(s.image, undefined);
        say(`Image ${s.image}  Pushed`);
      }
    });

  compose.command('exec')
    .description('Run a command in a running container of a service')
    .argument('<service>')
    .argument('<command...>')
    .option('-T, --no-TTY', 'no pseudo-terminal (default: one when stdin is a terminal)')
    .option('-d, --detach', 'run the command in the background')
    .option('-u, --user <user>', 'the user to run as')
    .option('-w, --workdir <dir>', 'the working directory')
    .option('-e, --env <KEY=VALUE>', 'set a variable (repeatable)', collect)
    .option('--privileged', 'give the command every capability')
    .addOption(valueOption('--index <n>', 'which container of the service (default 1)', (v, flag) => parseInteger(v, flag, 1)))
    .passThroughOptions()
    .action(async (service: string, command: string[], f: { TTY?: boolean; detach?: boolean; user?: string; workdir?: string; env?: string[]; privileged?: boolean; index?: number }, cmd: Command) => {
      const p = await project(cmd);
      const { execInService } = await import('../compose/project/run.js');
      const tty = f.TTY !== false && !!process.stdin.isTTY && !f.detach;
      const ctx = processContext();
      process.exitCode = await execInService(await services(), p, service, f.index ?? 1, {
        command, tty, interactive: !f.detach, detach: !!f.detach, ...(f.user ? { user: f.user } : {}), ...(f.workdir ? { workingDir: f.workdir } : {}),
        env: f.env ?? [], privileged: !!f.privileged,
      }, ctx);
    });

  compose.command('run')
    .description('Run a one-off command in a new container of a service')
    .argument('<service>')
    .argument('[command...]')
    .option('--rm', 'remove the container when it exits')
    .option('-T, --no-TTY', 'no pseudo-terminal (default: one when stdin is a terminal)')
    .option('--no-deps', 'do not start the services it depends on')
    .option('-P, --service-ports', 'publish the service\'s ports')
    .option('--name <name>', 'the container\'s name')
    .option('--entrypoint <cmd>', 'replace the image\'s entrypoint')
    .option('-e, --env <KEY=VALUE>', 'set a variable (repeatable)', collect)
    .option('-u, --user <user>', 'the user to run as')
    .option('-w, --workdir <dir>', 'the working directory')
    .passThroughOptions()
    .action(async (service: string, command: string[], f: { rm?: boolean; TTY?: boolean; deps?: boolean; servicePorts?: boolean; name?: string; entrypoint?: string; env?: string[]; user?: string; workdir?: string }, cmd: Command) => {
      const p = await project(cmd, [service]);
      const { runOneOff } = await import('../compose/project/run.js');
      const tty = f.TTY !== false && !!process.stdin.isTTY;
      process.exitCode = await runOneOff(await services(), p, service, command, {
        rm: !!f.rm, tty, interactive: true, noDeps: f.deps === false, servicePorts: !!f.servicePorts,
        ...(f.name ? { name: f.name } : {}), ...(f.entrypoint !== undefined ? { entrypoint: f.entrypoint ? [f.entrypoint] : [] } : {}),
        env: f.env ?? [], ...(f.user ? { user: f.user } : {}), ...(f.workdir ? { workdir: f.workdir } : {}),
      }, processContext(), say);
    });

  for (const [op, what] of [['start', 'Start'], ['stop', 'Stop'], ['restart', 'Restart'], ['kill', 'Kill'], ['pause', 'Pause'], ['unpause', 'Unpause']] as const) {
    const c = compose.command(op).description(`${what} the project's containers`).argument('[service...]');
    if (op === 'stop' || op === 'restart') c.addOption(valueOption('-t, --timeout <seconds>', 'seconds to wait before killing', (v, flag) => parseInteger(v, flag, 0)));
    if (op === 'kill') c.addOption(valueOption('-s, --signal <signal>', 'the signal to send (default KILL)', (v, flag) => parseSignal(v, flag)));
    c.action(async (names: string[], f: { timeout?: number; signal?: string }, cmd: Command) => {
      const p = await project(cmd);
      const { lifecycle } = await import('../compose/project/ops.js');
      await lifecycle(await services(), p, op, names, { ...(f.timeout !== undefined ? { timeoutSec: f.timeout } : {}), ...(f.signal ? { signal: f.signal } : {}) }, say);
    });
  }

  compose.command('rm')
    .description('Remove the project\'s stopped containers')
    .argument('[service...]')
    .option('-f, --force', 'do not ask (rootlet never asks)')
    .option('-s, --stop', 'stop running containers first')
    .option('-v, --volumes', 'also remove their anonymous volumes')
    .action(async (names: string[], f: { stop?: boolean; volumes?: boolean }, cmd: Command) => {
      const p = await project(cmd);
      const { removeStopped } = await import('../compose/project/ops.js');
      const n = await removeStopped(await services(), p, names, { stop: !!f.stop, volumes: !!f.volumes }, say);
      if (!n) say('No stopped containers');
    });

  compose.command('top')
    .description('The processes of the project\'s running containers')
    .argument('[service...]')
    .action(async (names: string[], _f: unknown, cmd: Command) => {
      const p = await project(cmd);
      const { serviceContainers } = await import('../compose/project/ops.js');
      const svc = await services();
      for (const c of await serviceContainers(svc, p, names, false)) {
        const t = await svc.containers.top(c.id);
        process.stdout.write(`${c.name}\n${table(t.titles, t.processes)}\n`);
      }
    });

  compose.command('port')
    .description('The host address a container port of a service is published on')
    .argument('<service>')
    .argument('<private_port>')
    .option('--protocol <proto>', 'tcp or udp', 'tcp')
    .addOption(valueOption('--index <n>', 'which container of the service (default 1)', (v, flag) => parseInteger(v, flag, 1)))
    .action(async (service: string, port: string, f: { protocol: string; index?: number }, cmd: Command) => {
      const p = await project(cmd);
      const { serviceContainer } = await import('../compose/project/run.js');
      const svc = await services();
      const { ports } = await svc.containers.ports(await serviceContainer(svc, p, service, f.index ?? 1));
      const b = ports.find((x) => String(x.containerPort) === port && x.protocol === f.protocol);
      if (!b) throw new EngineError(`no port ${port}/${f.protocol} for container ${service}`, 1);
      process.stdout.write(`${b.hostIp || '0.0.0.0'}:${b.hostPort}\n`);
    });

  compose.command('images')
    .description('The images the project\'s containers use')
    .argument('[service...]')
    .option('-q, --quiet', 'only the ids')
    .action(async (names: string[], f: { quiet?: boolean }, cmd: Command) => {
      const p = await project(cmd);
      const { serviceContainers } = await import('../compose/project/ops.js');
      const svc = await services();
      const images = await svc.images.list({ all: true });
      const rows: string[][] = [];
      for (const c of await serviceContainers(svc, p, names, true)) {
        const img = images.find((i) => i.id.replace(/^sha256:/, '') === c.imageId.replace(/^sha256:/, ''));
        const [repo, tag] = (img?.repoTags?.[0] ?? '<none>:<none>').split(/:(?=[^:/]*$)/);
        rows.push([c.name, repo ?? '<none>', tag ?? '<none>', c.imageId.replace(/^sha256:/, '').slice(0, 12), img ? humanSize(img.size) : '']);
      }
      if (f.quiet) process.stdout.write([...new Set(rows.map((r) => r[3]))].map((i) => `${i}\n`).join(''));
      else process.stdout.write(table(['CONTAINER', 'REPOSITORY', 'TAG', 'IMAGE ID', 'SIZE'], rows));
    });

  compose.command('ls')
    .description('List the projects that have containers')
    .option('-a, --all', 'also projects with no running container')
    .option('-q, --quiet', 'only the names')
    .option('--format <format>', 'table (default) or json')
    .action(async (f: { all?: boolean; quiet?: boolean; format?: string }) => {
      const { listProjects } = await import('../compose/project/ops.js');
      const list = await listProjects(await services(), !!f.all);
      if (f.quiet) process.stdout.write(list.map((p) => `${p.name}\n`).join(''));
      else if (f.format === 'json') process.stdout.write(`${JSON.stringify(list.map((p) => ({ Name: p.name, Status: p.status, ConfigFiles: p.configFiles })))}\n`);
      else process.stdout.write(table(['NAME', 'STATUS', 'CONFIG FILES'], list.map((p) => [p.name, p.status, p.configFiles])));
    });

  compose.command('wait')
    .description('Wait for the services\' containers to exit; print their exit codes')
    .argument('<service...>')
    .option('--down-project', 'then stop and remove the project')
    .action(async (names: string[], f: { downProject?: boolean }, cmd: Command) => {
      const p = await project(cmd);
      const { serviceContainers } = await import('../compose/project/ops.js');
      const svc = await services();
      let last = 0;
      for (const c of await serviceContainers(svc, p, names, true)) {
        last = await svc.containers.wait(c.id);
        process.stdout.write(`${last}\n`);
      }
      if (f.downProject) {
        const { down } = await import('../compose/project/down.js');
        await down(svc, p, {}, say);
      }
      process.exitCode = last;
    });
}
