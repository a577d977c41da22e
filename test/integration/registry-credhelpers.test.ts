import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { Sandbox, type Result } from '../helpers.js';
import { makeTls, startRegistry, type Registry } from '../registry-helpers.js';

/**
 * Credential helpers named in the files users already have: Docker's
 * ~/.docker/config.json (`credHelpers`, `credsStore`) and auth.json. The
 * helper is a script on PATH that answers as docker-credential-* do, and
 * notes each registry it was asked for.
 */
describe('credential helpers (docker-credential-NAME get)', () => {
  const sb = new Sandbox('registry-credhelpers');
  let reg: Registry;
  const bin = sb.path('bin');
  const asked = sb.path('asked.log');
  const docker = sb.path('docker');
  const env = () => ({ PATH: `${bin}:${process.env.PATH}`, DOCKER_CONFIG: docker });

  /** A helper that knows `host` (alice:s3cret) and nothing else. */
  function helper(name: string, host: string, password = 's3cret'): void {
    writeFileSync(`${bin}/docker-credential-${name}`, `#!/bin/sh
[ "$1" = get ] || exit 2
read -r server
echo "$server" >> '${asked}'
if [ "$server" = '${host}' ]; then
  printf '{"ServerURL":"%s","Username":"alice","Secret":"${password}"}\\n' "$server"
else
  echo 'credentials not found in native keychain'; exit 1
fi
`);
    chmodSync(`${bin}/docker-credential-${name}`, 0o755);
  }

  function setFiles(dockerConfig: object | undefined, authJson: object | undefined): void {
    rmSync(`${docker}/config.json`, { force: true });
    rmSync(sb.path('run/containers/auth.json'), { force: true });
    rmSync(asked, { force: true });
    if (dockerConfig) writeFileSync(`${docker}/config.json`, JSON.stringify(dockerConfig));
    if (authJson) {
      mkdirSync(sb.path('run/containers'), { recursive: true });
      writeFileSync(sb.path('run/containers/auth.json'), JSON.stringify(authJson));
    }
  }

  function refused(r: Result, want: RegExp, before: string): void {
    assert.equal(r.code, 125, r.stderr);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, want);
    assert.equal(sb.ok(['images', '-q', '--no-trunc']), before);
  }

  before(async () => {
    const tls = makeTls(sb.path('tls'));
    reg = await startRegistry({ tls, htpasswd: [{ user: 'alice', password: 's3cret' }] });
    mkdirSync(sb.path(`config/containers/certs.d/${reg.host}`), { recursive: true });
    copyFileSync(tls.ca, sb.path(`config/containers/certs.d/${reg.host}/ca.crt`));
    mkdirSync(bin);
    mkdirSync(docker);
    sb.importBusybox('busybox');
    sb.ok(['push', '--creds', 'alice:s3cret', 'busybox', `${reg.host}/h/busybox`]);
    sb.ok(['rmi', 'busybox']);
  });
  after(() => {
    reg?.stop();
    sb.destroy();
  });

  test('credHelpers in ~/.docker/config.json: the registry\'s helper is asked and its credentials pull', () => {
    helper('fake', reg.host);
    setFiles({ credHelpers: { [reg.host]: 'fake' }, auths: { [reg.host]: {} } }, undefined);
    sb.ok(['pull', '-q', `${reg.host}/h/busybox`], { env: env() });
    assert.equal(readFileSync(asked, 'utf8'), `${reg.host}\n`);
    sb.ok(['rmi', `${reg.host}/h/busybox`]);
  });

  test('credsStore in auth.json holds every registry\'s credentials', () => {
    helper('store', reg.host);
    setFiles(undefined, { credsStore: 'store' });
    assert.equal(sb.ok(['run', '--rm', `${reg.host}/h/busybox`, 'echo', 'via-store'], { env: env() }).trim(), 'via-store');
    assert.match(readFileSync(asked, 'utf8'), new RegExp(reg.host.replace(/\./g, '\\.')));
    sb.ok(['rmi', `${reg.host}/h/busybox`]);
  });

  test('a helper that has nothing for the registry: the pull is unauthorized, in one line, nothing stored', () => {
    helper('empty', 'other.example');
    setFiles({ credsStore: 'empty' }, undefined);
    const before = sb.ok(['images', '-q', '--no-trunc']);
    refused(sb.run(['pull', `${reg.host}/h/busybox`], { env: env() }), /unauthorized/, before);
    assert.ok(existsSync(asked));
  });

  test('a helper that is not installed, or that fails, is an error naming it; nothing stored', () => {
    const before = sb.ok(['images', '-q', '--no-trunc']);
    setFiles({ credHelpers: { [reg.host]: 'missing' } }, undefined);
    refused(sb.run(['pull', `${reg.host}/h/busybox`], { env: env() }), /docker-credential-missing, which is not installed/, before);
    writeFileSync(`${bin}/docker-credential-broken`, '#!/bin/sh\necho "keychain locked" >&2; exit 3\n');
    chmodSync(`${bin}/docker-credential-broken`, 0o755);
    setFiles({ credHelpers: { [reg.host]: 'broken' } }, undefined);
    refused(sb.run(['pull', `${reg.host}/h/busybox`], { env: env() }), /credential helper docker-credential-broken failed for .*: keychain locked/, before);
  });
});
