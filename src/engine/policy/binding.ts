import { readFileSync } from 'node:fs';
import { errorMessage } from '../../util/errors.js';
import type { Engine } from '../engine.js';
import type { CheckResult } from '../system/doctor.js';
import { policyFor } from './check.js';
import { POLICY_DIR } from './load.js';

function read(path: string): string | undefined {
  try { return readFileSync(path, 'utf8').trim(); } catch { return undefined; }
}

/**
 * Whether the policy binds on this host: only where the kernel lets no
 * program but the profiled ones create user namespaces (Ubuntu's AppArmor
 * restriction), so a user cannot run a runtime by hand instead of rootlet.
 * Whether the profiles allow rootlet's helpers alone is the admin's part
 * (docs/security.md); the kernel switch is what can be seen from here.
 */
export function policyBinding(): { binding: boolean; why: string } {
  const restrict = read('/proc/sys/kernel/apparmor_restrict_unprivileged_userns');
  const apparmor = read('/sys/module/apparmor/parameters/enabled');
  if (restrict === '1' && apparmor === 'Y') {
    return { binding: true, why: 'AppArmor lets only profiled programs create user namespaces (kernel.apparmor_restrict_unprivileged_userns = 1): binding as long as no program a user drives freely is profiled' };
  }
  return { binding: false, why: 'any program may create user namespaces here, so a user can bypass rootlet by running a runtime by hand' };
}

/** `system check`'s line on the admin policy: whether there is one, whether it can be read, whether it binds. */
export async function policyCheck(engine: Engine): Promise<CheckResult> {
  const item = 'admin policy';
  let p;
  try {
    p = await policyFor(engine);
  } catch (err) {
    return { item, status: 'failed', required: true, detail: errorMessage(err), fix: `have root fix the policy under ${POLICY_DIR} (docs/security.md)` };
  }
  if (!p.files.length) return { item, status: 'ok', required: false, detail: `none (${POLICY_DIR}/policy.toml and policy.d/ are absent)` };
  const rules = p.sections.reduce((n, s) => n + s.rules.length, 0);
  const { binding, why } = policyBinding();
  if (!rules) return { item, status: 'ok', required: false, detail: `${p.files.join(', ')}: no rule applies to you` };
  const what = `${p.files.length} file${p.files.length === 1 ? '' : 's'}, ${rules} rule${rules === 1 ? '' : 's'} for you`;
  if (binding) return { item, status: 'ok', required: false, detail: `${what}; binding: ${why}` };
  return { item, status: 'warn', required: false, detail: `${what}; a guardrail, not binding: ${why}`, fix: 'see "Admin policy" in docs/security.md for making it binding (AppArmor)' };
}
