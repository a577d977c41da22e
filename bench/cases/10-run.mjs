// Figure 1: how long `run --rm` of a trivial container takes, end to end —
// the latency a user (or a script calling run in a loop) feels.
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LATENCY_COLUMNS, latencyTable, median, timeInterleaved, tracedRuns, tryOnce } from '../lib/measure.mjs';
import { PODMAN_TUNING } from '../lib/sandbox.mjs';

export const id = 'run';

const CMD = ['true'];
/** rootlet's target: a `run --rm` in at most this part of Podman's time, Podman as installed. */
const TARGET_RATIO = 0.4;
/** What the default network may add to a `run --rm` over `--net none` (issue 16). */
const TARGET_NET_MS = 15;

/**
 * The floors: a bundle an OCI runtime can run with no engine around it,
 * inside rootlet's own user and mount namespaces (the holder's: on a hybrid
 * cgroup host crun runs only where rootlet has hidden the cgroup v2 tree).
 * Its config.json is the one rootlet wrote for a real container of the same
 * image (so the two stay equivalent as rootlet changes); only the paths are
 * moved to the bundle, and its root is a plain copy of the image's layer
 * instead of an overlay mount. One bundle, run by runc and by crun, each
 * with a state directory of its own. Returns argv per runtime.
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
  mkdirSync(bundle, { recursive: true });
  for (const f of ['hosts', 'hostname', 'resolv.conf']) copyFileSync(join(ctr, f), join(bundle, f));
  const config = JSON.parse(readFileSync(join(ctr, 'config.json'), 'utf8').split(ctr).join(bundle));
  config.root.path = 'rootfs';
  writeFileSync(join(bundle, 'config.json'), JSON.stringify(config, null, 2));

  const pid = sb.holderPid();
  const nsenter = ['nsenter', '-U', '-m', '-t', String(pid), '--preserve-credentials', '--'];
  // In the namespace: layer files may belong to subordinate ids.
  sb.exec([...nsenter, 'cp', '-a', join(store, 'layers', layers[0]), join(bundle, 'rootfs')], 'copying the layer for the floor bundle');
  sb.rootlet('rm', name);
  const state = (rt) => {
    const dir = sb.path('floor', `state-${rt}`);
    mkdirSync(dir, { recursive: true });
    return dir;
  };
  return {
    runc: [...nsenter, 'runc', '--root', state('runc'), 'run', '--bundle', bundle, 'bench-floor'],
    crun: [...nsenter, 'crun', `--root=${state('crun')}`, 'run', '--bundle', bundle, 'bench-floor'],
  };
}

/** The median of each of rootlet's phase marks over n traced runs. */
function traceRootlet(sb, argv, n) {
  const marks = new Map();
  for (const run of tracedRuns(sb, argv, n)) {
    for (const [phase, ms] of run) {
      if (!marks.has(phase)) marks.set(phase, []);
      marks.get(phase).push(ms);
    }
  }
  return { runs: n, list: [...marks].map(([phase, v]) => ({ phase, ms: median(v) })) };
}

export async function run(sb, { runs, warmup, progress }) {
  const rt = sb.defaultRuntime();
  const floors = prepareFloor(sb);
  const rootletRun = (...flags) => sb.rootletArgv(['run', '--rm', '--net', 'none', ...flags, sb.image.rootlet, ...CMD]);
  const commands = [
    { tool: 'rootlet', argv: rootletRun() },
    // On the default network (no --net): what networking adds to a run. The warm-up rounds bring the network up.
    { tool: 'rootletNet', argv: sb.rootletArgv(['run', '--rm', sb.image.rootlet, ...CMD]) },
    // Without the default seccomp profile: what the filter costs a run.
    { tool: 'rootletNoSeccomp', argv: rootletRun('--security-opt', 'seccomp=unconfined') },
    // The same engine on runc (Podman's runtime here): how much of the gain is the runtime.
    ...(rt === 'runc' ? [] : [{ tool: 'rootletRunc', argv: rootletRun('--runtime', 'runc') }]),
    { tool: 'podman', argv: sb.podmanArgv(['run', '--rm', '--net', 'none', sb.image.podman, ...CMD]) },
    { tool: 'podmanDefault', argv: sb.podmanArgv(['run', '--rm', '--net', 'none', sb.image.podman, ...CMD], sb.podmanDefaultFlags) },
  ];
  const floorFailures = [];
  for (const name of ['crun', 'runc']) {
    const why = tryOnce(sb, floors[name]);
    if (why) floorFailures.push(`bare ${name} (the floor) was not measured: one run failed: ${why}`);
    else commands.push({ tool: name, argv: floors[name] });
  }
  // References for the notes: node's own start, which rootlet (a node
  // program) cannot go below, and what spawning costs the harness itself.
  commands.push(
    { tool: 'node', argv: [process.execPath, '-e', '0'] },
    { tool: 'spawn', argv: ['/bin/true'] },
  );
  const samples = await timeInterleaved(commands, { env: sb.env, cwd: sb.root, runs, warmup, onRound: progress });
  const what = {
    rootlet: `rootlet (${rt})`,
    rootletNet: `rootlet (${rt}), default network`,
    rootletNoSeccomp: `rootlet (${rt}) --security-opt seccomp=unconfined`,
    rootletRunc: 'rootlet --runtime runc',
    podman: 'Podman (overlay, runc)',
    podmanDefault: 'Podman as installed (vfs, runc)',
    crun: 'bare crun (the floor on crun)',
    runc: 'bare runc (the floor on runc)',
  };
  const { stats, rows, argvOf } = latencyTable(commands, samples, what);
  const phases = traceRootlet(sb, argvOf('rootlet'), Math.min(10, runs));
  const phasesNet = traceRootlet(sb, argvOf('rootletNet'), Math.min(10, runs));
  const phasesRunc = stats.rootletRunc ? traceRootlet(sb, argvOf('rootletRunc'), Math.min(10, runs)) : undefined;

  const r = stats.rootlet.median;
  const ratio = r / stats.podman.median;
  const ratioDefault = r / stats.podmanDefault.median;
  const summary = [
    { label: `rootlet (${rt}) / Podman (medians)`, value: ratio, text: `${ratio.toFixed(2)}× (Podman takes ${(1 / ratio).toFixed(2)}× as long)` },
    { label: `rootlet (${rt}) / Podman as installed`, value: ratioDefault, text: `${ratioDefault.toFixed(2)}×` },
    { label: `rootlet's target (≤ ${TARGET_RATIO}× Podman as installed)`, value: ratioDefault, text: `${ratioDefault <= TARGET_RATIO ? 'met' : 'not met'}: ${ratioDefault.toFixed(3)}×` },
  ];
  {
    const d = stats.rootletNet.median - r;
    summary.push({ label: `rootlet (${rt}), default network − --net none (medians)`, value: d, text: `${d.toFixed(1)} ms (target ≤ ${TARGET_NET_MS} ms: ${d <= TARGET_NET_MS ? 'met' : 'not met'})` });
  }
  if (stats.rootletNoSeccomp) {
    const d = r - stats.rootletNoSeccomp.median;
    summary.push({ label: `rootlet (${rt}) − the same with seccomp=unconfined (medians)`, value: d, text: `${d.toFixed(1)} ms: the default seccomp profile's cost per run (target ≤ 5 ms)` });
  }
  if (stats.rootletRunc) {
    const rr = stats.rootletRunc.median;
    summary.push(
      { label: 'rootlet --runtime runc / Podman (medians)', value: rr / stats.podman.median, text: `${(rr / stats.podman.median).toFixed(2)}× (as installed: ${(rr / stats.podmanDefault.median).toFixed(2)}×)` },
      { label: `rootlet (${rt}) − rootlet --runtime runc (medians)`, value: r - rr, text: `${(r - rr).toFixed(1)} ms (${(r / rr).toFixed(2)}× the time on runc)` },
    );
  }
  if (stats[rt]) summary.push({ label: `rootlet (${rt}) − bare ${rt} (medians)`, value: r - stats[rt].median, text: `${(r - stats[rt].median).toFixed(1)} ms of engine overhead` });
  if (stats.rootletRunc && stats.runc) {
    const over = stats.rootletRunc.median - stats.runc.median;
    summary.push({ label: 'rootlet --runtime runc − bare runc (medians)', value: over, text: `${over.toFixed(1)} ms of engine overhead` });
  }
  if (stats.crun && stats.runc) {
    const d = stats.runc.median - stats.crun.median;
    summary.push({ label: 'bare runc − bare crun (medians)', value: d, text: `${d.toFixed(1)} ms` });
  }
  const trace = (p) => p.list.map((x) => `${x.phase} ${x.ms.toFixed(1)}`).join(' → ');
  return {
    id,
    title: `run --rm --net none busybox ${CMD.join(' ')}`,
    description:
      `Wall time of one foreground \`run --rm\` of a container that exits at once, from fork to exit: ` +
      `create, mount, start, wait, remove. ${runs} runs per tool after ${warmup} warm-up round${warmup === 1 ? '' : 's'}, ` +
      `interleaved round-robin. rootlet runs its containers with ${rt} by default; the \`--runtime runc\` row is the same ` +
      `engine on runc, the only runtime Podman can use on this host. The bare crun and runc rows are \`crun run\` and ` +
      `\`runc run\` of a prepared bundle in rootlet's user and mount namespaces: what any engine on that runtime must pay at least. ` +
      `rootlet and Podman both load their default seccomp profile (containers-common's); the \`seccomp=unconfined\` row is rootlet without it.`,
    runs,
    warmup,
    columns: LATENCY_COLUMNS,
    rows,
    summary,
    notes: [
      `Podman flags besides its private store: \`${PODMAN_TUNING.join(' ')}\`.`,
      `\`node -e 0\` takes ${stats.node.median.toFixed(1)} ms (median, same rounds): the part of rootlet's time that is node starting.`,
      `Each row includes the harness's own cost of spawning a process: ${stats.spawn.median.toFixed(1)} ms (median for /bin/true).`,
      `Where rootlet's time goes (ROOTLET_TRACE, median of ${phases.runs} separate untimed runs, ms since node started), on ${rt}: ` +
        trace(phases) + '.',
      `The same on the default network: ${trace(phasesNet)}.`,
      ...(phasesRunc ? [`The same with \`--runtime runc\`: ${trace(phasesRunc)}.`] : []),
      ...floorFailures,
    ],
    breakdown: phases,
    breakdownNet: phasesNet,
    ...(phasesRunc ? { breakdownRunc: phasesRunc } : {}),
  };
}
