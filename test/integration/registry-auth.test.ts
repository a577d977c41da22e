import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { Sandbox } from '../helpers.js';
import { makeTls, okAsync, runAsync, startRegistry, startTokenServer, type Registry } from '../registry-helpers.js';

function storeList(sb: Sandbox): string {
  return sb.ok(['images', '-q', '--no-trunc']);
}

describe('a TLS registry with its own CA and htpasswd Basic auth', () => {
  const sb = new Sandbox('registry-tls');
  let reg: Registry;
  let ca: string;
  before(async () => {
    const tls = makeTls(sb.path('tls'));
    ca = tls.ca;
    reg = await startRegistry({ tls, htpasswd: [{ user: 'alice', password: 's3cret' }] });
    sb.importBusybox('busybox');
  });
  after(() => {
    reg?.stop();
    sb.destroy();
  });

  test('an unknown CA is refused with the fix; --cert-dir trusts it', () => {
    const r = sb.run(['push', 'busybox', `${reg.host}/a/busybox`, '--creds', 'alice:s3cret']);
    assert.equal(r.code, 125);
    assert.match(r.stderr, /TLS certificate of 127\.0\.0\.1:\d+ is not trusted.*certs\.d/);
    mkdirSync(sb.path('certdir'));
    copyFileSync(ca, sb.path('certdir/ca.crt'));
    assert.match(sb.ok(['push', '--cert-dir', sb.path('certdir'), '--creds', 'alice:s3cret', 'busybox', `${reg.host}/a/busybox`]), /digest: sha256:/);
  });

  test('--tls-verify=false speaks TLS to it without trusting its CA: push and pull work (the layer is in the store already: only the manifest comes over TLS)', () => {
    assert.match(sb.ok(['push', '--tls-verify=false', '--creds', 'alice:s3cret', 'busybox', `${reg.host}/a/insecure`]), /digest: sha256:/);
    const r = sb.run(['pull', '--tls-verify=false', '--creds', 'alice:s3cret', `${reg.host}/a/insecure`], { env: { ...sb.env, ROOTLET_TRACE: '1' } });
    assert.equal(r.code, 0, r.stderr);
    // The image's layer is in the store already (push), so nothing is extracted; the manifest came over TLS.
    assert.match(r.stdout, /a\/insecure/);
  });

  test('without credentials the pull is unauthorized (exit 125), the store unchanged', () => {
    mkdirSync(sb.path(`config/containers/certs.d/${reg.host}`), { recursive: true });
    copyFileSync(ca, sb.path(`config/containers/certs.d/${reg.host}/ca.crt`));
    const before = storeList(sb);
    const r = sb.run(['pull', `${reg.host}/a/busybox`]);
    assert.equal(r.code, 125);
    assert.match(r.stderr, /unauthorized.*rootlet login/);
    assert.equal(r.stderr.trim().split('\n').length, 1);
    assert.equal(storeList(sb), before);
  });

  test('wrong credentials: login fails saying "unauthorized" and writes nothing; pull fails the same way', () => {
    const r = sb.run(['login', '-u', 'alice', '--password-stdin', reg.host], { input: 'wrong\n' });
    assert.equal(r.code, 125);
    assert.match(r.stderr, /unauthorized/);
    const p = sb.run(['pull', '--creds', 'alice:wrong', `${reg.host}/a/busybox`]);
    assert.equal(p.code, 125);
    assert.match(p.stderr, /unauthorized.*"alice" were refused/);
  });

  test('login keeps the credentials in auth.json (0600); pull uses them (certs.d CA); logout removes them', () => {
    assert.match(sb.ok(['login', '-u', 'alice', '--password-stdin', reg.host], { input: 's3cret\n' }), /Login Succeeded/);
    const file = sb.path('run/containers/auth.json');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const auths = (JSON.parse(readFileSync(file, 'utf8')) as { auths: Record<string, { auth: string }> }).auths;
    assert.equal(Buffer.from(auths[reg.host]!.auth, 'base64').toString(), 'alice:s3cret');
    sb.ok(['rmi', 'busybox']);
    assert.match(sb.ok(['pull', `${reg.host}/a/busybox`]), /Downloaded newer image/);
    assert.equal(sb.ok(['run', '--rm', `${reg.host}/a/busybox`, 'echo', 'tls']).trim(), 'tls');
    assert.match(sb.ok(['logout', reg.host]), /Removed login credentials/);
    assert.equal(sb.run(['pull', `${reg.host}/a/busybox`]).code, 125);
  });

  test('credentials in ~/.docker/config.json are read too', () => {
    mkdirSync(sb.path('home/.docker'), { recursive: true });
    const cfg = { auths: { [reg.host]: { auth: Buffer.from('alice:s3cret').toString('base64') } } };
    writeFileSync(sb.path('home/.docker/config.json'), JSON.stringify(cfg));
    assert.match(sb.ok(['pull', `${reg.host}/a/busybox`], { env: { HOME: sb.path('home') } }), /Image is up to date/);
  });
});

describe('a registry with token (Bearer) auth and a token server', () => {
  const sb = new Sandbox('registry-token');
  let reg: Registry;
  let tokens: Awaited<ReturnType<typeof startTokenServer>>;
  before(async () => {
    tokens = await startTokenServer({ bob: 'hunter2' });
    reg = await startRegistry({ token: tokens });
    sb.importBusybox('busybox');
  });
  after(() => {
    reg?.stop();
    tokens?.stop();
    sb.destroy();
  });

  test('push and pull with a token; anonymous and wrong passwords are unauthorized', async () => {
    const name = `${reg.host}/b/busybox:t`;
    const anon = await runAsync(sb, ['push', '--tls-verify=false', 'busybox', name]);
    assert.equal(anon.code, 125);
    assert.match(anon.stderr, /unauthorized/);
    assert.match(await okAsync(sb, ['login', '--tls-verify=false', '-u', 'bob', '-p', 'hunter2', reg.host]), /Login Succeeded/);
    assert.match(await okAsync(sb, ['push', '--tls-verify=false', 'busybox', name]), /digest: sha256:/);
    // A second repository of the same registry: its blobs are mounted, not sent again.
    await okAsync(sb, ['pull', '--tls-verify=false', name]);
    assert.match(await okAsync(sb, ['push', '--tls-verify=false', name, `${reg.host}/b/copy:1`]), /Mounted from b\/busybox/);
    await okAsync(sb, ['rmi', 'busybox', name]);
    assert.match(await okAsync(sb, ['pull', '--tls-verify=false', name]), /Downloaded newer image/);
    assert.equal((await okAsync(sb, ['run', '--rm', name, 'echo', 'token'])).trim(), 'token');
    const wrong = await runAsync(sb, ['pull', '--tls-verify=false', '--creds', 'bob:nope', name]);
    assert.equal(wrong.code, 125);
    assert.match(wrong.stderr, /unauthorized/);
  });
});
