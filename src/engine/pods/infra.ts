import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { Readable } from 'node:stream';
import * as tar from 'tar-stream';
import type { Engine } from '../engine.js';
import { EngineError } from '../../util/errors.js';
import { findInPath } from '../../util/proc.js';

/** The infra image's repository; its tag is the catatonit binary's hash, so an upgraded catatonit makes a new image. */
export const INFRA_REPO = 'localhost/rootlet-infra';

/**
 * The pod's infra image: one layer holding the host's catatonit (a static
 * binary) run as `catatonit -P`, which only waits: the process that keeps
 * the pod's namespaces alive costs a few hundred KiB of memory and pulls
 * nothing. Made on first use, from the host's own binary.
 */
export async function ensureInfraImage(engine: Engine): Promise<string> {
  const bin = findInPath('catatonit');
  if (!bin) throw new EngineError('pods need catatonit (their infra process): install the Debian package catatonit');
  const data = readFileSync(bin);
  const ref = `${INFRA_REPO}:${createHash('sha256').update(data).digest('hex').slice(0, 12)}`;
  try {
    engine.images.resolve(ref);
    return ref;
  } catch { /* not made yet */ }
  const pack = tar.pack();
  for (const dir of ['dev', 'proc', 'sys', 'etc']) pack.entry({ name: `${dir}/`, type: 'directory', mode: 0o755, uid: 0, gid: 0 });
  pack.entry({ name: 'catatonit', mode: 0o755, uid: 0, gid: 0, mtime: statSync(bin).mtime }, data);
  pack.finalize();
  const { importImage } = await import('../images/lifecycle.js');
  await importImage(engine, {
    // tar-stream's pack is a streamx stream: node's Readable wraps its async iterator.
    source: Readable.from(pack),
    reference: ref,
    changes: ['ENTRYPOINT ["/catatonit", "-P"]', 'LABEL io.rootlet.infra=true'],
    message: 'rootlet pod infra (catatonit -P)',
    warn: () => {},
  });
  return ref;
}
