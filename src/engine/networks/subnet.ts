import { EngineError } from '../../util/errors.js';

/** An IPv4 subnet: base and last address as numbers. */
export interface Subnet {
  cidr: string;
  base: number;
  last: number;
  prefix: number;
}

export function ipToNum(ip: string): number | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(ip);
  if (!m) return undefined;
  const o = m.slice(1).map(Number);
  if (o.some((x) => x > 255)) return undefined;
  return ((o[0]! << 24) >>> 0) + (o[1]! << 16) + (o[2]! << 8) + o[3]!;
}

export function numToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** Parses A.B.C.D/N (IPv4 only: the bridge and the stacks are IPv4 here). */
export function parseSubnet(cidr: string): Subnet {
  const [ip, bits] = cidr.split('/');
  const base = ipToNum(ip ?? '');
  const prefix = Number(bits);
  if (base === undefined || !/^\d+$/.test(bits ?? '') || prefix < 8 || prefix > 30) {
    throw new EngineError(`invalid subnet "${cidr}": use an IPv4 network such as 10.90.0.0/24 (prefix 8 to 30)`);
  }
  const size = 2 ** (32 - prefix);
  const start = base - (base % size);
  if (start !== base) throw new EngineError(`invalid subnet "${cidr}": the address has host bits set (did you mean ${numToIp(start)}/${prefix}?)`);
  return { cidr: `${numToIp(base)}/${prefix}`, base, last: base + size - 1, prefix };
}

/** The subnet's usable addresses (neither the network's own nor the broadcast address). */
export function hostAddresses(s: Subnet) {
  return {
    first: numToIp(s.base + 1),
    contains(ip: string): boolean {
      const n = ipToNum(ip);
      return n !== undefined && n > s.base && n < s.last;
    },
    firstFree(taken: Set<string>): string | undefined {
      for (let n = s.base + 1; n < s.last; n++) if (!taken.has(numToIp(n))) return numToIp(n);
      return undefined;
    },
  };
}
