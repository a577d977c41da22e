/*
 * rootlet-console [--size-fd N] SOCKET|--pty -- RUNTIME ARGS...
 * rootlet-console --set-size PID ROWS COLUMNS -- COMMAND ARGS...
 *
 * Runs a runtime command given `--console-socket SOCKET` (the caller puts it
 * in ARGS), receives the container terminal's master over that socket, and
 * relays: our stdin to the master, the master to our stdout, our window
 * size to the master. Exits with the runtime's status once it has ended and
 * everything the container wrote has been copied.
 *
 * --size-fd N: the window size comes as "ROWS COLUMNS\n" lines on descriptor N
 * instead of from our own terminal: the caller's terminal is elsewhere (an
 * API client's, whose size arrives in resize requests), our stdio are pipes.
 * A line "0 0" says the size is not known yet.
 *
 * --pty instead of SOCKET: we allocate the terminal ourselves and the
 * runtime gets its replica as stdin, stdout, stderr and controlling
 * terminal, sized before the runtime starts. For runsc, whose exec reads
 * --console-socket only with --detach and which (of 2022) ignores the
 * spec's consoleSize: a terminal it sent us would get its size only once
 * we had it, which can be after the first instruction. With --size-fd,
 * the runtime starts once the first size line (or the descriptor's end) has
 * come, so that the process never sees the terminal at 0x0.
 *
 * rootlet-console --set-size PID ROWS COLUMNS -- COMMAND ARGS...
 *
 * Sets the window size of the terminal whose master process PID (a
 * container's conmon) holds, then execs COMMAND (the runtime's start). For
 * runsc (of 2022), which ignores the spec's consoleSize: conmon's control
 * FIFO would set it too, but whenever conmon gets to it, which under load
 * can be after the container's first instruction has read the size. Here it
 * is set before the start: the master is taken from conmon with
 * pidfd_getfd(2) (Linux 5.6; the same user may, in the namespace conmon
 * runs in). Where that cannot be done the command runs all the same (the
 * caller has written the FIFO too): a size is no isolation.
 *
 * Why the relay: crun 1.8, when it allocates the terminal itself (no console socket),
 * returns as soon as the process exits, and what was still in the terminal
 * is lost (its wait loop handles SIGCHLD before the master's data). Holding
 * the master here, the copy ends only when the master is drained.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

static struct termios saved;
static int raw_fd = -1;

static void restore_terminal(void) {
  if (raw_fd >= 0) tcsetattr(raw_fd, TCSANOW, &saved);
}

static void die(const char *what) {
  restore_terminal();
  fprintf(stderr, "rootlet-console: %s: %s\n", what, strerror(errno));
  exit(125);
}

static void copy_winsize(int master) {
  struct winsize ws;
  if (ioctl(0, TIOCGWINSZ, &ws) == 0 || ioctl(1, TIOCGWINSZ, &ws) == 0) ioctl(master, TIOCSWINSZ, &ws);
}

/* --size-fd: the last size read (rows 0: none yet), applied to the master once there is one. */
static int size_fd = -1;
static struct winsize given;
static char size_buf[256];
static size_t size_len;
static int size_lines; /* whole lines read so far, "0 0" included */

/* Reads what the size descriptor has; the last whole line wins. Closes it at its end. */
static void read_sizes(int master) {
  ssize_t r = read(size_fd, size_buf + size_len, sizeof(size_buf) - 1 - size_len);
  if (r <= 0) {
    if (r < 0 && (errno == EINTR || errno == EAGAIN)) return;
    close(size_fd);
    size_fd = -1;
    return;
  }
  size_len += r;
  size_buf[size_len] = 0;
  char *line = size_buf, *nl;
  while ((nl = strchr(line, '\n'))) {
    unsigned rows, cols;
    *nl = 0;
    size_lines++;
    if (sscanf(line, "%u %u", &rows, &cols) == 2 && rows > 0 && cols > 0 && rows < 65536 && cols < 65536) {
      given.ws_row = rows;
      given.ws_col = cols;
      if (master >= 0) ioctl(master, TIOCSWINSZ, &given);
    }
    line = nl + 1;
  }
  size_len = strlen(line);
  memmove(size_buf, line, size_len);
  /* A line longer than the buffer is no size: dropped. */
  if (size_len == sizeof(size_buf) - 1) size_len = 0;
}

static int write_all(int fd, const char *buf, ssize_t n) {
  while (n > 0) {
    ssize_t w = write(fd, buf, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {
        struct pollfd p = { fd, POLLOUT, 0 };
        poll(&p, 1, -1);
        continue;
      }
      return -1;
    }
    buf += w;
    n -= w;
  }
  return 0;
}

/* The master fd a runtime sends over the console socket (SCM_RIGHTS). */
static int receive_fd(int conn) {
  char data[256];
  char control[CMSG_SPACE(sizeof(int))];
  struct iovec iov = { data, sizeof(data) };
  struct msghdr msg = { 0 };
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  if (recvmsg(conn, &msg, MSG_CMSG_CLOEXEC) < 0) return -1;
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  if (!c || c->cmsg_type != SCM_RIGHTS) { errno = EPROTO; return -1; }
  int fd;
  memcpy(&fd, CMSG_DATA(c), sizeof(int));
  return fd;
}

/* One signal from the signalfd: the runtime's end is noted, a window change goes to the master (once there is
   one), anything else is passed on to the runtime. */
static void on_signal(int sfd, pid_t child, int *status, int *child_done, int master) {
  struct signalfd_siginfo si;
  if (read(sfd, &si, sizeof(si)) != sizeof(si)) return;
  if (si.ssi_signo == SIGCHLD) {
    if (waitpid(child, status, WNOHANG) == child) *child_done = 1;
  } else if (si.ssi_signo == SIGWINCH) {
    if (master >= 0 && size_fd < 0 && !given.ws_row) copy_winsize(master);
  } else {
    kill(child, si.ssi_signo);
  }
}

static int exit_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 125;
}

/* --set-size: the ptmx descriptor among PID's, through a pidfd; 0 when set. */
static int set_size_of(pid_t pid, unsigned rows, unsigned cols) {
  int pidfd = syscall(SYS_pidfd_open, pid, 0);
  if (pidfd < 0) return -1;
  char dir[64];
  snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
  DIR *d = opendir(dir);
  int done = -1, found = 0;
  struct dirent *e;
  while (d && done < 0 && (e = readdir(d))) {
    char target[64];
    ssize_t n = readlinkat(dirfd(d), e->d_name, target, sizeof(target) - 1);
    if (n <= 0) continue;
    target[n] = 0;
    /* The master as the runtime opened it, in its mount namespace's /dev. */
    if (strcmp(target, "/dev/ptmx") != 0 && strcmp(target, "/dev/pts/ptmx") != 0) continue;
    found = 1;
    int fd = syscall(SYS_pidfd_getfd, pidfd, atoi(e->d_name), 0);
    if (fd < 0) break;
    struct winsize ws = { .ws_row = rows, .ws_col = cols };
    done = ioctl(fd, TIOCSWINSZ, &ws);
    close(fd);
  }
  int err = found ? errno : ENOENT;
  if (d) closedir(d);
  close(pidfd);
  errno = err;
  return done;
}

int main(int argc, char **argv) {
  if (argc > 6 && strcmp(argv[1], "--set-size") == 0 && strcmp(argv[5], "--") == 0) {
    if (set_size_of(atoi(argv[2]), strtoul(argv[3], NULL, 10), strtoul(argv[4], NULL, 10)) < 0)
      fprintf(stderr, "rootlet-console: the terminal's first size is left to conmon: %s\n", strerror(errno));
    execvp(argv[6], argv + 6);
    fprintf(stderr, "rootlet-console: cannot run %s: %s\n", argv[6], strerror(errno));
    return 127;
  }
  if (argc > 2 && strcmp(argv[1], "--size-fd") == 0) {
    size_fd = atoi(argv[2]);
    /* Ours alone: the runtime (and the container) must not hold it open. */
    if (size_fd < 3 || fcntl(size_fd, F_SETFD, FD_CLOEXEC) < 0) { errno = EBADF; die("--size-fd"); }
    argv += 2;
    argc -= 2;
  }
  if (argc < 4 || strcmp(argv[2], "--") != 0) {
    fprintf(stderr, "usage: rootlet-console [--size-fd N] SOCKET|--pty -- RUNTIME ARGS...\n");
    return 125;
  }
  const char *path = argv[1];
  int own_pty = strcmp(path, "--pty") == 0;

  int sock = -1, master = -1, replica = -1;
  if (own_pty) {
    master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0) die("allocating a terminal");
    const char *name = ptsname(master);
    if (!name || (replica = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0) die("opening the terminal");
    /* The first size before the runtime starts: a "0 0" line or the descriptor's end says there is none. */
    while (size_fd >= 0 && !size_lines) {
      struct pollfd p = { size_fd, POLLIN, 0 };
      if (poll(&p, 1, -1) < 0) { if (errno == EINTR) continue; die("poll"); }
      read_sizes(master);
    }
    if (!given.ws_row && size_fd < 0) copy_winsize(master);
  } else {
    sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (sock < 0) die("socket");
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    if (strlen(path) >= sizeof(addr.sun_path)) { errno = ENAMETOOLONG; die(path); }
    strcpy(addr.sun_path, path);
    unlink(path);
    if (bind(sock, (struct sockaddr *)&addr, sizeof(addr)) < 0) die("bind");
    if (listen(sock, 1) < 0) die("listen");
  }

  /* Signals arrive through a signalfd; those the caller forwards go on to the runtime. */
  sigset_t mask;
  sigemptyset(&mask);
  int forwarded[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };
  for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++) sigaddset(&mask, forwarded[i]);
  sigaddset(&mask, SIGCHLD);
  sigaddset(&mask, SIGWINCH);
  sigprocmask(SIG_BLOCK, &mask, NULL);
  int sfd = signalfd(-1, &mask, SFD_CLOEXEC);
  if (sfd < 0) die("signalfd");

  pid_t child = fork();
  if (child < 0) die("fork");
  if (child == 0) {
    sigprocmask(SIG_UNBLOCK, &mask, NULL);
    if (own_pty) {
      /* The replica as the runtime's stdio and controlling terminal, in a session of its own. */
      if (setsid() < 0 || ioctl(replica, TIOCSCTTY, 0) < 0) { fprintf(stderr, "rootlet-console: the terminal: %s\n", strerror(errno)); _exit(125); }
      for (int fd = 0; fd < 3; fd++) if (dup2(replica, fd) < 0) _exit(125);
    }
    execvp(argv[3], argv + 3);
    fprintf(stderr, "rootlet-console: cannot run %s: %s\n", argv[3], strerror(errno));
    _exit(127);
  }

  if (replica >= 0) close(replica);
  int status = 0, child_done = 0;
  int in_open = 1;
  /* Until the master arrives: the runtime may also fail before sending it. */
  while (master < 0 && !child_done) {
    struct pollfd p[3] = { { sock, POLLIN, 0 }, { sfd, POLLIN, 0 }, { size_fd, POLLIN, 0 } };
    if (poll(p, 3, -1) < 0) { if (errno == EINTR) continue; die("poll"); }
    if (p[1].revents) on_signal(sfd, child, &status, &child_done, -1);
    if (size_fd >= 0 && p[2].revents) read_sizes(-1);
    if (p[0].revents) {
      int conn = accept4(sock, NULL, NULL, SOCK_CLOEXEC);
      if (conn >= 0) {
        master = receive_fd(conn);
        close(conn);
        if (master < 0) die("receiving the terminal");
      }
    }
  }
  if (sock >= 0) {
    close(sock);
    unlink(path);
  }
  if (master < 0) return exit_status(status);

  if (given.ws_row) ioctl(master, TIOCSWINSZ, &given);
  else if (size_fd < 0) copy_winsize(master);
  /* Our terminal raw, as Docker's client makes it: the container's terminal does the line editing and
     the newline translation (on stdout too when stdin is no terminal, else \r\n would become \r\r\n). */
  int term = isatty(0) ? 0 : isatty(1) ? 1 : -1;
  if (term >= 0 && tcgetattr(term, &saved) == 0) {
    struct termios raw = saved;
    cfmakeraw(&raw);
    if (tcsetattr(term, TCSANOW, &raw) == 0) raw_fd = term;
  }
  fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK);

  char buf[65536];
  for (;;) {
    struct pollfd p[4] = { { master, POLLIN, 0 }, { sfd, POLLIN, 0 }, { in_open ? 0 : -1, POLLIN, 0 }, { size_fd, POLLIN, 0 } };
    /* Once the runtime has ended, what is left in the master is read without waiting. */
    int n = poll(p, 4, child_done ? 0 : -1);
    if (n < 0) { if (errno == EINTR) continue; die("poll"); }
    if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t r = read(master, buf, sizeof(buf));
      if (r > 0) { if (write_all(1, buf, r) < 0) break; continue; }
      if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) break; /* EIO: every slave end closed */
    }
    if (n == 0 && child_done) break;
    if (p[1].revents) on_signal(sfd, child, &status, &child_done, master);
    if (size_fd >= 0 && p[3].revents) read_sizes(master);
    if (in_open && (p[2].revents & (POLLIN | POLLHUP | POLLERR))) {
      ssize_t r = read(0, buf, sizeof(buf));
      if (r > 0) write_all(master, buf, r);
      else if (r == 0 || errno != EINTR) in_open = 0;
    }
  }
  restore_terminal();
  if (!child_done) waitpid(child, &status, 0);
  return exit_status(status);
}
