import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EngineError } from '../../src/util/errors.js';
import { applyChanges } from '../../src/image/changes.js';

describe('applyChanges (import --change)', () => {
  test('CMD and ENTRYPOINT in JSON form are taken as is', () => {
    const c = applyChanges({}, ['CMD ["echo", "a b"]', 'ENTRYPOINT ["/bin/tini","--"]']);
    assert.deepEqual(c.Cmd, ['echo', 'a b']);
    assert.deepEqual(c.Entrypoint, ['/bin/tini', '--']);
  });

  test('CMD and ENTRYPOINT in shell form run through /bin/sh -c', () => {
    const c = applyChanges({}, ['CMD echo $HOME && ls', 'ENTRYPOINT exec nginx -g "daemon off;"']);
    assert.deepEqual(c.Cmd, ['/bin/sh', '-c', 'echo $HOME && ls']);
    assert.deepEqual(c.Entrypoint, ['/bin/sh', '-c', 'exec nginx -g "daemon off;"']);
  });

  test('a bracketed value that is not a JSON string array is shell form', () => {
    assert.deepEqual(applyChanges({}, ['CMD [not json']).Cmd, ['/bin/sh', '-c', '[not json']);
    assert.deepEqual(applyChanges({}, ['CMD [1, 2]']).Cmd, ['/bin/sh', '-c', '[1, 2]']);
  });

  test('instructions are case-insensitive and later ones win', () => {
    const c = applyChanges({ Cmd: ['old'] }, ['cmd ["a"]', 'Cmd ["b"]']);
    assert.deepEqual(c.Cmd, ['b']);
  });

  test('ENV with k=v pairs, quoted values and escapes', () => {
    const c = applyChanges({ Env: ['PATH=/bin', 'KEEP=1'] }, [
      'ENV A=1 B="two words" C=\'single q\' D="esc \\"q\\""',
      'ENV PATH=/usr/bin:/bin',
      'ENV EMPTY=',
    ]);
    assert.deepEqual(c.Env, ['PATH=/usr/bin:/bin', 'KEEP=1', 'A=1', 'B=two words', 'C=single q', 'D=esc "q"', 'EMPTY=']);
  });

  test('ENV in the legacy "KEY value" form takes the rest of the line', () => {
    const c = applyChanges({}, ['ENV GREETING hello big world']);
    assert.deepEqual(c.Env, ['GREETING=hello big world']);
    assert.throws(() => applyChanges({}, ['ENV LONELY']), EngineError);
  });

  test('an existing variable is replaced in place, the input config is not modified', () => {
    const base = { Env: ['A=1', 'B=2'] };
    const c = applyChanges(base, ['ENV A=3']);
    assert.deepEqual(c.Env, ['A=3', 'B=2']);
    assert.deepEqual(base.Env, ['A=1', 'B=2']);
  });

  test('LABEL adds to existing labels', () => {
    const base = { Labels: { keep: 'yes' } };
    const c = applyChanges(base, ['LABEL org.opencontainers.image.title="My App" version=1.0']);
    assert.deepEqual(c.Labels, { keep: 'yes', 'org.opencontainers.image.title': 'My App', version: '1.0' });
    assert.deepEqual(base.Labels, { keep: 'yes' });
  });

  test('EXPOSE defaults to tcp and keeps an explicit protocol', () => {
    const c = applyChanges({}, ['EXPOSE 80 443/tcp 53/udp']);
    assert.deepEqual(c.ExposedPorts, { '80/tcp': {}, '443/tcp': {}, '53/udp': {} });
  });

  test('WORKDIR, USER, STOPSIGNAL, VOLUME', () => {
    const c = applyChanges({}, ['WORKDIR  /srv/app ', 'USER app:app', 'STOPSIGNAL SIGQUIT', 'VOLUME /data /logs', 'VOLUME ["/cache"]']);
    assert.equal(c.WorkingDir, '/srv/app');
    assert.equal(c.User, 'app:app');
    assert.equal(c.StopSignal, 'SIGQUIT');
    assert.deepEqual(c.Volumes, { '/data': {}, '/logs': {}, '/cache': {} });
  });

  test('an unsupported instruction is an error that lists the supported ones', () => {
    assert.throws(() => applyChanges({}, ['RUN apt-get update']), (e: unknown) => {
      assert.ok(e instanceof EngineError);
      assert.match(e.message, /RUN is not supported/);
      assert.match(e.message, /CMD, ENTRYPOINT, ENV/);
      return true;
    });
    assert.throws(() => applyChanges({}, ['']), EngineError);
  });
});
