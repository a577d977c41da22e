import { writeFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import type { Command } from 'commander';
import type { BuildEvent } from '../engine/index.js';
import { DeniedError, EngineError } from '../util/errors.js';
import { collect, confirm, services } from './common.js';
import { dockerStatus } from './daemon-errors.js';
import { processContext } from './process-context.js';

function keyValues(list: string[] | undefined, flag: string, cwdEnv = false): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of list ?? []) {
    const eq = kv.indexOf('=');
    if (eq === 0) throw new EngineError(`${flag} ${kv}: give KEY=VALUE`);
    if (eq < 0) {
      // Docker: --build-arg KEY takes the value from the caller's environment (left out when unset).
      if (cwdEnv && process.env[kv] !== undefined) out[kv] = process.env[kv]!;
      else if (!cwdEnv) throw new EngineError(`${flag} ${kv}: give KEY=VALUE`);
      continue;
    }
    out[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  return out;
}

/** --secret id=ID,src=FILE (or source=, or env=VAR is not supported). */
function secrets(list: string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const s of list ?? []) {
    const o: Record<string, string> = {};
    for (const part of s.split(',')) {
      const eq = part.indexOf('=');
      if (eq > 0) o[part.slice(0, eq)] = part.slice(eq + 1);
    }
    const src = o.src ?? o.source;
    if (!o.id || !src) throw new EngineError(`--secret ${s}: give id=ID,src=FILE`);
    out[o.id] = isAbsolute(src) ? src : resolve(src);
  }
  return out;
}

/** --output type=local,dest=DIR | type=tar,dest=FILE (a bare path: local). */
function output(v: string | undefined): { type: 'local' | 'tar'; dest: string } | undefined {
  if (!v) return undefined;
  if (!v.includes('=')) return { type: 'local', dest: resolve(v) };
  const o: Record<string, string> = {};
  for (const part of v.split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) o[part.slice(0, eq)] = part.slice(eq + 1);
  }
  const type = o.type ?? 'local';
  if (type !== 'local' && type !== 'tar') throw new EngineError(`--output ${v}: type must be local or tar`);
  if (!o.dest) throw new EngineError(`--output ${v}: give dest=PATH`);
  return { type, dest: resolve(o.dest) };
}

async function readStdin(context: string): Promise<string> {
  if (context === '-') throw new EngineError('-f - and a context of -: standard input can hold only one of them');
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function render(e: BuildEvent): string {
  switch (e.type) {
    case 'step': return `${e.stages > 1 ? `[${e.stage}/${e.stages}] ` : ''}STEP ${e.n}/${e.total}: ${e.text}\n`;
    case 'cached': return `--> Using cache ${e.id.slice(7)}\n`;
    case 'done': return `--> ${e.id.slice(7, 19)} (${(e.ms / 1000).toFixed(2)}s)\n`;
    case 'tagged': return `Successfully tagged ${e.name}\n`;
  }
}

/** Docker's exit status 1 for a failed build; a refusal by the admin's policy keeps its own line and 125, as for `run`. */
async function buildStatus(action: () => Promise<void>): Promise<void> {
  try {
    await action();
  } catch (err) {
    if (err instanceof DeniedError) throw err;
    await dockerStatus(() => { throw err; });
  }
}

function defineBuild(parent: Command, name: string): Command {
  return parent
    .command(name)
    .description('Build an image from a Containerfile or Dockerfile')
    .usage('[OPTIONS] CONTEXT|-')
    .argument('<context>', 'the build context: a directory, or - for a tar archive on stdin')
    .option('-t, --tag <name>', 'name the image NAME[:TAG] (repeatable)', collect)
    .option('-f, --file <path>', 'the Containerfile, - for standard input (default: CONTEXT/Containerfile, else CONTEXT/Dockerfile)')
    .option('--build-arg <key=value>', 'set a build argument (repeatable)', collect)
    .option('--label <key=value>', 'set a label on the image (repeatable)', collect)
    .option('--target <stage>', 'build up to this stage')
    .option('--no-cache', 'do not use the build cache')
    .option('--pull', 'pull the FROM images, also those already here')
    .option('--platform <os/arch>', 'the platform to build for (only this host\'s)')
    .option('--network <mode>', 'the RUN steps\' network: default or none')
    .option('--secret <id=ID,src=FILE>', 'a secret for RUN --mount=type=secret (repeatable)', collect)
    .option('--iidfile <file>', 'write the image id to the file')
    .option('-o, --output <type=local,dest=DIR|type=tar,dest=FILE>', 'also write the image\'s file system to a directory or a tar file')
    .option('-q, --quiet', 'print only the image id')
    .action((context: string, flags: {
      tag?: string[]; file?: string; buildArg?: string[]; label?: string[]; target?: string; cache: boolean; pull?: boolean; platform?: string;
      network?: string; secret?: string[]; iidfile?: string; quiet?: boolean; output?: string;
    }) => buildStatus(async () => {
      const out = output(flags.output);
      if (flags.network && flags.network !== 'none' && flags.network !== 'default') throw new EngineError(`--network ${flags.network}: a build's steps take default or none`);
      const req = {
        context: context === '-' ? process.stdin : resolve(context),
        ...(flags.file && flags.file !== '-' ? { file: resolve(flags.file) } : {}),
        // -f -: the Containerfile on standard input (then the context cannot be there too).
        ...(flags.file === '-' ? { fileText: await readStdin(context) } : {}),
        tags: flags.tag ?? [],
        buildArgs: keyValues(flags.buildArg, '--build-arg', true),
        labels: keyValues(flags.label, '--label'),
        ...(flags.target ? { target: flags.target } : {}),
        noCache: !flags.cache,
        pull: !!flags.pull,
        ...(flags.network ? { network: flags.network as 'none' | 'default' } : {}),
        secrets: secrets(flags.secret),
        ...(flags.platform ? { platform: flags.platform } : {}),
        ...(out ? { output: out } : {}),
      };
      const aborter = new AbortController();
      // Ctrl-C ends the running step's container and then the build, which cleans up after itself.
      const onSignal = () => aborter.abort();
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      const ctx = { ...processContext(), signal: aborter.signal };
      try {
        const r = await (await services()).build.build(req, ctx, {
          quiet: !!flags.quiet,
          ...(flags.quiet ? {} : { onEvent: (e: BuildEvent) => process.stdout.write(render(e)) }),
        });
        if (flags.iidfile) writeFileSync(flags.iidfile, r.id);
        process.stdout.write(`${r.id.slice(7)}\n`);
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    }));
}

function defineCommit(parent: Command, name: string): Command {
  return parent
    .command(name)
    .description('Create a new image from a container\'s changes')
    .usage('[OPTIONS] CONTAINER [REPOSITORY[:TAG]]')
    .argument('<container>')
    .argument('[reference]')
    .option('-c, --change <instruction>', 'apply a Dockerfile instruction to the image\'s config (repeatable)', collect)
    .option('-m, --message <text>', 'the commit message')
    .option('-a, --author <name>', 'the author')
    .option('-p, --pause', 'accepted for Docker\'s sake (the file system is read as it is)')
    .action((container: string, reference: string | undefined, flags: { change?: string[]; message?: string; author?: string }) => dockerStatus(async () => {
      const r = await (await services()).build.commit(container, {
        ...(reference ? { reference } : {}), changes: flags.change ?? [], ...(flags.message ? { message: flags.message } : {}), ...(flags.author ? { author: flags.author } : {}),
      });
      process.stdout.write(`${r.id}\n`);
    }));
}

/** `container commit`: the same command under the container group. */
export function registerCommit(parent: Command): void {
  defineCommit(parent, 'commit');
}

export function register(program: Command): void {
  defineBuild(program, 'build');
  defineCommit(program, 'commit');
  const builder = program.command('builder').description('Manage the build cache');
  defineBuild(builder, 'build');
  builder
    .command('prune')
    .description('Remove the build cache (its unnamed images and the RUN cache mounts)')
    .option('-f, --force', 'do not ask for confirmation')
    .option('-a, --all', 'accepted for Docker\'s sake: all of the cache is removed')
    .action((flags: { force?: boolean }) => dockerStatus(async () => {
      const r = await (await services()).build.prune(flags.force ? {} : { confirm: () => confirm('WARNING! This will remove all build cache. Are you sure you want to continue? [y/N] ') });
      if (!r) return;
      for (const id of r.images) process.stdout.write(`Deleted: ${id}\n`);
      process.stdout.write(`Total reclaimed space: ${r.reclaimed}B\n`);
    }));
}

export { defineBuild };
