// Figure: the host memory an idle detached container costs, beyond its own
// processes — what stays behind for each container (rootlet and Podman:
// a conmon each; Podman with its default network: a slirp4netns too).
import { mkdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { interruptedBy } from '../lib/measure.mjs';
import { engines, holders, PODMAN_NOTE, removeAll, runDetachedArgv } from '../lib/engines.mjs';
import { countHostWide, describe, memory, newProcesses, reapLeftovers, snapshot, sumMemory } from '../lib/procs.mjs';

export const id = 'idle-memory';

const N = 10;
const CMD = ['sleep', '100000'];
/** Time between the last start and the measurement: whatever a start leaves running briefly is gone by then. */
const SETTLE_MS = 2000;
const MIB = 1024;
const TARGET_PSS_MIB = 0.5;
const REAP_S = 5;

/** "conmon ×10, slirp4netns ×10"; with per = N: "conmon, slirp4netns" (per container). */
function groupByComm(procs, per = 1) {
  const counts = new Map();
  for (const p of procs) counts.set(p.comm, (counts.get(p.comm) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1])
    .map(([comm, n]) => (n === per ? comm : `${comm} ×${+(n / per).toFixed(2)}`)).join(', ');
}

/**
 * rootlet's network stacks on the sandbox's namespaces. The default
 * network stays up after its last container (its stack with it), so an
 * earlier figure or configuration may have left it running: it is stopped
 * before each configuration, which then starts, and counts, its own (with
 * its own configured stack), and after it, so that no stack is taken for
 * a leftover.
 */
function rootletStacks(sb) {
  return [...snapshot().values()].filter((p) => /^(pasta|passt|slirp4netns)/.test(p.comm) && p.cmdline.includes(sb.root)).map((p) => p.pid);
}

async function stopRootletStacks(sb) {
  const pids = rootletStacks(sb);
  for (const pid of pids) {
    try { process.kill(pid, 'SIGTERM'); } catch { /* gone */ }
  }
  const deadline = Date.now() + REAP_S * 1000;
  while (pids.some((pid) => rootletStacks(sb).includes(pid)) && Date.now() < deadline) await sleep(50);
}

/** Starts N containers of one configuration, measures what appeared, removes them. */
async function measure(sb, e, marks) {
  const names = Array.from({ length: N }, (_, i) => `bench-idle-${i + 1}`);
  const ownPidNs = readlinkSync('/proc/self/ns/pid');
  if (e.key.startsWith('rootlet')) await stopRootletStacks(sb);
  const before = snapshot();
  let row;
  // A configuration that needs rootlet's config file (e.g. another network stack) writes it for its turn only.
  const configFile = join(sb.env.XDG_CONFIG_HOME, 'rootlet', 'rootlet.toml');
  if (e.config) {
    mkdirSync(dirname(configFile), { recursive: true });
    writeFileSync(configFile, e.config);
  }
  try {
    for (const name of names) {
      sb.exec(runDetachedArgv(e, name, CMD), `${e.label}: run -d ${name}`);
      if (await interruptedBy()) throw new Error(`interrupted by ${await interruptedBy()}`);
    }
    await sleep(SETTLE_MS);
    const fresh = newProcesses(before, snapshot(), marks);
    // The containers' own processes live in their own pid namespaces; the
    // engine's per-container processes (conmon, slirp4netns, …) on the host's.
    // pasta sandboxes itself in a pid namespace of its own: it is the engine's, not a container's.
    const isContainer = (p) => p.pidns && p.pidns !== ownPidNs && !/^(passt|pasta)/.test(p.comm);
    const inContainer = fresh.filter(isContainer);
    const onHost = fresh.filter((p) => !isContainer(p));
    if (inContainer.length !== N) {
      throw new Error(`${e.label}: expected ${N} container processes (${CMD.join(' ')}), found ${inContainer.length}: ${describe(inContainer)}`);
    }
    const host = sumMemory(onHost.map((p) => p.pid));
    const workload = sumMemory(inContainer.map((p) => p.pid));
    row = {
      tool: e.label,
      unit: 'per container',
      processes: groupByComm(onHost, N) || '(none)',
      pss_mib: host.pss / N / MIB,
      rss_mib: host.rss / N / MIB,
      uss_mib: host.uss / N / MIB,
      swap_mib: host.swap / N / MIB,
      containers: N,
      host_processes: onHost.map((p) => ({ pid: p.pid, comm: p.comm, cmdline: p.cmdline.slice(0, 300), ...memory(p.pid) })),
      host_processes_summary: describe(onHost),
      container_processes_summary: describe(inContainer),
      container_pss_mib: workload.pss / N / MIB,
      container_rss_mib: workload.rss / N / MIB,
      hostwide_conmon: countHostWide('conmon'),
      command: runDetachedArgv(e, 'NAME', CMD).join(' '),
    };
  } finally {
    if (e.config) rmSync(configFile, { force: true });
    for (const p of removeAll(sb, e, names)) process.stderr.write(`\nbench: cleanup: ${p}\n`);
    if (e.key.startsWith('rootlet')) await stopRootletStacks(sb);
    const left = await reapLeftovers(before, marks, { keep: holders(sb), timeoutMs: REAP_S * 1000 });
    if (row) row.left_after_rm = describe(left);
  }
  return row;
}

function holderRow(label, pid) {
  const m = pid ? memory(pid) : undefined;
  if (!m) return undefined;
  return { tool: label, unit: 'once per user', processes: 'catatonit', pss_mib: m.pss / MIB, rss_mib: m.rss / MIB, uss_mib: m.uss / MIB, pid };
}

function supportsHealth(sb) {
  try {
    return sb.rootlet('run', '--help').includes('--health-cmd');
  } catch {
    return false;
  }
}

export async function run(sb, { progress }) {
  const E = engines(sb);
  const marks = [sb.root, dirname(sb.bin)];
  // Labels say the runtime: it starts the container and exits, so no row's idle processes include it.
  const R = E.rootlet.label;
  const configs = [
    E.rootlet, E.podman, E.podmanSlirp,
    // Networking counted: rootlet's containers share one stack per network, slirp4netns by default
    // (it shows here divided by N); a published port adds one rootlet-portfwd per container, as Podman
    // adds a rootlessport.
    { ...E.rootlet, key: 'rootletNet', label: `${R}, default network`, net: [] },
    { ...E.rootlet, key: 'rootletPasta', label: `${R}, default network, pasta as its stack`, net: [], config: '[network]\ndefault_rootless_network_cmd = "pasta"\n' },
    { ...E.rootlet, key: 'rootletPort', label: `${R}, default network, -p 80 (a free host port)`, net: [], runFlags: ['-p', '80'] },
    { ...E.podmanSlirp, key: 'podmanPort', label: 'Podman (overlay, runc), default network, -p 80', runFlags: ['-p', '80'] },
  ];
  // rootlet has no daemon for health checks: a shell loop per container runs
  // the probe. An hour's interval: the loop idles through the measurement.
  if (supportsHealth(sb)) {
    configs.push({ ...E.rootlet, key: 'rootletHealth', label: `${R} with a health check (--health-cmd true --health-interval 1h)`, runFlags: ['--health-cmd', 'true', '--health-interval', '1h'] });
  }
  const rows = [];
  let holders = [];
  for (const [i, e] of configs.entries()) {
    rows.push(await measure(sb, e, marks));
    if (i === 0) holders = [holderRow("rootlet's namespace holder", sb.holderPid())];
    if (e.key === 'podman') holders.push(holderRow("Podman's pause process", sb.podmanPausePid()));
    progress(i + 1, configs.length);
  }
  rows.push(...holders.filter(Boolean));

  const byKey = Object.fromEntries(configs.map((c, i) => [c.key, rows[i]]));
  const r = byKey.rootlet;
  const p = byKey.podman;
  const ps = byKey.podmanSlirp;
  const summary = [
    { label: 'rootlet / Podman, PSS per container (--net none)', value: r.pss_mib / p.pss_mib, text: `${(r.pss_mib / p.pss_mib).toFixed(2)}× (${r.pss_mib.toFixed(2)} vs ${p.pss_mib.toFixed(2)} MiB)` },
    { label: 'rootlet / Podman, RSS per container (--net none)', value: r.rss_mib / p.rss_mib, text: `${(r.rss_mib / p.rss_mib).toFixed(2)}× (${r.rss_mib.toFixed(2)} vs ${p.rss_mib.toFixed(2)} MiB)` },
    { label: 'rootlet --net none / Podman with its default network, PSS', value: r.pss_mib / ps.pss_mib, text: `${(r.pss_mib / ps.pss_mib).toFixed(2)}× (${r.pss_mib.toFixed(2)} vs ${ps.pss_mib.toFixed(2)} MiB)` },
    { label: `rootlet's target (≤ ${TARGET_PSS_MIB} MiB PSS per container)`, value: r.pss_mib, text: `${r.pss_mib <= TARGET_PSS_MIB ? 'met' : 'not met'}: ${r.pss_mib.toFixed(2)} MiB` },
  ];
  const rn = byKey.rootletNet;
  const rp = byKey.rootletPort;
  const pp = byKey.podmanPort;
  if (rn && ps) {
    summary.push({ label: 'rootlet / Podman, both on their default network, PSS', value: rn.pss_mib / ps.pss_mib, text: `${(rn.pss_mib / ps.pss_mib).toFixed(2)}× (${rn.pss_mib.toFixed(2)} vs ${ps.pss_mib.toFixed(2)} MiB)` });
    summary.push({ label: `rootlet's target with networking (≤ ${TARGET_PSS_MIB} MiB PSS per container, the shared stack divided by ${N})`, value: rn.pss_mib, text: `${rn.pss_mib <= TARGET_PSS_MIB ? 'met' : 'not met'}: ${rn.pss_mib.toFixed(2)} MiB` });
  }
  const rs = byKey.rootletPasta;
  if (rs && ps) {
    summary.push({ label: 'rootlet with pasta as its shared stack / Podman, both on their default network, PSS', value: rs.pss_mib / ps.pss_mib, text: `${(rs.pss_mib / ps.pss_mib).toFixed(2)}× (${rs.pss_mib.toFixed(2)} vs ${ps.pss_mib.toFixed(2)} MiB)` });
  }
  if (rp && pp) {
    summary.push({ label: 'rootlet / Podman with a published port, PSS', value: rp.pss_mib / pp.pss_mib, text: `${(rp.pss_mib / pp.pss_mib).toFixed(2)}× (${rp.pss_mib.toFixed(2)} vs ${pp.pss_mib.toFixed(2)} MiB)` });
  }
  return {
    id,
    title: `memory per idle detached container (${N} × run -d busybox ${CMD.join(' ')})`,
    description:
      `Each configuration in turn starts ${N} detached containers, waits ${SETTLE_MS / 1000} s, and sums ` +
      `/proc/PID/smaps_rollup over the processes that appeared on the host for them, outside the containers ` +
      `(found by pid namespace; the containers' own \`sleep\` is not counted), divided by ${N}; then removes them ` +
      `before the next configuration starts. PSS shares each shared page among the processes mapping it, so it is ` +
      `what one more container adds; RSS counts shared pages in full; USS is the part no other process shares. ` +
      `The per-user namespace holders are shown once, undivided.`,
    columns: [
      { key: 'tool', label: 'what' },
      { key: 'unit', label: 'counted' },
      { key: 'processes', label: 'host processes' },
      { key: 'pss_mib', label: 'PSS MiB', digits: 2 },
      { key: 'rss_mib', label: 'RSS MiB', digits: 2 },
      { key: 'uss_mib', label: 'USS MiB', digits: 2 },
    ],
    rows,
    summary,
    notes: [
      PODMAN_NOTE,
      `PSS depends on how many processes share the libraries: when the rootlet row was measured ` +
        `${r.hostwide_conmon} conmon processes ran on the whole host (${N} of them ours), ` +
        `for the Podman --net none row ${p.hostwide_conmon}.`,
      `The containers' own processes (not counted above): rootlet ${r.container_pss_mib.toFixed(2)} MiB PSS ` +
        `(${r.container_rss_mib.toFixed(2)} RSS) each, Podman ${p.container_pss_mib.toFixed(2)} (${p.container_rss_mib.toFixed(2)}).`,
      ...rows.filter((x) => x.left_after_rm).map((x) => `Still running ${REAP_S} s after \`rm -f\` of its ${N} containers, and killed by the bench: ` +
        `${x.tool}: ${x.left_after_rm}.`),
      ...(byKey.rootletHealth ? [`Podman runs health checks from systemd timers, which need a systemd user session (none here), so it has no such row.`] : []),
    ],
  };
}
