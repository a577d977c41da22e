/** Global options that take a value, and the field each fills. */
export const GLOBAL_VALUED: Record<string, 'logLevel' | 'root' | 'runroot'> = { '--log-level': 'logLevel', '--root': 'root', '--runroot': 'runroot' };
export const GLOBAL_FLAGS = ['-D', '--debug'];

export interface Leading { command?: string; sub?: string; logLevel?: string; debug?: boolean; root?: string; runroot?: string }

/**
 * The global options before the command (`rootlet --root /x -D ps`), the
 * command's name and the first word after it (a group's subcommand, so
 * the group loads only that command's module). Read by main.ts, and by
 * the entry (src/loader.ts) to pick the command's code cache: it imports
 * nothing, as the entry's small bundle holds it.
 */
export function leadingOptions(args: string[]): Leading {
  const out: Leading = {};
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const eq = a.indexOf('=');
    const key = GLOBAL_VALUED[eq > 0 ? a.slice(0, eq) : a];
    if (key) out[key] = eq > 0 ? a.slice(eq + 1) : args[++i];
    else if (GLOBAL_FLAGS.includes(a)) out.debug = true;
    else if (a.startsWith('-')) return out;
    else return { ...out, command: a, sub: args.slice(i + 1).find((x) => !x.startsWith('-')) };
  }
  return out;
}
