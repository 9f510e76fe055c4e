/* cps-monitor: the per-container monitor of ContainerPS (the role podman's conmon plays).
 * It starts the container with `runc run --detach` (or `restore`), reports one status line on
 * stdout, then stays behind as the init's subreaper: it keeps the console log, records the
 * exit status atomically and removes the runtime state. Contract: native/README.md. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define DELETE_TIMEOUT_MS 30000
#define START_TIMEOUT_MS  90000   /* the engine's wait for the status line, unless --start-timeout gives it */
#define DRAIN_TIMEOUT_MS  2000
#define HEAD_MAX          4096

struct opts {
	const char *runc, *root, *bundle, *id, *state, *restore;
	const char *criu; /* runc --criu: the CRIU binary to restore with (null: runc's default, criu in PATH) */
	const char *cgroup; /* a cgroup (v2) directory the monitor moves itself into first, out of the caller's (a login session's scope) */
	long long log_size;
	/* How long the engine waits for the status line (--start-timeout, ms). A start must end within
	 * it: runc gets two thirds, the delete after a failed start two ninths, the rest is margin. */
	long long start_timeout_ms;
	const char **umounts;
	int n_umounts;
	const char **restore_opts; /* extra runc restore options (--tcp-established, --empty-ns network...) */
	int n_restore_opts;
};

struct mon {
	struct opts o;
	char *pidfile;
	int devnull, state_dfd, sfd, pipe_fd, con_fd;
	long long con_size;
	char head[HEAD_MAX + 1];   /* first bytes of the console, for the error line */
	size_t head_len;
	pid_t want, init;          /* the helper we wait for (runc), the container's init */
	int want_status, init_status;
	bool want_done, init_done;
};

static int log_fd = -1;            /* STATE_DIR/monitor.log; stderr until it is open */

static void mlog(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void mlog(const char *fmt, ...)
{
	char buf[2048];
	struct timespec ts;
	struct tm tm;
	int saved = errno, r;
	size_t n;
	va_list ap;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	n += (size_t)snprintf(buf + n, sizeof(buf) - n, ".%03ldZ [%d] ", ts.tv_nsec / 1000000, (int)getpid());
	va_start(ap, fmt);
	r = vsnprintf(buf + n, sizeof(buf) - n - 1, fmt, ap);
	va_end(ap);
	n += r < 0 ? 0 : ((size_t)r < sizeof(buf) - n - 1 ? (size_t)r : sizeof(buf) - n - 2);
	buf[n++] = '\n';
	if (write(log_fd >= 0 ? log_fd : 2, buf, n) < 0) { /* nowhere left to report it */ }
	errno = saved;
}

static int say(char *why, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int say(char *why, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, size, fmt, ap);
	va_end(ap);
	return -1;
}

static int write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;

	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static int remaining(long long deadline)
{
	long long r = deadline - now_ms();
	return r < 0 ? 0 : (int)r;
}

/* The one status line for the engine; EPIPE (the engine is gone) is only logged. */
static void status(const char *kind, const char *text)
{
	char buf[1200];
	int n = snprintf(buf, sizeof(buf), "%s %.1024s\n", kind, text);

	mlog("status: %s %s", kind, text);
	if (n < 0 || write_all(1, buf, (size_t)n) < 0)
		mlog("write status line: %s", strerror(errno));
}

/* NAME.tmp, fsync, rename to NAME, fsync the directory. */
static int write_atomic(struct mon *m, const char *name, const char *text)
{
	char tmp[64];
	int fd;

	snprintf(tmp, sizeof(tmp), "%s.tmp", name);
	fd = openat(m->state_dfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		mlog("open %s: %s", tmp, strerror(errno));
		return -1;
	}
	if (write_all(fd, text, strlen(text)) < 0 || fsync(fd) < 0) {
		mlog("write %s: %s", tmp, strerror(errno));
		close(fd);
		return -1;
	}
	if (close(fd) < 0 || renameat(m->state_dfd, tmp, m->state_dfd, name) < 0) {
		mlog("close/rename %s: %s", tmp, strerror(errno));
		return -1;
	}
	if (fsync(m->state_dfd) < 0)
		mlog("fsync state dir: %s", strerror(errno));
	return 0;
}

static void unlink_state(struct mon *m, const char *name)
{
	if (unlinkat(m->state_dfd, name, 0) < 0 && errno != ENOENT)
		mlog("unlink %s: %s", name, strerror(errno));
}

static int console_open(struct mon *m)
{
	struct stat st;

	m->con_fd = openat(m->state_dfd, "console.log", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	if (m->con_fd < 0 || fstat(m->con_fd, &st) < 0) {
		mlog("open console.log: %s", strerror(errno));
		return -1;
	}
	m->con_size = st.st_size;
	return 0;
}

static int console_rotate(struct mon *m)
{
	if (renameat(m->state_dfd, "console.log", m->state_dfd, "console.log.1") < 0) {
		mlog("rotate console.log: %s", strerror(errno));
		return -1;
	}
	if (close(m->con_fd) < 0)
		mlog("close console.log: %s", strerror(errno));
	m->con_fd = -1;
	return console_open(m);
}

/* Appends to console.log, which never grows past --log-size: it rotates to console.log.1 after
 * the last line that fits (mid-line only for a line longer than the whole log). */
static void console_write(struct mon *m, const char *buf, size_t n)
{
	while (n > 0) {
		if (m->con_fd < 0 && console_open(m) < 0)
			return;
		size_t room = m->con_size < m->o.log_size ? (size_t)(m->o.log_size - m->con_size) : 0, k = n;
		if (k > room) {
			const char *nl = room ? memrchr(buf, '\n', room) : NULL;
			k = nl ? (size_t)(nl - buf) + 1 : (m->con_size > 0 ? 0 : room);
		}
		if (k == 0) {
			if (console_rotate(m) < 0)
				return;
			continue;
		}
		if (write_all(m->con_fd, buf, k) < 0) {
			mlog("write console.log: %s", strerror(errno));
			return;
		}
		m->con_size += (long long)k;
		buf += k;
		n -= k;
	}
}

/* Returns 0 at EOF (pipe closed), 1 when empty for now, 2 when more may be waiting. */
static int drain_pipe(struct mon *m)
{
	char buf[65536];

	for (int i = 0; i < 16; i++) {
		ssize_t r = read(m->pipe_fd, buf, sizeof(buf));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN)
			return 1;
		if (r < 0)
			mlog("read console pipe: %s", strerror(errno));
		if (r <= 0) {
			close(m->pipe_fd);
			m->pipe_fd = -1;
			return 0;
		}
		size_t k = HEAD_MAX - m->head_len < (size_t)r ? HEAD_MAX - m->head_len : (size_t)r;
		memcpy(m->head + m->head_len, buf, k);
		m->head_len += k;
		console_write(m, buf, (size_t)r);
	}
	return 2;
}

/* Before the init is known only runc is reaped (the init may be reparented to us as a zombie
 * the moment runc exits); afterwards every child, orphans of runc exec helpers included. */
static void reap(struct mon *m)
{
	for (;;) {
		int st;
		pid_t p = waitpid(m->init > 0 ? -1 : m->want, &st, WNOHANG);
		if (p < 0 && errno == EINTR)
			continue;
		if (p <= 0)
			return;
		if (p == m->want) {
			m->want_status = st;
			m->want_done = true;
		} else if (p == m->init) {
			m->init_status = st;
			m->init_done = true;
			mlog("init %d exited (status 0x%x)", (int)p, st);
		}
	}
}

static void handle_signals(struct mon *m)
{
	struct signalfd_siginfo si;
	bool chld = false;

	for (;;) {
		ssize_t r = read(m->sfd, &si, sizeof(si));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno != EAGAIN)
			mlog("read signalfd: %s", strerror(errno));
		if (r != (ssize_t)sizeof(si))
			break;
		if (si.ssi_signo == SIGCHLD)
			chld = true;
		else
			mlog("ignoring signal %u from pid %u", si.ssi_signo, si.ssi_pid);
	}
	if (chld)
		reap(m);
}

static void wait_events(struct mon *m, int timeout_ms)
{
	struct pollfd p[2] = { { .fd = m->sfd, .events = POLLIN }, { .fd = m->pipe_fd, .events = POLLIN } };

	if (poll(p, 2, timeout_ms) < 0) {
		if (errno != EINTR) {
			mlog("poll: %s", strerror(errno));
			usleep(100000);
		}
		return;
	}
	if (p[1].revents)
		drain_pipe(m);
	if (p[0].revents)
		handle_signals(m);
}

/* Waits for m->want while keeping the console drained; SIGKILLs it after timeout_ms. */
static bool wait_want(struct mon *m, int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;

	while (!m->want_done) {
		int left = remaining(deadline);
		if (left > 0) {
			wait_events(m, left);
			continue;
		}
		mlog("pid %d timed out, killing it", (int)m->want);
		if (kill(m->want, SIGKILL) < 0)
			mlog("kill %d: %s", (int)m->want, strerror(errno));
		while (waitpid(m->want, &m->want_status, 0) < 0 && errno == EINTR)
			;
		m->want_done = true;
		return false;
	}
	return true;
}

static __attribute__((noreturn)) void child_exec(struct mon *m, char *const argv[], int out_fd)
{
	sigset_t none;

	sigemptyset(&none);
	if (sigprocmask(SIG_SETMASK, &none, NULL) < 0 || signal(SIGHUP, SIG_DFL) == SIG_ERR ||
	    signal(SIGPIPE, SIG_DFL) == SIG_ERR || dup2(m->devnull, 0) < 0 || dup2(out_fd, 1) < 0 ||
	    dup2(out_fd, 2) < 0 || close_range(3, ~0U, 0) < 0) {
		dprintf(out_fd, "cps-monitor: preparing %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	execv(argv[0], argv);
	dprintf(2, "cps-monitor: exec %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

/* Runs argv with stdin /dev/null and stdout+stderr on out_fd; sets m->want. */
static int spawn(struct mon *m, const char *const argv[], int out_fd)
{
	pid_t pid = fork();

	if (pid < 0) {
		mlog("fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0)
		child_exec(m, (char *const *)argv, out_fd);
	m->want = pid;
	m->want_done = false;
	return 0;
}

static int start_runc(struct mon *m, char *why, size_t wsz)
{
	const char *img = m->o.restore;
	const char *fixed[] = { "--root", m->o.root, img ? "restore" : "run", "--detach",
				"--bundle", m->o.bundle, "--pid-file", m->pidfile };
	size_t n = 0, nfixed = sizeof fixed / sizeof *fixed;
	const char **av = calloc(nfixed + 6 + (size_t)m->o.n_restore_opts + 1, sizeof(*av));
	int p[2], r;

	if (!av)
		return say(why, wsz, "calloc: %s", strerror(errno));
	av[n++] = m->o.runc;
	if (m->o.criu) {
		av[n++] = "--criu";
		av[n++] = m->o.criu;
	}
	for (size_t i = 0; i < nfixed; i++)
		av[n++] = fixed[i];
	if (img) {
		av[n++] = "--image-path";
		av[n++] = img;
		for (int i = 0; i < m->o.n_restore_opts; i++)
			av[n++] = m->o.restore_opts[i];
	}
	av[n++] = m->o.id;
	av[n] = NULL;

	if (pipe2(p, O_CLOEXEC) < 0)
		return say(why, wsz, "pipe: %s", strerror(errno));
	if (fcntl(p[0], F_SETFL, O_NONBLOCK) < 0)  /* the read end only: the container writes blocking */
		return say(why, wsz, "fcntl: %s", strerror(errno));
	m->pipe_fd = p[0];
	r = spawn(m, av, p[1]);
	free(av);
	if (r < 0)
		say(why, wsz, "fork: %s", strerror(errno));
	if (close(p[1]) < 0)
		mlog("close pipe: %s", strerror(errno));
	return r;
}

/* Reads a small file into buf (NUL-terminated). */
static int read_small(int dfd, const char *name, char *buf, size_t size)
{
	ssize_t r;
	int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC);

	buf[0] = '\0';
	if (fd < 0) {
		mlog("open %s: %s", name, strerror(errno));
		return -1;
	}
	while ((r = read(fd, buf, size - 1)) < 0 && errno == EINTR)
		;
	if (r < 0)
		mlog("read %s: %s", name, strerror(errno));
	close(fd);
	buf[r < 0 ? 0 : r] = '\0';
	return r < 0 ? -1 : 0;
}

static pid_t read_init_pid(struct mon *m)
{
	char buf[32], *end;
	long v;

	if (read_small(m->state_dfd, "init.pid", buf, sizeof(buf)) < 0)
		return -1;
	errno = 0;
	v = strtol(buf, &end, 10);
	if (errno || end == buf || v <= 0 || v > INT_MAX || (*end && *end != '\n')) {
		mlog("init.pid holds no pid: '%s'", buf);
		return -1;
	}
	return (pid_t)v;
}

/* "PID STARTTIME\n", starttime being field 22 of /proc/self/stat. */
static int write_monitor_pid(struct mon *m)
{
	char buf[1024], *p;

	if (read_small(AT_FDCWD, "/proc/self/stat", buf, sizeof(buf)) < 0)
		return -1;
	p = strrchr(buf, ')');              /* comm may hold spaces and parentheses */
	for (int field = 2; p && field < 22; field++)
		if ((p = strchr(p, ' ')))
			p++;
	if (!p) {
		mlog("cannot parse /proc/self/stat");
		return -1;
	}
	snprintf(buf, sizeof(buf), "%d %llu\n", (int)getpid(), strtoull(p, NULL, 10));
	return write_atomic(m, "monitor.pid", buf);
}

/* The error line: runc's first level=error/fatal message (msg="..." unquoted), else the first
 * line of output, else the reason. */
static void error_text(struct mon *m, const char *reason, char *out, size_t size)
{
	char *save = NULL, *line, *pick = NULL, *s;
	size_t j = 0;

	m->head[m->head_len] = '\0';
	for (line = strtok_r(m->head, "\r\n", &save); line; line = strtok_r(NULL, "\r\n", &save)) {
		if (!pick)
			pick = line;
		if (strstr(line, "level=error") || strstr(line, "level=fatal")) {
			pick = line;
			break;
		}
	}
	s = pick ? pick : (char *)reason;
	if (pick && strstr(pick, "level=") && strstr(pick, "msg=\""))
		s = strstr(pick, "msg=\"") + 5;
	for (bool quoted = s != pick && s != reason; *s && j + 1 < size; s++) {
		if (quoted && *s == '"')
			break;
		if (quoted && *s == '\\' && s[1]) {
			s++;
			if (*s == 'n' || *s == 't' || *s == 'r') {   /* an escaped control character */
				out[j++] = ' ';
				continue;
			}
		}
		out[j++] = (unsigned char)*s < 0x20 || *s == 0x7f ? ' ' : *s;
	}
	out[j] = '\0';
}

static void do_umounts(struct mon *m)
{
	for (int i = 0; i < m->o.n_umounts; i++)
		if (umount2(m->o.umounts[i], MNT_DETACH) < 0 && errno != ENOENT && errno != EINVAL)
			mlog("umount %s: %s", m->o.umounts[i], strerror(errno));
}

/* runc delete --force (its output goes to monitor.log), the umounts, the pid files. */
static void finish(struct mon *m, int timeout_ms)
{
	const char *av[] = { m->o.runc, "--root", m->o.root, "delete", "--force", m->o.id, NULL };

	if (spawn(m, av, log_fd) == 0) {
		if (!wait_want(m, timeout_ms))
			mlog("runc delete timed out");
		else if (m->want_status != 0)
			mlog("runc delete failed (status 0x%x)", m->want_status);
	}
	do_umounts(m);
	unlink_state(m, "init.pid");
	unlink_state(m, "monitor.pid");
}

static bool absolute(const char *p)
{
	return p && p[0] == '/';
}

static int parse_args(int argc, char **argv, struct opts *o, char *why, size_t wsz)
{
	static const struct option lo[] = {
		{ "runc", required_argument, NULL, 'r' }, { "runc-root", required_argument, NULL, 'R' },
		{ "bundle", required_argument, NULL, 'b' }, { "id", required_argument, NULL, 'i' },
		{ "state-dir", required_argument, NULL, 's' }, { "log-size", required_argument, NULL, 'l' },
		{ "umount", required_argument, NULL, 'u' }, { "restore", required_argument, NULL, 'x' },
		{ "restore-opt", required_argument, NULL, 'X' }, { "criu", required_argument, NULL, 'c' },
		{ "cgroup", required_argument, NULL, 'g' }, { "start-timeout", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	int c;

	o->log_size = 1048576;
	o->start_timeout_ms = START_TIMEOUT_MS;
	if (!(o->umounts = calloc((size_t)argc, sizeof(*o->umounts))) ||
	    !(o->restore_opts = calloc((size_t)argc, sizeof(*o->restore_opts))))
		return say(why, wsz, "calloc: %s", strerror(errno));
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+", lo, NULL)) != -1) {
		switch (c) {
		case 'r': o->runc = optarg; break;
		case 'R': o->root = optarg; break;
		case 'b': o->bundle = optarg; break;
		case 'i': o->id = optarg; break;
		case 's': o->state = optarg; break;
		case 'x': o->restore = optarg; break;
		case 'c': o->criu = optarg; break;
		case 'g': o->cgroup = optarg; break;
		case 'X':
			if (strncmp(optarg, "--", 2) != 0)
				return say(why, wsz, "--restore-opt takes a runc restore option (--...), not '%s'", optarg);
			o->restore_opts[o->n_restore_opts++] = optarg;
			break;
		case 'u':
			if (!absolute(optarg))
				return say(why, wsz, "--umount needs an absolute path");
			o->umounts[o->n_umounts++] = optarg;
			break;
		case 't':
			errno = 0;
			o->start_timeout_ms = strtoll(optarg, &end, 10);
			if (errno || end == optarg || *end || o->start_timeout_ms < 1000 || o->start_timeout_ms > 3600000)
				return say(why, wsz, "invalid --start-timeout '%s' (milliseconds, 1000 to 3600000)", optarg);
			break;
		case 'l':
			errno = 0;
			o->log_size = strtoll(optarg, &end, 10);
			if (errno || end == optarg || *end || o->log_size <= 0)
				return say(why, wsz, "invalid --log-size '%s'", optarg);
			break;
		default:
			return say(why, wsz, "bad option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return say(why, wsz, "unexpected argument '%s'", argv[optind]);
	if (!absolute(o->runc) || !absolute(o->root) || !absolute(o->bundle) || !absolute(o->state) ||
	    (o->restore && !absolute(o->restore)) || (o->criu && !absolute(o->criu)) || (o->cgroup && !absolute(o->cgroup)))
		return say(why, wsz, "--runc, --runc-root, --bundle, --state-dir (and --restore, --criu, --cgroup) need absolute paths");
	if (!o->id || !o->id[0] || o->id[0] == '-' || strchr(o->id, '/'))
		return say(why, wsz, "--id missing or invalid");
	return 0;
}

/* Moves this process into the cgroup v2 directory dir (before it forks anything), so that the end
 * of the caller's login session or service, which kills what is left in its cgroup, spares it. */
static int join_cgroup(const char *dir)
{
	char path[PATH_MAX];
	int fd, n = snprintf(path, sizeof(path), "%s/cgroup.procs", dir);

	if (n < 0 || (size_t)n >= sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) < 0)
		return -1;
	if (write(fd, "0", 1) != 1) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return close(fd);
}

static int setup(struct mon *m, char *why, size_t wsz)
{
	sigset_t set;
	int fd;

	if (close_range(3, ~0U, 0) < 0)     /* whatever the launcher leaked to us */
		return say(why, wsz, "close_range: %s", strerror(errno));
	while ((fd = open("/dev/null", O_RDWR)) >= 0 && fd <= 2)
		;                               /* make sure 0, 1 and 2 exist */
	if (fd < 0 || close(fd) < 0 || (m->devnull = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0)
		return say(why, wsz, "open /dev/null: %s", strerror(errno));
	if ((m->state_dfd = open(m->o.state, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return say(why, wsz, "open state dir %s: %s", m->o.state, strerror(errno));
	if ((log_fd = openat(m->state_dfd, "monitor.log", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640)) < 0)
		return say(why, wsz, "open monitor.log: %s", strerror(errno));
	if (dup2(m->devnull, 0) < 0 || dup2(m->devnull, 2) < 0)
		return say(why, wsz, "dup2: %s", strerror(errno));
	mlog("monitor for %s starting (%s)", m->o.id, m->o.restore ? "restore" : "run");
	if (setsid() < 0)
		mlog("setsid: %s (already a group leader; continuing)", strerror(errno));
	if (m->o.cgroup && join_cgroup(m->o.cgroup) < 0)
		return say(why, wsz, "join cgroup %s: %s", m->o.cgroup, strerror(errno));
	/* SIGCHLD must not be inherited as ignored: the kernel would then reap the init itself and
	 * its exit status would be lost. */
	if (signal(SIGHUP, SIG_IGN) == SIG_ERR || signal(SIGPIPE, SIG_IGN) == SIG_ERR ||
	    signal(SIGCHLD, SIG_DFL) == SIG_ERR)
		return say(why, wsz, "signal: %s", strerror(errno));
	if (chdir("/") < 0 || prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
		return say(why, wsz, "chdir/prctl: %s", strerror(errno));
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0 ||
	    (m->sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK)) < 0)
		return say(why, wsz, "signalfd: %s", strerror(errno));
	if (asprintf(&m->pidfile, "%s/init.pid", m->o.state) < 0)
		return say(why, wsz, "asprintf: %s", strerror(errno));
	unlink_state(m, "exit");            /* stale files of a previous run would lie */
	unlink_state(m, "init.pid");
	if (console_open(m) < 0)
		return say(why, wsz, "open console.log: %s", strerror(errno));
	/* From the start, not only once running: a start whose launcher died is found (and ended by
	 * pid) through this file, with nothing of it left to touch a later start. */
	if (write_monitor_pid(m) < 0)
		return say(why, wsz, "write monitor.pid: %s", strerror(errno));
	return 0;
}

/* Step 3: runc run/restore; returns the init pid, or -1 with *code and why set. */
static pid_t start_container(struct mon *m, int *code, char *why, size_t wsz)
{
	char reason[512];
	pid_t pid;

	*code = -1;
	if (start_runc(m, reason, sizeof(reason)) < 0)
		return say(why, wsz, "%s", reason);
	if (!wait_want(m, (int)(m->o.start_timeout_ms * 2 / 3))) {
		*code = 128 + SIGKILL;
		return say(why, wsz, "runc timed out");
	}
	for (int i = 0; i < 64 && m->pipe_fd >= 0 && drain_pipe(m) == 2; i++)
		;                               /* what runc wrote before it exited */
	*code = WIFEXITED(m->want_status) ? WEXITSTATUS(m->want_status) : 128 + WTERMSIG(m->want_status);
	if (*code != 0) {
		snprintf(reason, sizeof(reason), "runc exited with status %d", *code);
		error_text(m, reason, why, wsz);
		return -1;
	}
	if ((pid = read_init_pid(m)) < 0)
		return say(why, wsz, "runc succeeded but wrote no pid file");
	return pid;
}

static bool is_child(pid_t pid)
{
	siginfo_t si;

	return waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0;
}

/* Steps 5 and 6: wait for the init, drain the console, record the exit. */
static void supervise(struct mon *m)
{
	char line[64];
	bool watch;
	long long deadline;

	reap(m);                            /* the init may have exited before runc did */
	watch = !m->init_done && !is_child(m->init);
	if (watch)
		mlog("init %d is not our child: polling for its end, exit status unknown", (int)m->init);
	while (!m->init_done) {
		wait_events(m, watch ? 1000 : -1);
		if (watch && kill(m->init, 0) < 0 && errno == ESRCH) {
			m->init_status = 255 << 8;
			m->init_done = true;
		}
	}
	deadline = now_ms() + DRAIN_TIMEOUT_MS;
	while (m->pipe_fd >= 0 && remaining(deadline) > 0)
		wait_events(m, remaining(deadline));
	if (WIFSIGNALED(m->init_status))
		snprintf(line, sizeof(line), "signaled %d\n", WTERMSIG(m->init_status));
	else
		snprintf(line, sizeof(line), "exited %d\n", WEXITSTATUS(m->init_status));
	mlog("container %s: %.*s", m->o.id, (int)strlen(line) - 1, line);
	write_atomic(m, "exit", line);
	finish(m, DELETE_TIMEOUT_MS);
}

int main(int argc, char **argv)
{
	static struct mon m = { .devnull = -1, .state_dfd = -1, .sfd = -1, .pipe_fd = -1, .con_fd = -1 };
	char why[1024], line[64];
	int code;

	if (parse_args(argc, argv, &m.o, why, sizeof(why)) < 0 || setup(&m, why, sizeof(why)) < 0) {
		status("error", why);
		return 1;
	}
	if ((m.init = start_container(&m, &code, why, sizeof(why))) < 0) {
		m.init = 0;
		snprintf(line, sizeof(line), "start-failed %d\n", code);
		write_atomic(&m, "exit", line);
		finish(&m, (int)(m.o.start_timeout_ms * 2 / 9));
		status("error", why);
		return 1;
	}
	snprintf(line, sizeof(line), "%d", (int)m.init);
	status("running", line);
	if (dup2(m.devnull, 1) < 0)
		mlog("dup2 stdout: %s", strerror(errno));
	supervise(&m);
	mlog("monitor for %s done", m.o.id);
	return 0;
}
