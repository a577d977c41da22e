import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EngineError } from '../../src/util/errors.js';
import { familiarName, formatReference, looksLikeId, parseReference } from '../../src/image/reference.js';

const HEX = 'a'.repeat(64);

function full(ref: string): string {
  return formatReference(parseReference(ref));
}

function refusedRef(ref: string, why: RegExp): void {
  assert.throws(() => parseReference(ref), (e: unknown) => {
    assert.ok(e instanceof EngineError);
    assert.match(e.message, /invalid reference format/);
    assert.match(e.message, why);
    return true;
  }, ref);
}

describe('parseReference: Docker normalization', () => {
  test('an official image gets docker.io/library and :latest', () => {
    assert.deepEqual(parseReference('busybox'), { domain: 'docker.io', path: 'library/busybox', tag: 'latest', digest: undefined });
    assert.equal(full('busybox'), 'docker.io/library/busybox:latest');
    assert.equal(full('busybox:1.36'), 'docker.io/library/busybox:1.36');
    assert.equal(full('library/busybox'), 'docker.io/library/busybox:latest');
    assert.equal(full('docker.io/library/busybox:latest'), 'docker.io/library/busybox:latest');
  });

  test('a user repository on Docker Hub keeps its namespace', () => {
    assert.equal(full('user/app'), 'docker.io/user/app:latest');
    assert.equal(full('user/app:v1'), 'docker.io/user/app:v1');
    assert.equal(full('docker.io/user/app'), 'docker.io/user/app:latest');
  });

  test('the first component is a registry when it has a dot, a port, or is localhost', () => {
    assert.deepEqual(parseReference('localhost:5000/a/b:t'), { domain: 'localhost:5000', path: 'a/b', tag: 't', digest: undefined });
    assert.equal(full('localhost/app'), 'localhost/app:latest');
    assert.equal(full('quay.io/org/app:1.0'), 'quay.io/org/app:1.0');
    assert.equal(full('registry.example.com:443/deep/ns/app'), 'registry.example.com:443/deep/ns/app:latest');
    // Without a dot or a port it is a Docker Hub namespace.
    assert.equal(full('myhost/app'), 'docker.io/myhost/app:latest');
  });

  test('a digest reference gets no default tag; a tag and a digest are both kept', () => {
    const d = `sha256:${HEX}`;
    assert.deepEqual(parseReference(`host.io/ns/name@${d}`), { domain: 'host.io', path: 'ns/name', tag: undefined, digest: d });
    assert.equal(full(`host.io/ns/name@${d}`), `host.io/ns/name@${d}`);
    assert.equal(full(`busybox:1@${d}`), `docker.io/library/busybox:1@${d}`);
  });

  test('defaultTag null leaves the tag out',
    () => {
      assert.equal(parseReference('busybox', null).tag, undefined);
      assert.equal(familiarName('docker.io/library/busybox'), 'busybox');
    });

  test('a port is not mistaken for a tag', () => {
    const r = parseReference('localhost:5000/app');
    assert.equal(r.domain, 'localhost:5000');
    assert.equal(r.tag, 'latest');
  });

  test('separators inside name components follow the distribution grammar', () => {
    assert.equal(full('a_b/c__d/e.f/g-h/i---j'), 'docker.io/a_b/c__d/e.f/g-h/i---j:latest');
    refusedRef('a___b', /not a valid name component/);
    refusedRef('-ab', /not a valid name component/);
    refusedRef('ab-', /not a valid name component/);
    refusedRef('a..b', /not a valid name component/);
    refusedRef('a//b', /not a valid name component/);
  });

  test('uppercase repository names are refused', () => {
    refusedRef('BusyBox', /lowercase/);
    refusedRef('docker.io/Library/busybox', /lowercase/);
    refusedRef('user/App:v1', /lowercase/);
  });

  test('invalid tags are refused', () => {
    refusedRef('busybox:', /tag/);
    refusedRef('busybox:-x', /tag/);
    refusedRef('busybox:.x', /tag/);
    refusedRef(`busybox:${'t'.repeat(129)}`, /tag/);
    refusedRef('busybox:a+b', /tag/);
    // 128 characters is the maximum.
    assert.equal(parseReference(`busybox:${'t'.repeat(128)}`).tag, 't'.repeat(128));
    assert.equal(parseReference('busybox:_x.Y-z').tag, '_x.Y-z');
  });

  test('invalid digests, empty and overlong names are refused', () => {
    refusedRef('busybox@sha256:abc', /digest/);
    refusedRef('busybox@md5', /digest/);
    refusedRef('', /empty/);
    refusedRef(`a/${'b'.repeat(260)}`, /255/);
    refusedRef('busybox:tag:more', /./);
    refusedRef('bad_host.io:x:1/app', /./);
  });
});

describe('familiarName', () => {
  test('drops docker.io/library/ and docker.io/', () => {
    assert.equal(familiarName('docker.io/library/busybox:latest'), 'busybox:latest');
    assert.equal(familiarName('docker.io/user/app:v1'), 'user/app:v1');
    assert.equal(familiarName('localhost:5000/a/b:t'), 'localhost:5000/a/b:t');
    assert.equal(familiarName(`quay.io/x/y@sha256:${HEX}`), `quay.io/x/y@sha256:${HEX}`);
  });

  test('round trips: parsing the familiar name gives the same full reference', () => {
    for (const ref of ['busybox', 'busybox:1.36', 'user/app:v1', 'localhost:5000/a/b:t', 'quay.io/org/app:1.0',
      'myhost/app:x', `host.io/ns/name@sha256:${HEX}`, `alpine:3@sha256:${HEX}`]) {
      const f = full(ref);
      assert.equal(full(familiarName(f)), f, ref);
      assert.equal(familiarName(full(familiarName(f))), familiarName(f), ref);
    }
  });
});

describe('looksLikeId', () => {
  test('hex of 12 to 64 characters, with or without sha256:', () => {
    assert.equal(looksLikeId('0123456789ab'), true);
    assert.equal(looksLikeId(`sha256:${HEX}`), true);
    assert.equal(looksLikeId('0123456789a'), false);
    assert.equal(looksLikeId('busybox'), false);
    assert.equal(looksLikeId('0123456789AB'), false);
  });
});
