import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ApiError } from '../../src/api/http.js';
import { imagePruneFilters, searchFilter } from '../../src/api/images.js';
import { registryAuth } from '../../src/api/push.js';
import { updateRequest } from '../../src/api/update-body.js';
import { updatedResources } from '../../src/engine/containers/update.js';
import { EngineError } from '../../src/util/errors.js';

const refused = (fn: () => unknown, message: RegExp) => assert.throws(fn, (e: unknown) => e instanceof ApiError && e.status === 400 && message.test(e.message));

// What the docker CLI 28 sends for `docker update --memory 64m --restart always`: every field, unset ones zero or null.
const cliBody = {
  CpuShares: 0, Memory: 64 << 20, NanoCpus: 0, CgroupParent: '', BlkioWeight: 0, BlkioWeightDevice: null, BlkioDeviceReadBps: null,
  BlkioDeviceWriteBps: null, BlkioDeviceReadIOps: null, BlkioDeviceWriteIOps: null, CpuPeriod: 0, CpuQuota: 0, CpuRealtimePeriod: 0,
  CpuRealtimeRuntime: 0, CpusetCpus: '', CpusetMems: '', Devices: null, DeviceCgroupRules: null, DeviceRequests: null, KernelMemory: 0,
  KernelMemoryTCP: 0, MemoryReservation: 0, MemorySwap: 0, MemorySwappiness: null, OomKillDisable: null, PidsLimit: null, Ulimits: null,
  CpuCount: 0, CpuPercent: 0, IOMaximumIOps: 0, IOMaximumBandwidth: 0, RestartPolicy: { Name: 'always', MaximumRetryCount: 0 },
};

describe('POST /containers/{id}/update body', () => {
  test('the docker CLI\'s body: the fields set, the zero ones ignored', () => {
    assert.deepEqual(updateRequest(cliBody), { memoryBytes: 64 << 20, restartPolicy: { name: 'always', maxRetries: 0 } });
    assert.deepEqual(updateRequest({ ...cliBody, Memory: 0, RestartPolicy: { Name: '', MaximumRetryCount: 0 } }), {});
    assert.deepEqual(updateRequest({}), {});
  });

  test('CPUs as NanoCpus or as CpuQuota over CpuPeriod; PidsLimit 0 or -1 removes the limit', () => {
    assert.deepEqual(updateRequest({ NanoCpus: 1.5e9 }), { nanoCpus: 1.5e9 });
    assert.deepEqual(updateRequest({ CpuQuota: 50_000 }), { nanoCpus: 0.5e9 });
    assert.deepEqual(updateRequest({ CpuQuota: 50_000, CpuPeriod: 200_000 }), { nanoCpus: 0.25e9 });
    assert.deepEqual(updateRequest({ PidsLimit: 0 }), { pidsLimit: -1 });
    assert.deepEqual(updateRequest({ PidsLimit: -1 }), { pidsLimit: -1 });
    assert.deepEqual(updateRequest({ PidsLimit: 20 }), { pidsLimit: 20 });
    assert.deepEqual(updateRequest({ RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 3 } }), { restartPolicy: { name: 'on-failure', maxRetries: 3 } });
  });

  test('a field set that the engine does not enforce is refused by its name', () => {
    refused(() => updateRequest({ ...cliBody, CpuShares: 512 }), /CpuShares/);
    refused(() => updateRequest({ MemorySwap: 128 << 20, Memory: 64 << 20 }), /MemorySwap/);
    refused(() => updateRequest({ CpusetCpus: '0', BlkioWeight: 300 }), /CpusetCpus, BlkioWeight/);
    refused(() => updateRequest({ OomKillDisable: true }), /OomKillDisable/);
    refused(() => updateRequest({ Ulimits: [{ Name: 'nofile', Soft: 1, Hard: 1 }] }), /Ulimits/);
  });

  test('wrong types and values: 400 naming the field', () => {
    refused(() => updateRequest({ Memory: 'lots' }), /Memory/);
    refused(() => updateRequest({ Memory: -5 }), /Memory/);
    refused(() => updateRequest({ Memory: 1.5 }), /Memory/);
    refused(() => updateRequest({ NanoCpus: 1e9, CpuQuota: 50_000 }), /conflicting/);
    refused(() => updateRequest({ CpuPeriod: 100_000 }), /CpuPeriod/);
    refused(() => updateRequest({ CpuQuota: 50_000, CpuPeriod: 10 }), /CpuPeriod/);
    refused(() => updateRequest({ PidsLimit: -7 }), /PidsLimit/);
    refused(() => updateRequest({ RestartPolicy: 'always' }), /RestartPolicy/);
    refused(() => updateRequest({ RestartPolicy: { Name: 'sometimes' } }), /RestartPolicy.Name/);
    refused(() => updateRequest({ RestartPolicy: { Name: 'always', MaximumRetryCount: -1 } }), /MaximumRetryCount/);
    refused(() => updateRequest({ RestartPolicy: { MaximumRetryCount: 2 } }), /without a Name/);
  });
});

describe('the engine\'s update of a container\'s limits', () => {
  test('fields absent stay, fields given replace, a removed pids limit goes', () => {
    const now = { memoryBytes: 64 << 20, pidsLimit: 10 };
    assert.deepEqual(updatedResources(now, {}), now);
    assert.deepEqual(updatedResources(now, { nanoCpus: 2e9 }), { ...now, cpuPeriod: 100_000, cpuQuota: 200_000 });
    assert.deepEqual(updatedResources(now, { pidsLimit: -1 }), { memoryBytes: 64 << 20 });
    assert.deepEqual(updatedResources(now, { memoryBytes: 128 << 20 }), { memoryBytes: 128 << 20, pidsLimit: 10 });
  });

  test('values create would refuse are refused', () => {
    assert.throws(() => updatedResources({}, { memoryBytes: 1024 }), (e: unknown) => e instanceof EngineError && /minimum of 6m/.test(e.message));
    assert.throws(() => updatedResources({}, { nanoCpus: 0 }), EngineError);
    assert.throws(() => updatedResources({}, { pidsLimit: -3 }), EngineError);
  });
});

describe('X-Registry-Auth', () => {
  const enc = (v: unknown, url = true) => Buffer.from(JSON.stringify(v)).toString(url ? 'base64url' : 'base64');
  test('absent, empty or {}: no credentials of the request\'s own', () => {
    assert.equal(registryAuth(undefined), undefined);
    assert.equal(registryAuth(''), undefined);
    assert.equal(registryAuth(enc({})), undefined);
    assert.equal(registryAuth(enc({ username: '', password: '', serveraddress: 'x' })), undefined);
  });
  test('user and password, in either base64 alphabet, or as auth', () => {
    assert.deepEqual(registryAuth(enc({ username: 'u', password: 'p?>~', serveraddress: 'r' })), { username: 'u', password: 'p?>~' });
    assert.deepEqual(registryAuth(enc({ username: 'u', password: 'p?>~' }, false)), { username: 'u', password: 'p?>~' });
    assert.deepEqual(registryAuth(enc({ auth: Buffer.from('u:p:q').toString('base64') })), { username: 'u', password: 'p:q' });
  });
  test('malformed, half given or a token: 400', () => {
    refused(() => registryAuth('%%%not base64'), /X-Registry-Auth/);
    refused(() => registryAuth(Buffer.from('[1]').toString('base64')), /X-Registry-Auth/);
    refused(() => registryAuth(enc({ username: 'u' })), /password/);
    refused(() => registryAuth(enc({ identitytoken: 't' })), /token/);
    refused(() => registryAuth(enc({ auth: Buffer.from('nocolon').toString('base64') })), /auth/);
  });
});

describe('image prune filters', () => {
  test('dangling=false is --all; dangling=true the default; the rest go to the engine', () => {
    assert.deepEqual(imagePruneFilters([]), { all: false, filters: [] });
    assert.deepEqual(imagePruneFilters(['dangling=false']), { all: true, filters: [] });
    assert.deepEqual(imagePruneFilters(['dangling=true', 'until=24h', 'label=a=b']), { all: false, filters: ['until=24h', 'label=a=b'] });
    assert.deepEqual(imagePruneFilters(['dangling=0']), { all: true, filters: [] });
    refused(() => imagePruneFilters(['dangling=maybe']), /dangling/);
  });
});

describe('image search filters', () => {
  test('results have no stars and no marks: a filter asking for them keeps none; a bad one is 400', () => {
    assert.equal(searchFilter([]), true);
    assert.equal(searchFilter(['is-official=false', 'stars=0']), true);
    assert.equal(searchFilter(['is-official=true']), false);
    assert.equal(searchFilter(['is-automated=1']), false);
    assert.equal(searchFilter(['stars=3']), false);
    refused(() => searchFilter(['stars=many']), /stars/);
    refused(() => searchFilter(['colour=red']), /colour/);
  });
});
