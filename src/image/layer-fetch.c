/*
 * rootlet-layer-fetch: one pulled layer, from a registry's socket (HTTP or
 * HTTPS, following its redirects) into the store, in one process and one
 * pass. Runs inside the user's namespace (nsenter), as the Node helper
 * `__fetch-layer` does, and ends the same way: the same files, owners,
 * modes, times, whiteouts and xattrs, the same refusals in the same words
 * (src/image/extract.ts is the reference; test/integration/pull-native.test.ts
 * compares the two; layer-fetch-hostile.test.ts feeds it damaged layers).
 *
 * Why C: on two cores four layers at once are CPU-bound, and the Node
 * helper spent ~0.45 s of CPU per 50 MB layer (its start, the stream
 * machinery, zlib's thread hand-offs) where GNU tar takes ~0.28 s.
 * docs/decisions.md, "Pull: measured choices".
 *
 *   rootlet-layer-fetch DEST BLOB IDLIMIT fail|root DIGEST SIZE HOST PORT http|https verify|noverify
 *
 * stdin: the HTTP request head, as the CLI wrote it (the Authorization
 * never on a command line), then three parts each after a NUL: the PEM
 * certificates to trust with verify, exactly the CLI's list (node's,
 * ROOTLET_EXTRA_CA_CERTS, the registry's certs.d), so that this program
 * trusts what the CLI trusts; and the client certificate and its key
 * (certs.d's *.cert and *.key), or nothing (the key never on disk here).
 * Redirects are followed as the CLI's transport follows them: at most 5,
 * the same trust for every host, the Authorization kept for the same host
 * only. stdout: "p BYTES" lines as the body arrives, then the result as
 * one JSON line. Exit 0; 1 with one line on stderr (what was written is
 * deleted); 3 with "s STATUS" when the registry answered other than 200 or
 * 3xx (the CLI asks again itself); 4 with "f REASON" for what only the Node
 * helper handles (a chunked body, zstd, xz or bzip2, GNU sparse files, a
 * connection or TLS handshake that failed, whose words are the Node
 * helper's to give): nothing is left behind and the CLI runs the Node
 * helper instead.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <arpa/inet.h>
#include <zlib.h>

#define IDLE_TIMEOUT_MS 60000 /* the Transport's idle timeout (src/image/registry/transport.ts) */
#define READ_CHUNK (256 << 10)
#define INFLATE_CHUNK (1 << 20)
#define MAX_LONG_HEADER (4 << 20) /* tar-stream's limit for a long name or PAX record */
#define MAX_REDIRECTS 5 /* as the Transport */
#define CONNECT_TIMEOUT_MS 10000 /* as the Transport */

static const char *dest, *blob_path, *digest;
static unsigned long long id_limit, expect_size;
static int remap_outside;
static pid_t parent;
static int blob_fd = -1;

/* ---- ending: every way out deletes what was written, except success ---- */

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *f) {
  (void)st; (void)f;
  if (flag == FTW_DP) rmdir(p); else unlink(p);
  return 0;
}
static void rm_rf(const char *p) { nftw(p, rm_entry, 64, FTW_DEPTH | FTW_PHYS); }
static void discard(void) {
  if (blob_fd >= 0) close(blob_fd);
  blob_fd = -1;
  unlink(blob_path);
  rm_rf(dest);
}

/* One line on stderr, everything written deleted, exit 1. */
static void __attribute__((noreturn, format(printf, 1, 2))) fail(const char *fmt, ...) {
  char line[8192];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  for (char *c = line; *c; c++) if (*c == '\n') *c = ' ';
  discard();
  dprintf(2, "%s\n", line);
  exit(1);
}

/* Not for this program: nothing kept, the CLI runs the Node helper. */
static void __attribute__((noreturn)) fallback(const char *why) {
  discard();
  dprintf(1, "f %s\n", why);
  exit(4);
}

static void check_parent(void) {
  if (getppid() != parent) fail("rootlet ended before the layer was stored");
}

/* ---- string sets: directories known to be real, and the pending directory fixups ---- */

struct strmap { char **keys; size_t *vals; size_t cap, len; };
static uint64_t hash_str(const char *s) {
  uint64_t h = 1469598103934665603ULL;
  while (*s) h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
  return h;
}
static void map_clear(struct strmap *m) {
  for (size_t i = 0; i < m->cap; i++) free(m->keys[i]);
  free(m->keys); free(m->vals);
  memset(m, 0, sizeof *m);
}
static size_t *map_slot(struct strmap *m, const char *k, int add) {
  if (add && (m->len + 1) * 2 > m->cap) {
    struct strmap n = { calloc(m->cap ? m->cap * 2 : 256, sizeof(char *)), calloc(m->cap ? m->cap * 2 : 256, sizeof(size_t)), m->cap ? m->cap * 2 : 256, 0 };
    if (!n.keys || !n.vals) fail("out of memory");
    for (size_t i = 0; i < m->cap; i++) if (m->keys[i]) {
      size_t j = hash_str(m->keys[i]) & (n.cap - 1);
      while (n.keys[j]) j = (j + 1) & (n.cap - 1);
      n.keys[j] = m->keys[i]; n.vals[j] = m->vals[i]; n.len++;
    }
    free(m->keys); free(m->vals);
    *m = n;
  }
  if (!m->cap) return NULL;
  size_t j = hash_str(k) & (m->cap - 1);
  while (m->keys[j]) {
    if (!strcmp(m->keys[j], k)) return &m->vals[j];
    j = (j + 1) & (m->cap - 1);
  }
  if (!add) return NULL;
  if (!(m->keys[j] = strdup(k))) fail("out of memory");
  m->len++;
  m->vals[j] = (size_t)-1;
  return &m->vals[j];
}

static struct strmap known_dirs;
struct dir_fix { char *path; unsigned mode; long long mtime; };
static struct dir_fix *dirs; static size_t ndirs, capdirs;
static struct strmap dir_index;
static char **whiteouts; static size_t nwhiteouts, capwhiteouts;
static char **opaques; static size_t nopaques, capopaques;
struct xattr { char *path, *name, *value; size_t len; };
static struct xattr *xattrs; static size_t nxattrs, capxattrs;

#define PUSH(arr, n, cap, v) do { \
  if ((n) == (cap)) { (cap) = (cap) ? (cap) * 2 : 64; (arr) = realloc((arr), (cap) * sizeof *(arr)); if (!(arr)) fail("out of memory"); } \
  (arr)[(n)++] = (v); } while (0)

static void forget_dirs(void) {
  map_clear(&known_dirs);
  map_slot(&known_dirs, dest, 1);
}

/* A later entry for the same directory wins; the order stays that of the first (a Map's). */
static void set_dir(const char *path, unsigned mode, long long mtime) {
  size_t *slot = map_slot(&dir_index, path, 1);
  if (*slot != (size_t)-1) { dirs[*slot].mode = mode; dirs[*slot].mtime = mtime; return; }
  struct dir_fix d = { strdup(path), mode, mtime };
  *slot = ndirs;
  PUSH(dirs, ndirs, capdirs, d);
}

/* ---- the entry being extracted ---- */

struct entry {
  char name[8192 + 256];
  char linkname[8192 + 256];
  char typeflag;
  unsigned long long uid, gid, size, devmajor, devminor;
  unsigned mode;
  long long mtime;
  int sparse;
};

/* Splits name into components (no "", "."), refusing "..". Returns the count; parts point into buf. */
static int components(const char *name, char *buf, size_t bufsz, char **parts, int maxparts) {
  snprintf(buf, bufsz, "%s", name);
  int n = 0;
  for (char *save = NULL, *p = strtok_r(buf, "/", &save); p; p = strtok_r(NULL, "/", &save)) {
    if (!strcmp(p, ".")) continue;
    if (!strcmp(p, "..")) fail("layer entry \"%s\" points outside the layer (contains ..): refusing the layer", name);
    if (n == maxparts) fail("layer entry \"%s\" is nested too deep: refusing the layer", name);
    parts[n++] = p;
  }
  return n;
}

static char *join_parts(char **parts, int n, char *out, size_t sz) {
  out[0] = 0;
  for (int i = 0; i < n; i++) {
    strncat(out, parts[i], sz - strlen(out) - 1);
    if (i + 1 < n) strncat(out, "/", sz - strlen(out) - 1);
  }
  return out;
}

/* Creates missing parents as 0755 directories; refuses a parent that is not a real directory. */
static void parent_of(char **parts, int n, char *out, size_t sz, const char *what) {
  snprintf(out, sz, "%s", dest);
  for (int i = 0; i < n - 1; i++) {
    size_t l = strlen(out);
    if (l + 1 + strlen(parts[i]) + 1 > sz) fail("%s: the path is too long: refusing the layer", what);
    out[l] = '/';
    strcpy(out + l + 1, parts[i]);
    if (map_slot(&known_dirs, out, 0)) continue;
    struct stat st;
    if (lstat(out, &st) < 0) {
      if (errno != ENOENT) fail("cannot extract %s: lstat %s: %s", what, out, strerror(errno));
      if (mkdir(out, 0755) < 0) fail("cannot extract %s: mkdir %s: %s", what, out, strerror(errno));
    } else if (!S_ISDIR(st.st_mode)) {
      char shown[8192];
      fail("%s is written through \"%s\", which is %s: refusing the layer", what, join_parts(parts, i + 1, shown, sizeof shown),
           S_ISLNK(st.st_mode) ? "a symlink" : "not a directory");
    }
    map_slot(&known_dirs, out, 1);
  }
}

/* Removes whatever is at path unless it is a directory and the new entry is one too (then returns 1). */
static int clear_for(const char *path, int keep_dir, const char *name) {
  struct stat st;
  if (lstat(path, &st) < 0) return 0;
  if (S_ISDIR(st.st_mode)) {
    if (keep_dir) return 1;
    rm_rf(path);
    forget_dirs();
  } else if (unlink(path) < 0) {
    fail("cannot extract \"%s\": unlink: %s", name, strerror(errno));
  }
  return 0;
}

static int creator_is_root;
static unsigned long long entries, remapped, skipped_devices;

static unsigned long long map_id(unsigned long long id, const char *name) {
  if (id < id_limit) return id;
  if (remap_outside) { remapped++; return 0; }
  fail("file \"%s\" in the layer is owned by id %llu, outside the %llu ids your namespace maps: "
       "ask an admin for a larger range in /etc/subuid and /etc/subgid, or run again with --remap-outside-ids to make such files root's",
       name, id, id_limit);
}

static int out_fd = -1; /* the regular file whose data is arriving */
static unsigned long long out_uid, out_gid; static unsigned out_mode; static long long out_mtime;
static const char *out_name;

/* atime and mtime both the entry's, never through a symlink (fd -1: by path). */
static void set_times(int fd, const char *path, long long mtime, const char *name) {
  struct timespec ts[2] = { { mtime, 0 }, { mtime, 0 } };
  if ((fd >= 0 ? futimens(fd, ts) : utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW)) < 0)
    fail("cannot extract \"%s\": utimes: %s", name, strerror(errno));
}

/* PAX records of the entry, and the global ones that apply to every later entry. */
struct kv { char *key, *value; size_t len; };
static struct kv *pax, *pax_global; static size_t npax, cappax, npax_global, cappax_global;

/* tar-stream applies the global records only to an entry that has records of its own: so does this. */
static int have_pax;

static const struct kv *pax_get(const char *key) {
  if (!have_pax) return NULL;
  for (size_t i = npax; i-- > 0;) if (!strcmp(pax[i].key, key)) return &pax[i];
  for (size_t i = npax_global; i-- > 0;) if (!strcmp(pax_global[i].key, key)) return &pax_global[i];
  return NULL;
}

static void begin_entry(struct entry *e) {
  entries++;
  /* GNU sparse files (old GNU 'S', PAX 0.x and 1.0) are the Node helper's. */
  if (e->typeflag == 'S') fallback("sparse");
  for (size_t i = 0; have_pax && i < npax; i++) if (!strncmp(pax[i].key, "GNU.sparse.", 11)) fallback("sparse");
  for (size_t i = 0; have_pax && i < npax_global; i++) if (!strncmp(pax_global[i].key, "GNU.sparse.", 11)) fallback("sparse");

  static char buf[sizeof e->name], path[sizeof e->name + 4096];
  char *parts[1024];
  int n = components(e->name, buf, sizeof buf, parts, 1024);
  const struct kv *pu = pax_get("uid"), *pg = pax_get("gid");
  unsigned long long uid = map_id(pu ? strtoull(pu->value, NULL, 10) : e->uid, e->name);
  unsigned long long gid = map_id(pg ? strtoull(pg->value, NULL, 10) : e->gid, e->name);
  unsigned mode = e->mode & 07777;
  int needs_chown = !creator_is_root || uid || gid;
  char what[sizeof e->name + 32];
  snprintf(what, sizeof what, "layer entry \"%s\"", e->name);

  if (n == 0) {
    /* "./": the layer's root directory itself. */
    if (e->typeflag == '5') {
      if (lchown(dest, uid, gid) < 0) fail("cannot extract \"%s\": lchown: %s", e->name, strerror(errno));
      set_dir(dest, mode, e->mtime);
    }
    return;
  }
  const char *base = parts[n - 1];
  parent_of(parts, n, path, sizeof path - 4096, what);
  char parent[sizeof path];
  strcpy(parent, path);
  size_t pl = strlen(path);
  path[pl] = '/';
  strcpy(path + pl + 1, base);

  if (!strcmp(base, ".wh..wh..opq")) { PUSH(opaques, nopaques, capopaques, strdup(parent)); return; }
  if (!strncmp(base, ".wh.", 4)) {
    const char *w = base + 4;
    if (!*w || !strcmp(w, ".") || !strcmp(w, ".."))
      fail("layer entry \"%s\" is a whiteout of \"%s\", which points outside its directory: refusing the layer", e->name, w);
    char target[sizeof path];
    snprintf(target, sizeof target, "%s/%s", parent, w);
    clear_for(target, 0, e->name);
    PUSH(whiteouts, nwhiteouts, capwhiteouts, strdup(target));
    return;
  }
  for (size_t i = 0; have_pax && i < npax_global + npax; i++) {
    const struct kv *k = i < npax_global ? &pax_global[i] : &pax[i - npax_global];
    if (strncmp(k->key, "SCHILY.xattr.", 13)) continue;
    char *v = malloc(k->len + 1);
    if (!v) fail("out of memory");
    memcpy(v, k->value, k->len);
    struct xattr x = { strdup(path), strdup(k->key + 13), v, k->len };
    PUSH(xattrs, nxattrs, capxattrs, x);
  }

  switch (e->typeflag) {
  case '5':
    if (!clear_for(path, 1, e->name) && mkdir(path, 0700) < 0) fail("cannot extract \"%s\": mkdir: %s", e->name, strerror(errno));
    if (needs_chown && lchown(path, uid, gid) < 0) fail("cannot extract \"%s\": lchown: %s", e->name, strerror(errno));
    map_slot(&known_dirs, path, 1);
    set_dir(path, mode, e->mtime);
    return;
  case '0': case '7': {
    /* O_EXCL never follows a symlink; only when something is in the way is it looked at and removed. */
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_TRUNC | O_CLOEXEC, mode & 0777);
    if (fd < 0 && errno == EEXIST) {
      clear_for(path, 0, e->name);
      fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_TRUNC | O_CLOEXEC, mode & 0777);
    }
    if (fd < 0) fail("cannot extract \"%s\": open: %s", e->name, strerror(errno));
    out_fd = fd; out_uid = uid; out_gid = gid; out_mode = mode; out_mtime = e->mtime; out_name = e->name;
    return;
  }
  case '2':
    clear_for(path, 0, e->name);
    if (symlink(e->linkname, path) < 0) fail("cannot extract \"%s\": symlink: %s", e->name, strerror(errno));
    if (lchown(path, uid, gid) < 0) fail("cannot extract \"%s\": lchown: %s", e->name, strerror(errno));
    set_times(-1, path, e->mtime, e->name);
    return;
  case '1': {
    static char tbuf[sizeof e->linkname], target[sizeof e->linkname + 4096];
    char *tparts[1024];
    int tn = components(e->linkname, tbuf, sizeof tbuf, tparts, 1024);
    if (!tn) fail("hard link \"%s\" has no target", e->name);
    char twhat[sizeof e->name + sizeof e->linkname + 32];
    snprintf(twhat, sizeof twhat, "hard link \"%s\" to \"%s\"", e->name, e->linkname);
    parent_of(tparts, tn, target, sizeof target - 4096, twhat);
    size_t tl = strlen(target);
    target[tl] = '/';
    strcpy(target + tl + 1, tparts[tn - 1]);
    struct stat st;
    if (lstat(target, &st) < 0) fail("hard link \"%s\" points to \"%s\", which is not in the layer", e->name, e->linkname);
    if (S_ISDIR(st.st_mode)) fail("hard link \"%s\" points to a directory", e->name);
    if (strcmp(target, path)) {
      clear_for(path, 0, e->name);
      if (link(target, path) < 0) fail("cannot extract \"%s\": link: %s", e->name, strerror(errno));
    }
    return;
  }
  case '3': case '4': case '6':
    if (e->typeflag == '3' && e->devmajor == 0 && e->devminor == 0) {
      /* Already an overlay whiteout (some tools write them). */
      clear_for(path, 0, e->name);
      PUSH(whiteouts, nwhiteouts, capwhiteouts, strdup(path));
    } else if (e->typeflag == '6') {
      clear_for(path, 0, e->name);
      if (mkfifo(path, mode & 0777) < 0) fail("cannot create fifo \"%s\": %s", e->name, strerror(errno));
      if (lchown(path, uid, gid) < 0) fail("cannot extract \"%s\": lchown: %s", e->name, strerror(errno));
    } else {
      /* A user namespace cannot create device nodes; the runtime provides /dev. */
      skipped_devices++;
    }
    return;
  default:
    /* A volume label names the archive, not a file; any other type would be a file silently left out. */
    if (e->typeflag != 'V') fail("layer entry \"%s\" has tar type '%c', which rootlet cannot extract: refusing the layer", e->name, e->typeflag);
  }
}

static void write_all(int fd, const unsigned char *p, size_t n, const char *what) {
  while (n) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == ENOSPC || errno == EDQUOT) fail("no space left on device writing %s", what);
      fail("cannot extract \"%s\": write: %s", what, strerror(errno));
    }
    p += w; n -= (size_t)w;
  }
}

static void end_file(void) {
  int chown_needed = !creator_is_root || out_uid || out_gid;
  if (chown_needed && fchown(out_fd, out_uid, out_gid) < 0) fail("cannot extract \"%s\": chown: %s", out_name, strerror(errno));
  /* chmod after chown: chown clears setuid and setgid bits, which open cannot set anyway. */
  if ((chown_needed || out_mode & 07000) && fchmod(out_fd, out_mode) < 0) fail("cannot extract \"%s\": chmod: %s", out_name, strerror(errno));
  set_times(out_fd, "", out_mtime, out_name);
  if (close(out_fd) < 0) fail("cannot extract \"%s\": close: %s", out_name, strerror(errno));
  out_fd = -1;
}

/* ---- the tar stream, pushed through in pieces ---- */

enum { T_HEADER, T_DATA, T_LONG, T_SKIP };
static int tstate = T_HEADER;
static unsigned char hdr[512]; static size_t hdr_have;
static unsigned long long data_left, pad_left;
static char long_kind; static unsigned char *long_buf; static size_t long_have, long_size;
static char gnu_long_name[sizeof ((struct entry *)0)->name], gnu_long_link[sizeof ((struct entry *)0)->name];
static int have_long_name, have_long_link;
static struct entry cur;
static unsigned long long tar_bytes;

static void __attribute__((noreturn)) not_tar(const char *why) {
  fail("layer is not a valid tar stream: %s", why);
}

static unsigned long long octal(const unsigned char *f, size_t n, int *neg) {
  *neg = 0;
  if (f[0] & 0x80) {
    /* base-256 (GNU): 0x80 positive, 0xff two's complement negative */
    if (f[0] != 0x80 && f[0] != 0xff) return 0;
    int positive = f[0] == 0x80;
    unsigned long long v = 0;
    for (size_t i = 1; i < n; i++) v = (v << 8) | (positive ? f[i] : 0xff - f[i]);
    if (!positive) *neg = 1;
    return v;
  }
  size_t i = 0;
  while (i < n && f[i] == ' ') i++;
  size_t end = i;
  while (end < n && f[end] != ' ') end++;
  while (i < end && f[i] == 0) i++;
  unsigned long long v = 0;
  for (; i < end && f[i] >= '0' && f[i] <= '7'; i++) v = v * 8 + (f[i] - '0');
  return v;
}

static void field_str(char *out, const unsigned char *f, size_t n) {
  size_t l = strnlen((const char *)f, n);
  memcpy(out, f, l);
  out[l] = 0;
}

static void pax_parse(const unsigned char *b, size_t n, struct kv **arr, size_t *len, size_t *cap) {
  while (n) {
    size_t i = 0;
    while (i < n && b[i] != ' ') i++;
    unsigned long long rl = 0;
    for (size_t j = 0; j < i && b[j] >= '0' && b[j] <= '9'; j++) rl = rl * 10 + (b[j] - '0');
    if (!rl || rl > n || rl < i + 2) return;
    const unsigned char *kv = b + i + 1, *endp = b + rl - 1;
    const unsigned char *eq = memchr(kv, '=', (size_t)(endp - kv));
    if (!eq) return;
    struct kv k;
    k.key = strndup((const char *)kv, (size_t)(eq - kv));
    k.len = (size_t)(endp - eq - 1);
    k.value = malloc(k.len + 1);
    if (!k.key || !k.value) fail("out of memory");
    memcpy(k.value, eq + 1, k.len);
    k.value[k.len] = 0;
    if ((!strcmp(k.key, "path") || !strcmp(k.key, "linkpath")) && memchr(k.value, 0, k.len)) not_tar("Invalid tar header: pax path contains a null byte.");
    /* a later record for the same key replaces the earlier */
    size_t x;
    for (x = 0; x < *len; x++) if (!strcmp((*arr)[x].key, k.key)) break;
    if (x < *len) { free((*arr)[x].key); free((*arr)[x].value); (*arr)[x] = k; }
    else PUSH(*arr, *len, *cap, k);
    b += rl; n -= rl;
  }
}

static void clear_pax(void) {
  for (size_t i = 0; i < npax; i++) { free(pax[i].key); free(pax[i].value); }
  npax = 0;
  have_pax = 0;
}

static void header_done(void) {
  unsigned sum = 256;
  for (int i = 0; i < 512; i++) sum += (i >= 148 && i < 156) ? 0 : hdr[i];
  if (sum == 256) return; /* a zero block: skipped, as tar-stream does */
  int neg;
  if (sum != octal(hdr + 148, 8, &neg)) not_tar("a header's checksum does not match (is it a tar archive?)");
  int ustar = !memcmp(hdr + 257, "ustar\0", 6), gnu = !memcmp(hdr + 257, "ustar ", 6) && !memcmp(hdr + 263, " \0", 2);
  if (!ustar && !gnu) not_tar("a header has neither the ustar nor the GNU magic (is it a tar archive?)");
  char flag = hdr[156] ? (char)hdr[156] : '0';
  unsigned long long size = octal(hdr + 124, 12, &neg);
  if (neg) not_tar("Invalid header");

  if (flag == 'L' || flag == 'K' || flag == 'N' || flag == 'x' || flag == 'g') {
    if (size > MAX_LONG_HEADER) not_tar("Header exceeds max size");
    long_kind = flag == 'N' ? 'L' : flag;
    long_size = size; long_have = 0;
    free(long_buf);
    if (!(long_buf = malloc(size + 1))) fail("out of memory");
    pad_left = (512 - (size & 511)) & 511;
    tstate = T_LONG;
    if (!size) { tstate = T_HEADER; long_buf[0] = 0; }
    return;
  }

  memset(&cur, 0, sizeof cur);
  char name[101], prefix[156];
  field_str(name, hdr, 100);
  if (ustar && hdr[345]) { field_str(prefix, hdr + 345, 155); snprintf(cur.name, sizeof cur.name, "%s/%s", prefix, name); }
  else strcpy(cur.name, name);
  field_str(cur.linkname, hdr + 157, 100);
  cur.typeflag = flag;
  if (flag == '0' && cur.name[0] && cur.name[strlen(cur.name) - 1] == '/') cur.typeflag = '5';
  cur.mode = (unsigned)octal(hdr + 100, 8, &neg);
  cur.uid = octal(hdr + 108, 8, &neg);
  cur.gid = octal(hdr + 116, 8, &neg);
  cur.mtime = (long long)octal(hdr + 136, 12, &neg);
  if (neg) cur.mtime = -cur.mtime - 1;
  cur.devmajor = octal(hdr + 329, 8, &neg);
  cur.devminor = octal(hdr + 337, 8, &neg);
  cur.size = size;
  /* Longer than any path Linux takes: the Node helper words that failure. */
  const struct kv *lp = pax_get("path"), *ll = pax_get("linkpath");
  if ((have_long_name && strlen(gnu_long_name) >= 8192) || (have_long_link && strlen(gnu_long_link) >= 8192) ||
      (lp && lp->len >= 8192) || (ll && ll->len >= 8192)) fallback("long name");
  if (have_long_name) { snprintf(cur.name, sizeof cur.name, "%s", gnu_long_name); have_long_name = 0; }
  if (have_long_link) { snprintf(cur.linkname, sizeof cur.linkname, "%s", gnu_long_link); have_long_link = 0; }
  const struct kv *p;
  if ((p = pax_get("path")) && *p->value) snprintf(cur.name, sizeof cur.name, "%s", p->value);
  if ((p = pax_get("linkpath")) && *p->value) snprintf(cur.linkname, sizeof cur.linkname, "%s", p->value);
  if ((p = pax_get("size")) && *p->value) cur.size = strtoull(p->value, NULL, 10);

  begin_entry(&cur);
  clear_pax();
  /* A directory's data, if any, is not read as such (tar-stream neither); others' is the file's or dropped. */
  data_left = cur.typeflag == '5' ? 0 : cur.size;
  pad_left = (512 - (data_left & 511)) & 511;
  if (data_left) tstate = T_DATA;
  else {
    if (out_fd >= 0) end_file();
    tstate = pad_left ? T_SKIP : T_HEADER;
  }
}

static void long_done(void) {
  long_buf[long_size] = 0;
  if (long_size >= 8192 && (long_kind == 'L' || long_kind == 'K') && strnlen((char *)long_buf, long_size) >= 8192) fallback("long name");
  if (long_kind == 'L') { field_str(gnu_long_name, long_buf, long_size); have_long_name = 1; }
  else if (long_kind == 'K') { field_str(gnu_long_link, long_buf, long_size); have_long_link = 1; }
  else if (long_kind == 'g') pax_parse(long_buf, long_size, &pax_global, &npax_global, &cappax_global);
  else { clear_pax(); pax_parse(long_buf, long_size, &pax, &npax, &cappax); have_pax = 1; }
}

static void tar_feed(const unsigned char *p, size_t n) {
  tar_bytes += n;
  while (n) {
    switch (tstate) {
    case T_HEADER: {
      size_t take = 512 - hdr_have < n ? 512 - hdr_have : n;
      memcpy(hdr + hdr_have, p, take);
      hdr_have += take; p += take; n -= take;
      if (hdr_have == 512) { hdr_have = 0; header_done(); }
      break;
    }
    case T_DATA: {
      size_t take = data_left < n ? (size_t)data_left : n;
      if (out_fd >= 0) write_all(out_fd, p, take, out_name);
      data_left -= take; p += take; n -= take;
      if (!data_left) {
        if (out_fd >= 0) end_file();
        tstate = pad_left ? T_SKIP : T_HEADER;
      }
      break;
    }
    case T_LONG: {
      size_t take = long_size - long_have < n ? long_size - long_have : n;
      memcpy(long_buf + long_have, p, take);
      long_have += take; p += take; n -= take;
      if (long_have == long_size) { long_done(); tstate = pad_left ? T_SKIP : T_HEADER; }
      break;
    }
    case T_SKIP: {
      size_t take = pad_left < n ? (size_t)pad_left : n;
      pad_left -= take; p += take; n -= take;
      if (!pad_left) tstate = T_HEADER;
      break;
    }
    }
  }
}

static void tar_end(void) {
  if (tstate == T_HEADER && hdr_have == 0) return;
  if (tar_bytes < 512) fail("layer is not a valid tar stream: %llu bytes, less than one tar header", tar_bytes);
  fail("layer is truncated: the stream ends in the middle of an entry");
}

/* ---- what needs the end of the stream: whiteouts, opaque markers, xattrs, directory modes and times ---- */

/*
 * Whether every directory above path (below dest) is still a real one. A
 * later entry can have replaced a directory with a symlink (clear_for):
 * what was recorded below it left the layer with it, and acting on the old
 * path would follow the symlink out of the layer.
 */
static int under_real_dirs(const char *path) {
  char buf[sizeof ((struct entry *)0)->name + 4096];
  size_t dl = strlen(dest);
  if (strlen(path) <= dl) return 1;
  snprintf(buf, sizeof buf, "%s", path);
  for (char *slash = strchr(buf + dl + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
    struct stat st;
    *slash = 0;
    int ok = lstat(buf, &st) == 0 && S_ISDIR(st.st_mode);
    *slash = '/';
    if (!ok) return 0;
  }
  return 1;
}

static void apply_native(void) {
  for (size_t i = 0; i < nwhiteouts; i++)
    /* 0644 as the Node helper makes them (mknod(1) under umask 022); overlay reads only the 0/0 device number. */
    if (under_real_dirs(whiteouts[i]) && mknod(whiteouts[i], S_IFCHR | 0644, makedev(0, 0)) < 0)
      fail("cannot create overlay whiteouts: mknod %s: %s", whiteouts[i], strerror(errno));
  for (size_t i = 0; i < nopaques; i++) {
    struct stat st;
    if (!under_real_dirs(opaques[i]) || lstat(opaques[i], &st) < 0 || !S_ISDIR(st.st_mode)) continue;
    if (lsetxattr(opaques[i], "user.overlay.opaque", "y", 1, 0) < 0) fail("cannot set user.overlay.opaque on %s: %s", opaques[i], strerror(errno));
  }
  for (size_t i = 0; i < nxattrs; i++) {
    /* Only security.capability and user.* are settable in a user namespace; others (e.g. trusted.*) are dropped. */
    if (strcmp(xattrs[i].name, "security.capability") && strncmp(xattrs[i].name, "user.", 5)) continue;
    if (!under_real_dirs(xattrs[i].path)) continue;
    if (lsetxattr(xattrs[i].path, xattrs[i].name, xattrs[i].value, xattrs[i].len, 0) < 0)
      fail("cannot set %s on %s: %s", xattrs[i].name, xattrs[i].path, strerror(errno));
  }
  /* Directory modes and times last (writing children changed them), deepest first; never through a symlink a later entry put there. */
  for (size_t i = ndirs; i-- > 0;) {
    struct stat st;
    if (!under_real_dirs(dirs[i].path) || lstat(dirs[i].path, &st) < 0 || !S_ISDIR(st.st_mode)) continue;
    if (chmod(dirs[i].path, dirs[i].mode) < 0) fail("cannot extract %s: chmod: %s", dirs[i].path, strerror(errno));
    set_times(-1, dirs[i].path, dirs[i].mtime, dirs[i].path);
  }
}

/* ---- decompression: gzip (one or more members) or a plain tar ---- */

enum { C_SNIFF, C_PLAIN, C_GZIP, C_GZIP_END, C_TRAILING };
static int cstate = C_SNIFF;
static z_stream zs;
static unsigned char *zout;
static unsigned char sniff[10]; static size_t sniff_have;
static EVP_MD_CTX *raw_hash, *tar_hash;

static void plain_out(const unsigned char *p, size_t n) {
  EVP_DigestUpdate(tar_hash, p, n);
  tar_feed(p, n);
}

static void __attribute__((noreturn)) gzip_error(int r) {
  fail("corrupt gzip stream: %s", zs.msg ? zs.msg : r == Z_MEM_ERROR ? "out of memory" : "zlib error");
}

static void decompress(const unsigned char *p, size_t n);

static void decide(void) {
  const unsigned char *h = sniff;
  cstate = C_PLAIN;
  if (sniff_have >= 4 && h[0] == 0x28 && h[1] == 0xb5 && h[2] == 0x2f && h[3] == 0xfd) fallback("zstd");
  if (sniff_have >= 6 && !memcmp(h, "\xfd" "7zXZ\0", 6)) fallback("xz");
  if (sniff_have >= 10 && !memcmp(h, "BZh", 3) && !memcmp(h + 4, "\x31\x41\x59\x26\x53\x59", 6)) fallback("bzip2");
  if (sniff_have >= 2 && h[0] == 0x1f && h[1] == 0x8b) {
    cstate = C_GZIP;
    if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) fail("cannot start gunzip: out of memory");
  }
  size_t n = sniff_have;
  sniff_have = 0;
  decompress(sniff, n);
}

static void decompress(const unsigned char *p, size_t n) {
  while (n) {
    switch (cstate) {
    case C_SNIFF: {
      size_t take = sizeof sniff - sniff_have < n ? sizeof sniff - sniff_have : n;
      memcpy(sniff + sniff_have, p, take);
      sniff_have += take; p += take; n -= take;
      if (sniff_have == sizeof sniff) decide();
      break;
    }
    case C_PLAIN:
      plain_out(p, n);
      return;
    case C_GZIP_END:
      /* As node's gunzip: a zero byte ends the stream (padding after it is ignored); anything else starts another member. */
      if (p[0] == 0) { cstate = C_TRAILING; return; }
      if (inflateReset(&zs) != Z_OK) gzip_error(Z_STREAM_ERROR);
      cstate = C_GZIP;
      /* fall through */
    case C_GZIP: {
      zs.next_in = (unsigned char *)p;
      zs.avail_in = (unsigned)n;
      int r;
      do {
        zs.next_out = zout;
        zs.avail_out = INFLATE_CHUNK;
        r = inflate(&zs, Z_NO_FLUSH);
        if (r != Z_OK && r != Z_STREAM_END && r != Z_BUF_ERROR) gzip_error(r);
        plain_out(zout, INFLATE_CHUNK - zs.avail_out);
      } while (r == Z_OK && (zs.avail_in || !zs.avail_out));
      size_t used = n - zs.avail_in;
      p += used; n -= used;
      if (r == Z_STREAM_END) cstate = C_GZIP_END;
      else if (n) gzip_error(r); /* no progress: cannot happen with output room, but never loop */
      break;
    }
    case C_TRAILING:
      return;
    }
  }
}

static void decompress_end(void) {
  if (cstate == C_SNIFF) decide();
  if (cstate == C_GZIP) fail("truncated gzip stream: it ends before its compressed data does");
}

/* ---- HTTP: the request the CLI wrote, the answer's head, then exactly SIZE bytes of body ---- */

static int sock = -1;
static SSL_CTX *tls_ctx; /* https: the trust the CLI handed over (NULL for http) */
static SSL *ssl;          /* the connection's TLS, when it has one */

/* Waits until the socket can be read (or written), looking for rootlet every 250 ms; -2 after `limit_ms` idle. */
static int wait_sock(short events, int limit_ms) {
  int idle = 0;
  for (;;) {
    struct pollfd pf = { sock, events, 0 };
    int r = poll(&pf, 1, 250);
    check_parent();
    if (r < 0 && errno != EINTR) return -1;
    if (r > 0) return 0;
    if ((idle += 250) >= limit_ms) { errno = ETIMEDOUT; return -2; }
  }
}

/*
 * One read of what has arrived: > 0 bytes, 0 at the end, -1 an error, -2 no
 * data for IDLE_TIMEOUT_MS. The socket does not block: TLS may need to wait
 * for a record's rest, or to write (a key update), and a rootlet killed
 * mid-pull must still be noticed meanwhile.
 */
static ssize_t read_sock(unsigned char *buf, size_t n) {
  for (short want = POLLIN;;) {
    if (!ssl || !SSL_pending(ssl)) {
      int w = wait_sock(want, IDLE_TIMEOUT_MS);
      if (w < 0) return w;
    }
    if (!ssl) {
      ssize_t got = read(sock, buf, n);
      if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      return got;
    }
    size_t got = 0;
    ERR_clear_error();
    int r = SSL_read_ex(ssl, buf, n, &got);
    if (r > 0) return (ssize_t)got;
    switch (SSL_get_error(ssl, r)) {
      case SSL_ERROR_WANT_READ: want = POLLIN; continue;
      case SSL_ERROR_WANT_WRITE: want = POLLOUT; continue;
      case SSL_ERROR_ZERO_RETURN: return 0;
      case SSL_ERROR_SYSCALL: if (errno == EINTR || errno == EAGAIN) continue; if (!errno) errno = ECONNRESET; return -1;
      default: errno = EPROTO; return -1;
    }
  }
}

/* Writes all of it; 0, or -1 (the caller hands the layer back: nothing was written yet). */
static int write_sock(const char *p, size_t n) {
  for (size_t off = 0; off < n;) {
    if (!ssl) {
      ssize_t w = write(sock, p + off, n - off);
      if (w < 0 && (errno == EINTR || errno == EAGAIN)) { if (wait_sock(POLLOUT, IDLE_TIMEOUT_MS) < 0) return -1; continue; }
      if (w < 0) return -1;
      off += (size_t)w;
      continue;
    }
    size_t w = 0;
    ERR_clear_error();
    int r = SSL_write_ex(ssl, p + off, n - off, &w);
    if (r > 0) { off += w; continue; }
    int e = SSL_get_error(ssl, r);
    if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) return -1;
    if (wait_sock(e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, IDLE_TIMEOUT_MS) < 0) return -1;
  }
  return 0;
}

static void close_sock(void) {
  if (ssl) { SSL_free(ssl); ssl = NULL; }
  if (sock >= 0) close(sock);
  sock = -1;
}

static int connect_to(const char *host, const char *port) {
  struct addrinfo hints = { 0 }, *res, *ai;
  hints.ai_socktype = SOCK_STREAM;
  if (getaddrinfo(host, port, &hints, &res)) return -1;
  int fd = -1;
  for (ai = res; ai; ai = ai->ai_next) {
    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) continue;
    /* connect gives up after 10 s, as the Transport does (the Node helper then words the failure) */
    struct timeval tv = { CONNECT_TIMEOUT_MS / 1000, 0 };
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) break;
    close(fd);
    fd = -1;
  }
  freeaddrinfo(res);
  if (fd >= 0) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  return fd;
}

/* The TLS handshake on `sock`, checking the name (or address) against the certificate unless told not to verify. */
static void start_tls(const char *host) {
  ssl = SSL_new(tls_ctx);
  if (!ssl) fallback("tls");
  struct in6_addr a6;
  struct in_addr a4;
  int is_ip = inet_pton(AF_INET, host, &a4) == 1 || inet_pton(AF_INET6, host, &a6) == 1;
  if (!is_ip) SSL_set_tlsext_host_name(ssl, host);
  if (SSL_CTX_get_verify_mode(tls_ctx) != SSL_VERIFY_NONE) {
    X509_VERIFY_PARAM *param = SSL_get0_param(ssl);
    if (!(is_ip ? X509_VERIFY_PARAM_set1_ip_asc(param, host) : X509_VERIFY_PARAM_set1_host(param, host, 0))) fallback("tls");
  }
  SSL_set_fd(ssl, sock);
  for (;;) {
    ERR_clear_error();
    int r = SSL_connect(ssl);
    if (r == 1) return;
    int e = SSL_get_error(ssl, r);
    /* An untrusted certificate and the like: the Node helper meets it too, and says it in the CLI's words. */
    if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) fallback("tls");
    if (wait_sock(e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, CONNECT_TIMEOUT_MS) < 0) fallback("tls");
  }
}

/*
 * https: the context every connection (the registry's, and where it
 * redirects) shares, as the Transport's agent: trusting exactly `trust`,
 * and presenting `cert` (its chain after it) with `key` when given.
 */
static void make_tls(int verify, const char *trust, const char *cert, const char *key) {
  tls_ctx = SSL_CTX_new(TLS_client_method());
  if (!tls_ctx) fallback("tls");
  SSL_CTX_set_min_proto_version(tls_ctx, TLS1_2_VERSION);
  /* A server that closes without close_notify ends the body as a plain close would: the length check says if it was short. */
  SSL_CTX_set_options(tls_ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
  if (*cert) {
    BIO *cb = BIO_new_mem_buf(cert, -1), *kb = BIO_new_mem_buf(key, -1);
    X509 *leaf = cb ? PEM_read_bio_X509(cb, NULL, NULL, NULL) : NULL;
    EVP_PKEY *pk = kb ? PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL) : NULL;
    int ok = leaf && pk && SSL_CTX_use_certificate(tls_ctx, leaf) == 1 && SSL_CTX_use_PrivateKey(tls_ctx, pk) == 1 && SSL_CTX_check_private_key(tls_ctx) == 1;
    for (X509 *x; ok && (x = PEM_read_bio_X509(cb, NULL, NULL, NULL));) ok = SSL_CTX_add0_chain_cert(tls_ctx, x) == 1;
    X509_free(leaf);
    EVP_PKEY_free(pk);
    BIO_free(cb);
    BIO_free(kb);
    ERR_clear_error();
    if (!ok) fallback("tls");
  }
  if (!verify) { SSL_CTX_set_verify(tls_ctx, SSL_VERIFY_NONE, NULL); return; }
  SSL_CTX_set_verify(tls_ctx, SSL_VERIFY_PEER, NULL);
  X509_STORE *store = SSL_CTX_get_cert_store(tls_ctx);
  BIO *bio = BIO_new_mem_buf(trust, -1);
  int n = 0;
  for (X509 *x; bio && (x = PEM_read_bio_X509(bio, NULL, NULL, NULL)); X509_free(x)) {
    if (X509_STORE_add_cert(store, x)) n++;
  }
  BIO_free(bio);
  ERR_clear_error();
  if (!n) fallback("tls");
}

static const char *header_value(char *head, const char *name) {
  size_t nl = strlen(name);
  for (char *line = strstr(head, "\r\n"); line && line[2]; line = strstr(line + 2, "\r\n")) {
    char *l = line + 2;
    if (!strncasecmp(l, name, nl) && l[nl] == ':') {
      l += nl + 1;
      while (*l == ' ' || *l == '\t') l++;
      return l;
    }
  }
  return NULL;
}

static void emit_hex(char *out, EVP_MD_CTX *h) {
  unsigned char md[32];
  unsigned len = 0;
  EVP_DigestFinal_ex(h, md, &len);
  for (unsigned i = 0; i < len; i++) sprintf(out + 2 * i, "%02x", md[i]);
}

/* Where a request goes: scheme, host (no brackets), port, and the path with its query. */
struct target { int tls; char host[256]; char port[8]; char path[8192]; };

/* The Host header's value for t, as node's URL.host writes it (the port only when not the scheme's own). */
static void host_header(const struct target *t, char *out, size_t sz) {
  int v6 = strchr(t->host, ':') != NULL;
  int dflt = !strcmp(t->port, t->tls ? "443" : "80");
  snprintf(out, sz, "%s%s%s%s%s", v6 ? "[" : "", t->host, v6 ? "]" : "", dflt ? "" : ":", dflt ? "" : t->port);
}

/* A redirect's Location, absolute (http or https) or an absolute path on the same host; 0 when it is neither. */
static int follow(const struct target *from, const char *loc, size_t len, struct target *to) {
  char l[8192];
  if (len >= sizeof l) return 0;
  /* Spaces, controls or bytes past ASCII: node's URL would encode them; the Node helper's to follow. */
  for (size_t i = 0; i < len; i++) if ((unsigned char)loc[i] <= 0x20 || (unsigned char)loc[i] >= 0x7f) return 0;
  memcpy(l, loc, len);
  l[len] = 0;
  *to = *from;
  const char *rest = l;
  if (!strncasecmp(l, "http://", 7) || !strncasecmp(l, "https://", 8)) {
    to->tls = l[4] == 's' || l[4] == 'S';
    const char *auth = l + (to->tls ? 8 : 7);
    size_t alen = strcspn(auth, "/?#");
    char hp[sizeof to->host];
    if (!alen || alen >= sizeof hp) return 0;
    memcpy(hp, auth, alen);
    hp[alen] = 0;
    char *port = NULL;
    if (hp[0] == '[') {
      char *close_b = strchr(hp, ']');
      if (!close_b) return 0;
      *close_b = 0;
      if (close_b[1] == ':') port = close_b + 2; else if (close_b[1]) return 0;
      snprintf(to->host, sizeof to->host, "%s", hp + 1);
    } else {
      if (strchr(hp, '@')) return 0; /* credentials in a URL: the Node helper's to refuse or take */
      port = strchr(hp, ':');
      if (port) *port++ = 0;
      snprintf(to->host, sizeof to->host, "%s", hp);
    }
    snprintf(to->port, sizeof to->port, "%s", port && *port ? port : to->tls ? "443" : "80");
    rest = auth + alen;
    if (!*rest) rest = "/";
  } else if (l[0] != '/' || l[1] == '/') {
    return 0;
  }
  size_t plen = strcspn(rest, "#");
  if (plen >= sizeof to->path) return 0;
  memcpy(to->path, rest, plen);
  to->path[plen] = 0;
  return 1;
}

/*
 * The request for t: the CLI's head with t's path and Host; its
 * Authorization only while the host (and port) stay the registry's, as
 * the Transport does: credentials for a registry are not for the storage
 * it redirects to.
 */
static size_t request_for(const struct target *t, const char *cli_head, int same_host, char *out, size_t sz) {
  char host[300];
  host_header(t, host, sizeof host);
  size_t n = (size_t)snprintf(out, sz, "GET %s HTTP/1.1\r\nHost: %s\r\n", t->path, host);
  const char *line = strstr(cli_head, "\r\n");
  while (line && line[2] && !(line[2] == '\r' && line[3] == '\n')) {
    const char *l = line + 2, *next = strstr(l, "\r\n");
    if (!next) break;
    size_t len = (size_t)(next - l);
    int skip = !strncasecmp(l, "Host:", 5) || (!same_host && !strncasecmp(l, "Authorization:", 14));
    if (!skip && n + len + 2 < sz) { memcpy(out + n, l, len); memcpy(out + n + len, "\r\n", 2); n += len + 2; }
    line = next;
  }
  if (n + 2 >= sz) fallback("request too long");
  memcpy(out + n, "\r\n", 2);
  return n + 2;
}

int main(int argc, char **argv) {
  if (argc != 11 || (strcmp(argv[9], "http") && strcmp(argv[9], "https")) || (strcmp(argv[10], "verify") && strcmp(argv[10], "noverify"))) {
    dprintf(2, "usage: rootlet-layer-fetch DEST BLOB IDLIMIT fail|root DIGEST SIZE HOST PORT http|https verify|noverify (on stdin the request head, then, each after a NUL, the PEM certificates to trust, a client certificate and its key)\n");
    return 2;
  }
  dest = argv[1]; blob_path = argv[2]; id_limit = strtoull(argv[3], NULL, 10); remap_outside = !strcmp(argv[4], "root");
  digest = argv[5]; expect_size = strtoull(argv[6], NULL, 10);
  int verify = !strcmp(argv[10], "verify");
  parent = getppid();
  /* A rootlet gone mid-pull is noticed by its pid (check_parent), which cleans up; a write to its pipe must not kill us first. */
  signal(SIGPIPE, SIG_IGN);
  creator_is_root = geteuid() == 0 && getegid() == 0;
  umask(0);

  /* The request head and what TLS takes, whole, before anything is made. */
  size_t in_cap = 1 << 16, in_len = 0;
  char *in = malloc(in_cap);
  for (ssize_t r;;) {
    if (in_len + 1 >= in_cap && !(in = realloc(in, in_cap *= 2))) fallback("stdin");
    if (!in || in_cap > (16 << 20)) fallback("stdin");
    if ((r = read(0, in + in_len, in_cap - 1 - in_len)) == 0) break;
    if (r < 0) { if (errno == EINTR) continue; fallback("stdin"); }
    in_len += (size_t)r;
  }
  in[in_len] = 0;
  /* The head, then the trust, the client certificate and its key, each after a NUL (absent: empty). */
  const char *part[4] = { in, "", "", "" };
  char *p = in;
  for (int i = 1; i < 4; i++) {
    p += strlen(p); /* the NUL that ends part i - 1: one sent, or the one after all that came */
    if (p == in + in_len) break;
    part[i] = ++p;
  }
  size_t head_len = strlen(in);
  if (head_len < 4 || strcmp(in + head_len - 4, "\r\n\r\n")) fallback("request head");

  struct target cur = { 0 };
  cur.tls = !strcmp(argv[9], "https");
  snprintf(cur.host, sizeof cur.host, "%s", argv[7]);
  snprintf(cur.port, sizeof cur.port, "%s", argv[8]);
  {
    const char *sp = strchr(in, ' '), *sp2 = sp ? strchr(sp + 1, ' ') : NULL;
    if (!sp2 || (size_t)(sp2 - sp - 1) >= sizeof cur.path) fallback("request head");
    memcpy(cur.path, sp + 1, (size_t)(sp2 - sp - 1));
  }
  const struct target registry = cur;

  static unsigned char buf[READ_CHUNK];
  static char head[65536], req[65536];
  char *end = NULL;
  size_t hl = 0;
  int status = 0;
  for (int redirects = 0;; redirects++) {
    int same_host = !strcmp(cur.host, registry.host) && !strcmp(cur.port, registry.port);
    size_t rl = request_for(&cur, in, same_host, req, sizeof req);
    if ((sock = connect_to(cur.host, cur.port)) < 0) fallback("connect");
    if (cur.tls) {
      if (!tls_ctx) make_tls(verify, part[1], part[2], part[3]);
      start_tls(cur.host);
    }
    if (write_sock(req, rl) < 0) fallback("send");
    memset(req, 0, sizeof req);
    hl = 0;
    end = NULL;
    while (!end) {
      if (hl == sizeof head - 1) fallback("response head too long");
      ssize_t got = read_sock((unsigned char *)head + hl, sizeof head - 1 - hl);
      if (got <= 0) fallback("no answer");
      hl += (size_t)got;
      head[hl] = 0;
      end = strstr(head, "\r\n\r\n");
    }
    end[2] = 0;
    if (sscanf(head, "HTTP/%*d.%*d %d", &status) != 1) fallback("not HTTP");
    if (status != 301 && status != 302 && status != 303 && status != 307 && status != 308) break;
    /* As the Transport: the Location, relative to where it was asked; at most MAX_REDIRECTS of them. */
    const char *loc = header_value(head, "Location");
    if (!loc) break;
    if (redirects == MAX_REDIRECTS) fallback("too many redirects");
    struct target next;
    if (!follow(&cur, loc, strcspn(loc, "\r\n"), &next)) fallback("redirect");
    close_sock();
    cur = next;
  }
  memset(in, 0, in_len);
  free(in);
  size_t body_have = hl - (size_t)(end + 4 - head);
  memcpy(buf, end + 4, body_have);
  if (status != 200) { dprintf(1, "s %d\n", status); close_sock(); return 3; }
  const char *te = header_value(head, "Transfer-Encoding"), *ce = header_value(head, "Content-Encoding"), *cl = header_value(head, "Content-Length");
  if ((te && strncasecmp(te, "identity", 8)) || (ce && strncasecmp(ce, "identity", 8)) || !cl) fallback("body framing");
  unsigned long long declared = strtoull(cl, NULL, 10);
  if (declared != expect_size) {
    dprintf(2, "layer %s: the registry sends %llu bytes where the manifest announces %llu: nothing was stored\n", digest, declared, expect_size);
    return 1;
  }

  if (mkdir(dest, 0755) < 0) { dprintf(2, "cannot create %s: %s\n", dest, strerror(errno)); return 1; }
  blob_fd = open(blob_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (blob_fd < 0) fail("cannot create %s: %s", blob_path, strerror(errno));
  forget_dirs();
  raw_hash = EVP_MD_CTX_new(); tar_hash = EVP_MD_CTX_new();
  zout = malloc(INFLATE_CHUNK);
  if (!raw_hash || !tar_hash || !zout || !EVP_DigestInit_ex(raw_hash, EVP_sha256(), NULL) || !EVP_DigestInit_ex(tar_hash, EVP_sha256(), NULL))
    fail("cannot start sha256");

  unsigned long long total = 0, shown = 0;
  if (body_have > expect_size) body_have = (size_t)expect_size;
  for (;;) {
    if (body_have) {
      EVP_DigestUpdate(raw_hash, buf, body_have);
      write_all(blob_fd, buf, body_have, blob_path);
      decompress(buf, body_have);
      total += body_have;
      /* Every 512 KiB and at the end: what a progress bar needs, without a write per read. */
      if (total - shown >= 1 << 19 || total == expect_size) { shown = total; dprintf(1, "p %llu\n", total); }
    }
    if (total == expect_size) break;
    size_t want = expect_size - total < READ_CHUNK ? (size_t)(expect_size - total) : READ_CHUNK;
    ssize_t got = read_sock(buf, want);
    if (got == -2) fail("layer %s: no data for %d s; nothing was stored", digest, IDLE_TIMEOUT_MS / 1000);
    if (got < 0) fail("layer %s: reading from the registry: %s; nothing was stored", digest, strerror(errno));
    if (got == 0) fail("layer %s: truncated: the connection closed after %llu of its %llu bytes; nothing was stored", digest, total, expect_size);
    body_have = (size_t)got;
  }
  close_sock();
  decompress_end();
  tar_end();
  if (out_fd >= 0) end_file();
  apply_native();
  if (close(blob_fd) < 0) fail("cannot write %s: %s", blob_path, strerror(errno));
  blob_fd = -1;
  /* A rootlet killed after sending the whole layer can no longer rename it into place: nobody would own these. */
  check_parent();

  char raw_hex[65], tar_hex[65];
  emit_hex(raw_hex, raw_hash);
  emit_hex(tar_hex, tar_hash);
  dprintf(1, "{\"digest\":\"sha256:%s\",\"diffId\":\"sha256:%s\",\"blobSize\":%llu,\"tarSize\":%llu,\"entries\":%llu,\"remapped\":%llu,\"skippedDevices\":%llu}\n",
          raw_hex, tar_hex, total, tar_bytes, entries, remapped, skipped_devices);
  return 0;
}
