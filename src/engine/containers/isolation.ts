import { knownCaps } from '../../runtime/capabilities.js';
import { isSandbox, SANDBOX_RUNTIME, type Runtime } from '../../runtime/runtime.js';
import { EngineError, errorMessage } from '../../util/errors.js';
import { newContainerRuntime } from './bundle.js';
import type { Isolation } from './request.js';
import { asked } from './resources.js';
import type { ContainerSpec } from './spec.js';
import type { Engine } from '../engine.js';

/**
 * The runtime a request names (--runtime, --isolation), checked before
 * anything else is done (no image is pulled for a request that names a
 * runtime rootlet does not know). `sandbox` is gVisor's runsc (or a runtime
 * of the config that is a runsc); `--runtime runsc` alone means the same.
 * An isolation that cannot be had (runsc missing, another runtime named
 * with it, a request the sandbox cannot honour rootless: checkSandboxable)
 * is an error: never a container on the host's kernel instead.
 */
export function requestedRuntime(engine: Engine, runtime: string | undefined, isolation: Isolation | undefined): Runtime {
  let rt: Runtime;
  if (isolation === 'sandbox') {
    try {
      rt = newContainerRuntime(engine, runtime || SANDBOX_RUNTIME);
    } catch (err) {
      throw new EngineError(`--isolation sandbox cannot be had: ${errorMessage(err)}`);
    }
    if (!isSandbox(rt)) throw new EngineError(`--isolation sandbox needs gVisor's runsc, but --runtime ${rt.name} runs containers on the host's kernel: drop --runtime or name runsc`);
  } else {
    rt = newContainerRuntime(engine, runtime);
  }
  return rt;
}

/** Isolation as inspect shows it (HostConfig.Isolation). */
export function isolationOf(rt: Runtime): Isolation {
  return isSandbox(rt) ? 'sandbox' : 'default';
}

/**
 * What a rootless gVisor sandbox cannot do here, refused in one line
 * rather than run weaker (docs/security.md, "Sandbox isolation").
 */
export function checkSandboxable(spec: ContainerSpec, rt: Runtime): void {
  const what = `the sandbox (${rt.name})`;
  const limits = asked(spec.resources);
  if (limits.length) {
    // runsc runs with --ignore-cgroups: a rootless user has no cgroup it could configure, and a limit must not be dropped.
    throw new EngineError(`${limits.map((n) => n.flag).join(', ')} cannot be enforced under ${what}: rootless runsc runs without cgroups; run without ${limits.length > 1 ? 'them' : 'it'}, or without --isolation sandbox`);
  }
  if (spec.net.mode === 'host') {
    throw new EngineError(`--network host cannot be used with ${what}: gVisor's network stack needs a network namespace of its own; use the default network`);
  }
  if (spec.net.mode === 'pasta' || spec.net.mode === 'slirp4netns') {
    // Their published ports are forwarded to the host kernel's loopback in the container's namespace, which gVisor's stack does not see.
    throw new EngineError(`--network ${spec.net.mode} cannot be used with ${what}: use the default network or a named one`);
  }
  if (spec.net.mode === 'container') {
    throw new EngineError(`--network container: cannot be used with ${what}: gVisor's network stack owns its namespace's interface; use a named network to connect containers`);
  }
  const sec = spec.security;
  const unknown = sec && !sec.privileged && !sec.capAdd.includes('ALL') ? sec.capAdd.filter((c) => !knownCaps(true).includes(c)) : [];
  if (unknown.length) {
    throw new EngineError(`--cap-add ${unknown.join(', ')} cannot be used with ${what}: gVisor does not have ${unknown.length > 1 ? 'these capabilities' : 'that capability'}`);
  }
  if (spec.userns === 'keep-id') {
    throw new EngineError(`--userns keep-id cannot be used with ${what} here: run as --user $(id -u):$(id -g) instead`);
  }
}
