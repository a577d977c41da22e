import { fileURLToPath } from 'node:url';
import { releaseEngine } from './cli/common.js';
import { buildProgram, CommanderError } from './cli/program.js';
import { setEntryPath } from './engine/engine.js';
import { EngineError, errorMessage } from './engine/errors.js';
import { trace } from './util/trace.js';

async function main(argv: string[]): Promise<void> {
  trace('bundle loaded');
  setEntryPath(fileURLToPath(import.meta.url));
  const first = argv[2];
  if (first === '__container-exited') {
    // conmon's exit hook for a detached container (src/engine/container-exit.ts).
    const { openEngine } = await import('./cli/common.js');
    const { onContainerExit, recordHookError } = await import('./engine/container-exit.js');
    let engine;
    try {
      engine = await openEngine();
      await onContainerExit(engine, argv[3] ?? '', argv[4] ?? '');
    } catch (err) {
      // conmon gives the hook no output: the line goes to the container's exit-hook.log. ps and rm settle what is left.
      if (engine) recordHookError(engine, argv[3] ?? '', errorMessage(err));
      process.exitCode = 1;
    }
    return;
  }
  const program = await buildProgram(first);
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
        process.stderr.write(`See 'rootlet ${argv[2] ?? ''} --help'.\n`);
        process.exitCode = 125;
      }
    } else if (err instanceof EngineError) {
      process.stderr.write(`Error: ${err.message}\n`);
      process.exitCode = err.exitCode;
    } else {
      process.stderr.write(`Error: ${errorMessage(err)}\n`);
      if (process.env.ROOTLET_DEBUG) process.stderr.write(`${(err as Error).stack}\n`);
      process.exitCode = 125;
    }
  } finally {
    // Not closed on purpose: closing checkpoints the WAL (~1 ms a run);
    // an exit without it is as safe as a crash, which WAL is made for.
    releaseEngine();
  }
}

void main(process.argv);
