import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { asUser, BIN, busyboxTarball, isNetworkStack, mountsMentioning, Sandbox } from '../helpers.js';
import { processesMentioning, settleLeftovers, describeLeftovers, isClean, destroyHard, markerFor } from '../lifecycle-helpers.js';

/**
 * The soak: two users at once, each running `run --rm` in a loop while
 * parallel lifecycles (run -d, exec, logs, stop, rm) run beside it.
 * Nothing may fail, no command may meet "database is locked", and
 * afterwards no process, mount, record or directory of either user's
 * containers is left. The suite runs a short soak (ROOTLET_SOAK_RUNS=20
 * and ROOTLET_SOAK_LIFECYCLES=10 by default, a few minutes on a busy CI
 * machine); the full one (2,000 and 30) is in README.md's
 * Development section.
 */

const RUNS = Number(process.env.ROOTLET_SOAK_RUNS || 20);
const LIFECYCLES = Number(process.env.ROOTLET_SOAK_LIFECYCLES || 10);
/** A second user under no admin policy (rootlet-ci2 has the test policy's max_containers). */
const OTHER = 'rootlet-ci3';

interface Outcome { args: string[]; code: number | null; stderr: string }

/** One user's rootlet, run asynchronously: this test's own user directly, the other through the test-only sudo rule. */
interface Runner {
  name: string;
  run(args: string[]): Promise<Outcome>;
}

function spawnOutcome(cmd: string, argv: string[], env: NodeJS.ProcessEnv, args: string[]): Promise<Outcome> {
  return new Promise((resolve) => {
    const child = spawn(cmd, argv, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    child.on('close', (code) => resolve({ args, code, stderr }));
  });
}

function ownRunner(sb: Sandbox): Runner {
  return { name: 'rootlet-ci', run: (args) => spawnOutcome(process.execPath, [BIN, ...args], sb.env, args) };
}

/** The other user's store lives in a directory of its own under /tmp, removed at the end. */
function otherRunner(dir: string): Runner & { env: Record<string, string> } {
  const env = { XDG_DATA_HOME: `${dir}/data`, XDG_CONFIG_HOME: `${dir}/config`, XDG_RUNTIME_DIR: `${dir}/run`, PATH: '/usr/local/bin:/usr/bin:/bin', HOME: dir };
  const envArgs = Object.entries(env).map(([k, v]) => `${k}=${v}`);
  return {
    name: OTHER,
    env,
    run: (args) => spawnOutcome('sudo', ['-n', '-u', OTHER, 'env', ...envArgs, process.execPath, BIN, ...args], process.env, args),
  };
}

/** `run --rm` in a loop beside `LIFECYCLES` parallel lifecycles; returns every command that failed or met a locked database. */
async function soak(r: Runner, marker: string): Promise<string[]> {
  const bad: string[] = [];
  const check = (o: Outcome) => {
    if (o.code !== 0 || /database is locked|SQLITE_BUSY/i.test(o.stderr)) bad.push(`${r.name}: rootlet ${o.args.join(' ')}: exit ${o.code}: ${o.stderr.trim()}`);
  };
  const loop = (async () => {
    for (let i = 0; i < RUNS; i++) check(await r.run(['run', '--rm', '--net', 'none', 'busybox', 'true']));
  })();
  const lifecycles = Array.from({ length: LIFECYCLES }, async (_, i) => {
    const name = `soak${i}`;
    const steps = [
      ['run', '-d', '--name', name, 'busybox', 'sh', '-c', `echo up; sleep 600; : ${marker}`],
      ['exec', name, 'echo', 'in'],
      ['logs', name],
      ['stop', '-t', '1', name],
      ['rm', name],
    ];
    for (const s of steps) {
      const o = await r.run(s);
      check(o);
      if (o.code !== 0) break;
    }
  });
  await Promise.all([loop, ...lifecycles]);
  return bad;
}

describe(`soak: two users, ${RUNS} run --rm each beside ${LIFECYCLES} parallel lifecycles`, () => {
  const sb = new Sandbox('soak');
  const marker = markerFor(sb, 'soak');
  let otherDir = '';
  let other: ReturnType<typeof otherRunner>;
  const otherOk = (args: string[], input?: Buffer) => {
    const r = spawnSync('sudo', ['-n', '-u', OTHER, 'env', ...Object.entries(other.env).map(([k, v]) => `${k}=${v}`), process.execPath, BIN, ...args], { input, encoding: 'utf8', timeout: 120_000 });
    if (r.status !== 0) throw new Error(`${OTHER}: rootlet ${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
    return r.stdout;
  };

  before(() => {
    sb.importBusybox();
    otherDir = asUser(OTHER, ['mktemp', '-d', '/tmp/rootlet-soak-XXXXXX']).stdout.trim();
    assert.ok(otherDir.startsWith('/tmp/rootlet-soak-'), 'cannot make a directory for the second user');
    other = otherRunner(otherDir);
    asUser(OTHER, ['sh', '-c', `mkdir -m 700 ${otherDir}/run`]);
    otherOk(['import', '-', 'busybox'], readFileSync(busyboxTarball()));
  });
  after(() => {
    if (otherDir) {
      spawnSync('sudo', ['-n', '-u', OTHER, 'env', ...Object.entries(other.env).map(([k, v]) => `${k}=${v}`), process.execPath, BIN, 'system', 'reset', '--force']);
      asUser(OTHER, ['rm', '-rf', otherDir]);
    }
    destroyHard(sb, [marker]);
  });

  test('nothing fails, no locked database, nothing left of either user', async () => {
    const bad = (await Promise.all([soak(ownRunner(sb), marker), soak(other, marker)])).flat();
    assert.deepEqual(bad, []);

    const mine = await settleLeftovers(sb, [marker]);
    assert.ok(isClean(mine), describeLeftovers(mine));
    assert.equal(otherOk(['ps', '-aq']), '');
    // The other user's processes and mounts, by its store's directory.
    const r = spawnSync('pgrep', ['-u', OTHER, '-af', otherDir], { encoding: 'utf8' });
    const processes = (r.stdout ?? '').split('\n').filter((l) => l && !/catatonit|rootlet-holder/.test(l) && !isNetworkStack(l));
    assert.deepEqual(processes, []);
    assert.deepEqual(mountsMentioning(`${otherDir}/data/rootlet/containers`), []);
    assert.deepEqual(processesMentioning(marker), []);
    assert.equal(spawnSync('pgrep', ['-u', OTHER, '-f', marker]).status, 1, `${OTHER}'s containers still run`);
  });
});
