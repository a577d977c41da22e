/*
 * rootlet-mount-exec DIR OPTIONS MERGED -- COMMAND ARGS...
 *
 * In a new mount namespace (propagation slave, so an unmount in the
 * holder's namespace reaches it), mounts an overlay filesystem with
 * OPTIONS (its lowerdir names relative to DIR, where it runs) on MERGED,
 * then execs COMMAND. The mount dies with the namespace, that is with the
 * last process in it: no mount outlives the container.
 *
 * Why: it does in one exec what `unshare --mount --propagation slave sh -c
 * 'cd DIR && mount -t overlay ... && exec "$@"'` does in three execs and a
 * fork, on the path of every detached start (docs/decisions.md). Only the
 * plain overlay start uses it; the other drivers, a workdir to make, a
 * sandbox and a foreground run keep the shell script (bundle.ts).
 *
 * Exit status 125 with one line on stderr when the mount fails, as the
 * script did; 127 when COMMAND cannot be run.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc < 6 || strcmp(argv[4], "--") != 0) {
    fprintf(stderr, "usage: rootlet-mount-exec DIR OPTIONS MERGED -- COMMAND ARGS...\n");
    return 125;
  }
  const char *dir = argv[1], *options = argv[2], *merged = argv[3];
  if (unshare(CLONE_NEWNS) != 0 || mount("none", "/", NULL, MS_REC | MS_SLAVE, NULL) != 0) {
    fprintf(stderr, "rootlet: cannot make a mount namespace for the container: %s\n", strerror(errno));
    return 125;
  }
  if (chdir(dir) != 0 || mount("overlay", merged, "overlay", 0, options) != 0) {
    fprintf(stderr, "rootlet: cannot mount the container's root filesystem (overlay): %s\n", strerror(errno));
    return 125;
  }
  execvp(argv[5], argv + 5);
  fprintf(stderr, "rootlet: cannot run %s: %s\n", argv[5], strerror(errno));
  return 127;
}
