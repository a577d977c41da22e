import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { releaseEngine } from './cli/common.js';
import { buildProgram, CommanderError } from './cli/program.js';
import { setEntryPath } from './engine/engine.js';
import { errorMessage, isOutputClosed } from './util/errors.js';
import { describeError, setDebug } from './cli/report.js';
import { trace } from './util/trace.js';
import { GLOBAL_FLAGS, GLOBAL_VALUED, leadingOptions, type Leading } from './cli/leading-options.js';

/**
 * --root and --runroot reach the engine as ROOTLET_ROOT / ROOTLET_RUNROOT
 * in its environment, not as a request: conmon's exit hook and the helpers
 * inherit it, so every process of this run finds the same store. A relative
 * path is the caller's.
 */
function applyStorageFlags(o: Leading): void {
  if (o.root) process.env.ROOTLET_ROOT = resolve(o.root);
  if (o.runroot) process.env.ROOTLET_RUNROOT = resolve(o.runroot);
}

/**
 * The command named on the line, as deep as it is known (`volume create`),
 * for the hint after a usage error; an unknown name is never echoed (the
 * hint names the group it was looked up in).
 */
function commandPath(program: Command, args: string[]): string {
  const path: string[] = [];
  let cmd = program;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (!path.length && a.startsWith('-')) {
      if (Object.hasOwn(GLOBAL_VALUED, a)) i++;
      // A flag before the command that is not a global one is what the error is about: the main help.
      else if (!GLOBAL_FLAGS.includes(a) && !Object.hasOwn(GLOBAL_VALUED, a.split('=')[0]!)) return '';
      continue;
    }
    if (a.startsWith('-')) continue;
    const sub = cmd.commands.find((c) => c.name() === a || c.aliases().includes(a));
    if (!sub) break;
    path.push(a);
    cmd = sub;
    if (!sub.commands.length) break;
  }
  return path.length ? `${path.join(' ')} ` : '';
}

/** Prints one line for an error and sets the exit code; the last word on every failure. */
function fail(err: unknown, argv: string[]): void {
  // The reader went away (`rootlet export c | head`): nothing to say, as a program killed by SIGPIPE.
  if (isOutputClosed(err)) {
    process.exitCode = 141;
    return;
  }
  const { line, exitCode } = describeError(err, argv);
  process.stderr.write(`${line}\n`);
  process.exitCode = exitCode;
}

async function main(argv: string[]): Promise<void> {
  trace('bundle loaded');
  setEntryPath(fileURLToPath(import.meta.url));
  const first = argv[2];
  // Errors raised outside the promise chain (an unhandled stream error) would otherwise print Node's trace;
  // stdout's EPIPE (`rootlet logs c | head -1`) arrives here and ends quietly in fail().
  process.on('uncaughtException', (err) => {
    fail(err, argv);
    process.exit();
  });
  process.on('unhandledRejection', (err) => { fail(err, argv); process.exit(); });
  if (first === '__container-exited') {
    // conmon's exit hook for a detached container (src/engine/containers/exit-hook.ts).
    const { Engine } = await import('./engine/engine.js');
    const { onContainerExit, recordHookError, recordHookErrorIn } = await import('./engine/containers/exit-hook.js');
    let engine: Awaited<ReturnType<typeof Engine.open>> | undefined;
    // conmon gives the hook no output: the line goes to the container's exit-hook.log. ps and rm settle what is left.
    const record = (err: unknown) => {
      if (engine) recordHookError(engine, argv[3] ?? '', errorMessage(err));
      process.exitCode = 1;
    };
    // Also what escapes the promise chain (a stream's error event): it would otherwise end the hook without a word.
    process.removeAllListeners('uncaughtException').removeAllListeners('unhandledRejection');
    process.on('uncaughtException', (err) => { record(err); process.exit(); });
    process.on('unhandledRejection', (err) => { record(err); process.exit(); });
    try {
      engine = await Engine.open();
    } catch (err) {
      // Not even the engine: the line still goes to the container's exit-hook.log, found from the paths alone.
      try {
        const { paths } = await Engine.locate();
        recordHookErrorIn(paths.containers, argv[3] ?? '', `cannot open rootlet's engine: ${errorMessage(err)}`);
      } catch { /* nowhere to say it */ }
      process.exitCode = 1;
      return;
    }
    try {
      await onContainerExit(engine, argv[3] ?? '', argv[4] ?? '');
    } catch (err) {
      record(err);
    }
    return;
  }
  const leading = leadingOptions(argv.slice(2));
  const { command } = leading;
  if (leading.logLevel === 'debug' || leading.debug) setDebug(true);
  applyStorageFlags(leading);
  const program = await buildProgram(command, leading.sub);
  trace('commands registered');
  if (argv.length <= 2) {
    program.outputHelp();
    return;
  }
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version are "errors" to commander; Docker exits 125 on a bad flag.
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') {
        process.exitCode = 0;
      } else {
        process.stderr.write(`See 'rootlet ${commandPath(program, argv.slice(2))}--help'.\n`);
        process.exitCode = 125;
      }
    } else {
      fail(err, argv);
    }
  } finally {
    // Not closed on purpose: closing checkpoints the WAL (~1 ms a run);
    // an exit without it is as safe as a crash, which WAL is made for.
    releaseEngine();
  }
}

void main(process.argv);
