import { closeSync, openSync, readSync } from 'node:fs';

/**
 * Random bytes from the kernel. Used for ids instead of node:crypto, whose
 * loading costs several milliseconds on every `run`.
 */
export function randomHex(bytes: number): string {
  const buf = Buffer.alloc(bytes);
  const fd = openSync('/dev/urandom', 'r');
  try {
    readSync(fd, buf, 0, bytes, null);
  } finally {
    closeSync(fd);
  }
  return buf.toString('hex');
}

/** A uniform index below n (n well under 2^32). */
export function randomIndex(n: number): number {
  const v = parseInt(randomHex(4), 16);
  return v % n;
}
