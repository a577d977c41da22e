import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Sandbox } from '../helpers.js';

// Issue 13's "Dockerfile most users write": FROM a Debian image made here
// with debootstrap (rootless, as root of the user's namespace), apt-get
// with a cache mount on /var/cache/apt. The mirror is the one this host's
// apt sources name; the network is the real one (a rootless container on
// the default network), so a mirror out of reach fails the test, naming it.

/** The first http(s) URI the host's apt sources give for bookworm's main archive. */
function hostMirror(): string {
  const texts: string[] = [];
  for (const f of ['/etc/apt/sources.list', ...(existsSync('/etc/apt/sources.list.d') ? readdirSync('/etc/apt/sources.list.d').map((n) => join('/etc/apt/sources.list.d', n)) : [])]) {
    if (/\.(list|sources)$/.test(f) && existsSync(f)) texts.push(readFileSync(f, 'utf8'));
  }
  for (const text of texts) {
    // deb822 stanzas (URIs:/Suites:) and one-line entries (deb URI SUITE ...).
    for (const stanza of text.split(/\n\s*\n/)) {
      const uris = /^URIs:\s*(.+)$/m.exec(stanza)?.[1]?.split(/\s+/) ?? [];
      const suites = /^Suites:\s*(.+)$/m.exec(stanza)?.[1]?.split(/\s+/) ?? [];
      const uri = uris.find((u) => /^https?:\/\//.test(u) && !/security/.test(u));
      if (uri && suites.includes('bookworm')) return uri.replace(/\/$/, '');
    }
    for (const line of text.split('\n')) {
      const m = /^deb\s+(?:\[[^\]]*\]\s+)?(https?:\/\/\S+)\s+bookworm\s/.exec(line);
      if (m && !/security/.test(m[1]!)) return m[1]!.replace(/\/$/, '');
    }
  }
  throw new Error('no bookworm mirror in /etc/apt/sources.list(.d): the Debian build test needs the host\'s Debian mirror');
}

/**
 * Where the debootstrapped image is kept between test runs: beside the
 * stage (scripts/test.sh empties the stage itself each run), so the suite
 * pays debootstrap once per machine.
 */
function cacheDir(): string {
  const bin = process.env.ROOTLET_BIN;
  const dir = bin ? `${dirname(dirname(bin))}-debian` : join(process.env.HOME ?? '/tmp', 'rootlet-tests-debian');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}

describe('build: Debian with apt and a cache mount', () => {
  let sb: Sandbox;
  let mirror: string;
  let ctx: string;

  before(() => {
    sb = new Sandbox('build-debian');
    mirror = hostMirror();
    sb.importBusybox('busybox');
    ctx = mkdtempSync(join(sb.root, 'ctx-'));
  });
  after(() => sb.destroy());

  test('a rootless container on the default network reaches the mirror', () => {
    const r = sb.run(['run', '--rm', 'busybox', 'wget', '-q', '-O-', `${mirror}/dists/bookworm/Release`], { timeoutMs: 60_000 });
    assert.equal(r.code, 0, `the Debian mirror ${mirror} (from the host's apt sources) cannot be reached from a rootless container: ${r.stderr.trim()}`);
    assert.match(r.stdout.split('\n')[0]!, /^Origin: Debian/, `${mirror}/dists/bookworm/Release is not Debian's Release file`);
  });

  test('FROM a debootstrapped bookworm: apt-get install hello with a cache mount; the image runs hello; a rebuild hits the cache; --no-cache keeps the .debs', () => {
    const tarball = join(cacheDir(), `bookworm-minbase-${createHash('sha256').update(mirror).digest('hex').slice(0, 12)}.tar`);
    if (!existsSync(tarball)) {
      // debootstrap needs root: root of the user's namespace is enough, in a mount namespace of its own
      // (container=lxc: it binds the host's device nodes instead of making them, which a user namespace may not).
      const root = mkdtempSync(join(cacheDir(), 'root-'));
      const t0 = Date.now();
      const r = spawnSync(process.execPath, ['--', process.env.ROOTLET_BIN!, 'unshare', 'unshare', '-m', 'env', `PATH=/usr/sbin:/sbin:${process.env.PATH ?? '/usr/bin:/bin'}`, 'container=lxc', 'debootstrap', '--variant=minbase', 'bookworm', root, mirror], { env: sb.env, encoding: 'utf8', timeout: 900_000, maxBuffer: 64 << 20 });
      const ms = Date.now() - t0;
      if (r.status !== 0) {
        sb.run(['unshare', 'rm', '-rf', root]);
        assert.fail(`debootstrap from ${mirror} failed (exit ${r.status}): ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' / ')}`);
      }
      // As Docker's Debian images: no downloaded packages or package lists in the image.
      const partial = `${tarball}.partial`;
      sb.ok(['unshare', 'sh', '-c', `cd "$1" && rm -rf var/cache/apt/archives/*.deb var/lib/apt/lists/* debootstrap dev/* && tar --numeric-owner -cf "$2" . && cd / && rm -rf "$1"`, 'sh', root, partial]);
      renameSync(partial, tarball);
      console.log(`# debootstrap --variant=minbase bookworm: ${(ms / 1000).toFixed(1)} s`);
    }
    sb.ok(['import', tarball, 'debian-minbase:bookworm']);
    writeFileSync(join(ctx, 'Containerfile'), [
      'FROM debian-minbase:bookworm',
      // Docker's own recipe for keeping the downloaded packages in the cache mount.
      'RUN rm -f /etc/apt/apt.conf.d/docker-clean && echo \'Binary::apt::APT::Keep-Downloaded-Packages "true";\' > /etc/apt/apt.conf.d/keep-cache',
      'RUN --mount=type=cache,target=/var/cache/apt,sharing=locked apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends hello',
      'CMD ["hello"]',
    ].join('\n'));
    const t1 = Date.now();
    const first = sb.run(['build', '-t', 'hello-debian', ctx], { timeoutMs: 600_000 });
    const cold = Date.now() - t1;
    assert.equal(first.code, 0, first.stderr);
    assert.doesNotMatch(first.stdout + first.stderr, /unsandboxed/, 'apt\'s _apt user can use the cache mount');
    assert.equal(sb.ok(['run', '--rm', 'hello-debian']), 'Hello, world!\n');
    const id = sb.ok(['image', 'inspect', '-f', '{{.Id}}', 'hello-debian']).trim();

    const t2 = Date.now();
    const again = sb.ok(['build', '-t', 'hello-debian', ctx]);
    const cached = Date.now() - t2;
    assert.equal((again.match(/Using cache/g) ?? []).length, 3, again);
    assert.equal(sb.ok(['image', 'inspect', '-f', '{{.Id}}', 'hello-debian']).trim(), id, 'the same image');

    // --no-cache runs apt again: the cache mount still holds hello's package, so apt downloads nothing.
    const t3 = Date.now();
    const rebuilt = sb.run(['build', '--no-cache', '-t', 'hello-debian', ctx], { timeoutMs: 600_000 });
    const noCache = Date.now() - t3;
    assert.equal(rebuilt.code, 0, rebuilt.stderr);
    assert.match(rebuilt.stdout, /^Need to get 0 B(\/[\d.,]+ [kM]?B)? of archives\.$/m, 'apt found hello\'s .deb in the cache mount');
    assert.equal(sb.ok(['run', '--rm', 'hello-debian', 'sh', '-c', 'ls /var/cache/apt/archives/*.deb 2>/dev/null | wc -l']).trim(), '0', 'the cache mount is not in the image');
    console.log(`# build: cold ${(cold / 1000).toFixed(1)} s, cached ${(cached / 1000).toFixed(2)} s, --no-cache ${(noCache / 1000).toFixed(1)} s`);
  });
});
