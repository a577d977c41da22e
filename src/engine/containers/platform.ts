import type { ImageRecord } from '../../image/store.js';
import { formatPlatform, parsePlatform } from '../../image/registry/manifest.js';
import { EngineError } from '../../util/errors.js';

/**
 * --platform at create: the image must be for the platform asked. An image
 * here of another platform is refused (a pull with the same --platform
 * fetches the right one), never run as if it were the one asked for.
 */
export function checkImagePlatform(image: ImageRecord, name: string, platform: string): void {
  if (imageIsFor(image, platform)) return;
  const want = parsePlatform(platform);
  const have = platformOf(image);
  throw new EngineError(`image ${name} is for ${formatPlatform(have)}, not the --platform asked (${formatPlatform(want)}): pull it with --platform ${formatPlatform(want)}, or use --pull always`);
}

function platformOf(image: ImageRecord) {
  return { os: image.config.os || 'linux', architecture: image.config.architecture, ...(image.config.variant ? { variant: image.config.variant } : {}) };
}

/** Whether the image is for os/arch[/variant] (arm64's only variant, v8, may be left out). */
export function imageIsFor(image: ImageRecord, platform: string): boolean {
  const want = parsePlatform(platform);
  const have = platformOf(image);
  const variantOk = !want.variant || want.variant === have.variant || (want.architecture === 'arm64' && want.variant === 'v8' && !have.variant);
  return have.os === want.os && have.architecture === want.architecture && variantOk;
}
