// Figure: what the sandbox isolation costs. `run --rm` of a trivial
// container under --isolation sandbox (gVisor's runsc) against the same
// run on rootlet's default runtime, and against Podman on runsc.
import { LATENCY_COLUMNS, latencyTable, timeInterleaved, tryOnce } from '../lib/measure.mjs';
import { PODMAN_TUNING } from '../lib/sandbox.mjs';

export const id = 'sandbox';

const CMD = ['true'];

export async function run(sb, { runs, warmup, progress }) {
  const rt = sb.defaultRuntime();
  const rootletRun = (...flags) => sb.rootletArgv(['run', '--rm', '--net', 'none', ...flags, sb.image.rootlet, ...CMD]);
  // Podman's own flags with runsc in place of runc, and runsc's flags as rootlet passes them for --net none: no
  // cgroups rootless, and no network for runsc to set up (Debian's runsc takes any namespace for the root one on
  // Linux 6 and refuses to start; rootlet works around that for its networks: src/engine/containers/bundle.ts).
  const podmanRunsc = PODMAN_TUNING.map((f, i, a) => (a[i - 1] === '--runtime' ? 'runsc' : f));
  const commands = [
    { tool: 'rootlet', argv: rootletRun() },
    { tool: 'rootletSandbox', argv: rootletRun('--isolation', 'sandbox') },
    { tool: 'podman', argv: sb.podmanArgv(['run', '--rm', '--net', 'none', sb.image.podman, ...CMD]) },
  ];
  const notes = [];
  const why = tryOnce(sb, rootletRun('--isolation', 'sandbox'));
  if (why) throw new Error(`rootlet --isolation sandbox does not run here: ${why}`);
  const podmanSandbox = sb.podmanArgv(['run', '--rm', '--net', 'none', sb.image.podman, ...CMD],
    ['--root', sb.path('podman/storage'), '--runroot', sb.path('podman/run'), ...podmanRunsc, '--runtime-flag', 'ignore-cgroups', '--runtime-flag', 'network=none']);
  const podmanWhy = tryOnce(sb, podmanSandbox);
  if (podmanWhy) notes.push(`Podman with --runtime runsc was not measured: it does not run rootless here: ${podmanWhy}`);
  else commands.push({ tool: 'podmanSandbox', argv: podmanSandbox });

  const samples = await timeInterleaved(commands, { env: sb.env, cwd: sb.root, runs, warmup, onRound: progress });
  const what = {
    rootlet: `rootlet (${rt})`,
    rootletSandbox: 'rootlet --isolation sandbox (runsc)',
    podman: 'Podman (overlay, runc)',
    podmanSandbox: 'Podman --runtime runsc (overlay)',
  };
  const { stats, rows } = latencyTable(commands, samples, what);
  const s = stats.rootletSandbox.median;
  const summary = [
    { label: `rootlet sandbox − rootlet (${rt}) (medians)`, value: s - stats.rootlet.median, text: `${(s - stats.rootlet.median).toFixed(1)} ms (${(s / stats.rootlet.median).toFixed(2)}× the time)` },
  ];
  if (stats.podmanSandbox) {
    const ratio = s / stats.podmanSandbox.median;
    summary.push({ label: 'rootlet sandbox / Podman on runsc (medians)', value: ratio, text: `${ratio.toFixed(2)}×` });
  }
  return {
    id,
    title: `run --rm --net none busybox ${CMD.join(' ')} under --isolation sandbox`,
    description:
      'Wall time of one foreground `run --rm` of a container that exits at once, on gVisor (runsc: a user-space kernel ' +
      `started per container) against rootlet's default runtime (${rt}) and Podman. ${runs} runs per tool after ${warmup} ` +
      `warm-up round${warmup === 1 ? '' : 's'}, interleaved round-robin.`,
    runs,
    warmup,
    columns: LATENCY_COLUMNS,
    rows,
    summary,
    notes: [
      'runsc runs rootless with --ignore-cgroups (rootless, it has no cgroup to configure) on its default ptrace platform; ' +
        'with --net none, rootlet passes it --network=none, and Podman gets the same through --runtime-flag.',
      ...notes,
    ],
  };
}
