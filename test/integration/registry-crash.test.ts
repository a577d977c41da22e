import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { BIN, Sandbox } from '../helpers.js';
import { makeImage, pushRaw, runAsync, startRegistry, type RawImage, type Registry } from '../registry-helpers.js';
import { makeTar } from '../tar-fixtures.js';

/** Three layers of incompressible data (a few MB each): a pull long enough to be cut anywhere. */
async function bigImage(): Promise<RawImage> {
  const layers = [];
  for (let i = 0; i < 3; i++) {
    layers.push(await makeTar([{ name: `dir${i}`, type: 'directory' }, ...Array.from({ length: 20 }, (_, j) => ({ name: `dir${i}/f${j}`, body: randomBytes(200_000) }))]));
  }
  return makeImage(layers);
}

function checkClean(sb: Sandbox): void {
  const r = sb.run(['image', 'check']);
  assert.equal(r.code, 0, `image check: ${r.stdout}${r.stderr}`);
  assert.match(r.stdout, /store is sound/);
}

describe('crash safety and concurrent pulls', () => {
  const sb = new Sandbox('registry-crash');
  let reg: Registry;
  let name: string;
  before(async () => {
    reg = await startRegistry();
    await pushRaw(reg.host, 'crash/big', 'latest', await bigImage());
    name = `${reg.host}/crash/big`;
  });
  after(() => {
    reg?.stop();
    sb.destroy();
  });

  test('kill -9 of a pull at random moments: the store check finds nothing at once, and the next pull succeeds', async () => {
    for (let round = 0; round < 10; round++) {
      if (sb.run(['image', 'inspect', name]).code === 0) sb.ok(['rmi', name]);
      const child = sb.spawn(['pull', '--tls-verify=false', name]);
      const exited = new Promise((r) => child.on('exit', r));
      await new Promise((r) => setTimeout(r, 50 + Math.floor(Math.random() * 700)));
      child.kill('SIGKILL');
      await exited;
      // Before any other pull sweeps: what the killed pull left is scratch the check reclaims, never damage.
      checkClean(sb);
      const r = await runAsync(sb, ['pull', '--tls-verify=false', name]);
      assert.equal(r.code, 0, `round ${round}: ${r.stderr}`);
      checkClean(sb);
    }
    assert.equal(sb.run(['image', 'inspect', name]).code, 0);
  });

  test('leftovers whose helper was still finishing when a pull began are swept when it ends', async () => {
    if (sb.run(['image', 'inspect', name]).code === 0) sb.ok(['rmi', name]);
    // A killed pull's leftovers (its pid is dead), named on the command line of a process still running,
    // as its extraction helper's are for a moment after rootlet was killed: the first sweep must leave them.
    const dead = spawnSync('true').pid!;
    const blob = sb.path(`data/rootlet/tmp/blob-${dead}-abcd1234`);
    const layer = sb.path(`data/rootlet/layers/.tmp-${dead}-abcd1234`);
    writeFileSync(blob, 'half a blob');
    mkdirSync(layer);
    const helper = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1e6)', layer, blob], { stdio: 'ignore' });
    const pull = spawn(process.execPath, [BIN, 'pull', '--tls-verify=false', name], { env: { ...sb.env, ROOTLET_TRACE: '1' }, cwd: sb.root, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    const done = new Promise<number>((r) => pull.on('close', (c) => r(c ?? 128)));
    const swept = new Promise<void>((r) => pull.stderr!.setEncoding('utf8').on('data', (d: string) => { stderr += d; if (stderr.includes('pull: temps swept')) r(); }));
    await Promise.race([swept, done]);
    assert.ok(existsSync(blob) && existsSync(layer), 'the first sweep leaves what a live process names');
    helper.kill('SIGKILL');
    assert.equal(await done, 0, stderr);
    assert.ok(!existsSync(blob) && !existsSync(layer), 'swept once the pull was done');
    checkClean(sb);
  });

  test('two pulls of the same image at once both succeed and leave one consistent copy', async () => {
    sb.ok(['rmi', name]);
    const [a, b] = await Promise.all([runAsync(sb, ['pull', '--tls-verify=false', name]), runAsync(sb, ['pull', '--tls-verify=false', name])]);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(b.code, 0, b.stderr);
    assert.equal(sb.ok(['images', '-q']).trim().split('\n').length, 1);
    checkClean(sb);
  });

  test('image check finds a corrupt blob and reclaims a dead writer\'s leftover; --repair removes the blob; a later pull fetches the image again', async () => {
    const blobs = sb.path('data/rootlet/blobs/sha256');
    const layerBlob = readdirSync(blobs).find((n) => n.length === 64 && statSync(`${blobs}/${n}`).size > 100_000)!;
    appendFileSync(`${blobs}/${layerBlob}`, 'garbage');
    const leftover = sb.path('data/rootlet/tmp/blob-999999999-abcd');
    writeFileSync(leftover, 'left behind');
    const r = sb.run(['image', 'check']);
    assert.equal(r.code, 1);
    assert.match(r.stdout, new RegExp(`blob sha256:${layerBlob} is corrupt: its content hashes to sha256:`));
    assert.match(r.stdout, /removed the leftover of an interrupted write: .*blob-999999999-abcd/);
    assert.ok(!existsSync(leftover), 'the check reclaims what a dead writer left');
    const fixed = sb.run(['image', 'check', '--repair']);
    assert.equal(fixed.code, 0, fixed.stdout);
    assert.match(fixed.stdout, /lacks layer blob .*: repaired/);
    assert.notEqual(sb.run(['image', 'inspect', name]).code, 0);
    const p = await runAsync(sb, ['pull', '--tls-verify=false', name]);
    assert.equal(p.code, 0, p.stderr);
    checkClean(sb);
  });
});
