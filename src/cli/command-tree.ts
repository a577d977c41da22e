import type { Command, Option } from 'commander';

/**
 * The command tree as completion scripts and manual pages see it, read from
 * the commander definitions that `--help` prints, so a command added to the
 * program is completed and documented without anything else to edit.
 */

export type NameKind = 'containers' | 'images' | 'networks' | 'volumes';

export interface TreeNode {
  /** Words after `rootlet` that lead here ('' for rootlet itself). */
  path: string[];
  command: Command;
  /** Subcommand names and aliases. */
  subs: string[];
  /** Every flag spelling (`-f`, `--format`). */
  flags: string[];
  /** Flags that take the next word as their value. */
  valueFlags: string[];
  /** What each positional argument names (undefined: a free word or a path); the last repeats when variadic. */
  args: Array<NameKind | undefined>;
  variadic: boolean;
  /** Options end at the first positional (run's, exec's container command). */
  passThrough: boolean;
}

/** A flag whose value is a name of the store. */
export const FLAG_VALUE_KINDS: Record<string, NameKind> = {
  '--network': 'networks',
  '--net': 'networks',
  '--volumes-from': 'containers',
};

const GROUP_KINDS: Record<string, NameKind> = {
  network: 'networks', volume: 'volumes', image: 'images', rmi: 'images', history: 'images', save: 'images', push: 'images', tag: 'images',
};

/** What an argument names, from its own name, else from the command group it belongs to. */
function argKind(path: string[], name: string): NameKind | undefined {
  if (/container/i.test(name)) return 'containers';
  if (/image|source|target|reference/i.test(name)) return 'images';
  if (/network/i.test(name)) return 'networks';
  if (/volume/i.test(name)) return 'volumes';
  if (!/^(name|names|id)$/i.test(name)) return undefined;
  for (const w of path) if (GROUP_KINDS[w]) return GROUP_KINDS[w];
  return 'containers';
}

function visibleCommands(cmd: Command): Command[] {
  return cmd.createHelp().visibleCommands(cmd).filter((c) => c.name() !== 'help');
}

export function visibleOptions(cmd: Command): Option[] {
  return cmd.createHelp().visibleOptions(cmd);
}

function spellings(o: Option): string[] {
  return [o.short, o.long].filter((s): s is string => !!s);
}

/** Every node of the tree, rootlet itself first, parents before their children. */
export function commandTree(program: Command): TreeNode[] {
  const out: TreeNode[] = [];
  const walk = (cmd: Command, path: string[]) => {
    const subs = visibleCommands(cmd);
    const opts = visibleOptions(cmd);
    const args = cmd.registeredArguments;
    out.push({
      path,
      command: cmd,
      subs: subs.flatMap((c) => [c.name(), ...c.aliases()]),
      flags: opts.flatMap(spellings),
      valueFlags: opts.filter((o) => o.required).flatMap(spellings),
      args: args.map((a) => argKind(path, a.name())),
      variadic: args.length > 0 && args[args.length - 1]!.variadic,
      passThrough: (cmd as unknown as { _passThroughOptions?: boolean })._passThroughOptions === true,
    });
    for (const c of subs) walk(c, [...path, c.name()]);
  };
  walk(program, []);
  return out;
}
