import { hostname as osHostname } from 'node:os';
import { lockedFlags } from '../../storage/mountinfo.js';
import { checkOverlayDepth } from '../../storage/rootfs.js';
import { findInPath } from '../../util/proc.js';
import { osReason } from '../../util/os-errors.js';
import { checkSandboxable, requestedRuntime } from './isolation.js';
import { isSandbox } from '../../runtime/runtime.js';
import { buildSpec, newContainerId, type ContainerSpec, type VolumeMount } from './spec.js';
import { randomName, validateName } from './names.js';
import { securityFrom } from './security.js';
import type { CreateRequest } from './request.js';
import { ContainerStore, type ContainerRecord } from './store.js';
import type { Engine } from '../engine.js';
import { EngineError } from '../../util/errors.js';
import { bindSourceExists } from './bind-source.js';
import { checkResources } from './resources.js';
import { checkNetworkRefs } from '../networks/endpoints.js';
import { containerEvent, recordEvent } from '../events/log.js';
import { ensureVolume } from '../volumes/volumes.js';
import { askOf } from '../policy/check.js';
import { checkImagePlatform } from './platform.js';
import { podMembership } from '../pods/join.js';


/** Turns parsed -v entries into mounts: bind sources are created if missing (as Docker), volumes live in the store. */
function resolveVolumes(engine: Engine, parsed: VolumeMount[], spec: ContainerSpec): void {
  // Before any volume is made: a refusal leaves nothing behind.
  for (const v of parsed) {
    if (v.kind === 'bind' && v.mustExist && !bindSourceExists(v.source)) throw new EngineError(`invalid mount config for type "bind": bind source path does not exist: ${v.source}`);
  }
  for (const v of parsed) {
    const propagation = v.propagation ? [v.propagation] : [];
    if (v.kind === 'bind') {
      if (!bindSourceExists(v.source)) {
        try {
          // Made for the container: its root owns it (for host root, a subordinate id).
          engine.mkdirForNs(v.source, 0o755);
        } catch (err) {
          throw new EngineError(`bind mount source ${v.source} does not exist and cannot be created: mkdir ${v.source}: ${osReason(err)}`);
        }
      }
      const options = ['rbind', ...propagation];
      if (v.readonly) options.push('ro', ...lockedFlags(v.source));
      spec.mounts.push({ type: 'bind', source: v.source, destination: v.destination, options });
      continue;
    }
    const name = v.kind === 'named' ? v.source : newContainerId();
    const { data } = ensureVolume(engine, { name, anonymous: v.kind === 'anonymous', ...(v.options ? { options: v.options } : {}) });
    spec.volumes.push({ name, anonymous: v.kind === 'anonymous' });
    spec.mounts.push({ type: 'bind', source: data, destination: v.destination, options: ['rbind', ...propagation, ...(v.readonly ? ['ro'] : [])] });
  }
}

/** Creates the container's record and spec; nothing runs yet. */
export function createContainer(engine: Engine, opts: CreateRequest): ContainerRecord {
  const image = engine.images.resolve(opts.image);
  if (opts.platform) checkImagePlatform(image, opts.image, opts.platform);
  const id = newContainerId();
  if (engine.storageDriver() === 'overlay') checkOverlayDepth(image.layers.length);
  const { spec, volumes } = buildSpec(opts, image, {
    id,
    isRoot: engine.id.uid === 0,
    driver: engine.storageDriver(),
    hostHostname: osHostname(),
    defaultEnv: engine.config.containers.env,
  });
  const runtime = requestedRuntime(engine, spec.runtime, opts.host?.isolation);
  spec.security = securityFrom(engine, opts.host ?? {}, runtime.name);
  // After the security settings: what the sandbox cannot honour is judged on them too.
  if (isSandbox(runtime)) checkSandboxable(spec, runtime);
  spec.runtime = runtime.name;
  spec.policy = askOf(opts);
  if (opts.pod) spec.pod = podMembership(engine, opts.pod, spec);
  checkNetworkRefs(engine, spec.net);
  checkResources(spec.resources, engine.id.uid);
  if (spec.init && !findInPath('catatonit')) throw new EngineError('--init needs catatonit: install the Debian package catatonit');
  resolveVolumes(engine, volumes, spec);
  const store = new ContainerStore(engine.db);
  const rec: ContainerRecord = {
    id,
    name: opts.name ? validateName(opts.name) : randomName(),
    imageId: image.id,
    imageName: opts.image,
    created: Date.now(),
    state: 'created',
    restartCount: 0,
    stoppedByUser: false,
    spec,
  };
  for (let attempt = 0; ; attempt++) {
    try {
      store.insert(rec);
      break;
    } catch (err) {
      if (opts.name || attempt > 20) throw err;
      rec.name = `${randomName()}${attempt > 5 ? `_${attempt}` : ''}`;
    }
  }
  recordEvent(engine, containerEvent(rec, 'create'));
  return rec;
}

