import { runInternal } from './cli/internal.js';

/**
 * Entry of rootlet's helper (dist/rootlet-helper.cjs): the commands rootlet
 * runs inside the user's namespace, e.g. layer extraction. A bundle of its
 * own, so the CLI does not compile tar parsing on every start.
 */
void runInternal(process.argv[2] ?? '', process.argv.slice(3)).then((code) => {
  process.exitCode = code;
});
