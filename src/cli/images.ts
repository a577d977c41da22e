import type { Command } from 'commander';
import { importImage, listImages, removeImage } from '../engine/images.js';
import { familiarRepository, parseReference, repository } from '../image/reference.js';
import { collect, eachName, openEngine } from './common.js';
import { ago, humanSize, table } from './format.js';

export function register(program: Command): void {
  program
    .command('images')
    .description('List images')
    .option('-a, --all', 'show all images (no intermediate images are hidden yet)')
    .option('-q, --quiet', 'only print image ids')
    .option('--no-trunc', 'do not truncate output')
    .action(async (flags: { quiet?: boolean; trunc: boolean }) => {
      const engine = await openEngine();
      const now = Date.now();
      const rows: string[][] = [];
      const ids: string[] = [];
      for (const img of listImages(engine)) {
        const id = flags.trunc ? img.id.slice(7, 19) : img.id;
        if (!ids.includes(id)) ids.push(id);
        const names = img.tags.length ? img.tags : [''];
        for (const t of names) {
          let repo = '<none>';
          let tag = '<none>';
          if (t) {
            const r = parseReference(t, null);
            repo = familiarRepository(repository(r));
            tag = r.tag ?? '<none>';
          }
          rows.push([repo, tag, id, ago(img.created, now), humanSize(img.size)]);
        }
      }
      if (flags.quiet) {
        process.stdout.write(ids.map((i) => `${i}\n`).join(''));
        return;
      }
      process.stdout.write(table(['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE'], rows));
    });

  program
    .command('rmi')
    .description('Remove one or more images')
    .usage('[OPTIONS] IMAGE [IMAGE...]')
    .argument('<image...>')
    .option('-f, --force', 'untag an image that containers use, or one with several names')
    .action(async (refs: string[], flags: { force?: boolean }) => {
      await eachName(refs, (engine, ref) => {
        const r = removeImage(engine, ref, !!flags.force);
        const lines = [...r.untagged.map((u) => `Untagged: ${u}`), ...r.deleted.map((d) => `Deleted: ${d}`)];
        return lines.length ? lines.join('\n') : undefined;
      });
    });

  program
    .command('import')
    .description('Create an image from a root filesystem tarball (file or - for stdin)')
    .usage('[OPTIONS] FILE|- [REPOSITORY[:TAG]]')
    .argument('<file>')
    .argument('[reference]')
    .option('-c, --change <instruction>', 'apply a Dockerfile instruction (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR)', collect)
    .option('-m, --message <text>', 'commit message for the history')
    .option('--remap-outside-ids', 'give files owned by ids outside your subordinate range to root instead of failing')
    .action(async (file: string, reference: string | undefined, flags: { change?: string[]; message?: string; remapOutsideIds?: boolean }) => {
      const engine = await openEngine();
      const r = await importImage(engine, { source: file, reference, changes: flags.change ?? [], message: flags.message, remapOutsideIds: flags.remapOutsideIds });
      if (r.remapped) process.stderr.write(`${r.remapped} file owner(s) outside your subordinate range were given to root\n`);
      process.stdout.write(`${r.id}\n`);
    });
}
