import type { CreateRequest } from '../containers/request.js';
import type { Engine } from '../engine.js';
import type { Caller, EffectiveValue } from './evaluate.js';

/** `policy show`: the policy as it applies to the caller, each value with the rules it came from. */
export interface PolicyReport {
  caller: Caller;
  /** The admin's files read, in order (none: no policy on this host). */
  files: string[];
  /** The user's own config, when its [policy] table adds rules. */
  userConfig?: string;
  values: EffectiveValue[];
}

/** `policy check`: whether a request would be allowed, without pulling or creating anything. */
export type PolicyVerdict =
  | { allowed: true; request: CreateRequest }
  | { allowed: false; reason: string };

/**
 * The admin policy (/etc/rootlet/policy.toml and policy.d/) as a front
 * door shows it. The checks themselves run inside the container and image
 * services, where every request enters (policy/check.ts).
 */
export class PolicyService {
  constructor(private readonly engine: Engine) {}

  async show(): Promise<PolicyReport> {
    const { policyFor } = await import('./check.js');
    const { effectivePolicy } = await import('./evaluate.js');
    const p = await policyFor(this.engine);
    return { caller: p.caller, files: p.files, ...(p.userConfig ? { userConfig: p.userConfig } : {}), values: effectivePolicy(p.sections, p.caller) };
  }

  /** Dry run of `run`: the same checks, stopping before the image is pulled or a container made. */
  async check(req: CreateRequest): Promise<PolicyVerdict> {
    const { parseReference } = await import('../../image/reference.js');
    const { checkCreateRequest, checkPullFrom } = await import('./check.js');
    const { PolicyDenied } = await import('./evaluate.js');
    const { withConfDefaults } = await import('../containers/conf-defaults.js');
    try {
      // As run builds it: containers.conf's defaults folded in first.
      const request = await checkCreateRequest(this.engine, withConfDefaults(this.engine.config, req), { running: true });
      if (!this.engine.images.find(req.image)) await checkPullFrom(this.engine, parseReference(req.image).domain, `image ${req.image} from registry ${parseReference(req.image).domain}`);
      return { allowed: true, request };
    } catch (err) {
      if (err instanceof PolicyDenied) return { allowed: false, reason: err.message };
      throw err;
    }
  }
}
