import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { EngineError } from '../util/errors.js';
import { osReason } from '../util/os-errors.js';
import { parseChoice, parseInteger } from '../util/values.js';
import { collect, services } from './common.js';
import { valueOption } from './flag-values.js';
import { processContext } from './process-context.js';

function readText(file: string): { name: string; text: string } {
  try {
    return { name: file, text: readFileSync(file === '-' ? 0 : file, 'utf8') };
  } catch (err) {
    throw new EngineError(`cannot read ${file}: ${osReason(err)}`);
  }
}

export function register(program: Command): void {
  const kube = program.command('kube').description('Kubernetes YAML: generate it from containers and pods, play it as pods').usage('COMMAND');

  kube.command('generate')
    .description('Print a Kubernetes manifest (Pod or Deployment, claims, Service) for containers or a pod; warns about each setting that breaks the Pod Security Standards')
    .usage('[OPTIONS] CONTAINER...|POD')
    .argument('<name...>')
    .option('-f, --filename <file>', 'write the manifest to a file instead of standard output')
    .addOption(valueOption('-t, --type <type>', 'pod or deployment', (v, flag) => parseChoice(v, flag, ['pod', 'deployment'], 'a kind')).default('pod'))
    .addOption(valueOption('-r, --replicas <n>', 'replicas of a Deployment', (v, flag) => parseInteger(v, flag, 1)))
    .option('-s, --service', 'add a Service for the published ports (the pod then asks for no host port)')
    .option('--check-pss', 'exit 1 when the manifest does not meet the "restricted" profile')
    .action(async (names: string[], f: { filename?: string; type: 'pod' | 'deployment'; replicas?: number; service?: boolean; checkPss?: boolean }) => {
      const r = await (await services()).kube.generate(names, { type: f.type, service: !!f.service, ...(f.replicas ? { replicas: f.replicas } : {}) });
      if (f.filename) {
        try { writeFileSync(f.filename, r.yaml); } catch (err) { throw new EngineError(`cannot write ${f.filename}: ${osReason(err)}`); }
      } else {
        process.stdout.write(r.yaml);
      }
      for (const w of r.warnings) process.stderr.write(`WARNING: ${w}\n`);
      if (f.checkPss && r.level !== 'restricted') {
        process.stderr.write(`Error: the manifest meets the Pod Security Standards' "${r.level}" profile, not "restricted" (${r.violations.length} field${r.violations.length === 1 ? '' : 's'} above)\n`);
        process.exitCode = 1;
      }
    });

  kube.command('play')
    .description('Run the Pods, Deployments, Services, ConfigMaps, Secrets and PersistentVolumeClaims of Kubernetes YAML as local pods')
    .usage('[OPTIONS] FILE...')
    .argument('<file...>', 'YAML files (several documents each), - for standard input')
    .option('--down', 'remove the pods the files describe (volumes stay)')
    .option('--replace', 'remove pods of the same names first')
    .option('--configmap <file>', 'a file of ConfigMaps the manifests use (repeatable)', collect)
    .action(async (files: string[], f: { down?: boolean; replace?: boolean; configmap?: string[] }) => {
      const texts = files.map(readText);
      const configmaps = (f.configmap ?? []).flatMap((c) => c.split(',')).map(readText);
      const r = await (await services()).kube.play(texts, { down: !!f.down, replace: !!f.replace, configmaps }, processContext());
      if (f.down) {
        if (r.removed.length) process.stdout.write(`Pods stopped and removed:\n${r.removed.map((p) => `${p}\n`).join('')}`);
        return;
      }
      for (const p of r.pods) {
        process.stdout.write(`Pod:\n${p.id}\nContainers:\n${p.containers.map((c) => `${c.id}\n`).join('')}\n`);
      }
      if (r.volumes.length) process.stdout.write(`Volumes:\n${r.volumes.map((v) => `${v}\n`).join('')}`);
    });
}
