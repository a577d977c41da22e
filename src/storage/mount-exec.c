/*
 * rootlet-mount-exec [--exit-file FILE] DIR OPTIONS MERGED -- COMMAND ARGS...
 *
 * In a new mount namespace (propagation slave, so an unmount in the
 * holder's namespace reaches it), mounts an overlay filesystem with
 * OPTIONS (its lowerdir names relative to DIR, where it runs) on MERGED,
 * then execs COMMAND. The mount dies with the namespace, that is with the
 * last process in it: no mount outlives the container.
 *
 * --exit-file FILE (a foreground run, which has no monitor): COMMAND runs
 * as our child instead, the signals rootlet forwards are passed on to it,
 * and its exit status (128+N for signal N, as a shell says) is written to
 * FILE atomically before we exit with it: a rootlet killed meanwhile no
 * longer takes the container's exit code with it.
 *
 * Why: it does in one exec what `unshare --mount --propagation slave sh -c
 * 'cd DIR && mount -t overlay ... && exec "$@"'` did in three execs and a
 * fork, on the path of every start (docs/decisions.md). The other drivers,
 * a working directory to make and a sandbox keep the shell script
 * (src/engine/containers/bundle.ts).
 *
 * Exit status 125 with one line on stderr when the mount fails, as the
 * script did; 127 when COMMAND cannot be run.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile pid_t child = 0;

static void forward(int sig) {
  if (child > 0) kill(child, sig);
}

static int write_exit_file(const char *file, int code) {
  char tmp[4096], text[16];
  if (snprintf(tmp, sizeof tmp, "%s.tmp", file) >= (int)sizeof tmp) return -1;
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return -1;
  int n = snprintf(text, sizeof text, "%d", code);
  int ok = write(fd, text, n) == n;
  if (close(fd) != 0 || !ok) return -1;
  return rename(tmp, file);
}

/* Runs argv as a child with forwarded signals; returns its status as a shell would. */
static int run_child(char **argv) {
  static const int forwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};
  struct sigaction sa = {0};
  sa.sa_handler = forward;
  sigemptyset(&sa.sa_mask);
  /* Blocked until the child's pid is known, so none is lost in between. */
  sigset_t set, old;
  sigemptyset(&set);
  for (size_t i = 0; i < sizeof forwarded / sizeof *forwarded; i++) sigaddset(&set, forwarded[i]);
  sigprocmask(SIG_BLOCK, &set, &old);
  for (size_t i = 0; i < sizeof forwarded / sizeof *forwarded; i++) sigaction(forwarded[i], &sa, NULL);
  pid_t pid = fork();
  if (pid < 0) {
    fprintf(stderr, "rootlet: cannot start %s: %s\n", argv[0], strerror(errno));
    return 125;
  }
  if (pid == 0) {
    for (size_t i = 0; i < sizeof forwarded / sizeof *forwarded; i++) signal(forwarded[i], SIG_DFL);
    sigprocmask(SIG_SETMASK, &old, NULL);
    execvp(argv[0], argv);
    fprintf(stderr, "rootlet: cannot run %s: %s\n", argv[0], strerror(errno));
    _exit(127);
  }
  child = pid;
  sigprocmask(SIG_SETMASK, &old, NULL);
  int status;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return 125;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int main(int argc, char **argv) {
  const char *exit_file = NULL;
  if (argc > 2 && strcmp(argv[1], "--exit-file") == 0) {
    exit_file = argv[2];
    argv += 2;
    argc -= 2;
  }
  if (argc < 6 || strcmp(argv[4], "--") != 0) {
    fprintf(stderr, "usage: rootlet-mount-exec [--exit-file FILE] DIR OPTIONS MERGED -- COMMAND ARGS...\n");
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
  if (!exit_file) {
    execvp(argv[5], argv + 5);
    fprintf(stderr, "rootlet: cannot run %s: %s\n", argv[5], strerror(errno));
    return 127;
  }
  int code = run_child(argv + 5);
  if (write_exit_file(exit_file, code) != 0) fprintf(stderr, "rootlet: cannot record the exit code in %s: %s\n", exit_file, strerror(errno));
  return code;
}
