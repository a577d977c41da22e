import { tmpName } from '../engine/index.js';
import { loadedLines } from '../docker/image.js';
import { once } from 'node:events';
import { createReadStream, createWriteStream, fstatSync, renameSync, rmSync, statSync, type ReadStream } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Command } from 'commander';
import { EngineError } from '../util/errors.js';
import { ARCHIVE_FORMATS, type ArchiveFormat, type LoadedImage } from '../engine/index.js';
import { osReason } from '../util/os-errors.js';
import { services } from './common.js';
import { openFile } from './files.js';
import { valueOption } from './flag-values.js';
import { parseChoice } from '../util/values.js';
import { processContext } from './process-context.js';
import { archiveProgress } from './progress-lines.js';

/** `save` / `image save`. */
export function defineSave(parent: Command, name: string): Command {
  return parent
    .command(name)
    .description('Save images to a tar archive (to standard output unless -o is given)')
    .usage('[OPTIONS] IMAGE [IMAGE...]')
    .argument('<image...>')
    .option('-o, --output <file>', 'write to a file instead of standard output')
    .addOption(valueOption('--format <format>', `the archive format: ${ARCHIVE_FORMATS.join(' or ')}`, (v, flag) => parseChoice(v, flag, ARCHIVE_FORMATS, 'an archive format')).default('docker-archive'))
    .addHelpText('after', `
An image given by id is saved without names; NAME:TAG saves that name, a
bare NAME every tag of that repository. \`rootlet load\`, \`docker load\` and
\`podman load\` read both formats.`)
    .action(async (refs: string[], flags: { output?: string; format: ArchiveFormat }) => {
      if (!flags.output && process.stdout.isTTY) {
        throw new EngineError('cowardly refusing to save to a terminal: use the -o flag or redirect standard output');
      }
      if (!flags.output) {
        await (await services()).images.save(refs, { format: flags.format }, process.stdout);
        return;
      }
      // A temporary name beside the file: a failed save leaves no partial archive behind.
      // Opened first, before the store: a path that cannot be written is refused with nothing done.
      const tmp = join(dirname(flags.output), `.${basename(flags.output)}.${tmpName('save')}`);
      const fd = openFile(tmp, 'wx', 0o644, flags.output);
      const out = createWriteStream('', { fd });
      // By the file's name: the stream closes its descriptor when it ends, before the last draw.
      const progress = archiveProgress('Writing', () => { try { return statSync(tmp).size; } catch { return 0; } });
      try {
        await (await services()).images.save(refs, { format: flags.format }, out);
        progress.end(true);
        renameSync(tmp, flags.output);
      } catch (err) {
        progress.end(false);
        out.destroy();
        if (!out.closed) await once(out, 'close');
        rmSync(tmp, { force: true });
        // A write that fails (a full disk) is one line naming the file, not an internal error.
        if ((err as NodeJS.ErrnoException).syscall) throw new EngineError(`write ${flags.output}: ${osReason(err)}`);
        throw err;
      }
    });
}

/** `load` / `image load`. */
export function defineLoad(parent: Command, name: string): Command {
  return parent
    .command(name)
    .description('Load images from a tar archive (docker-archive or oci-archive, gzip-compressed or not)')
    .usage('[OPTIONS]')
    .option('-i, --input <file>', 'read from a file instead of standard input')
    .option('-q, --quiet', 'print nothing')
    .option('--remap-outside-ids', 'give files owned by ids outside your subordinate range to root instead of failing')
    .action(async (flags: { input?: string; quiet?: boolean; remapOutsideIds?: boolean }) => {
      if (!flags.input && process.stdin.isTTY) {
        throw new EngineError('requested load from stdin, but stdin is a terminal: use -i FILE or redirect standard input');
      }
      // Opened before the store: a wrong path is refused with nothing touched.
      const fd = flags.input ? openFile(flags.input, 'r') : undefined;
      const input = fd !== undefined ? createReadStream('', { fd }) : process.stdin;
      const what = flags.input ?? 'standard input';
      // A file's size is known: a bar of how much of it was read (standard input has neither).
      const file = input as Partial<ReadStream>;
      const progress = fd !== undefined && !flags.quiet ? archiveProgress('Loading', () => file.bytesRead ?? 0, fstatSync(fd).size) : undefined;
      let images: LoadedImage[];
      try {
        images = await (await services()).images.load(input, { what, remapOutsideIds: flags.remapOutsideIds }, processContext());
      } catch (err) {
        progress?.end(false);
        throw err;
      }
      progress?.end(true);
      if (!flags.quiet) process.stdout.write(loadedLines(images).map((l) => `${l}\n`).join(''));
    });
}
