import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { busyboxTarball, Sandbox } from '../helpers.js';
import { makeImage, pushRaw, putManifest, startRegistry, type Registry } from '../registry-helpers.js';
import { sha256, tarBody } from '../tar-fixtures.js';

/**
 * Podman with a store of its own in the sandbox (vfs, runc, cgroupfs: what
 * works on this host), and a runtime directory of its own so that its
 * pause process can be found and stopped at the end.
 */
let short: string | undefined;

/** Podman refuses a runroot path over 50 characters: a short directory in /tmp. */
function shortDir(): string {
  return (short ??= mkdtempSync('/tmp/rl-pod-'));
}

function podman(sb: Sandbox, args: string[]): { code: number; stdout: string; stderr: string } {
  const run = join(shortDir(), 'run');
  mkdirSync(run, { recursive: true, mode: 0o700 });
  const r = spawnSync('podman', ['--root', sb.path('podman-root'), '--runroot', join(shortDir(), 'rr'), '--storage-driver', 'vfs', '--runtime', 'runc', '--cgroup-manager', 'cgroupfs', '--events-backend', 'none', ...args], {
    encoding: 'utf8', env: { ...process.env, XDG_RUNTIME_DIR: run, XDG_CONFIG_HOME: sb.path('podman-config') }, timeout: 120_000,
  });
  return { code: r.status ?? 128, stdout: r.stdout, stderr: r.stderr };
}

function stopPodman(sb: Sandbox): void {
  if (!short) return;
  podman(sb, ['unshare', 'rm', '-rf', sb.path('podman-root'), join(short, 'rr')]);
  try {
    process.kill(Number(readFileSync(join(short, 'run/libpod/tmp/pause.pid'), 'utf8')), 'SIGKILL');
  } catch { /* none */ }
  rmSync(short, { recursive: true, force: true });
}

describe('interop with podman and skopeo, and image indexes', () => {
  const sb = new Sandbox('registry-interop');
  let reg: Registry;
  before(async () => {
    reg = await startRegistry();
    sb.importBusybox('busybox');
  });
  after(() => {
    stopPodman(sb);
    reg?.stop();
    sb.destroy();
  });

  test('an image pushed by rootlet is pulled by podman and runs there', () => {
    const name = `${reg.host}/interop/from-rootlet:1`;
    sb.ok(['push', '--tls-verify=false', 'busybox', name]);
    const r = podman(sb, ['run', '--rm', '--net', 'none', '--tls-verify=false', name, 'echo', 'rootlet-made']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'rootlet-made');
    const inspect = spawnSync('skopeo', ['inspect', '--tls-verify=false', `docker://${name}`], { encoding: 'utf8' });
    assert.equal(inspect.status, 0, inspect.stderr);
  });

  test('images pushed by podman (its own import) and by skopeo (Docker schema 2) run in rootlet', () => {
    const byPodman = `${reg.host}/interop/from-podman:1`;
    let r = podman(sb, ['import', busyboxTarball(), byPodman]);
    assert.equal(r.code, 0, r.stderr);
    r = podman(sb, ['push', '--tls-verify=false', byPodman]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(sb.ok(['run', '--rm', '--pull', 'always', byPodman, 'echo', 'podman-made'], { env: { CONTAINERS_REGISTRIES_CONF: insecureConf(sb, reg.host) } }).trim(), 'podman-made');
    const bySkopeo = `${reg.host}/interop/v2s2:1`;
    const c = spawnSync('skopeo', ['copy', '--src-tls-verify=false', '--dest-tls-verify=false', '--format', 'v2s2', `docker://${byPodman}`, `docker://${bySkopeo}`], { encoding: 'utf8' });
    assert.equal(c.status, 0, c.stderr);
    const raw = spawnSync('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${bySkopeo}`], { encoding: 'utf8' }).stdout;
    assert.match(raw, /application\/vnd\.docker\.distribution\.manifest\.v2\+json/);
    sb.ok(['pull', '--tls-verify=false', bySkopeo]);
    assert.equal(sb.ok(['run', '--rm', bySkopeo, 'echo', 'v2s2']).trim(), 'v2s2');
  });

  test('an index with linux/amd64 and linux/arm64: the host\'s is chosen, --platform picks the other', async () => {
    const amd = makeImage([tarBody(readFileSync(busyboxTarball()))], { architecture: 'amd64' });
    const arm = makeImage([Buffer.concat([tarBody(readFileSync(busyboxTarball())), Buffer.alloc(1024)])], { architecture: 'arm64' });
    await pushRaw(reg.host, 'multi/img', 'amd64', amd);
    await pushRaw(reg.host, 'multi/img', 'arm64', arm);
    const index = Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: amd.digest, size: amd.manifest.length, platform: { os: 'linux', architecture: 'amd64' } },
        { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: arm.digest, size: arm.manifest.length, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
      ],
    }));
    await putManifest(reg.host, 'multi/img', 'latest', index, 'application/vnd.oci.image.index.v1+json');
    const name = `${reg.host}/multi/img`;
    const out = sb.ok(['pull', '--tls-verify=false', name]);
    assert.match(out, new RegExp(`Digest: ${sha256(index)}`));
    const id = () => (JSON.parse(sb.ok(['image', 'inspect', name])) as Array<{ Id: string }>)[0]!.Id;
    assert.equal(id(), sha256(amd.config));
    sb.ok(['pull', '--tls-verify=false', '--platform', 'linux/arm64', name]);
    assert.equal(id(), sha256(arm.config));
    // By the index's digest: recorded under that name, found again without a pull.
    const byDigest = `${name}@${sha256(index)}`;
    sb.ok(['pull', '--tls-verify=false', byDigest]);
    assert.equal((JSON.parse(sb.ok(['image', 'inspect', byDigest])) as Array<{ Id: string }>)[0]!.Id, sha256(amd.config));
    const none = sb.run(['pull', '--tls-verify=false', '--platform', 'linux/s390x', name]);
    assert.equal(none.code, 125);
    assert.match(none.stderr, /no image for linux\/s390x in the index \(it has linux\/amd64, linux\/arm64\/v8\)/);
  });
});

function insecureConf(sb: Sandbox, host: string): string {
  const file = sb.path('registries.conf');
  writeFileSync(file, `[[registry]]\nlocation = "${host}"\ninsecure = true\n`);
  return file;
}
