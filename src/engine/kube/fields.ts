/**
 * The fields `kube play` knows, per object: a field not listed is refused
 * with its path (a manifest that asks for something rootlet would not do
 * must not run as if it had been done). `true` is a leaf (its value is
 * checked where it is used), an object lists the fields under it, and
 * `[x]` an array of x.
 */
export type Shape = true | { [field: string]: Shape } | [Shape];

const metadata: Shape = { name: true, namespace: true, labels: true, annotations: true, generateName: true, uid: true, creationTimestamp: true, resourceVersion: true };
const keyRef: Shape = { name: true, key: true, optional: true };
const probe: Shape = {
  exec: { command: true }, httpGet: { path: true, port: true, scheme: true, host: true, httpHeaders: true }, tcpSocket: { port: true, host: true },
  periodSeconds: true, timeoutSeconds: true, failureThreshold: true, initialDelaySeconds: true, successThreshold: true,
};
const capabilities: Shape = { add: true, drop: true };
const seccompProfile: Shape = { type: true, localhostProfile: true };
const container: Shape = {
  name: true, image: true, command: true, args: true, workingDir: true, stdin: true, tty: true, imagePullPolicy: true,
  terminationMessagePath: true, terminationMessagePolicy: true,
  env: [{ name: true, value: true, valueFrom: { configMapKeyRef: keyRef, secretKeyRef: keyRef } }],
  envFrom: [{ prefix: true, configMapRef: { name: true, optional: true }, secretRef: { name: true, optional: true } }],
  ports: [{ name: true, containerPort: true, hostPort: true, hostIP: true, protocol: true }],
  volumeMounts: [{ name: true, mountPath: true, readOnly: true }],
  resources: { limits: true, requests: true },
  livenessProbe: probe, readinessProbe: probe, startupProbe: probe,
  securityContext: {
    privileged: true, allowPrivilegeEscalation: true, runAsUser: true, runAsGroup: true, runAsNonRoot: true,
    readOnlyRootFilesystem: true, capabilities, seccompProfile,
  },
};
const podSpec: Shape = {
  containers: [container],
  volumes: [{
    name: true,
    persistentVolumeClaim: { claimName: true, readOnly: true },
    hostPath: { path: true, type: true },
    emptyDir: { medium: true, sizeLimit: true },
    configMap: { name: true, items: [{ key: true, path: true }], optional: true, defaultMode: true },
    secret: { secretName: true, items: [{ key: true, path: true }], optional: true, defaultMode: true },
  }],
  restartPolicy: true, hostname: true, hostNetwork: true, terminationGracePeriodSeconds: true, dnsPolicy: true,
  securityContext: { runAsUser: true, runAsGroup: true, runAsNonRoot: true, seccompProfile },
};

export const SHAPES: Record<string, Shape> = {
  Pod: { apiVersion: true, kind: true, metadata, spec: podSpec, status: true },
  Deployment: {
    apiVersion: true, kind: true, metadata, status: true,
    spec: { replicas: true, selector: { matchLabels: true }, template: { metadata, spec: podSpec }, strategy: true, revisionHistoryLimit: true },
  },
  Service: {
    apiVersion: true, kind: true, metadata, status: true,
    spec: { selector: true, type: true, ports: [{ name: true, port: true, targetPort: true, protocol: true, nodePort: true }] },
  },
  ConfigMap: { apiVersion: true, kind: true, metadata, data: true, binaryData: true, immutable: true },
  Secret: { apiVersion: true, kind: true, metadata, data: true, stringData: true, type: true, immutable: true },
  PersistentVolumeClaim: {
    apiVersion: true, kind: true, metadata, status: true,
    spec: { accessModes: true, resources: true, storageClassName: true, volumeMode: true },
  },
};

/** The paths of fields the shape does not have (spec.containers[0].lifecycle). */
export function unknownFields(value: unknown, shape: Shape, path: string): string[] {
  if (shape === true || value === null || value === undefined) return [];
  if (Array.isArray(shape)) return Array.isArray(value) ? value.flatMap((v, i) => unknownFields(v, shape[0], `${path}[${i}]`)) : [];
  if (typeof value !== 'object' || Array.isArray(value)) return [];
  const out: string[] = [];
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    const at = path ? `${path}.${k}` : k;
    const sub = shape[k];
    if (sub === undefined) out.push(at);
    else out.push(...unknownFields(v, sub, at));
  }
  return out;
}
