import { runInternal } from './cli/internal.js';
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
const crash = (err: unknown) => {
  const e = err as NodeJS.ErrnoException;
  const what = e?.syscall ? `${e.syscall}: ${osReason(e)}` : e instanceof Error ? e.message : String(err);
  process.stderr.write(`${name}: ${what.split('\n')[0]}\n`);
  process.exit(1);
};
process.on('uncaughtException', crash);
process.on('unhandledRejection', crash);

void runInternal(name, process.argv.slice(3)).then((code) => {
  process.exitCode = code;
});
