import type { Engine } from '../engine.js';
import { containerSize } from '../containers/size.js';
import { isRunning } from '../containers/running.js';
import { containerStore, refreshStates } from '../containers/state.js';
import { listVolumes, volumeSize } from '../volumes/volumes.js';

/** One image in `system df -v`: layers shared with other images count in `sharedSize`. */
export interface ImageUsage {
  id: string;
  tags: string[];
  /** ms since the epoch */
  created: number;
  size: number;
  sharedSize: number;
  uniqueSize: number;
  /** How many containers use it. */
  containers: number;
}

export interface ContainerUsage {
  id: string;
  name: string;
  image: string;
  command: string[];
  created: number;
  state: string;
  running: boolean;
  /** What it wrote (its upper directory). */
  size: number;
  localVolumes: number;
}

export interface VolumeUsage {
  name: string;
  /** How many containers mount it. */
  links: number;
  size: number;
}

/** A row of `system df`: Docker's TOTAL, ACTIVE, SIZE and RECLAIMABLE (bytes). */
export interface UsageRow {
  count: number;
  active: number;
  size: number;
  reclaimable: number;
}

/** `system df`: what the store holds, sizes in bytes. */
export interface DiskUsage {
  /** Layers shared by several images are counted once; active: used by a container. */
  images: UsageRow;
  /** What the containers wrote (their upper directories); active: running. */
  containers: UsageRow;
  /** active: mounted by a container. */
  volumes: UsageRow;
  /** rootlet has no build cache yet: always empty (Docker's fourth row). */
  buildCache: UsageRow;
  /** Each item, for `system df -v`. */
  detail: { images: ImageUsage[]; containers: ContainerUsage[]; volumes: VolumeUsage[] };
}

/**
 * Sizes as Docker's `system df` counts them: an image's layers once each
 * (reclaimable: the layers only unused images hold), a container's writable
 * layer (reclaimable: those not running), a volume's files (reclaimable:
 * those no container mounts).
 */
export async function diskUsage(engine: Engine): Promise<DiskUsage> {
  const images = engine.images.list();
  const containers = refreshStates(engine, containerStore(engine).list());
  const usedImages = new Set(containers.map((c) => c.imageId));
  const layerUse = new Map<string, number>();
  for (const img of images) for (const l of new Set(img.layers)) layerUse.set(l, (layerUse.get(l) ?? 0) + 1);
  const allLayers = [...layerUse.keys()];
  const layerBytes = engine.images.layerSizes(allLayers);
  const sizes = new Map(allLayers.map((l, i) => [l, layerBytes[i] ?? 0] as const));
  const usedLayers = new Set(images.filter((i) => usedImages.has(i.id)).flatMap((i) => i.layers));
  const sum = (ls: Iterable<string>) => [...ls].reduce((a, l) => a + (sizes.get(l) ?? 0), 0);

  const imageDetail: ImageUsage[] = images.map((img) => {
    const layers = [...new Set(img.layers)];
    const shared = sum(layers.filter((l) => (layerUse.get(l) ?? 0) > 1));
    const size = sum(layers);
    return {
      id: img.id, tags: img.tags, created: img.created, size, sharedSize: shared, uniqueSize: size - shared,
      containers: containers.filter((c) => c.imageId === img.id).length,
    };
  });

  const containerDetail: ContainerUsage[] = [];
  for (const c of containers) {
    containerDetail.push({
      id: c.id, name: c.name, image: c.imageName, command: c.spec.args, created: c.created,
      state: c.state, running: isRunning(engine, c), size: (await containerSize(engine, c)).rw, localVolumes: c.spec.volumes.length,
    });
  }

  const volumeDetail: VolumeUsage[] = [];
  for (const v of listVolumes(engine)) volumeDetail.push({ name: v.name, links: v.usedBy.length, size: await volumeSize(engine, v) });

  const total = (xs: Array<{ size: number }>) => xs.reduce((a, x) => a + x.size, 0);
  return {
    images: {
      count: images.length,
      active: imageDetail.filter((i) => i.containers > 0).length,
      size: sum(allLayers),
      reclaimable: sum(allLayers.filter((l) => !usedLayers.has(l))),
    },
    containers: {
      count: containers.length,
      active: containerDetail.filter((c) => c.running).length,
      size: total(containerDetail),
      reclaimable: total(containerDetail.filter((c) => !c.running)),
    },
    volumes: {
      count: volumeDetail.length,
      active: volumeDetail.filter((v) => v.links > 0).length,
      size: total(volumeDetail),
      reclaimable: total(volumeDetail.filter((v) => v.links === 0)),
    },
    buildCache: { count: 0, active: 0, size: 0, reclaimable: 0 },
    detail: { images: imageDetail, containers: containerDetail, volumes: volumeDetail },
  };
}
