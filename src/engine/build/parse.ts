import { DockerfileParser } from 'dockerfile-ast';
import { EngineError } from '../../util/errors.js';

/**
 * A Containerfile/Dockerfile as instructions. dockerfile-ast (the parser of
 * the Dockerfile language server) finds the parser directives, the escape
 * character and where each instruction starts and ends, continuations
 * and here-documents included; this module turns its raw text into
 * flags, arguments and here-document bodies, as Docker's builder reads
 * them. Variables are expanded later, per stage (substitute.ts), because
 * their values depend on the ARGs and ENVs before each step.
 */

export interface Heredoc {
  name: string;
  body: string;
  /** `<<EOF`: variables are expanded in the body; `<<"EOF"`/`<<'EOF'`: not. */
  expand: boolean;
}

export interface Instruction {
  /** Upper case: RUN, COPY, ... */
  keyword: string;
  /** 1-based line of the instruction's first line. */
  line: number;
  /** Leading `--name[=value]` options, in order. */
  flags: Array<{ name: string; value: string | undefined }>;
  /** The arguments after the flags, continuations joined, here-document bodies left out. */
  args: string;
  /** The exec (JSON array) form's strings, when the arguments are one. */
  json?: string[];
  heredocs: Heredoc[];
}

export interface ParsedFile {
  /** How errors name the file (Containerfile, Dockerfile, or the -f path as given). */
  file: string;
  escape: string;
  instructions: Instruction[];
}

export const KNOWN = new Set([
  'FROM', 'RUN', 'CMD', 'LABEL', 'MAINTAINER', 'EXPOSE', 'ENV', 'ADD', 'COPY', 'ENTRYPOINT', 'VOLUME', 'USER',
  'WORKDIR', 'ARG', 'ONBUILD', 'STOPSIGNAL', 'HEALTHCHECK', 'SHELL',
]);

/** Instructions whose arguments may open here-documents. */
const HEREDOC_KEYWORDS = new Set(['RUN', 'COPY', 'ADD']);
const HEREDOC_MARK = /<<(-?)(["']?)([A-Za-z_][A-Za-z0-9_]*)\2/g;

/** An error in the file: one line naming FILE:LINE, exit 125 (nothing was built yet). */
export function fileError(file: string, line: number, message: string): EngineError {
  return new EngineError(`${file}:${line}: ${message}`);
}

export function parseDockerfile(text: string, file: string): ParsedFile {
  const df = DockerfileParser.parse(text);
  const escape = df.getEscapeCharacter();
  for (const d of df.getDirectives()) {
    const name = d.getName().toLowerCase();
    const value = d.getValue();
    if (name === 'escape' && value !== '\\' && value !== '`') {
      throw fileError(file, d.getRange().start.line + 1, `invalid escape directive "${value}": use \\ or \``);
    }
  }
  const instructions: Instruction[] = [];
  const docLines = text.split(/\r?\n/);
  for (const ins of df.getInstructions()) {
    const line = ins.getRange().start.line + 1;
    const keyword = ins.getKeyword().toUpperCase();
    if (!KNOWN.has(keyword)) throw fileError(file, line, `unknown instruction: ${ins.getKeyword()}`);
    // The instruction's own text from the file (its flags included, which dockerfile-ast's argument text leaves out), keyword removed.
    const r = ins.getRange();
    const own = docLines.slice(r.start.line, r.end.line + 1);
    own[0] = own[0]!.slice(r.start.character);
    const raw = own.join('\n').replace(/^\s*\S+[ \t]*/, '');
    instructions.push(splitInstruction(keyword, line, raw, escape, file));
  }
  if (!instructions.length) throw new EngineError(`${file}: the file has no instructions`);
  return { file, escape, instructions };
}

/** The logical first line (continuations joined, comment lines in them dropped) and what follows it. */
function logicalLine(lines: string[], escape: string): { text: string; rest: string[] } {
  let text = '';
  let k = 0;
  for (; k < lines.length; k++) {
    const l = lines[k]!;
    if (k > 0 && (/^\s*#/.test(l) || /^\s*$/.test(l))) continue;
    const trimmed = l.replace(/\s+$/, '');
    if (trimmed.endsWith(escape)) {
      text += trimmed.slice(0, -1);
      continue;
    }
    text += l;
    k++;
    break;
  }
  return { text, rest: lines.slice(k) };
}

export function splitInstruction(keyword: string, line: number, raw: string, escape: string, file: string): Instruction {
  const lines = raw.split('\n');
  // Here-documents: the body lines follow the instruction's (logical) first line.
  let first: string;
  let rest: string[];
  if (HEREDOC_KEYWORDS.has(keyword) && /<</.test(lines[0] ?? '')) {
    first = lines[0]!;
    rest = lines.slice(1);
  } else {
    ({ text: first, rest } = logicalLine(lines, escape));
  }
  const heredocs: Heredoc[] = [];
  let argsText = first;
  if (HEREDOC_KEYWORDS.has(keyword)) {
    const marks = [...first.matchAll(HEREDOC_MARK)];
    for (const m of marks) {
      const strip = m[1] === '-';
      const name = m[3]!;
      const body: string[] = [];
      let closed = false;
      while (rest.length) {
        const l = rest.shift()!;
        const cmp = strip ? l.replace(/^\t+/, '') : l;
        if (cmp === name) { closed = true; break; }
        body.push(strip ? cmp : l);
      }
      if (!closed) throw fileError(file, line, `here-document "${name}" is not closed (no line "${name}")`);
      heredocs.push({ name, body: body.length ? `${body.join('\n')}\n` : '', expand: !m[2] });
    }
  }
  if (rest.some((l) => l.trim() && !/^\s*#/.test(l)) && !heredocs.length) {
    // dockerfile-ast gave more lines than the instruction has: should not happen, but never drop text silently.
    argsText = [first, ...rest].join(' ');
  }
  // Leading flags: --name or --name=value, before the first other word.
  const flags: Array<{ name: string; value: string | undefined }> = [];
  let args = argsText.trim();
  for (;;) {
    const m = /^--([A-Za-z][A-Za-z0-9-]*)(=(\S*))?(\s+|$)/.exec(args);
    if (!m) break;
    flags.push({ name: m[1]!, value: m[2] ? m[3]! : undefined });
    args = args.slice(m[0].length);
  }
  args = args.trim();
  let json: string[] | undefined;
  if (args.startsWith('[')) {
    try {
      const v = JSON.parse(args) as unknown;
      if (Array.isArray(v) && v.every((s) => typeof s === 'string')) json = v as string[];
    } catch { /* not JSON: the shell form, as Docker takes it */ }
  }
  return { keyword, line, flags, args, ...(json ? { json } : {}), heredocs };
}

/** The text a step shows in progress and history: the instruction as written, on one line. */
export function instructionText(ins: Instruction): string {
  const flags = ins.flags.map((f) => `--${f.name}${f.value === undefined ? '' : `=${f.value}`} `).join('');
  return `${ins.keyword} ${flags}${ins.args}`.trim();
}
