/*
 * rootlet-portfwd: forwards a container's published ports from the host
 * into the network namespace the container is reachable in.
 *
 *   rootlet-portfwd NETNS_PATH SPEC...
 *   SPEC = PROTO,HOSTIP,HOSTPORT,CTRIP,CTRPORT   (PROTO tcp|udp; HOSTIP "" = every address)
 *
 * Every host socket is bound first, in the network namespace rootlet-portfwd
 * was started in (the host's), so a port below ip_unprivileged_port_start
 * or in use fails here, before the container runs. It then prints
 * "ok PORT..." (the ports bound, in SPEC order: port 0 becomes the one the
 * kernel chose) on stdout, closes stdout, joins NETNS_PATH and relays:
 * connections it makes from there come from the network's gateway address,
 * which is the source a server in the container sees.
 *
 * One small process per container that publishes ports (Podman runs
 * rootlessport for the same reason): a user-mode stack shared by many
 * containers cannot add host ports once started. TCP data moves with
 * splice(2), kernel to kernel.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PIPE_CAP (1 << 20)
#define UDP_IDLE_S 120

enum kind { LISTEN_TCP, LISTEN_UDP, CONN, UDP_UP };

struct spec {
	int udp;
	struct sockaddr_in6 host;
	int host_v4;
	struct sockaddr_in ctr;
	int fd;
};

struct conn;
struct end {
	enum kind kind;
	struct spec *spec;
	struct conn *c;
	int side;
};

struct half {
	int p[2];
	size_t n;
	int eof, shut;
};

struct conn {
	int fd[2];
	struct end e[2];
	unsigned reg[2]; /* events registered in epoll, 0 = not registered */
	int connecting, dead;
	struct conn *next_dead;
	struct half h[2]; /* h[d]: fd[d] -> fd[1-d] */
};

struct udp_session {
	struct end e;
	int fd;
	struct sockaddr_in6 client;
	socklen_t clen;
	time_t last;
	struct udp_session *next;
};

static int ep;
static struct udp_session *sessions;
/* Freed after each epoll batch: a later event of the same batch may name a closed connection. */
static struct conn *graveyard;

static void die(const char *what) {
	fprintf(stderr, "%s: %s\n", what, strerror(errno));
	exit(1);
}

static void set_events(struct conn *c, int side, unsigned ev) {
	if (ev == c->reg[side]) return;
	struct epoll_event e = {.events = ev, .data.ptr = &c->e[side]};
	if (!c->reg[side]) epoll_ctl(ep, EPOLL_CTL_ADD, c->fd[side], &e);
	else if (!ev) epoll_ctl(ep, EPOLL_CTL_DEL, c->fd[side], NULL);
	else epoll_ctl(ep, EPOLL_CTL_MOD, c->fd[side], &e);
	c->reg[side] = ev;
}

static void conn_close(struct conn *c) {
	set_events(c, 0, 0);
	set_events(c, 1, 0);
	for (int i = 0; i < 2; i++) {
		close(c->fd[i]);
		if (c->h[i].p[0] >= 0) close(c->h[i].p[0]);
		if (c->h[i].p[1] >= 0) close(c->h[i].p[1]);
	}
	c->dead = 1;
	c->next_dead = graveyard;
	graveyard = c;
}

/* Moves what can move in both directions; returns 0 when the connection is finished or broken. */
static int pump(struct conn *c) {
	for (int d = 0; d < 2; d++) {
		struct half *h = &c->h[d];
		int src = c->fd[d], dst = c->fd[1 - d];
		for (;;) {
			int moved = 0;
			if (!h->eof && h->n < PIPE_CAP) {
				ssize_t r = splice(src, NULL, h->p[1], NULL, PIPE_CAP - h->n, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
				if (r > 0) { h->n += r; moved = 1; }
				else if (r == 0) h->eof = 1;
				else if (errno != EAGAIN) return 0;
			}
			if (h->n > 0) {
				ssize_t w = splice(h->p[0], NULL, dst, NULL, h->n, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
				if (w > 0) { h->n -= w; moved = 1; }
				else if (w < 0 && errno != EAGAIN) return 0;
			}
			if (!moved) break;
		}
		if (h->eof && !h->n && !h->shut) {
			shutdown(dst, SHUT_WR);
			h->shut = 1;
		}
	}
	if (c->h[0].shut && c->h[1].shut) return 0;
	for (int s = 0; s < 2; s++) {
		unsigned ev = 0;
		if (!c->h[s].eof && c->h[s].n < PIPE_CAP) ev |= EPOLLIN;
		if (c->h[1 - s].n > 0) ev |= EPOLLOUT;
		set_events(c, s, ev);
	}
	return 1;
}

static void accept_tcp(struct spec *s) {
	for (;;) {
		int cfd = accept4(s->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd < 0) return;
		int ufd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		struct conn *c = calloc(1, sizeof *c);
		if (ufd < 0 || !c) { close(cfd); if (ufd >= 0) close(ufd); free(c); continue; }
		c->fd[0] = cfd;
		c->fd[1] = ufd;
		for (int i = 0; i < 2; i++) {
			c->e[i] = (struct end){.kind = CONN, .c = c, .side = i};
			c->h[i].p[0] = c->h[i].p[1] = -1;
		}
		int one = 1;
		setsockopt(ufd, IPPROTO_TCP, 1 /* TCP_NODELAY */, &one, sizeof one);
		setsockopt(cfd, IPPROTO_TCP, 1, &one, sizeof one);
		if (pipe2(c->h[0].p, O_NONBLOCK | O_CLOEXEC) || pipe2(c->h[1].p, O_NONBLOCK | O_CLOEXEC)) { conn_close(c); continue; }
		fcntl(c->h[0].p[1], F_SETPIPE_SZ, PIPE_CAP);
		fcntl(c->h[1].p[1], F_SETPIPE_SZ, PIPE_CAP);
		if (connect(ufd, (struct sockaddr *)&s->ctr, sizeof s->ctr) && errno != EINPROGRESS) { conn_close(c); continue; }
		c->connecting = 1;
		set_events(c, 1, EPOLLOUT);
	}
}

static void on_conn(struct end *e, unsigned ev) {
	struct conn *c = e->c;
	if (c->dead) return;
	if (c->connecting) {
		int err = 0;
		socklen_t len = sizeof err;
		getsockopt(c->fd[1], SOL_SOCKET, SO_ERROR, &err, &len);
		if (err) { conn_close(c); return; }
		c->connecting = 0;
	}
	(void)ev;
	if (!pump(c)) conn_close(c);
}

static void on_udp_client(struct spec *s) {
	char buf[65536];
	for (;;) {
		struct sockaddr_in6 from;
		socklen_t flen = sizeof from;
		ssize_t n = recvfrom(s->fd, buf, sizeof buf, MSG_DONTWAIT, (struct sockaddr *)&from, &flen);
		if (n < 0) return;
		struct udp_session *u;
		for (u = sessions; u; u = u->next)
			if (u->e.spec == s && u->clen == flen && !memcmp(&u->client, &from, flen)) break;
		if (!u) {
			u = calloc(1, sizeof *u);
			if (!u) continue;
			u->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
			if (u->fd < 0 || connect(u->fd, (struct sockaddr *)&s->ctr, sizeof s->ctr)) {
				if (u->fd >= 0) close(u->fd);
				free(u);
				continue;
			}
			u->e = (struct end){.kind = UDP_UP, .spec = s};
			u->client = from;
			u->clen = flen;
			struct epoll_event e = {.events = EPOLLIN, .data.ptr = u};
			epoll_ctl(ep, EPOLL_CTL_ADD, u->fd, &e);
			u->next = sessions;
			sessions = u;
		}
		u->last = time(NULL);
		send(u->fd, buf, n, MSG_DONTWAIT);
	}
}

static void on_udp_reply(struct udp_session *u) {
	char buf[65536];
	ssize_t n;
	while ((n = recv(u->fd, buf, sizeof buf, MSG_DONTWAIT)) >= 0) {
		sendto(u->e.spec->fd, buf, n, MSG_DONTWAIT, (struct sockaddr *)&u->client, u->clen);
		u->last = time(NULL);
	}
}

static void expire_udp(void) {
	time_t now = time(NULL);
	for (struct udp_session **p = &sessions; *p;) {
		struct udp_session *u = *p;
		if (now - u->last > UDP_IDLE_S) {
			*p = u->next;
			close(u->fd);
			free(u);
		} else p = &u->next;
	}
}

static int parse_spec(char *arg, struct spec *s) {
	char *f[5];
	for (int i = 0; i < 5; i++) {
		f[i] = strsep(&arg, ",");
		if (!f[i]) return -1;
	}
	s->udp = !strcmp(f[0], "udp");
	memset(&s->host, 0, sizeof s->host);
	s->host.sin6_family = AF_INET6;
	s->host.sin6_port = htons(atoi(f[2]));
	s->host_v4 = 0;
	if (*f[1]) {
		struct in_addr a4;
		if (inet_pton(AF_INET, f[1], &a4) == 1) {
			/* An IPv4 address as v4-mapped: one code path for both families. */
			s->host_v4 = 1;
			s->host.sin6_addr.s6_addr[10] = s->host.sin6_addr.s6_addr[11] = 0xff;
			memcpy(&s->host.sin6_addr.s6_addr[12], &a4, 4);
		} else if (inet_pton(AF_INET6, f[1], &s->host.sin6_addr) != 1) return -1;
	}
	memset(&s->ctr, 0, sizeof s->ctr);
	s->ctr.sin_family = AF_INET;
	s->ctr.sin_port = htons(atoi(f[4]));
	return inet_pton(AF_INET, f[3], &s->ctr.sin_addr) == 1 ? 0 : -1;
}

static int bind_host(struct spec *s, const char *arg) {
	int type = (s->udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK | SOCK_CLOEXEC;
	int fd = socket(AF_INET6, type, 0);
	int zero = 0, one = 1;
	if (fd >= 0) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
	else if (errno == EAFNOSUPPORT) {
		/* A host without IPv6: bind the IPv4 address itself. */
		struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = s->host.sin6_port};
		if (s->host_v4) memcpy(&a.sin_addr, &s->host.sin6_addr.s6_addr[12], 4);
		fd = socket(AF_INET, type, 0);
		if (fd < 0) return -1;
		if (!s->udp) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		if (bind(fd, (struct sockaddr *)&a, sizeof a)) { fprintf(stderr, "bind %s: %s\n", arg, strerror(errno)); exit(1); }
		s->fd = fd;
		return 0;
	}
	if (fd < 0) return -1;
	if (!s->udp) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(fd, (struct sockaddr *)&s->host, sizeof s->host)) {
		fprintf(stderr, "bind %s: %s\n", arg, strerror(errno));
		exit(1);
	}
	if (!s->udp && listen(fd, 4096)) return -1;
	s->fd = fd;
	return 0;
}

int main(int argc, char **argv) {
	if (argc < 3) {
		fprintf(stderr, "usage: rootlet-portfwd NETNS_PATH PROTO,HOSTIP,HOSTPORT,CTRIP,CTRPORT...\n");
		return 2;
	}
	int n = argc - 2;
	struct spec *specs = calloc(n, sizeof *specs);
	for (int i = 0; i < n; i++) {
		char *copy = strdup(argv[i + 2]);
		if (parse_spec(copy, &specs[i])) { fprintf(stderr, "invalid port spec: %s\n", argv[i + 2]); return 2; }
		if (bind_host(&specs[i], argv[i + 2])) die("socket");
	}
	int ns = open(argv[1], O_RDONLY | O_CLOEXEC);
	if (ns < 0) die(argv[1]);
	if (setns(ns, CLONE_NEWNET)) die("setns");
	close(ns);
	printf("ok");
	for (int i = 0; i < n; i++) {
		struct sockaddr_storage a;
		socklen_t len = sizeof a;
		getsockname(specs[i].fd, (struct sockaddr *)&a, &len);
		int port = a.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&a)->sin6_port) : ntohs(((struct sockaddr_in *)&a)->sin_port);
		printf(" %d", port);
	}
	printf("\n");
	fflush(stdout);
	int devnull = open("/dev/null", O_RDWR);
	dup2(devnull, 1);
	dup2(devnull, 2);
	signal(SIGPIPE, SIG_IGN);

	ep = epoll_create1(EPOLL_CLOEXEC);
	struct end *lends = calloc(n, sizeof *lends);
	for (int i = 0; i < n; i++) {
		lends[i] = (struct end){.kind = specs[i].udp ? LISTEN_UDP : LISTEN_TCP, .spec = &specs[i]};
		struct epoll_event e = {.events = EPOLLIN, .data.ptr = &lends[i]};
		epoll_ctl(ep, EPOLL_CTL_ADD, specs[i].fd, &e);
	}
	struct epoll_event evs[64];
	for (;;) {
		int k = epoll_wait(ep, evs, 64, sessions ? 30000 : -1);
		for (int i = 0; i < k; i++) {
			struct end *e = evs[i].data.ptr;
			switch (e->kind) {
			case LISTEN_TCP: accept_tcp(e->spec); break;
			case LISTEN_UDP: on_udp_client(e->spec); break;
			case CONN: on_conn(e, evs[i].events); break;
			case UDP_UP: on_udp_reply((struct udp_session *)e); break;
			}
		}
		while (graveyard) {
			struct conn *c = graveyard;
			graveyard = c->next_dead;
			free(c);
		}
		if (sessions) expire_udp();
	}
}
