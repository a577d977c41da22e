import type { Command } from 'commander';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { VERSION } from '../util/version.js';
import { commandTree, visibleOptions, type TreeNode } from './command-tree.js';

/**
 * Manual pages in roff, one per command (`rootlet(1)`, `rootlet-run(1)`,
 * `rootlet-network-create(1)`), written by the build (`rootlet __manpages
 * DIR`) from the same commander definitions `--help` prints: the usage,
 * description, arguments, options with their defaults, subcommands and the
 * notes a command adds after its help. Hand-written: the npm generators
 * read a command's --help text or a markdown page, not commander's tree,
 * and the roff needed is a dozen macros.
 */

/** Text for roff: backslashes doubled, a leading dot or quote neutralised. */
function esc(text: string): string {
  return text
    .replace(/\\/g, '\\e')
    .split('\n')
    .map((l) => (/^[.']/.test(l) ? `\\&${l}` : l))
    .join('\n');
}

/** A flag or command term, with its dashes as real minus signs (searchable, copyable). */
function term(text: string): string {
  return esc(text).replace(/-/g, '\\-');
}

function pageName(path: string[]): string {
  return ['rootlet', ...path].join('-');
}

/** What a command prints around its main help (addHelpText), without the main help itself. */
function extraHelp(cmd: Command): string {
  let out = '';
  cmd.configureOutput({ writeOut: (s) => { out += s; }, getOutHelpWidth: () => 80 });
  cmd.outputHelp();
  const main = cmd.helpInformation();
  const at = out.indexOf(main);
  return (at >= 0 ? out.slice(0, at) + out.slice(at + main.length) : '').trim();
}

export function manPage(node: TreeNode, nodes: TreeNode[]): string {
  const cmd = node.command;
  const help = cmd.createHelp();
  const name = pageName(node.path);
  const description = help.commandDescription(cmd) || '';
  const summary = description.split('\n')[0] ?? '';
  const lines: string[] = [
    `.TH ${name.toUpperCase()} 1 "" "rootlet ${VERSION}" "rootlet manual"`,
    '.SH NAME',
    `${term(name)} \\- ${esc(summary)}`,
    '.SH SYNOPSIS',
    `.B ${term(['rootlet', ...node.path].join(' '))}`,
    esc(cmd.usage()),
  ];
  if (description) lines.push('.SH DESCRIPTION', esc(description));
  const args = help.visibleArguments(cmd);
  if (args.length) {
    lines.push('.SH ARGUMENTS');
    for (const a of args) lines.push('.TP', `.B ${term(help.argumentTerm(a))}`, esc(help.argumentDescription(a)));
  }
  const opts = visibleOptions(cmd);
  if (opts.length) {
    lines.push('.SH OPTIONS');
    for (const o of opts) lines.push('.TP', `.B ${term(help.optionTerm(o))}`, esc(help.optionDescription(o)));
  }
  const children = nodes.filter((n) => n.path.length === node.path.length + 1 && node.path.every((w, i) => n.path[i] === w));
  if (children.length) {
    lines.push('.SH COMMANDS');
    for (const c of children) {
      lines.push('.TP', `.B ${term(help.subcommandTerm(c.command))}`, `${esc(help.subcommandDescription(c.command).replace(/\.?$/, '.'))} See \\fB${term(pageName(c.path))}\\fR(1).`);
    }
  }
  const extra = extraHelp(cmd);
  if (extra) lines.push('.SH NOTES', '.nf', esc(extra), '.fi');
  const seeAlso = [...new Set([node.path.length ? 'rootlet' : undefined, node.path.length > 1 ? pageName(node.path.slice(0, -1)) : undefined].filter((s): s is string => !!s))];
  if (seeAlso.length) lines.push('.SH SEE ALSO', seeAlso.map((s) => `\\fB${term(s)}\\fR(1)`).join(', '));
  return `${lines.join('\n')}\n`;
}

/** Writes every page into `dir`; returns the file names. */
export function writeManPages(program: Command, dir: string): string[] {
  const nodes = commandTree(program);
  mkdirSync(dir, { recursive: true });
  return nodes.map((n) => {
    const file = `${pageName(n.path)}.1`;
    writeFileSync(join(dir, file), manPage(n, nodes));
    return file;
  });
}

export function register(program: Command): void {
  program
    .command('__manpages', { hidden: true })
    .argument('<dir>', 'where to write the pages')
    .action((dir: string) => {
      writeManPages(program, dir);
    });
}
