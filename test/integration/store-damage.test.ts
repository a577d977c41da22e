import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openDb } from '../../src/state/db.js';
import { busyboxTarball, Sandbox, until, type Result } from '../helpers.js';
import { makeImage, pushRaw, runAsync, startRegistry, type Registry } from '../registry-helpers.js';
import { makeTar } from '../tar-fixtures.js';

/** Exactly one line on stderr, no stack trace. */
function oneLine(r: Result): string {
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `one line expected, got: ${r.stderr}`);
  assert.doesNotMatch(r.stderr, /\n\s+at |Node\.js v/);
  return lines[0]!;
}

/**
 * Live processes of ours whose command line or environment names one of
 * `paths`: network stacks and forwarders name their namespace files, the
 * namespace holder its store's database (its environment).
 */
function runningUnder(paths: string[]): string[] {
  const out: string[] = [];
  for (const pid of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    if (Number(pid) === process.pid) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) continue;
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
      const env = readFileSync(`/proc/${pid}/environ`, 'utf8');
      if (paths.some((p) => cmd.includes(p) || env.includes(p))) out.push(`${pid} ${cmd}`);
    } catch { /* gone, or another user's */ }
  }
  return out;
}

/** Asserts that nothing of the sandbox is left running (stacks exit on a signal: waited for). */
async function assertNothingLeft(paths: string[]): Promise<void> {
  const deadline = Date.now() + 30_000;
  let left = runningUnder(paths);
  while (left.length && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
    left = runningUnder(paths);
  }
  assert.deepEqual(left, [], 'nothing of the sandbox is left running');
}

function names(sb: Sandbox): string[] {
  return sb.ok(['ps', '-a', '--format', '{{.Names}} {{.State}}']).trim().split('\n').filter(Boolean).sort();
}

describe('a lost or damaged state database', () => {
  const sb = new Sandbox('store-damage');
  const db = sb.path('data/rootlet/state.db');
  before(() => {
    sb.importBusybox();
    sb.ok(['tag', 'busybox', 'keep:1']);
  });
  // The database is lost twice over: recover and reset must still stop the network stacks and the holder it named.
  after(async () => {
    sb.destroy();
    await assertNothingLeft([sb.root]);
  });

  test('emptied while a container runs: refused in one line naming the recovery; system recover brings back images, names and containers', () => {
    sb.ok(['run', '-d', '--name', 'runner', 'busybox', 'sleep', '1000']);
    sb.ok(['create', '--name', 'idle', 'busybox', 'true']);
    assert.equal(sb.run(['run', '--name', 'done', 'busybox', 'sh', '-c', 'exit 3']).code, 3);
    writeFileSync(db, '');

    for (const args of [['ps', '-a'], ['images'], ['run', '--rm', 'busybox', 'true'], ['image', 'check']]) {
      const r = sb.run(args);
      assert.equal(r.code, 125, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
      assert.match(oneLine(r), /state database .*state\.db is empty but the store holds .*: run `rootlet system recover`/);
      assert.equal(r.stdout, '');
    }

    const rec = sb.run(['system', 'recover']);
    assert.equal(rec.code, 0, rec.stderr);
    assert.match(rec.stdout, /kept the old database as .*state\.db\.damaged-/);
    assert.match(rec.stdout, /restored container runner \([0-9a-f]{12}\): running/);
    assert.ok(readdirSync(sb.path('data/rootlet')).some((n) => n.startsWith('state.db.damaged-')), 'the old database is kept');

    assert.deepEqual(names(sb), ['done exited', 'idle created', 'runner running']);
    assert.equal(sb.ok(['inspect', '-f', '{{.State.ExitCode}}', 'done']).trim(), '3');
    const images = sb.ok(['images', '--format', '{{.Repository}}:{{.Tag}}']).trim().split('\n').sort();
    assert.deepEqual(images, ['busybox:latest', 'keep:1']);
    assert.equal(sb.run(['image', 'check']).code, 0);

    // The recovered running container is a container like any other.
    sb.ok(['stop', '-t', '1', 'runner']);
    assert.deepEqual(names(sb), ['done exited', 'idle created', 'runner exited']);
    sb.ok(['rm', 'runner', 'idle', 'done']);
    assert.deepEqual(names(sb), []);
    assert.deepEqual(readdirSync(sb.path('data/rootlet/containers')), []);
    assert.equal(sb.ok(['run', '--rm', 'busybox', 'echo', 'hi']).trim(), 'hi');
  });

  test('one overwritten page: image check fails naming the database, commands refuse in one line, recover restores', () => {
    sb.ok(['run', '-d', '--name', 'r2', 'busybox', 'sleep', '1000']);
    // Everything into the database file, then the containers table's page overwritten.
    const conn = openDb(db);
    conn.pragma('wal_checkpoint(TRUNCATE)');
    const page = (conn.prepare("SELECT rootpage FROM sqlite_master WHERE name = 'containers'").get() as { rootpage: number }).rootpage;
    const size = conn.pragma('page_size', { simple: true }) as number;
    conn.close();
    const fd = openSync(db, 'r+');
    writeSync(fd, Buffer.alloc(size, 0xa5), 0, size, (page - 1) * size);
    closeSync(fd);

    const check = sb.run(['image', 'check']);
    assert.notEqual(check.code, 0);
    assert.match(check.stdout + check.stderr, new RegExp(`state database ${db.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} is damaged .*rootlet system recover`));
    const ps = sb.run(['ps', '-a']);
    assert.equal(ps.code, 125);
    assert.match(oneLine(ps), /state database .* is damaged \(database disk image is malformed\): run `rootlet system recover`/);

    const rec = sb.run(['system', 'recover']);
    assert.equal(rec.code, 0, rec.stderr);
    assert.match(rec.stdout, /damaged \(/);
    assert.deepEqual(names(sb), ['r2 running']);
    sb.ok(['rm', '-f', 'r2']);
    assert.deepEqual(names(sb), []);
    assert.equal(sb.run(['image', 'check']).code, 0);
  });

  test('a container that ends while the database is lost: system recover stops the network stack nothing records any more', async () => {
    const flag = sb.path('flag');
    mkdirSync(flag);
    const id = sb.ok(['run', '-d', '--name', 'ender', '-v', `${flag}:/flag`, 'busybox', 'sh', '-c', 'until [ -e /flag/go ]; do sleep 0.1; done']).trim();
    const netns = sb.path('run/rootlet/netns');
    assert.notDeepEqual(runningUnder([netns]), [], 'the network stack runs');
    writeFileSync(db, '');
    writeFileSync(join(flag, 'go'), '');
    // conmon's exit hook cannot record the end in the lost database: the network stays up.
    await until('the container and its monitor to end', () => runningUnder([id]).length === 0, 60_000);
    assert.notDeepEqual(runningUnder([netns]), [], 'the network stack outlives the container');

    const rec = sb.run(['system', 'recover']);
    assert.equal(rec.code, 0, rec.stderr);
    assert.match(rec.stdout, /restored container ender \([0-9a-f]{12}\): exited/);
    await until('the network stack to stop', () => runningUnder([netns]).length === 0, 30_000);
    assert.deepEqual(readdirSync(netns), [], 'its namespace files are gone');
    sb.ok(['rm', 'ender']);
  });

  test('system recover leaves a sound database alone', () => {
    const r = sb.run(['system', 'recover']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /is sound: nothing to recover/);
    assert.deepEqual(sb.ok(['images', '--format', '{{.Repository}}']).trim().split('\n').sort(), ['busybox', 'keep']);
  });
});

/**
 * On a small filesystem of its own (scripts/test.sh mounts a 64 MiB tmpfs
 * at $ROOTLET_FULLFS for this), filled to the last byte.
 */
const fullfs = process.env.ROOTLET_FULLFS;

describe('a full disk', { skip: fullfs ? false : 'needs ROOTLET_FULLFS (a small filesystem of our own: scripts/test.sh makes it)' }, () => {
  const sb = new Sandbox('store-full');
  const root = join(fullfs ?? '/nonexistent', `store-${randomBytes(4).toString('hex')}`);
  const store = join(root, 'data/rootlet');
  let reg: Registry;
  let name: string;
  const fillers: string[] = [];

  /** Writes files until the filesystem refuses, leaving `spare` bytes in a file that can be deleted for some room. */
  function fill(spare = 0): string | undefined {
    let pad: string | undefined;
    if (spare) {
      pad = join(fullfs!, `pad-${randomBytes(4).toString('hex')}`);
      writeFileSync(pad, Buffer.alloc(spare));
      fillers.push(pad);
    }
    const file = join(fullfs!, `fill-${randomBytes(4).toString('hex')}`);
    fillers.push(file);
    const fd = openSync(file, 'w');
    const chunk = Buffer.alloc(1 << 16);
    try {
      for (;;) writeSync(fd, chunk);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
    } finally {
      closeSync(fd);
    }
    return pad;
  }

  const snapshotStore = (): string[] => ['blobs/sha256', 'layers', 'tmp', 'containers'].flatMap((d) => readdirSync(join(store, d)).map((n) => `${d}/${n}`)).sort();

  before(async () => {
    sb.env.XDG_DATA_HOME = join(root, 'data');
    reg = await startRegistry();
    const layers = [];
    for (let i = 0; i < 2; i++) {
      layers.push(await makeTar([{ name: `d${i}`, type: 'directory' }, ...Array.from({ length: 8 }, (_, j) => ({ name: `d${i}/f${j}`, body: randomBytes(200_000) }))]));
    }
    await pushRaw(reg.host, 'full/big', 'latest', makeImage(layers));
    name = `${reg.host}/full/big`;
    sb.importBusybox();
    sb.ok(['run', '-d', '--name', 'up', 'busybox', 'sleep', '1000']);
  });
  after(async () => {
    for (const f of fillers) rmSync(f, { force: true });
    sb.run(['rm', '-f', 'up']);
    reg?.stop();
    sb.destroy();
    rmSync(root, { recursive: true, force: true });
    await assertNothingLeft([sb.root, root]);
  });

  test('reads work, a pull fails in one line and leaves the store as it was, run --rm leaves nothing', async () => {
    const pad = fill(1 << 20);
    const before = snapshotStore();

    // Reads only read: the first process to open the database finds no room to regrow its index.
    assert.match(sb.ok(['ps', '-a']), /\bup\b/);
    assert.match(sb.ok(['images']), /busybox/);
    assert.equal(sb.ok(['inspect', '-f', '{{.State.Status}}', 'up']).trim(), 'running');

    const pull = await runAsync(sb, ['pull', '--tls-verify=false', name]);
    assert.equal(pull.code, 125, pull.stdout + pull.stderr);
    assert.match(oneLine(pull), /^Error: no space left on /);
    assert.deepEqual(snapshotStore(), before);
    assert.equal(sb.run(['image', 'check']).code, 0);

    const run = sb.run(['run', '--rm', 'busybox', 'true']);
    assert.equal(run.code, 125, run.stdout + run.stderr);
    assert.match(oneLine(run), /^Error: no space left on /);
    assert.deepEqual(snapshotStore(), before);

    // Some room, less than the image needs: the extraction helper runs out in the middle of a layer.
    rmSync(pad!);
    const partial = await runAsync(sb, ['pull', '--tls-verify=false', name]);
    assert.equal(partial.code, 125, partial.stdout + partial.stderr);
    assert.match(oneLine(partial), /^Error: no space left on /);
    assert.deepEqual(snapshotStore(), before);
    const check = sb.run(['image', 'check']);
    assert.equal(check.code, 0, check.stdout);
    assert.notEqual(sb.run(['image', 'inspect', name]).code, 0);

    // import and load on the full disk: one line, the store as it was.
    const archive = sb.path('busybox-saved.tar');
    for (const f of fillers.splice(0)) rmSync(f, { force: true });
    sb.ok(['save', '-o', archive, 'busybox']);
    fill();
    const settled = snapshotStore();
    for (const args of [['import', busyboxTarball(), 'imported'], ['load', '-i', archive]]) {
      const r = sb.run(args);
      assert.equal(r.code, 125, `${args[0]}: ${r.stdout}${r.stderr}`);
      // load names the layer it was writing and says nothing was loaded.
      assert.match(oneLine(r), /^Error: (no space left on |layer \S+ of \S+: no space left on .*; nothing was loaded$)/, args[0]);
      assert.deepEqual(snapshotStore(), settled, args[0]);
    }
    assert.equal(sb.run(['image', 'check']).code, 0);

    // Room again: everything works as before.
    for (const f of fillers.splice(0)) rmSync(f, { force: true });
    const ok = await runAsync(sb, ['pull', '--tls-verify=false', name]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(sb.ok(['run', '--rm', 'busybox', 'echo', 'hi']).trim(), 'hi');
    assert.ok(existsSync(store));
  });
});
