import { runInternal } from './cli/internal.js';

/**
 * Entry of rootlet's helper (dist/rootlet-helper.cjs): the commands rootlet
 * runs inside the user's namespace, e.g. layer extraction. A bundle of its
 * own, so the CLI does not compile tar parsing on every start.
 */

/**
 * rootlet shows the helper's last line of error output to the user: an
 * error thrown where nothing catches it (a write in a stream handler on a
 * full disk) must end as one line saying why, not as Node's stack trace,
 * whose last line is Node's version.
 */
function fatal(err: unknown): void {
  const e = err as NodeJS.ErrnoException;
  const where = e?.path ?? process.argv[3] ?? 'the store';
  const line = e?.code === 'ENOSPC' || e?.code === 'EDQUOT'
    ? `no space left on device writing ${where}`
    : `${process.argv[2] ?? 'helper'}: ${e instanceof Error ? e.message : String(err)}`;
  process.stderr.write(`${line.replace(/\s*\n\s*/g, ' ')}\n`);
  process.exit(1);
}
process.on('uncaughtException', fatal);
process.on('unhandledRejection', fatal);

void runInternal(process.argv[2] ?? '', process.argv.slice(3)).then((code) => {
  process.exitCode = code;
});
