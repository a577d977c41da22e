import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parseChallenge } from '../../src/image/registry/auth.js';
import { lookupCredentials, removeCredentials, storeCredentials } from '../../src/image/registry/credentials.js';
import { parsePlatform, selectPlatform, type Index } from '../../src/image/registry/manifest.js';
import { candidatesFor, endpointsFor, parseRegistriesConf } from '../../src/image/registry/registries-conf.js';
import { parseReference } from '../../src/image/reference.js';

describe('WWW-Authenticate challenges', () => {
  test('Bearer with quoted parameters that hold commas', () => {
    const c = parseChallenge('Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push"');
    assert.deepEqual(c, { scheme: 'bearer', params: { realm: 'https://auth.example/token', service: 'registry.example', scope: 'repository:a/b:pull,push' } });
  });
  test('Basic with a realm', () => {
    assert.deepEqual(parseChallenge('Basic realm="x y"'), { scheme: 'basic', params: { realm: 'x y' } });
  });
});

describe('registries.conf', () => {
  const conf = parseRegistriesConf({
    'unqualified-search-registries': ['local:5000', 'docker.io'],
    registry: [
      { prefix: 'docker.io', location: 'docker.io', mirror: [{ location: 'mirror:5000/hub', insecure: true }] },
      { prefix: 'example.com/team', location: 'internal:5000/team-copy', insecure: true },
      { location: 'bad.example', blocked: true },
    ],
  });

  test('short names go to each search registry in order; docker.io gets library/', () => {
    assert.deepEqual(candidatesFor(conf, 'alpine:3').map((r) => `${r.domain}/${r.path}:${r.tag}`), ['local:5000/alpine:3', 'docker.io/library/alpine:3']);
    assert.deepEqual(candidatesFor(conf, 'quay.io/x/y').map((r) => `${r.domain}/${r.path}`), ['quay.io/x/y']);
    assert.deepEqual(candidatesFor(parseRegistriesConf({}), 'alpine').map((r) => `${r.domain}/${r.path}`), ['docker.io/library/alpine']);
  });

  test('mirrors first, then the registry; docker.io is reached at its API host', () => {
    const eps = endpointsFor(conf, parseReference('alpine'), undefined);
    assert.deepEqual(eps.map((e) => [e.host, e.path, e.insecure, e.mirror]), [['mirror:5000', 'hub/library/alpine', true, true], ['registry-1.docker.io', 'library/alpine', false, false]]);
  });

  test('a prefix is rewritten to its location; insecure and --tls-verify=false', () => {
    assert.deepEqual(endpointsFor(conf, parseReference('example.com/team/app:1'), undefined).map((e) => [e.host, e.path, e.insecure]), [['internal:5000', 'team-copy/app', true]]);
    assert.equal(endpointsFor(conf, parseReference('other:1234/x'), false)[0]!.insecure, true);
    assert.equal(endpointsFor(conf, parseReference('other:1234/x'), undefined)[0]!.insecure, false);
  });

  test('blocked registries are refused, naming the file', () => {
    assert.throws(() => endpointsFor(conf, parseReference('bad.example/x'), undefined), /registry bad\.example is blocked in registries\.conf/);
  });

  test('a malformed entry is one clear error', () => {
    assert.throws(() => parseRegistriesConf({ 'unqualified-search-registries': 'docker.io' }, '/etc/x.conf'), /\/etc\/x\.conf: unqualified-search-registries must be a list/);
  });
});

describe('platform selection', () => {
  const index: Index = {
    schemaVersion: 2,
    manifests: [
      { mediaType: 'm', digest: 'sha256:a', size: 1, platform: { os: 'linux', architecture: 'amd64' } },
      { mediaType: 'm', digest: 'sha256:b', size: 1, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
      { mediaType: 'm', digest: 'sha256:c', size: 1, platform: { os: 'linux', architecture: 'arm', variant: 'v7' } },
    ],
  };
  test('by os, architecture and variant; aliases as Docker takes them', () => {
    assert.equal(selectPlatform(index, parsePlatform('linux/amd64'), 'x').digest, 'sha256:a');
    assert.equal(selectPlatform(index, parsePlatform('linux/aarch64'), 'x').digest, 'sha256:b');
    assert.equal(selectPlatform(index, parsePlatform('linux/arm/v7'), 'x').digest, 'sha256:c');
    assert.throws(() => selectPlatform(index, parsePlatform('linux/arm/v6'), 'x'), /no image for linux\/arm\/v6 in the index \(it has linux\/amd64, linux\/arm64\/v8, linux\/arm\/v7\)/);
    assert.throws(() => parsePlatform('amd64'), /use os\/arch/);
  });
});

describe('auth files', () => {
  test('login writes 0600; lookups take the most specific key; docker.io legacy key; logout removes', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rootlet-auth-'));
    const file = join(dir, 'containers/auth.json');
    storeCredentials('reg:5000', { username: 'a', password: 'p:w' }, file);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.deepEqual(lookupCredentials('reg:5000', 'x/y', file), { username: 'a', password: 'p:w' });
    storeCredentials('reg:5000/x', { username: 'b', password: 'q' }, file);
    assert.equal(lookupCredentials('reg:5000', 'x/y', file)!.username, 'b');
    assert.equal(lookupCredentials('reg:5000', 'z', file)!.username, 'a');
    writeFileSync(file, JSON.stringify({ auths: { 'https://index.docker.io/v1/': { auth: Buffer.from('hub:pw').toString('base64') } } }));
    assert.equal(lookupCredentials('registry-1.docker.io', 'library/alpine', file), undefined);
    assert.equal(lookupCredentials('docker.io', 'library/alpine', file)!.username, 'hub');
    assert.equal(removeCredentials('https://index.docker.io/v1/', file), true);
    assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), { auths: {} });
  });
  test('a helper that exits before reading the server name: its own message, not the EPIPE of writing to it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rootlet-auth-'));
    writeFileSync(join(dir, 'docker-credential-gone'), '#!/bin/sh\necho "keychain locked" >&2; exit 3\n');
    chmodSync(join(dir, 'docker-credential-gone'), 0o755);
    const file = join(dir, 'auth.json');
    writeFileSync(file, JSON.stringify({ credsStore: 'gone' }));
    const path = process.env.PATH;
    process.env.PATH = `${dir}:${path}`;
    try {
      // More than a pipe holds: the write is still going when the helper exits, every time.
      const host = `h${'x'.repeat(256 * 1024)}`;
      assert.throws(() => lookupCredentials(host, undefined, file), /credential helper docker-credential-gone failed for hx+: keychain locked$/);
    } finally {
      process.env.PATH = path;
    }
  });
});
