/**
 * The Pod Security Standards' checks (kubernetes.io's "baseline" and
 * "restricted" profiles) over a pod spec, as the Pod Security Admission
 * controller applies them: each breach names the field's path, the
 * profile it breaks and the value that does. Used by `kube generate` on
 * what it writes (and `--check-pss`), so a user sees before a cluster
 * refuses the manifest.
 */

export type PssProfile = 'baseline' | 'restricted';

export interface PssViolation {
  profile: PssProfile;
  /** The field, as a path from the document's root (spec.containers[0].securityContext.privileged). */
  path: string;
  /** What is wrong with it, in a few words. */
  detail: string;
}

/** Capabilities baseline lets a container add (the container runtimes' default set). */
const BASELINE_CAPS = new Set(['AUDIT_WRITE', 'CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'KILL', 'MKNOD', 'NET_BIND_SERVICE', 'SETFCAP', 'SETGID', 'SETPCAP', 'SETUID', 'SYS_CHROOT']);
/** Volume types restricted allows. */
const RESTRICTED_VOLUMES = ['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret'];

type Obj = Record<string, unknown>;

function obj(v: unknown): Obj {
  return v && typeof v === 'object' && !Array.isArray(v) ? v as Obj : {};
}

/** Checks a pod spec found at `base` (spec, or spec.template.spec for a Deployment). */
export function checkPodSecurity(podSpec: Obj, base: string): PssViolation[] {
  const out: PssViolation[] = [];
  const add = (profile: PssProfile, path: string, detail: string) => out.push({ profile, path: `${base}.${path}`, detail });
  for (const k of ['hostNetwork', 'hostPID', 'hostIPC']) if (podSpec[k] === true) add('baseline', k, 'shares a namespace of the host');
  const podSec = obj(podSpec.securityContext);
  const podSeccomp = obj(podSec.seccompProfile).type as string | undefined;
  if (podSeccomp === 'Unconfined') add('baseline', 'securityContext.seccompProfile.type', 'Unconfined: no seccomp filter');
  const volumes = Array.isArray(podSpec.volumes) ? podSpec.volumes as Obj[] : [];
  volumes.forEach((v, i) => {
    if (v.hostPath) add('baseline', `volumes[${i}].hostPath`, 'a directory of the host');
    const type = Object.keys(v).find((k) => k !== 'name');
    if (type && !type.startsWith('host') && !RESTRICTED_VOLUMES.includes(type)) add('restricted', `volumes[${i}].${type}`, `volume type ${type} is not among restricted's`);
  });
  const containers = Array.isArray(podSpec.containers) ? podSpec.containers as Obj[] : [];
  containers.forEach((c, i) => {
    const at = `containers[${i}]`;
    const sec = obj(c.securityContext);
    if (sec.privileged === true) add('baseline', `${at}.securityContext.privileged`, 'true (--privileged): every capability, no confinement');
    const caps = obj(sec.capabilities);
    const added = Array.isArray(caps.add) ? caps.add as string[] : [];
    const dropped = Array.isArray(caps.drop) ? caps.drop as string[] : [];
    const names = added.map((cap) => cap.replace(/^CAP_/, ''));
    const beyond = names.filter((n) => !BASELINE_CAPS.has(n));
    const more = names.filter((n) => BASELINE_CAPS.has(n) && n !== 'NET_BIND_SERVICE');
    if (beyond.length) add('baseline', `${at}.securityContext.capabilities.add`, `${beyond.join(', ')} beyond the default set (--cap-add)`);
    else if (more.length) add('restricted', `${at}.securityContext.capabilities.add`, `${more.join(', ')}: restricted adds only NET_BIND_SERVICE (a root container has the default set)`);
    if (!dropped.includes('ALL')) add('restricted', `${at}.securityContext.capabilities.drop`, 'must drop ALL');
    (Array.isArray(c.ports) ? c.ports as Obj[] : []).forEach((p, j) => {
      if (p.hostPort && p.hostPort !== 0) add('baseline', `${at}.ports[${j}].hostPort`, `${String(p.hostPort)}: a port of the host (publish through a Service: --service)`);
    });
    if (sec.allowPrivilegeEscalation !== false) add('restricted', `${at}.securityContext.allowPrivilegeEscalation`, 'must be false');
    const seccomp = (obj(sec.seccompProfile).type as string | undefined) ?? podSeccomp;
    if (seccomp === 'Unconfined' && obj(sec.seccompProfile).type) add('baseline', `${at}.securityContext.seccompProfile.type`, 'Unconfined: no seccomp filter');
    if (seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost') add('restricted', `${at}.securityContext.seccompProfile.type`, 'must be RuntimeDefault or Localhost');
    const nonRoot = sec.runAsNonRoot ?? podSec.runAsNonRoot;
    if (nonRoot !== true) add('restricted', `${at}.securityContext.runAsNonRoot`, 'must be true: the container runs as root');
    const uid = sec.runAsUser ?? podSec.runAsUser;
    if (uid === 0) add('restricted', `${at}.securityContext.runAsUser`, 'must not be 0');
  });
  // One line per field: a field that breaks baseline is not said again for restricted.
  return out.filter((v, i) => v.profile === 'baseline' || !out.some((o, j) => j !== i && o.path === v.path && o.profile === 'baseline'));
}

/** The profile a manifest meets: restricted, baseline, or privileged (neither). */
export function pssLevel(violations: PssViolation[]): 'restricted' | 'baseline' | 'privileged' {
  if (violations.some((v) => v.profile === 'baseline')) return 'privileged';
  return violations.length ? 'baseline' : 'restricted';
}
