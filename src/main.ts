import { fileURLToPath } from 'node:url';
import { releaseEngine } from './cli/common.js';
import { buildProgram, CommanderError } from './cli/program.js';
import { setEntryPath } from './engine/engine.js';
import { errorMessage } from './util/errors.js';
import { describeError, setDebug } from './cli/report.js';
import { trace } from './util/trace.js';

/** The command's name and --log-level, from the global options before it (`rootlet --log-level debug ps`). */
function leadingOptions(args: string[]): { command?: string; logLevel?: string } {
  let logLevel: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--log-level') logLevel = args[++i];
    else if (a.startsWith('--log-level=')) logLevel = a.slice('--log-level='.length);
    else if (a.startsWith('-')) return { logLevel };
    else return { command: a, logLevel };
  }
  return { logLevel };
}

/** Prints one line for an error and sets the exit code; the last word on every failure. */
function fail(err: unknown, argv: string[]): void {
  const { line, exitCode } = describeError(err, argv);
  process.stderr.write(`${line}\n`);
  process.exitCode = exitCode;
}

async function main(argv: string[]): Promise<void> {
  trace('bundle loaded');
  setEntryPath(fileURLToPath(import.meta.url));
  const first = argv[2];
  // Errors raised outside the promise chain (an unhandled stream error) would otherwise print Node's trace.
  process.on('uncaughtException', (err) => {
    // A reader that went away (`rootlet ps | head -1`): end quietly, as a program killed by SIGPIPE does.
    if ((err as NodeJS.ErrnoException).code === 'EPIPE') process.exit(141);
    fail(err, argv);
    process.exit();
  });
  process.on('unhandledRejection', (err) => { fail(err, argv); process.exit(); });
  if (first === '__container-exited') {
    // conmon's exit hook for a detached container (src/engine/containers/exit-hook.ts).
    const { Engine } = await import('./engine/engine.js');
    const { onContainerExit, recordHookError } = await import('./engine/containers/exit-hook.js');
    let engine;
    try {
      engine = await Engine.open();
      await onContainerExit(engine, argv[3] ?? '', argv[4] ?? '');
    } catch (err) {
      // conmon gives the hook no output: the line goes to the container's exit-hook.log. ps and rm settle what is left.
      if (engine) recordHookError(engine, argv[3] ?? '', errorMessage(err));
      process.exitCode = 1;
    }
    return;
  }
  const { command, logLevel } = leadingOptions(argv.slice(2));
  if (logLevel === 'debug') setDebug(true);
  const program = await buildProgram(command);
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
        process.stderr.write(`See 'rootlet ${command ? `${command} ` : ''}--help'.\n`);
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
