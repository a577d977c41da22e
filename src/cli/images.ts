import { applyChanges } from '../engine/index.js';
import type { Command } from 'commander';
import { checkReadable } from './files.js';
import { listOption } from './flag-values.js';
import { collect, eachName, services } from './common.js';
import { summaryRows, imagesTableFormat, IMAGES_KIND, shortId } from './images-format.js';
import { formatList } from './list-format.js';
import { processContext } from './process-context.js';

interface ImagesFlags {
  all?: boolean;
  quiet?: boolean;
  digests?: boolean;
  trunc: boolean;
  filter?: string[];
  format?: string;
}

/** `images` / `image ls`. */
export function defineImages(parent: Command, name: string): Command {
  return parent
    .command(name)
    .description('List images')
    .usage('[OPTIONS] [REPOSITORY[:TAG]]')
    .argument('[reference]', 'only images whose name matches (a pattern, as --filter reference=)')
    .option('-a, --all', 'show all images, the intermediate images of builds too')
    .option('--digests', 'show digests')
    .option('-f, --filter <KEY=VALUE>', 'filter by dangling=true|false, reference=PATTERN, label=KEY[=VALUE], before=IMAGE, since=IMAGE or until=TIME (repeatable)', collect)
    .option('--format <template>', 'format with a Go template (e.g. \'table {{.Repository}}\\t{{.ID}}\'), or json')
    .option('--no-trunc', 'do not truncate output')
    .option('-q, --quiet', 'only print image ids')
    .addHelpText('after', `
Template fields: .Repository .Tag .ID .Digest .CreatedSince .CreatedAt .Size .Containers
.VirtualSize .SharedSize .UniqueSize; {{json .}} prints them all.`)
    .action(async (reference: string | undefined, flags: ImagesFlags) => {
      const filters = [...(flags.filter ?? []), ...(reference ? [`reference=${reference}`] : [])];
      const images = await (await services()).images.list({ all: flags.all, filters, digests: flags.digests });
      if (flags.quiet) {
        const ids = [...new Set(images.map((i) => shortId(i.id, flags.trunc)))];
        process.stdout.write(ids.map((i) => `${i}\n`).join(''));
        return;
      }
      const now = Date.now();
      const rows = images.flatMap((image) => summaryRows(image, { trunc: flags.trunc, now }));
      process.stdout.write(formatList(flags.format, rows, { ...IMAGES_KIND, table: imagesTableFormat(!!flags.digests) }));
    });
}

/** `rmi` / `image rm`. */
export function defineRmi(parent: Command, name: string): Command {
  return parent
    .command(name)
    .description('Remove one or more images')
    .usage('[OPTIONS] IMAGE [IMAGE...]')
    .argument('<image...>')
    .option('-f, --force', 'untag an image that stopped containers use, or one with several names')
    .action(async (refs: string[], flags: { force?: boolean }) => {
      await eachName(refs, async ({ images }, ref) => {
        const r = await images.remove(ref, { force: !!flags.force });
        const lines = [...r.untagged.map((u) => `Untagged: ${u}`), ...r.deleted.map((d) => `Deleted: ${d}`)];
        return lines.length ? lines.join('\n') : undefined;
      });
    });
}

/** `import` / `image import`. */
export function defineImport(parent: Command, name: string): Command {
  return parent
    .command(name)
    .description('Create an image from a root filesystem tarball (file or - for stdin)')
    .usage('[OPTIONS] FILE|- [REPOSITORY[:TAG]]')
    .argument('<file>')
    .argument('[reference]')
    .addOption(listOption('-c, --change <instruction>', 'apply a Dockerfile instruction (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR)', (v) => applyChanges({}, [v])))
    .option('-m, --message <text>', 'commit message for the history')
    .option('--remap-outside-ids', 'give files owned by ids outside your subordinate range to root instead of failing')
    .action(async (file: string, reference: string | undefined, flags: { change?: string[]; message?: string; remapOutsideIds?: boolean }) => {
      // The file is opened before the store is: a wrong path is refused with nothing touched.
      if (file !== '-') checkReadable(file);
      const r = await (await services()).images.import(file, { reference, changes: flags.change ?? [], message: flags.message, remapOutsideIds: flags.remapOutsideIds }, processContext());
      if (r.remapped) process.stderr.write(`${r.remapped} file owner(s) outside your subordinate range were given to root\n`);
      process.stdout.write(`${r.id}\n`);
    });
}
