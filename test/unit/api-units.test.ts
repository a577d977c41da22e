import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { API_UNIT_MARK, apiUnits } from '../../src/engine/systemd/api-units.js';
import { activatedSocket } from '../../src/cli/service.js';

describe('system service --install: the units', () => {
  test('the socket listens in the runtime directory by default, 0600 in a 0700 directory; the service runs this rootlet', () => {
    const [socket, service] = apiUnits({ rootlet: ['/usr/bin/node', '/opt/rootlet/rootlet.cjs'], idleSec: 5 });
    assert.equal(socket!.name, 'rootlet.socket');
    assert.equal(service!.name, 'rootlet.service');
    for (const u of [socket!, service!]) assert.ok(u.text.startsWith(`${API_UNIT_MARK}\n`), u.text);
    assert.match(socket!.text, /^ListenStream=%t\/rootlet\/docker\.sock$/m);
    assert.match(socket!.text, /^SocketMode=0600$/m);
    assert.match(socket!.text, /^DirectoryMode=0700$/m);
    assert.match(service!.text, /^ExecStart=\/usr\/bin\/node \/opt\/rootlet\/rootlet\.cjs system service --time 5$/m);
  });

  test('another address: a socket path (quoted for systemd when it must be) or loopback host:port', () => {
    assert.match(apiUnits({ rootlet: ['/r'], idleSec: 0, listen: { kind: 'unix', path: '/tmp/my api.sock' } })[0]!.text, /^ListenStream="\/tmp\/my api\.sock"$/m);
    assert.match(apiUnits({ rootlet: ['/r'], idleSec: 0, listen: { kind: 'tcp', host: '127.0.0.1', port: 2375 } })[0]!.text, /^ListenStream=127\.0\.0\.1:2375$/m);
    assert.match(apiUnits({ rootlet: ['/r'], idleSec: 0, listen: { kind: 'tcp', host: '::1', port: 2375 } })[0]!.text, /^ListenStream=\[::1\]:2375$/m);
  });

  test('a relative rootlet command is refused', () => {
    assert.throws(() => apiUnits({ rootlet: ['rootlet'], idleSec: 5 }), /must be an absolute path/);
  });
});

describe('socket activation', () => {
  test('LISTEN_FDS for this process: fd 3, and the variables are taken out of the environment', () => {
    const env: NodeJS.ProcessEnv = { LISTEN_PID: String(process.pid), LISTEN_FDS: '1', LISTEN_FDNAMES: 'rootlet.socket', OTHER: 'x' };
    assert.equal(activatedSocket(env), 3);
    assert.deepEqual(env, { OTHER: 'x' });
  });

  test('another process\'s, none, or a bad count: no socket passed', () => {
    assert.equal(activatedSocket({ LISTEN_PID: '1', LISTEN_FDS: '1' }), undefined);
    assert.equal(activatedSocket({}), undefined);
    assert.equal(activatedSocket({ LISTEN_PID: String(process.pid), LISTEN_FDS: '0' }), undefined);
    assert.equal(activatedSocket({ LISTEN_PID: String(process.pid), LISTEN_FDS: 'x' }), undefined);
  });
});
