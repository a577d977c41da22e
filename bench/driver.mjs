// Runs the benchmark figures as the (unprivileged) user it is started as;
// bench/run.sh starts it as rootlet-ci with a clean environment. Every
// figure is a module in cases/, run in file-name order; see README.md.
//
// Usage: node bench/driver.mjs [--out DIR] [FIGURE...]
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { interruptedBy } from './lib/measure.mjs';
import { markdown, textTable } from './lib/report.mjs';
import { Sandbox } from './lib/sandbox.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const top = resolve(here, '..');

function parseArgs(argv) {
  const opts = { out: join(here, 'results'), only: [] };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--out') opts.out = resolve(argv[++i]);
    else if (argv[i] === '-h' || argv[i] === '--help') {
      process.stdout.write('usage: node bench/driver.mjs [--out DIR] [FIGURE...]\n');
      process.exit(0);
    } else opts.only.push(argv[i]);
  }
  return opts;
}

function firstLine(argv) {
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8' });
  return (r.stdout ?? '').split('\n')[0].trim() || `${argv[0]}: unknown`;
}

function osName() {
  try {
    return /PRETTY_NAME="?([^"\n]*)/.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? 'Linux';
  } catch {
    return 'Linux';
  }
}

async function loadCases(only) {
  const files = readdirSync(join(here, 'cases')).filter((f) => f.endsWith('.mjs')).sort();
  const cases = [];
  for (const f of files) cases.push(await import(join(here, 'cases', f)));
  const unknown = only.filter((id) => !cases.some((c) => c.id === id));
  if (unknown.length) throw new Error(`unknown figure ${unknown.join(', ')}: choose from ${cases.map((c) => c.id).join(', ')}`);
  return only.length ? cases.filter((c) => only.includes(c.id)) : cases;
}

function positiveInt(v, fallback) {
  const n = Number(v);
  return Number.isInteger(n) && n > 0 ? n : fallback;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (process.getuid() === 0) throw new Error('run the benchmarks as an unprivileged user (bench/run.sh does, as root)');
  const cases = await loadCases(opts.only);
  const runs = positiveInt(process.env.BENCH_RUNS, 30);
  const warmup = positiveInt(process.env.BENCH_WARMUP, 3);

  const sb = new Sandbox(mkdtempSync(join(process.env.BENCH_TMP ?? tmpdir(), 'sb.')),
    join(top, 'dist/rootlet.cjs'), join(top, 'scripts'));
  const report = {
    date: new Date().toISOString(),
    commit: process.env.BENCH_COMMIT || 'unknown',
    machine: {
      os: osName(),
      kernel: release(),
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
      cgroups: '',
      loadBefore: loadavg()[0],
      loadAfter: 0,
    },
    versions: {
      node: process.version,
      rootlet: '',
      podman: firstLine(['podman', '--version']),
      runc: firstLine(['runc', '--version']),
      crun: firstLine(['crun', '--version']),
    },
    figures: [],
  };
  let failed = false;
  try {
    process.stderr.write(`preparing the image in ${sb.root}\n`);
    sb.prepareImage();
    const info = JSON.parse(sb.rootlet('info', '--format', 'json'));
    report.versions.rootlet = `rootlet ${info.version} (${info.runtime.name}, ${info.storage.driver})`;
    report.machine.cgroups = info.host.cgroups;
    for (const c of cases) {
      process.stderr.write(`figure ${c.id}: `);
      const progress = (done, total) => {
        if (done > 0 && (done % 5 === 0 || done === total)) process.stderr.write(`${done}/${total}${done === total ? '\n' : ' '}`);
      };
      const fig = await c.run(sb, { runs, warmup, progress });
      report.figures.push(fig);
      process.stdout.write(`\n${textTable(fig)}\n`);
    }
  } catch (err) {
    failed = true;
    const sig = await interruptedBy();
    process.stderr.write(`\nbench: ${sig ? `interrupted by ${sig}` : err.message}\n`);
  } finally {
    report.machine.loadAfter = loadavg()[0];
    const left = sb.destroy();
    for (const l of left) process.stderr.write(`bench: cleanup: ${l}\n`);
  }
  if (failed) process.exit(1);
  mkdirSync(opts.out, { recursive: true });
  writeFileSync(join(opts.out, 'latest.json'), JSON.stringify(report, null, 2) + '\n');
  writeFileSync(join(opts.out, 'latest.md'), markdown(report));
}

main().catch((err) => {
  process.stderr.write(`bench: ${err.message}\n`);
  process.exit(1);
});
