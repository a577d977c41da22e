import type { Engine } from '../engine.js';
import type { CallerContext } from '../context.js';
import type { ContainerService } from '../containers/service.js';
import type { PodService } from '../pods/service.js';
import type { GenerateRequest, GenerateResult } from './generate.js';
import type { PlayRequest, PlayResult } from './play.js';

export type { GenerateRequest, GenerateResult } from './generate.js';
export type { PlayRequest, PlayResult } from './play.js';
export type { PssViolation } from './pss.js';

/**
 * Kubernetes YAML out (`generate`: a manifest for containers or a pod
 * that run here) and in (`play`: Pods, Deployments, Services, ConfigMaps,
 * Secrets and claims as local pods, checked against the API's schema
 * first). Play creates through the pod and container services, so the
 * admin policy judges every container it makes.
 */
export class KubeService {
  constructor(private readonly engine: Engine, private readonly containers: ContainerService, private readonly pods: PodService) {}

  async generate(refs: string[], req: GenerateRequest = {}): Promise<GenerateResult> {
    const { generateKube } = await import('./generate.js');
    return generateKube(this.engine, refs, req);
  }

  /** `kube play`: the documents of `texts` (file contents, in order), or with `down` the removal of what they made. */
  async play(texts: Array<{ name: string; text: string }>, req: PlayRequest, ctx: CallerContext): Promise<PlayResult> {
    const { playKube } = await import('./play.js');
    return playKube(this.engine, this.containers, this.pods, texts, req, ctx);
  }
}
