// Figure 1: how long `run --rm` of a trivial container takes, end to end —
// the latency a user (or a script calling run in a loop) feels.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { latencyRow, median, summarize, timeInterleaved } from '../lib/measure.mjs';
import { PODMAN_TUNING } from '../lib/sandbox.mjs';

export const id = 'run';

const CMD = ['true'];

/**
 * The floor: a bundle runc can run with no engine around it, inside
 * rootlet's own user namespace. Its config.json is the one rootlet wrote for
 * a real container of the same image (so the two stay equivalent as rootlet
 * changes); only the paths are moved to the bundle, and its root is a plain
 * copy of the image's layer instead of an overlay mount.
 */
function prepareFloor(sb) {
  const name = 'bench-floor-template';
  sb.rootlet('run', '--name', name, '--net', 'none', sb.image.rootlet, ...CMD);
  const ids = sb.rootlet('ps', '-a', '-q', '--no-trunc').trim().split('\n').filter(Boolean);
  if (ids.length !== 1) throw new Error(`expected one container in the bench store, found ${ids.length}`);
  const store = sb.rootletInfo().storage.root;
  const ctr = join(store, 'containers', ids[0]);
  const layers = readdirSync(join(store, 'layers'));
  if (layers.length !== 1) throw new Error(`expected the busybox image to have one layer, found ${layers.length}`);

  const bundle = sb.path('floor/bundle');
  const state = sb.path('floor/state');
  mkdirSync(bundle, { recursive: true });
  mkdirSync(state, { recursive: true });
  for (const f of ['hosts', 'hostname', 'resolv.conf']) copyFileSync(join(ctr, f), join(bundle, f));
  const config = JSON.parse(readFileSync(join(ctr, 'config.json'), 'utf8').split(ctr).join(bundle));
  config.root.path = 'rootfs';
  writeFileSync(join(bundle, 'config.json'), JSON.stringify(config, null, 2));

  const pid = sb.holderPid();
  const nsenter = ['nsenter', '-U', '-m', '-t', String(pid), '--preserve-credentials', '--'];
  // In the namespace: layer files may belong to subordinate ids.
  sb.exec([...nsenter, 'cp', '-a', join(store, 'layers', layers[0]), join(bundle, 'rootfs')], 'copying the layer for the runc bundle');
  sb.rootlet('rm', name);
  return [...nsenter, 'runc', '--root', state, 'run', '--bundle', bundle, 'bench-floor'];
}

/** rootlet's own phase marks (src/util/trace.ts), from runs apart from the timed ones: tracing writes to stderr. */
function traceRootlet(sb, argv, n) {
  const marks = new Map();
  for (let i = 0; i < n; i++) {
    const r = spawnSync(argv[0], argv.slice(1), { env: { ...sb.env, ROOTLET_TRACE: '1' }, cwd: sb.root, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`traced rootlet run exited ${r.status}: ${r.stderr.trim()}`);
    for (const m of r.stderr.matchAll(/^\[trace\] ([\d.]+)ms (.+)$/gm)) {
      if (!marks.has(m[2])) marks.set(m[2], []);
      marks.get(m[2]).push(Number(m[1]));
    }
  }
  return { runs: n, list: [...marks].map(([phase, v]) => ({ phase, ms: median(v) })) };
}

export async function run(sb, { runs, warmup, progress }) {
  const floor = prepareFloor(sb);
  const commands = [
    { tool: 'rootlet', argv: sb.rootletArgv(['run', '--rm', '--net', 'none', sb.image.rootlet, ...CMD]) },
    { tool: 'podman', argv: sb.podmanArgv(['run', '--rm', '--net', 'none', sb.image.podman, ...CMD]) },
    { tool: 'podmanDefault', argv: sb.podmanArgv(['run', '--rm', '--net', 'none', sb.image.podman, ...CMD], sb.podmanDefaultFlags) },
    { tool: 'runc', argv: floor },
    // References for the notes: node's own start, which rootlet (a node
    // program) cannot go below, and what spawning costs the harness itself.
    { tool: 'node', argv: [process.execPath, '-e', '0'] },
    { tool: 'spawn', argv: ['/bin/true'] },
  ];
  const samples = await timeInterleaved(commands, { env: sb.env, cwd: sb.root, runs, warmup, onRound: progress });
  const stats = Object.fromEntries(Object.entries(samples).map(([t, s]) => [t, summarize(s)]));
  const what = {
    rootlet: 'rootlet',
    podman: 'Podman (overlay, runc)',
    podmanDefault: 'Podman as installed (vfs, runc)',
    runc: 'bare runc (the floor)',
  };
  const rows = ['rootlet', 'podman', 'podmanDefault', 'runc']
    .map((tool) => latencyRow(what[tool], stats[tool], samples[tool], commands.find((c) => c.tool === tool).argv));
  const phases = traceRootlet(sb, commands[0].argv, Math.min(10, runs));
  const ratio = stats.rootlet.median / stats.podman.median;
  const ratioDefault = stats.rootlet.median / stats.podmanDefault.median;
  const over = stats.rootlet.median - stats.runc.median;
  return {
    id,
    title: `run --rm --net none busybox ${CMD.join(' ')}`,
    description:
      `Wall time of one foreground \`run --rm\` of a container that exits at once, from fork to exit: ` +
      `create, mount, start, wait, remove. ${runs} runs per tool after ${warmup} warm-up round${warmup === 1 ? '' : 's'}, ` +
      `interleaved round-robin. The runc row is \`runc run\` of a prepared bundle in rootlet's user namespace: ` +
      `what any engine on runc must pay at least.`,
    runs,
    warmup,
    columns: [
      { key: 'tool', label: 'tool' },
      { key: 'median_ms', label: 'median ms' },
      { key: 'p90_ms', label: 'p90 ms' },
      { key: 'min_ms', label: 'min ms' },
    ],
    rows,
    summary: [
      { label: 'rootlet / Podman (medians)', value: ratio, text: `${ratio.toFixed(2)}× (Podman takes ${(1 / ratio).toFixed(2)}× as long)` },
      { label: 'rootlet / Podman as installed', value: ratioDefault, text: `${ratioDefault.toFixed(2)}×` },
      { label: 'rootlet − runc (medians)', value: over, text: `${over.toFixed(1)} ms of engine overhead` },
    ],
    notes: [
      `Podman flags besides its private store: \`${PODMAN_TUNING.join(' ')}\`.`,
      `\`node -e 0\` takes ${stats.node.median.toFixed(1)} ms (median, same rounds): the part of rootlet's time that is node starting.`,
      `Each row includes the harness's own cost of spawning a process: ${stats.spawn.median.toFixed(1)} ms (median for /bin/true).`,
      `Where rootlet's time goes (ROOTLET_TRACE, median of ${phases.runs} separate untimed runs, ms since node started): ` +
        phases.list.map((p) => `${p.phase} ${p.ms.toFixed(1)}`).join(' → ') + '.',
    ],
    breakdown: phases,
  };
}
