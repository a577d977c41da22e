import type { Command } from 'commander';
import type { ImageAudit } from '../engine/index.js';
import { services } from './common.js';
import { jsonFormatOption } from './flag-values.js';
import { tabwrite } from './tabwriter.js';

/** The text report: a table of findings, then one line per kind saying what it means rootless. */
export function auditText(name: string, a: ImageAudit): string {
  if (!a.findings.length) return `image ${name}: nothing to report\n`;
  const rows = a.findings.map((f) => `${f.kind}\t${f.subject}\t${f.detail}${f.breaks ? '\t(will not work rootless)' : ''}`);
  const meanings = new Map<string, string>();
  // One sentence per kind (a capability's may differ per file: the first that breaks says most).
  for (const f of [...a.findings].sort((x, y) => Number(y.breaks) - Number(x.breaks))) if (!meanings.has(f.kind)) meanings.set(f.kind, f.rootless);
  const lines = [...meanings].map(([k, m]) => `  ${k}: ${m}`);
  return `${tabwrite(`KIND\tSUBJECT\tDETAIL\n${rows.join('\n')}\n`)}\nRootless, this means:\n${lines.join('\n')}\n`;
}

/** `image audit IMAGE [--format json]`. */
export function defineImageAudit(parent: Command, name: string): Command {
  return parent
    .command(name)
    .description('Report what in an image matters for security and what it means rootless: setuid/setgid files, file capabilities, files of ids outside your namespace, world-writable directories without the sticky bit, a root user, exposed ports below the unprivileged start')
    .usage('[OPTIONS] IMAGE')
    .argument('<image>')
    .addOption(jsonFormatOption('--format <format>', 'json: the findings as one JSON document'))
    .action(async (image: string, flags: { format?: 'json' }) => {
      const a = await (await services()).images.audit(image);
      process.stdout.write(flags.format === 'json' ? `${JSON.stringify({ image, ...a }, null, 2)}\n` : auditText(image, a));
    });
}
