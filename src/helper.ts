import { runInternal } from './cli/internal.js';
import { isNoSpace } from './util/no-space.js';
import { osReason } from './util/os-errors.js';

/**
 * Entry of rootlet's helper (dist/rootlet-helper.cjs): the commands rootlet
 * runs inside the user's namespace, e.g. layer extraction. A bundle of its
 * own, so the CLI does not compile tar parsing on every start.
 *
 * An error outside runInternal's own handling (a stream's unhandled error)
 * must still end in one line: rootlet reports the helper's last line of
 * stderr, which would otherwise be Node's "Node.js v20..." after a trace.
 */
const name = process.argv[2] ?? '';
function fatal(err: unknown): void {
  const e = err as NodeJS.ErrnoException;
  const where = e?.path ?? process.argv[3] ?? 'the store';
  const what = isNoSpace(e)
    ? `no space left on device writing ${where}`
    : `${name || 'helper'}: ${e?.syscall ? `${e.syscall}: ${osReason(e)}` : e instanceof Error ? e.message : String(err)}`;
  process.stderr.write(`${what.replace(/\s*\n\s*/g, ' ')}\n`);
  process.exit(1);
}
process.on('uncaughtException', fatal);
process.on('unhandledRejection', fatal);

void runInternal(name, process.argv.slice(3)).then((code) => {
  process.exitCode = code;
});
