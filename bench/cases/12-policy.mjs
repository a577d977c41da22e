// Figure: what the admin policy's check costs a `run`. The same
// `run --rm --net none busybox true` with no policy and with a policy that
// has a rule for every kind of request (the user's own [policy] table,
// which the engine reads and applies as it does the admin's files: a bench
// must not write /etc/rootlet while other users' rootlet runs obey it).
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LATENCY_COLUMNS, latencyTable, median, timeInterleaved, tracedRuns } from '../lib/measure.mjs';

export const id = 'policy';

const POLICY = `[policy]
privileged = false
cap_add = ["NET_BIND_SERVICE"]
devices = false
host_network = false
bind_roots = ["$HOME"]
registries = ["docker.io"]
runtimes = ["crun", "runc"]
ports = "20000-29999"
max_containers = 50
`;

/** Median ms between rootlet's 'policy: check' and 'policy checked' marks over n traced runs. */
function checkCost(sb, argv, n) {
  return median(tracedRuns(sb, argv, n).map((m) => (m.get('policy checked') ?? NaN) - (m.get('policy: check') ?? NaN)));
}

export async function run(sb, { runs, warmup, progress }) {
  const rt = sb.defaultRuntime();
  // A second config directory: the sandbox's own, plus the [policy] table.
  const withPolicy = sb.path('config-policy');
  cpSync(sb.env.XDG_CONFIG_HOME, withPolicy, { recursive: true });
  mkdirSync(join(withPolicy, 'rootlet'), { recursive: true });
  writeFileSync(join(withPolicy, 'rootlet', 'rootlet.toml'), POLICY);
  // Both rows go through env(1), so the one that sets XDG_CONFIG_HOME pays nothing extra.
  const runArgv = (config) => ['env', `XDG_CONFIG_HOME=${config}`, ...sb.rootletArgv(['run', '--rm', '--net', 'none', sb.image.rootlet, 'true'])];
  const commands = [
    { tool: 'none', argv: runArgv(sb.env.XDG_CONFIG_HOME) },
    { tool: 'policy', argv: runArgv(withPolicy) },
  ];
  const samples = await timeInterleaved(commands, { env: sb.env, cwd: sb.root, runs, warmup, onRound: progress });
  const n = Math.min(10, runs);
  const cost = { none: checkCost(sb, commands[0].argv, n), policy: checkCost(sb, commands[1].argv, n) };
  const what = { none: `rootlet (${rt}), no policy`, policy: `rootlet (${rt}), a policy with a rule of every kind` };
  const { stats, rows } = latencyTable(commands, samples, what);
  const diff = stats.policy.median - stats.none.median;
  return {
    id,
    title: 'the admin policy\'s check in run --rm --net none busybox true',
    description:
      `Wall time of one foreground \`run --rm\` with no policy and with a policy whose rules cover every kind of request ` +
      `(privileged, cap_add, devices, host_network, bind_roots, registries, runtimes, ports, max_containers, which counts ` +
      `the running containers), ${runs} runs per row after ${warmup} warm-up round${warmup === 1 ? '' : 's'}, interleaved; ` +
      `and the check itself from rootlet's phase marks (reading and parsing the policy, evaluating the request, counting).`,
    runs,
    warmup,
    columns: LATENCY_COLUMNS,
    rows,
    summary: [
      { label: 'the check with the policy (ROOTLET_TRACE, median of ' + n + ' runs)', value: cost.policy, text: `${cost.policy.toFixed(2)} ms` },
      { label: 'rootlet\'s target (policy check under 2 ms per run)', value: cost.policy, text: cost.policy < 2 ? `met: ${cost.policy.toFixed(2)} ms` : `not met: ${cost.policy.toFixed(2)} ms` },
      { label: 'the check with no policy (looking for the files)', value: cost.none, text: `${cost.none.toFixed(2)} ms` },
      { label: 'with policy − without (wall-time medians)', value: diff, text: `${diff.toFixed(1)} ms` },
    ],
    notes: [
      'The policy is the user\'s own [policy] table (rootlet.toml), which rootlet reads after /etc/rootlet/policy.toml and policy.d/ and applies ' +
        'the same way; the bench writes nothing under /etc/rootlet, since other users\' runs on the machine obey it.',
    ],
  };
}
