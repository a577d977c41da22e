import { ftruncateSync, writeSync } from 'node:fs';
import { Transform } from 'node:stream';

/**
 * GNU sparse files in a tar, which tar-stream does not understand: it
 * reads the old GNU format's type 'S' as an unknown type (and misreads the
 * extension blocks that follow its header as data), and keeps only the last
 * of PAX format 0.0's repeated GNU.sparse.offset/numbytes records.
 *
 * TarFramer sits in front of tar-stream and follows the tar block by block,
 * with tar-stream's own rules for where an entry's data ends. It takes out
 * what tar-stream would misread (old GNU extension blocks) and notes, by the
 * offset at which an entry's data starts (tar-stream's header.byteOffset),
 * what tar-stream cannot tell: the old GNU sparse map, the PAX 0.0 records in
 * order, and the raw type of an entry of a type tar-stream does not know.
 * sparsePlanOf then reads the format from those notes and the PAX records,
 * and SparseWriter writes the data where the map says, leaving the holes
 * unwritten (sparse on disk where the file system can).
 *
 * Formats: GNU's tar manual, "Storing Sparse Files"; Go's archive/tar reads
 * the same ones with the same checks.
 */

export interface SparseSegment { offset: number; size: number }

/** What the framer saw of one entry that tar-stream cannot tell. */
export interface FramedEntry {
  /** The raw type flag (a character), for a type tar-stream does not know. */
  typeflag: string;
  /** The raw header's name field: enough to name an entry whose header is bad. */
  rawName: string;
  /** Old GNU format: the map from the header and its extension blocks, and the real size. */
  gnu?: { map: SparseSegment[]; realSize: number };
  /** PAX 0.0: offset, numbytes, offset, ... in archive order; 'malformed' when they do not alternate. */
  pax00?: string[] | 'malformed';
  /**
   * The entry's SCHILY.xattr.* records, name and value byte for byte. tar-stream decodes every PAX
   * value as UTF-8, which turns a byte above 0x7f (a capability bit, a binary user.* value) into U+FFFD.
   */
  xattrs?: Array<[string, Buffer]>;
}

/** A sparse map that cannot be right, or that names data the entry does not have. */
export class SparseError extends Error {}

const BLOCK = 512;
/** Larger PAX headers are refused by tar-stream (and so are not ours to read). */
const MAX_PAX = 4 << 20;
/** At most this many bytes of sparse map (text in format 1.0, extension blocks in the old format), as Go's archive/tar. */
const MAX_MAP_BYTES = 1 << 20;
const KNOWN_TYPES = new Set(['0', '\0', '1', '2', '3', '4', '5', '6', '7']);

const padded = (n: number) => Math.ceil(n / BLOCK) * BLOCK;

/** A numeric header field: octal text, or base-256 when the top bit is set (as tar-stream). NaN when unreadable. */
export function headerNumber(b: Buffer, off: number, len: number): number {
  const f = b.subarray(off, off + len);
  if (f[0]! & 0x80) {
    if (f[0] !== 0x80) return NaN;
    let n = 0;
    for (let i = 1; i < f.length; i++) n = n * 256 + f[i]!;
    return Number.isSafeInteger(n) ? n : NaN;
  }
  const s = f.toString('latin1').replace(/\0.*$/s, '').trim();
  if (s === '') return 0;
  return /^[0-7]+$/.test(s) ? parseInt(s, 8) : NaN;
}

function checksumOk(b: Buffer): boolean {
  let sum = 8 * 32;
  for (let i = 0; i < 148; i++) sum += b[i]!;
  for (let i = 156; i < BLOCK; i++) sum += b[i]!;
  return sum === headerNumber(b, 148, 8);
}

const XATTR_KEY = 'SCHILY.xattr.';

/**
 * PAX records (`LEN key=value\n`) in order; repeated keys stay repeated. Values are UTF-8 text but
 * for SCHILY.xattr.*, which carry bytes and are kept as they are (latin1: one character per byte).
 */
function paxRecords(buf: Buffer): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  let off = 0;
  while (off < buf.length) {
    const sp = buf.indexOf(0x20, off);
    if (sp < 0) break;
    const len = parseInt(buf.toString('latin1', off, sp), 10);
    if (!(len > 0) || off + len > buf.length) break;
    const eq = buf.indexOf(0x3d, sp + 1);
    if (eq < 0 || eq >= off + len - 1) break;
    const key = buf.toString('utf8', sp + 1, eq);
    out.push([key, buf.toString(key.startsWith(XATTR_KEY) ? 'latin1' : 'utf8', eq + 1, off + len - 1)]);
    off += len;
  }
  return out;
}

/** Up to `count` (offset, numbytes) pairs of 12-byte fields from `at`; an all-zero pair ends the list. */
function gnuPairs(b: Buffer, at: number, count: number, into: SparseSegment[]): void {
  for (let i = 0; i < count; i++) {
    const p = at + i * 24;
    if (b.subarray(p, p + 24).every((x) => x === 0)) return;
    into.push({ offset: headerNumber(b, p, 12), size: headerNumber(b, p + 12, 12) });
  }
}

export class TarFramer extends Transform {
  /** Notes on entries, by the offset of their data in what this stream passes on. */
  private readonly notes = new Map<number, FramedEntry>();
  private out = 0;
  private part = Buffer.alloc(BLOCK);
  private partLen = 0;
  /** Bytes to pass on as they come (an entry's data and padding). */
  private skip = 0;
  /** The PAX header being read (its data collected while passed on). */
  private pax: { global: boolean; chunks: Buffer[]; size: number } | undefined;
  private localPax: Array<[string, string]> | undefined;
  private globalPax: Record<string, string> | undefined;
  /** An old GNU sparse header whose extension blocks are being read (and dropped). */
  private ext: { note: FramedEntry; map: SparseSegment[]; size: number; blocks: number } | undefined;
  /** After something tar-stream will refuse: pass the rest on unread and let it say what. */
  private lost = false;

  /** What the framer noted about the entry whose data starts at `byteOffset`, once. */
  noteAt(byteOffset: number): FramedEntry | undefined {
    const n = this.notes.get(byteOffset);
    this.notes.delete(byteOffset);
    return n;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    try {
      this.feed(chunk);
      cb();
    } catch (e) {
      cb(e as Error);
    }
  }

  override _flush(cb: (err?: Error | null) => void): void {
    // Ending inside the extension blocks is a truncated archive; a partial block is for tar-stream to refuse.
    if (this.ext) { cb(new Error('Unexpected end of data')); return; }
    if (this.partLen) this.send(this.part.subarray(0, this.partLen));
    cb();
  }

  private send(b: Buffer): void {
    this.out += b.length;
    this.push(b);
  }

  private feed(chunk: Buffer): void {
    let off = 0;
    while (off < chunk.length) {
      if (this.lost) {
        this.send(chunk.subarray(off));
        return;
      }
      if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length - off);
        const piece = chunk.subarray(off, off + n);
        if (this.pax) this.pax.chunks.push(Buffer.from(piece));
        this.send(piece);
        this.skip -= n;
        off += n;
        if (this.skip === 0 && this.pax) this.endPax();
        continue;
      }
      const n = Math.min(BLOCK - this.partLen, chunk.length - off);
      chunk.copy(this.part, this.partLen, off, off + n);
      this.partLen += n;
      off += n;
      if (this.partLen < BLOCK) return;
      this.partLen = 0;
      const block = this.part;
      this.part = Buffer.alloc(BLOCK);
      if (this.ext) this.extension(block);
      else this.header(block);
    }
  }

  private endPax(): void {
    const { global, chunks, size } = this.pax!;
    this.pax = undefined;
    const records = paxRecords(Buffer.concat(chunks).subarray(0, size));
    if (global) this.globalPax = Object.fromEntries(records);
    else this.localPax = records;
  }

  private header(b: Buffer): void {
    this.send(b);
    if (b.every((x) => x === 0)) return;
    // tar-stream refuses these; from here on it is not ours to follow.
    const magic = b.toString('latin1', 257, 263);
    if (!checksumOk(b) || (magic !== 'ustar\0' && magic !== 'ustar ')) {
      this.lost = true;
      return;
    }
    const flag = String.fromCharCode(b[156]!);
    const headerSize = headerNumber(b, 124, 12);
    if (flag === 'x' || flag === 'g') {
      if (!(headerSize >= 0) || headerSize > MAX_PAX) { this.lost = true; return; }
      this.pax = { global: flag === 'g', chunks: [], size: headerSize };
      this.skip = padded(headerSize);
      if (this.skip === 0) this.endPax();
      return;
    }
    if (flag === 'L' || flag === 'K' || flag === 'N') {
      if (!(headerSize >= 0)) { this.lost = true; return; }
      this.skip = padded(headerSize);
      return;
    }
    // The entry itself: tar-stream applies a local PAX header (merged over the global one) to it.
    const local = this.localPax;
    this.localPax = undefined;
    const merged = local ? { ...this.globalPax, ...Object.fromEntries(local) } : undefined;
    const size = merged?.size ? parseInt(merged.size, 10) : headerSize;
    if (!(size >= 0)) { this.lost = true; return; }
    const nameField = b.toString('latin1', 0, 100).replace(/\0.*$/s, '');
    const note: FramedEntry = { typeflag: flag, rawName: nameField };
    if (local?.some(([k]) => k === 'GNU.sparse.offset' || k === 'GNU.sparse.numbytes')) note.pax00 = pax00Map(local);
    const xattrs = Object.entries(merged ?? {}).filter(([k]) => k.startsWith(XATTR_KEY));
    if (xattrs.length) note.xattrs = xattrs.map(([k, v]) => [k.slice(XATTR_KEY.length), Buffer.from(v, 'latin1')]);
    const hasPrefix = magic === 'ustar\0' && b[345] !== 0;
    // tar-stream: a regular file whose raw name ends in "/" is a directory, and a directory's data is not skipped.
    const isDir = flag === '5' || ((flag === '0' || flag === '\0') && (nameField ? nameField.endsWith('/') : hasPrefix));
    if (flag === 'S') {
      const map: SparseSegment[] = [];
      gnuPairs(b, 386, 4, map);
      note.gnu = { map, realSize: headerNumber(b, 483, 12) };
      if (b[482]) {
        // Extension blocks follow the header and are not counted in its size: tar-stream would read them as data.
        this.ext = { note, map, size, blocks: 0 };
        return;
      }
    }
    this.noteEntry(note);
    this.skip = isDir ? 0 : padded(size);
  }

  private noteEntry(note: FramedEntry): void {
    if (note.gnu || note.pax00 || note.xattrs || !KNOWN_TYPES.has(note.typeflag)) this.notes.set(this.out, note);
  }

  private extension(b: Buffer): void {
    const ext = this.ext!;
    if (++ext.blocks * BLOCK > MAX_MAP_BYTES) {
      throw new SparseError(`sparse file "${ext.note.rawName}" has more than ${MAX_MAP_BYTES} bytes of sparse map: refusing the layer`);
    }
    gnuPairs(b, 0, 21, ext.map);
    if (b[504]) return;
    this.ext = undefined;
    this.noteEntry(ext.note);
    this.skip = padded(ext.size);
  }
}

/** Format 0.0's offset and numbytes records, in order, as Go's archive/tar checks them: they must alternate. */
function pax00Map(records: Array<[string, string]>): string[] | 'malformed' {
  const out: string[] = [];
  for (const [k, v] of records) {
    if (k !== 'GNU.sparse.offset' && k !== 'GNU.sparse.numbytes') continue;
    if ((out.length % 2 === 0) !== (k === 'GNU.sparse.offset') || v.includes(',')) return 'malformed';
    out.push(v);
  }
  return out;
}

/** How to write one sparse entry: the real name and size, and the map unless it is at the start of the data (1.0). */
export interface SparsePlan {
  format: string;
  name?: string;
  realSize: number;
  map?: SparseSegment[];
}

const decimal = (s: string | undefined): number => (s !== undefined && /^\d{1,16}$/.test(s) ? Number(s) : NaN);

/**
 * The sparse format of an entry, from what the framer noted and its PAX
 * records; undefined for an ordinary entry. Throws SparseError (naming the
 * entry) for a format version it does not know or a map it cannot read.
 */
export function sparsePlanOf(name: string, note: FramedEntry | undefined, pax: Record<string, string>): SparsePlan | undefined {
  const bad = (why: string) => new SparseError(`sparse file "${pax['GNU.sparse.name'] || name}" ${why}: refusing the layer`);
  if (note?.gnu) return { format: 'GNU', realSize: note.gnu.realSize, map: note.gnu.map };
  const major = pax['GNU.sparse.major'];
  const minor = pax['GNU.sparse.minor'];
  let version: string;
  if (major !== undefined || minor !== undefined) version = `${major ?? ''}.${minor ?? ''}`;
  else if (pax['GNU.sparse.map'] !== undefined) version = '0.1';
  else if (note?.pax00 !== undefined || pax['GNU.sparse.numblocks'] !== undefined) version = '0.0';
  else return undefined;
  if (version !== '0.0' && version !== '0.1' && version !== '1.0') throw bad(`uses GNU sparse format ${version}, which rootlet does not know`);
  const realSize = decimal(pax['GNU.sparse.size'] ?? pax['GNU.sparse.realsize']);
  if (Number.isNaN(realSize)) throw bad('has no readable real size (GNU.sparse.size or GNU.sparse.realsize)');
  const plan: SparsePlan = { format: `PAX ${version}`, realSize, ...(pax['GNU.sparse.name'] ? { name: pax['GNU.sparse.name'] } : {}) };
  if (version === '1.0') return plan;
  let fields: string[];
  if (version === '0.1' || (pax['GNU.sparse.map'] !== undefined && note?.pax00 === undefined)) {
    fields = (pax['GNU.sparse.map'] ?? '').split(',');
    if (fields.length === 1 && fields[0] === '') fields = [];
  } else {
    if (note?.pax00 === 'malformed' || note?.pax00 === undefined) throw bad('has GNU.sparse.offset and GNU.sparse.numbytes records that do not alternate');
    fields = note.pax00;
  }
  if (fields.length % 2) throw bad('has a sparse map with an odd number of fields');
  plan.map = [];
  for (let i = 0; i < fields.length; i += 2) plan.map.push({ offset: decimal(fields[i]), size: decimal(fields[i + 1]) });
  return plan;
}

/** Checks a map against the real size and the data stored: every segment inside the file, in order, not overlapping. */
function checkMap(name: string, map: SparseSegment[], realSize: number, dataSize: number): void {
  const bad = (why: string) => new SparseError(`sparse file "${name}" has a sparse map that ${why}: refusing the layer`);
  if (!Number.isSafeInteger(realSize) || realSize < 0) throw bad('gives no valid real size');
  let end = 0;
  let total = 0;
  for (const s of map) {
    if (!Number.isSafeInteger(s.offset) || !Number.isSafeInteger(s.size) || s.offset < 0 || s.size < 0) throw bad('holds a field that is not a number');
    if (s.offset < end) throw bad(`is out of order or overlaps itself at offset ${s.offset}`);
    end = s.offset + s.size;
    if (end > realSize) throw bad(`points beyond the file's real size (${end} > ${realSize})`);
    total += s.size;
  }
  if (total !== dataSize) throw bad(`covers ${total} bytes where the archive stores ${dataSize}`);
}

/**
 * Writes one sparse entry's data into `fd` at the offsets its map gives,
 * seeking over the holes, then sets the real size. Format 1.0's map is read
 * first from the start of the data (decimal lines, padded to a block).
 */
export class SparseWriter {
  private map: SparseSegment[] | undefined;
  private seg = 0;
  private segDone = 0;
  private head: Buffer[] = [];
  private headLen = 0;
  /** Bytes of padding after a 1.0 map still to skip. */
  private pad = 0;

  constructor(private readonly fd: number, private readonly name: string, private readonly plan: SparsePlan, private readonly storedSize: number) {
    if (plan.map) {
      checkMap(name, plan.map, plan.realSize, storedSize);
      this.map = plan.map;
    }
  }

  write(chunk: Buffer): void {
    let data = chunk;
    if (!this.map) {
      data = this.readMap(chunk);
      if (!this.map) return;
    }
    if (this.pad) {
      const n = Math.min(this.pad, data.length);
      this.pad -= n;
      data = data.subarray(n);
    }
    let off = 0;
    while (off < data.length) {
      const s = this.map[this.seg];
      // checkMap made the map cover exactly the data stored: more data cannot come.
      if (!s) throw new SparseError(`sparse file "${this.name}" has more data than its sparse map covers: refusing the layer`);
      const n = Math.min(s.size - this.segDone, data.length - off);
      let w = 0;
      while (w < n) w += writeSync(this.fd, data, off + w, n - w, s.offset + this.segDone + w);
      off += n;
      this.segDone += n;
      if (this.segDone === s.size) {
        this.seg++;
        this.segDone = 0;
      }
      // Zero-length segments (GNU tar ends a map with one at the real size) hold nothing.
      while (this.map[this.seg]?.size === 0) this.seg++;
    }
  }

  /** Collects format 1.0's map; returns what follows it in this chunk. */
  private readMap(chunk: Buffer): Buffer {
    this.head.push(chunk);
    this.headLen += chunk.length;
    const text = Buffer.concat(this.head);
    const lines: string[] = [];
    let pos = 0;
    let count = -1;
    for (;;) {
      const nl = text.indexOf(0x0a, pos);
      if (nl < 0) break;
      lines.push(text.toString('latin1', pos, nl));
      pos = nl + 1;
      if (lines.length === 1) count = decimal(lines[0]);
      if (Number.isNaN(count)) throw new SparseError(`sparse file "${this.name}" starts with a sparse map whose entry count is not a number: refusing the layer`);
      if (lines.length === 1 + 2 * count) break;
    }
    if (count < 0 || lines.length < 1 + 2 * count) {
      if (this.headLen > MAX_MAP_BYTES || this.headLen >= this.storedSize) {
        throw new SparseError(`sparse file "${this.name}" has no complete sparse map at the start of its data: refusing the layer`);
      }
      return Buffer.alloc(0);
    }
    const map: SparseSegment[] = [];
    for (let i = 1; i < lines.length; i += 2) map.push({ offset: decimal(lines[i]), size: decimal(lines[i + 1]) });
    const mapBytes = padded(pos);
    if (mapBytes > this.storedSize) throw new SparseError(`sparse file "${this.name}" has a sparse map longer than its data: refusing the layer`);
    checkMap(this.name, map, this.plan.realSize, this.storedSize - mapBytes);
    this.map = map;
    while (this.map[this.seg]?.size === 0) this.seg++;
    this.head = [];
    this.pad = mapBytes - pos;
    return text.subarray(pos);
  }

  /** After the last byte: the map must be complete, and the file gets its real size (its trailing hole). */
  finish(): void {
    if (!this.map) throw new SparseError(`sparse file "${this.name}" has no complete sparse map at the start of its data: refusing the layer`);
    ftruncateSync(this.fd, this.plan.realSize);
  }
}
