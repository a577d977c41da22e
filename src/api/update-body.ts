import type { ContainerUpdateRequest } from '../engine/index.js';
import { badRequest } from './http.js';

/**
 * `POST /containers/{id}/update`'s body (Docker's Resources plus
 * RestartPolicy) → the engine's update request. Docker's clients send every
 * field, unset ones as zero, null or empty: those change nothing. The
 * fields the engine enforces are taken; any other one that is set is
 * refused by name, since accepting a limit that is not enforced would be a
 * silent downgrade.
 */

const ENFORCED = new Set(['Memory', 'NanoCpus', 'CpuQuota', 'CpuPeriod', 'PidsLimit', 'RestartPolicy']);

/** Unset, as Docker's clients send a field they were not asked for. */
function isUnset(v: unknown): boolean {
  if (v === null || v === undefined || v === 0 || v === '' || v === false) return true;
  if (Array.isArray(v)) return v.length === 0;
  return typeof v === 'object' && Object.keys(v).length === 0;
}

function integer(body: Record<string, unknown>, field: string): number | undefined {
  const v = body[field];
  if (v === null || v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw badRequest(`invalid ${field}: ${JSON.stringify(v)} (an integer)`);
  return v;
}

export function updateRequest(body: Record<string, unknown>): ContainerUpdateRequest {
  const refused = Object.keys(body).filter((k) => !ENFORCED.has(k) && !isUnset(body[k]));
  if (refused.length) {
    throw badRequest(`cannot update ${refused.join(', ')}: not enforced by this engine (it can change Memory, NanoCpus, CpuQuota with CpuPeriod, PidsLimit and RestartPolicy)`);
  }
  const out: ContainerUpdateRequest = {};
  const memory = integer(body, 'Memory');
  if (memory !== undefined && memory !== 0) {
    if (memory < 0) throw badRequest(`invalid Memory: ${memory} (bytes, at least 6 MiB)`);
    out.memoryBytes = memory;
  }
  const nano = integer(body, 'NanoCpus');
  const quota = integer(body, 'CpuQuota');
  const period = integer(body, 'CpuPeriod');
  if (nano && (quota || period)) throw badRequest('conflicting options: NanoCpus and CpuQuota/CpuPeriod cannot both be set');
  if (nano) {
    if (nano < 0) throw badRequest(`invalid NanoCpus: ${nano} (a positive number of CPUs × 10⁹)`);
    out.nanoCpus = nano;
  }
  if (period && !quota) throw badRequest('CpuPeriod alone is not enforced here: give CpuQuota with it (or NanoCpus)');
  if (quota) {
    const p = period || 100_000;
    if (quota < 0 || p < 1000 || p > 1_000_000) throw badRequest(`invalid CpuQuota ${quota} / CpuPeriod ${p}: a positive quota and a period from 1000 to 1000000 microseconds`);
    // The engine keeps a limit as CPUs over its 100 ms period, as Docker's --cpus: the same share of time.
    out.nanoCpus = Math.round((quota / p) * 1e9);
  }
  const pids = integer(body, 'PidsLimit');
  if (pids !== undefined) {
    if (pids < -1) throw badRequest(`invalid PidsLimit: ${pids} (a positive number, or 0 or -1 for no limit)`);
    out.pidsLimit = pids <= 0 ? -1 : pids;
  }
  const rp = body.RestartPolicy;
  if (!isUnset(rp)) {
    if (typeof rp !== 'object' || Array.isArray(rp)) throw badRequest('invalid RestartPolicy: an object with Name and MaximumRetryCount');
    const { Name: name, MaximumRetryCount: retries } = rp as Record<string, unknown>;
    if (name !== undefined && typeof name !== 'string') throw badRequest(`invalid RestartPolicy.Name: ${JSON.stringify(name)}`);
    if (retries !== undefined && retries !== null && (typeof retries !== 'number' || !Number.isSafeInteger(retries) || retries < 0)) {
      throw badRequest(`invalid RestartPolicy.MaximumRetryCount: ${JSON.stringify(retries)} (an integer of at least 0)`);
    }
    if (name) {
      if (!['no', 'on-failure', 'always', 'unless-stopped'].includes(name)) throw badRequest(`invalid RestartPolicy.Name: ${JSON.stringify(name)} (no, on-failure, always or unless-stopped)`);
      out.restartPolicy = { name: name as NonNullable<ContainerUpdateRequest['restartPolicy']>['name'], maxRetries: typeof retries === 'number' ? retries : 0 };
    } else if (retries) {
      throw badRequest('invalid RestartPolicy: MaximumRetryCount without a Name');
    }
  }
  return out;
}
