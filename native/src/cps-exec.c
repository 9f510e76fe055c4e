/* cps-exec: runs one command inside a running container with ssh-like semantics (what `lxc exec`
 * does). A child joins the init's cgroups and namespaces and forks again so that the container's
 * init adopts the shim (CRIU then dumps whatever the command leaves behind); this process relays
 * stdio, signals and the exit status. Contract: native/README.md.
 *
 * Four processes: O (this one; stays in the host's namespaces and cgroups and relays), A (born in
 * the container's pid namespace; joins its cgroups and other namespaces, forks S, exits), S (the shim; inside, adopted by the init,
 * drops privileges and waits for the command) and C (the command). O and S talk over a SOCK_SEQPACKET pair, one message per packet:
 *   S -> O  "pty" + SCM_RIGHTS(master)   "pid N"   "exit N"   "error TEXT"
 *   O -> S  "signal N"                                                                      */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/sched.h>

#ifndef P_PIDFD
#define P_PIDFD 3
#endif
#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

#define EXIT_INTERNAL  255
#define EXIT_LOST      137                /* the shim vanished: the container was killed */
#define BUF_SIZE       65536
#define MSG_MAX        1024
#define PTY_DRAIN_MAX  (4 << 20)          /* a pty holds < 1 MiB: more is a background writer */
#define PIPE_SIZE      (1 << 20)          /* our pipes, when F_SETPIPE_SZ lets us */

extern char **environ;

struct opts {
	pid_t pid;
	uid_t uid;
	gid_t gid;
	const char *cwd;                  /* NULL: /root, else / */
	char **env;                       /* NULL-terminated: exactly the --env list */
	const char **deny;
	int *drop;
	int n_env, n_deny, n_drop;
	bool pty, deny_force_umount;
	char **argv;
};

/* What O needs in its relay loop. */
struct relay {
	int sock, sfd, out, err, master;  /* -1 once closed */
	bool pty, tty, pid_seen, in_eof, out_broken, err_broken, hung_up;
	bool splice_out, splice_err;      /* our stdout, stderr are pipes: splice */
	size_t in_len, in_off;
	char in[4096];
};

static struct termios saved_tio;      /* O's stdin before raw mode */
static bool tio_raw;
static char iobuf[BUF_SIZE];

static void restore_tty(void)
{
	if (tio_raw && tcsetattr(0, TCSADRAIN, &saved_tio) == 0)
		tio_raw = false;
}

static void vreport(int err, const char *fmt, va_list ap)
{
	char buf[MSG_MAX];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	if (dprintf(2, "cps-exec: %s: %s\n", buf, strerror(err)) < 0) { /* nowhere left to report it */ }
}

/* A sends its setup errors to O over this socket (O prints them); -1 in O itself. */
static int report_sock = -1;

static int send_msg(int sock, int fd, int flags, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* O or A: a setup error; the command did not run. */
static __attribute__((noreturn, format(printf, 2, 3))) void fail(int err, const char *fmt, ...)
{
	char buf[MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	if (report_sock >= 0) {
		vsnprintf(buf, sizeof(buf), fmt, ap);
		va_end(ap);
		send_msg(report_sock, -1, 0, "error %s: %s", buf, strerror(err));
		_exit(EXIT_INTERNAL);
	}
	restore_tty();
	vreport(err, fmt, ap);
	va_end(ap);
	_exit(EXIT_INTERNAL);
}

/* C, between fork and exec: stderr is already the command's (or still O's). */
static __attribute__((noreturn, format(printf, 2, 3))) void cmd_fail(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(err, fmt, ap);
	va_end(ap);
	_exit(EXIT_INTERNAL);
}

/* fd >= 0 goes along as SCM_RIGHTS; flags are extra send flags (MSG_DONTWAIT). */
static int send_msg(int sock, int fd, int flags, const char *fmt, ...)
{
	char buf[MSG_MAX], ctl[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { .iov_base = buf };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	iov.iov_len = n < 0 ? 0 : ((size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
	if (fd >= 0) {
		struct cmsghdr *c;

		mh.msg_control = ctl;
		mh.msg_controllen = sizeof(ctl);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	while (sendmsg(sock, &mh, MSG_NOSIGNAL | flags) < 0)
		if (errno != EINTR)
			return -1;
	return 0;
}

/* S: a setup error goes to O, which prints it and exits 255. */
static __attribute__((noreturn, format(printf, 3, 4))) void shim_fail(int sock, int err, const char *fmt, ...)
{
	char buf[MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	send_msg(sock, -1, 0, "error %s: %s", buf, strerror(err));
	_exit(EXIT_INTERNAL);
}

/* ---------------------------------------------------------------- arguments */

static bool parse_ulong(const char *s, unsigned long max, unsigned long *out)
{
	char *end;

	if (!s || *s < '0' || *s > '9')
		return false;
	errno = 0;
	*out = strtoul(s, &end, 10);
	return !errno && !*end && *out <= max;
}

static __attribute__((noreturn)) void usage(const char *why, const char *arg)
{
	dprintf(2, "cps-exec: %s%s%s\n"
		"usage: cps-exec --pid INIT_HOST_PID [--uid N] [--gid N] [--cwd DIR] [--env K=V]... [--pty]\n"
		"                [--deny-syscall NAME]... [--deny-force-umount] [--drop-cap N]... -- CMD [ARGS...]\n",
		why, arg ? " " : "", arg ? arg : "");
	_exit(EXIT_INTERNAL);
}

static void parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "pid", required_argument, NULL, 'p' }, { "uid", required_argument, NULL, 'u' },
		{ "gid", required_argument, NULL, 'g' }, { "cwd", required_argument, NULL, 'c' },
		{ "env", required_argument, NULL, 'e' }, { "pty", no_argument, NULL, 't' },
		{ "deny-syscall", required_argument, NULL, 'd' },
		{ "deny-force-umount", no_argument, NULL, 'f' },
		{ "drop-cap", required_argument, NULL, 'k' }, { NULL, 0, NULL, 0 },
	};
	unsigned long v;
	int c;

	o->env = calloc((size_t)argc, sizeof(*o->env));
	o->deny = calloc((size_t)argc, sizeof(*o->deny));
	o->drop = calloc((size_t)argc, sizeof(*o->drop));
	if (!o->env || !o->deny || !o->drop)
		fail(errno, "calloc");
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+", lo, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (!parse_ulong(optarg, INT_MAX, &v) || v == 0)
				usage("invalid --pid", optarg);
			o->pid = (pid_t)v;
			break;
		case 'u':
		case 'g':
			if (!parse_ulong(optarg, UINT_MAX - 1, &v))
				usage(c == 'u' ? "invalid --uid" : "invalid --gid", optarg);
			if (c == 'u')
				o->uid = (uid_t)v;
			else
				o->gid = (gid_t)v;
			break;
		case 'c':
			if (!*optarg)
				usage("empty --cwd", NULL);
			o->cwd = optarg;
			break;
		case 'e':
			if (!strchr(optarg, '=') || optarg[0] == '=')
				usage("--env needs K=V, got", optarg);
			o->env[o->n_env++] = optarg;
			break;
		case 't': o->pty = true; break;
		case 'd': o->deny[o->n_deny++] = optarg; break;
		case 'f': o->deny_force_umount = true; break;
		case 'k':
			if (!parse_ulong(optarg, 63, &v))
				usage("invalid --drop-cap", optarg);
			o->drop[o->n_drop++] = (int)v;
			break;
		default:
			usage("bad option", argv[optind - 1]);
		}
	}
	if (!o->pid)
		usage("--pid is required", NULL);
	if (optind >= argc)
		usage("no command given", NULL);
	o->argv = argv + optind;
}

/* The shim shows in the container's ps while the command runs and /proc/PID/cmdline is readable
 * by every user there: --env values (and the host pid) must not be in it. The arguments are
 * used from a copy; hide_args() overwrites the original area before the first fork. */
static char **copy_args(int argc, char **argv, char **area, size_t *area_len)
{
	char *start = argv[0], *end = argv[argc - 1] + strlen(argv[argc - 1]) + 1, *copy;
	char **nv;

	*area = NULL;
	for (int i = 0; i < argc; i++)
		if (argv[i] < start || argv[i] >= end)
			return argv;                      /* not the kernel's layout: leave it */
	if (!(nv = malloc((size_t)(argc + 1) * sizeof(*nv))) || !(copy = malloc((size_t)(end - start))))
		fail(errno, "malloc");
	memcpy(copy, start, (size_t)(end - start));
	for (int i = 0; i < argc; i++)
		nv[i] = copy + (argv[i] - start);
	nv[argc] = NULL;
	*area = start;
	*area_len = (size_t)(end - start);
	return nv;
}

static void hide_args(char *area, size_t len)
{
	static const char title[] = "cps-exec";

	if (!area || len < sizeof(title) + 1)
		return;
	memset(area, 0, len);
	memcpy(area, title, sizeof(title));
	area[len - 1] = ' ';       /* no NUL at the end: the kernel shows up to the first NUL */
}

/* ---------------------------------------------------------------- setup in O */

/* Built in O so that a bad name fails before anything happens; loaded by S. */
static scmp_filter_ctx build_filter(const struct opts *o)
{
	scmp_filter_ctx ctx;
	bool umount2_denied = false;
	int r, nr;

	if (!o->n_deny && !o->deny_force_umount)
		return NULL;
	if (!(ctx = seccomp_init(SCMP_ACT_ALLOW)))
		fail(ENOMEM, "seccomp_init");
	/* Loaded while S still holds CAP_SYS_ADMIN in the container: no_new_privs stays off, so
	 * setuid programs (su, sudo) keep working in the container. */
	if ((r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0)) < 0)
		fail(-r, "seccomp_attr_set");
#if defined(__x86_64__)
	if ((r = seccomp_arch_add(ctx, SCMP_ARCH_X86)) < 0 && r != -EEXIST)
		fail(-r, "seccomp_arch_add x86");
	if ((r = seccomp_arch_add(ctx, SCMP_ARCH_X32)) < 0 && r != -EEXIST)
		fail(-r, "seccomp_arch_add x32");
#endif
	for (int i = 0; i < o->n_deny; i++) {
		if ((nr = seccomp_syscall_resolve_name(o->deny[i])) == __NR_SCMP_ERROR)
			fail(EINVAL, "--deny-syscall %s: unknown system call", o->deny[i]);
		if ((r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0)) < 0 && r != -EEXIST)
			fail(-r, "seccomp rule for %s", o->deny[i]);
		umount2_denied |= nr == SCMP_SYS(umount2);
	}
	if (o->deny_force_umount && !umount2_denied &&
	    (r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(umount2), 1,
				  SCMP_A1(SCMP_CMP_MASKED_EQ, MNT_FORCE, MNT_FORCE))) < 0)
		fail(-r, "seccomp rule for umount2(MNT_FORCE)");
	return ctx;
}

static size_t read_proc(const char *path, char *buf, size_t size)
{
	size_t n = 0;
	ssize_t r;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		fail(errno, "open %s", path);
	while (n + 1 < size && (r = read(fd, buf + n, size - 1 - n)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			fail(errno, "read %s", path);
		n += (size_t)r;
	}
	close(fd);
	buf[n] = '\0';
	return n;
}

/* The init's cgroups: its `ID:CONTROLLERS:/path` lines of /proc/PID/cgroup, read by O. */
struct cgroups {
	char lines[16384];
	bool v1;        /* v1 hierarchies: a hybrid host, where the v2 one is mounted at "unified" */
	int v2;         /* the init's v2 cgroup directory, -1 if there is none here */
};

static void cgroup_path(char *path, const char *hier, size_t hier_len, const char *cg, size_t cg_len,
			const char *leaf)
{
	int n = snprintf(path, PATH_MAX, "/sys/fs/cgroup%s%.*s%.*s%s", hier_len ? "/" : "", (int)hier_len,
			 hier, (int)cg_len, cg, leaf);

	if (n < 0 || n >= PATH_MAX)
		fail(ENAMETOOLONG, "cgroup path for %.*s", (int)cg_len, cg);
}

/* Returns false when the hierarchy (or the cgroup) does not exist here. */
static bool write_cgroup(const char *hier, size_t hier_len, const char *cg)
{
	char path[PATH_MAX];
	int fd;

	cgroup_path(path, hier, hier_len, cg, strlen(cg), "/cgroup.procs");
	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) < 0) {
		if (errno == ENOENT)
			return false;
		fail(errno, "open %s", path);
	}
	while (write(fd, "0", 1) < 0)                     /* "0" is the writer */
		if (errno != EINTR)
			fail(errno, "join cgroup %s", path);
	close(fd);
	return true;
}

/* O: reads the init's cgroups and opens its v2 cgroup, for A to be born in. */
static void read_cgroups(pid_t pid, struct cgroups *c)
{
	char path[PATH_MAX];
	const char *v2;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	read_proc(path, c->lines, sizeof(c->lines));
	c->v1 = strncmp(c->lines, "0::", 3) != 0;         /* a pure v2 host has just "0::/path" */
	c->v2 = -1;
	v2 = !c->v1 ? c->lines + 3 : strstr(c->lines, "\n0::/");
	if (!v2)
		return;
	if (c->v1)
		v2 += 4;
	cgroup_path(path, "unified", c->v1 ? 7 : 0, v2, strcspn(v2, "\n"), "");
	c->v2 = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);  /* else A writes itself in */
}

/* O forks A into the init's v2 cgroup when it can: a process born in a cgroup (clone3 with
 * CLONE_INTO_CGROUP) is not migrated, and a migration write-locks cgroup_threadgroup_rwsem, whose
 * first writer after a quiet spell waits out an RCU grace period (7-15 ms measured here, on
 * every exec that is not part of a burst). A pure v2 host has no other hierarchy to join. */
static pid_t fork_into(const struct cgroups *c, bool *born_in_v2)
{
	struct clone_args ca = { .flags = CLONE_INTO_CGROUP, .exit_signal = SIGCHLD, .cgroup = (__u64)c->v2 };
	long r;

	*born_in_v2 = false;
	if (c->v2 >= 0 && (r = syscall(SYS_clone3, &ca, sizeof(ca))) >= 0) {
		*born_in_v2 = true;
		return (pid_t)r;
	}
	return fork();                                    /* then A joins by writing, and says why not */
}

/* A: joins the hierarchies it was not born in (the v1 ones, and v2 if the clone3 failed). */
static void join_cgroups(struct cgroups *c, bool born_in_v2)
{
	char *save = NULL;

	for (char *line = strtok_r(c->lines, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *ctl = strchr(line, ':'), *cg = ctl ? strchr(ctl + 1, ':') : NULL;
		size_t len;

		if (!cg || cg[1] != '/')
			continue;
		*cg++ = '\0';
		ctl++;
		if (!*ctl) {                              /* the v2 hierarchy */
			if (!born_in_v2)
				write_cgroup("unified", c->v1 ? 7 : 0, cg);
			continue;
		}
		if (!strncmp(ctl, "name=", 5))
			ctl += 5;
		len = strlen(ctl);                        /* "cpu,cpuacct", else just "cpu" */
		if (!write_cgroup(ctl, len, cg) && strchr(ctl, ','))
			write_cgroup(ctl, (size_t)(strchr(ctl, ',') - ctl), cg);
	}
}

static bool same_userns(pid_t pid)
{
	char path[64];
	struct stat a, b;

	snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)pid);
	if (stat(path, &a) < 0)
		fail(errno, "stat %s", path);
	if (stat("/proc/self/ns/user", &b) < 0)
		fail(errno, "stat /proc/self/ns/user");
	return a.st_ino == b.st_ino && a.st_dev == b.st_dev;
}

/* O: the init's pid and time namespaces, for O's children only (setns of those two never moves
 * the caller): A is born inside, so S is adopted by the container's init when A exits. */
static int enter_pidns(const struct opts *o)
{
	int pidfd = pidfd_open(o->pid, 0);

	if (pidfd < 0)
		fail(errno, "pidfd_open %d", (int)o->pid);
	if (setns(pidfd, CLONE_NEWPID | CLONE_NEWTIME) < 0)
		fail(errno, "setns into %d", (int)o->pid);
	return pidfd;
}

/* A: the init's cgroups (read and written through the host's /proc and /sys), then its other
 * namespaces. */
static void enter_container(const struct opts *o, int pidfd, struct cgroups *cg, bool born_in_v2)
{
	int flags = CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP;

	join_cgroups(cg, born_in_v2);    /* while still privileged in the host */
	if (cg->v2 >= 0)
		close(cg->v2);
	if (!same_userns(o->pid))
		flags |= CLONE_NEWUSER;
	/* The files above were read by pid: still alive now means they were the init's. */
	if (pidfd_send_signal(pidfd, 0, NULL, 0) < 0)
		fail(errno, "container init %d", (int)o->pid);
	if (setns(pidfd, flags) < 0)
		fail(errno, "setns into %d", (int)o->pid);
	close(pidfd);
}

/* ---------------------------------------------------------------- C: the command */

static __attribute__((noreturn)) void command(const struct opts *o, int slave, int out_w, int err_w)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	sigset_t none;

	/* A session of its own in both modes: in O's session the command would have O's terminal as
	 * its controlling tty (/dev/tty, TIOCSTI: typing into the host's shell). */
	if (setsid() < 0)
		cmd_fail(errno, "setsid");
	if (o->pty) {
		if (ioctl(slave, TIOCSCTTY, 0) < 0)
			cmd_fail(errno, "TIOCSCTTY");
		out_w = err_w = slave;
		if (dup2(slave, 0) < 0)
			cmd_fail(errno, "dup2");
	}
	if (dup2(out_w, 1) < 0 || dup2(err_w, 2) < 0)
		cmd_fail(errno, "dup2");
	if (close_range(3, ~0U, 0) < 0)
		cmd_fail(errno, "close_range");
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			sigaction(sig, &dfl, NULL);       /* EINVAL for the libc-reserved ones */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	environ = o->env;                                 /* execvp searches its PATH */
	execvp(o->argv[0], o->argv);
	int err = errno;
	if (dprintf(2, "cps-exec: %s: %s\n", o->argv[0], strerror(err)) < 0) { /* stderr is gone */ }
	_exit(err == ENOENT ? 127 : 126);
}

/* ---------------------------------------------------------------- S: the shim */

static void drop_privileges(const struct opts *o, scmp_filter_ctx filter, int sock)
{
	int r;

	if (o->n_drop) {
		struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
		struct __user_cap_data_struct d[2];

		for (int i = 0; i < o->n_drop; i++)
			if (prctl(PR_CAPBSET_DROP, o->drop[i], 0, 0, 0) < 0 && errno != EINVAL)
				shim_fail(sock, errno, "drop capability %d", o->drop[i]);
		if (syscall(SYS_capget, &h, d) < 0)
			shim_fail(sock, errno, "capget");
		for (int i = 0; i < o->n_drop; i++)
			d[o->drop[i] / 32].inheritable &= ~(1U << (o->drop[i] % 32));
		if (syscall(SYS_capset, &h, d) < 0)
			shim_fail(sock, errno, "capset");
	}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
		shim_fail(sock, errno, "clear ambient capabilities");
	if (setgroups(0, NULL) < 0)
		shim_fail(sock, errno, "setgroups");
	if (setresgid(o->gid, o->gid, o->gid) < 0)
		shim_fail(sock, errno, "setresgid %u", (unsigned)o->gid);
	if (filter && (r = seccomp_load(filter)) < 0)
		shim_fail(sock, -r, "seccomp_load");
	if (setresuid(o->uid, o->uid, o->uid) < 0)
		shim_fail(sock, errno, "setresuid %u", (unsigned)o->uid);
}

/* Opens a pty in the container's devpts (after setresuid: the slave belongs to the user). */
static int open_pty(const struct winsize *ws, int sock, int *slave)
{
	int unlock = 0, master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);

	if (master < 0)
		shim_fail(sock, errno, "open /dev/ptmx");
	if (ioctl(master, TIOCSPTLCK, &unlock) < 0)
		shim_fail(sock, errno, "unlockpt");
	if (ws->ws_row && ws->ws_col && ioctl(master, TIOCSWINSZ, ws) < 0)
		shim_fail(sock, errno, "TIOCSWINSZ");
	if ((*slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0)
		shim_fail(sock, errno, "open pty slave");
	if (send_msg(sock, master, 0, "pty") < 0)
		shim_fail(sock, errno, "send pty");
	return master;
}

/* Like a terminal: to the command's process group (its foreground children too, so a shell's
 * trap runs at once), and in pty mode also to the pty's foreground job. */
static void forward_signal(int cfd, pid_t child, int master, int sig)
{
	pid_t fg = master >= 0 ? tcgetpgrp(master) : -1;

	if (kill(-child, sig) < 0)
		pidfd_send_signal(cfd, sig, NULL, 0);
	if (fg > 0 && fg != child)
		kill(-fg, sig);
}

static __attribute__((noreturn)) void shim_wait(int sock, pid_t child, int master)
{
	int cfd = pidfd_open(child, 0);
	char buf[64];

	if (cfd < 0)
		shim_fail(sock, errno, "pidfd_open");
	send_msg(sock, -1, 0, "pid %d", (int)child);
	for (;;) {
		struct pollfd p[2] = { { .fd = sock, .events = POLLIN }, { .fd = cfd, .events = POLLIN } };

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			shim_fail(sock, errno, "poll");
		}
		if (p[1].revents) {
			siginfo_t si = { 0 };
			int st;

			while (waitid((idtype_t)P_PIDFD, (id_t)cfd, &si, WEXITED) < 0)
				if (errno != EINTR)
					shim_fail(sock, errno, "waitid");
			st = si.si_code == CLD_EXITED ? si.si_status : 128 + si.si_status;
			send_msg(sock, -1, 0, "exit %d", st);
			_exit(0);
		}
		if (p[0].revents) {
			ssize_t r = recv(sock, buf, sizeof(buf) - 1, 0);
			unsigned long sig;

			if (r < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (r <= 0) {
				/* O was killed before the command ended (the caller's hard stop after
				 * Ctrl+C): the session ends with it, like an ssh client going away. */
				kill(-child, SIGKILL);
				pidfd_send_signal(cfd, SIGKILL, NULL, 0);
				_exit(0);
			}
			buf[r] = '\0';
			if (!strncmp(buf, "signal ", 7) && parse_ulong(buf + 7, NSIG - 1, &sig) && sig)
				forward_signal(cfd, child, master, (int)sig);
		}
	}
}

static __attribute__((noreturn)) void shim(const struct opts *o, scmp_filter_ctx filter, int sock,
					   int out_w, int err_w, const struct winsize *ws)
{
	int master = -1, slave = -1;
	const char *cwd = o->cwd ? o->cwd : "/root";
	pid_t child;

	if (signal(SIGCHLD, SIG_DFL) == SIG_ERR)          /* O ignores it to auto-reap A */
		shim_fail(sock, errno, "signal");
	/* A session of its own, inside the container: a process (even a zombie) whose session leader
	 * is outside the pid namespace cannot be checkpointed (CRIU: "A session leader of zombie
	 * process ... is outside of its pid namespace", the error LXD stops at). */
	if (setsid() < 0)
		shim_fail(sock, errno, "setsid");
	drop_privileges(o, filter, sock);
	if (chdir(cwd) < 0 && (o->cwd || chdir("/") < 0))
		shim_fail(sock, errno, "chdir %s", cwd);
	if (o->pty)
		master = open_pty(ws, sock, &slave);
	if ((child = fork()) < 0)
		shim_fail(sock, errno, "fork");
	if (child == 0)
		command(o, slave, out_w, err_w);
	close_range(0, 2, 0);                             /* O's stdio: the command has it now */
	if (o->pty)
		close(slave);                             /* the master stays, for tcgetpgrp */
	else {
		close(out_w);
		close(err_w);
	}
	shim_wait(sock, child, master);
}

/* ---------------------------------------------------------------- O: the relay */

/* Blocking write to O's stdout/stderr (the reader sets the pace); once the reader is gone
 * (EPIPE or another error) *broken is set and later data is discarded. */
static void put(int fd, const char *p, size_t n, bool *broken)
{
	while (n > 0 && !*broken) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN) {            /* someone set O_NONBLOCK on it */
			struct pollfd pf = { .fd = fd, .events = POLLOUT };
			poll(&pf, 1, -1);
			continue;
		}
		if (w <= 0) {
			*broken = true;
			return;
		}
		p += w;
		n -= (size_t)w;
	}
}

static bool is_pipe(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode);
}

/* Best effort: a user over its pipe quota (fs.pipe-user-pages-soft) keeps 64 KiB pipes. */
static void grow_pipe(int fd)
{
	if (fcntl(fd, F_GETPIPE_SZ) < PIPE_SIZE && fcntl(fd, F_SETPIPE_SZ, PIPE_SIZE) < 0) { /* keep its size */ }
}

/* Pipe to pipe (our stdout is one when the engine runs us): the kernel moves the pages, nothing
 * is copied through this process. Blocks like put() while our reader is behind. Returns false
 * when splice cannot serve (then read and write do). */
static bool splice_pipe(int *fd, int dst, bool *broken, bool close_on_broken)
{
	for (;;) {
		ssize_t r = splice(*fd, NULL, dst, NULL, PIPE_SIZE, SPLICE_F_MOVE);
		int left = 0;

		if (r > 0)
			return true;
		if (r == 0) {                                 /* EOF */
			close(*fd);
			*fd = -1;
			return true;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN && ioctl(*fd, FIONREAD, &left) == 0 && left > 0) {
			struct pollfd pf = { .fd = dst, .events = POLLOUT };   /* our reader is full */
			poll(&pf, 1, -1);
			continue;
		}
		if (errno == EAGAIN)
			return true;
		if (errno == EINVAL)
			return false;
		*broken = true;                               /* EPIPE: our reader is gone */
		if (close_on_broken) {
			close(*fd);
			*fd = -1;
		}
		return true;
	}
}

/* One read from a pipe or the pty master; closes it at EOF (EIO: every slave is closed). When
 * our reader is gone, a pipe is closed too: the command gets EPIPE/SIGPIPE as it would in a
 * local pipeline (`cps-exec -- yes | head -1` ends) instead of being drained forever. *spliced (NULL for
 * the pty master): splice it, until splice says it cannot. */
static void pump(int *fd, int dst, bool *broken, bool close_on_broken, bool *spliced)
{
	ssize_t r;

	if (spliced && *spliced && !*broken) {
		if (splice_pipe(fd, dst, broken, close_on_broken))
			return;
		*spliced = false;
	}
	r = read(*fd, iobuf, sizeof(iobuf));

	if (r > 0) {
		put(dst, iobuf, (size_t)r, broken);
		if (*broken && close_on_broken) {
			close(*fd);
			*fd = -1;
		}
		return;
	}
	if (r < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	close(*fd);
	*fd = -1;
}

/* What the command wrote before it exited is in the pipe now; more may come from background
 * processes, so read exactly what is there instead of waiting for EOF. */
static void drain_pipe(int fd, int dst, bool *broken)
{
	int left = 0;

	if (fd < 0 || ioctl(fd, FIONREAD, &left) < 0)
		return;
	while (left > 0) {
		ssize_t r = read(fd, iobuf, (size_t)left < sizeof(iobuf) ? (size_t)left : sizeof(iobuf));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return;
		put(dst, iobuf, (size_t)r, broken);
		left -= (int)r;
	}
}

/* A pty master read returns EAGAIN only after the kernel flushed pending slave output. */
static void drain_pty(struct relay *x)
{
	for (size_t total = 0; x->master >= 0 && total < PTY_DRAIN_MAX;) {
		ssize_t r = read(x->master, iobuf, sizeof(iobuf));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return;
		put(1, iobuf, (size_t)r, &x->out_broken);
		total += (size_t)r;
	}
}

static __attribute__((noreturn)) void finish(struct relay *x, int code)
{
	if (x->pty)
		drain_pty(x);
	else {
		drain_pipe(x->out, 1, &x->out_broken);
		drain_pipe(x->err, 2, &x->err_broken);
	}
	restore_tty();
	_exit(code);
}

static void set_winsize(struct relay *x)
{
	struct winsize ws;

	if (x->tty && x->master >= 0 && ioctl(0, TIOCGWINSZ, &ws) == 0)
		ioctl(x->master, TIOCSWINSZ, &ws);
}

static void handle_signals(struct relay *x)
{
	struct signalfd_siginfo si;

	while (read(x->sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGWINCH)
			set_winsize(x);
		else
			send_msg(x->sock, -1, MSG_DONTWAIT, "signal %u", si.ssi_signo); /* fails once S is gone */
	}
}

static void print_error(const char *text)
{
	char buf[MSG_MAX + 16];
	size_t n = 0;

	for (const char *p = "cps-exec: "; *p; p++)
		buf[n++] = *p;
	for (; *text && n < sizeof(buf) - 1; text++)
		buf[n++] = (unsigned char)*text < 0x20 || *text == 0x7f ? '?' : *text;
	buf[n++] = '\n';
	if (write(2, buf, n) < 0) { /* stderr is gone */ }
}

static void handle_socket(struct relay *x)
{
	char buf[MSG_MAX + 1], ctl[CMSG_SPACE(4 * sizeof(int))];
	struct iovec iov = { .iov_base = buf, .iov_len = MSG_MAX };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof(ctl) };
	unsigned long v;
	int fd = -1;
	ssize_t r = recvmsg(x->sock, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);

	if (r < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (r <= 0) {                                     /* S died without reporting */
		if (x->pid_seen)
			finish(x, EXIT_LOST);
		restore_tty();
		print_error("the container's shim exited before starting the command: Connection reset by peer");
		_exit(EXIT_INTERNAL);
	}
	buf[r] = '\0';
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
			int got;
			memcpy(&got, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (fd < 0)
				fd = got;
			else
				close(got);
		}
	}
	if (!strcmp(buf, "pty") && fd >= 0 && x->pty && x->master < 0) {
		x->master = fd;
		if (fcntl(fd, F_SETFL, O_RDWR | O_NONBLOCK) < 0)
			fail(errno, "fcntl pty");
		return;
	}
	if (fd >= 0)
		close(fd);
	if (!strncmp(buf, "pid ", 4))
		x->pid_seen = true;
	else if (!strncmp(buf, "exit ", 5) && parse_ulong(buf + 5, 255, &v))
		finish(x, (int)v);
	else if (!strncmp(buf, "error ", 6)) {
		restore_tty();
		print_error(buf + 6);
		_exit(EXIT_INTERNAL);
	}
}

/* pty mode: at stdin EOF the command gets EOF too, if its tty is in canonical mode. */
static void stdin_eof(struct relay *x)
{
	struct termios t;

	x->in_eof = true;
	if (x->master >= 0 && tcgetattr(x->master, &t) == 0 && (t.c_lflag & ICANON)) {
		x->in[0] = (char)t.c_cc[VEOF];
		x->in_off = 0;
		x->in_len = 1;
	}
}

static void flush_stdin(struct relay *x)
{
	while (x->in_off < x->in_len) {
		ssize_t w = write(x->master, x->in + x->in_off, x->in_len - x->in_off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN)
			return;                           /* POLLOUT tells when */
		if (w <= 0) {
			x->in_off = x->in_len;            /* the pty is gone: drop it */
			break;
		}
		x->in_off += (size_t)w;
	}
	x->in_off = x->in_len = 0;
}

static void read_stdin(struct relay *x)
{
	ssize_t r = read(0, x->in, sizeof(x->in));

	if (r > 0) {
		x->in_off = 0;
		x->in_len = (size_t)r;
	} else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
		stdin_eof(x);
	}
	flush_stdin(x);
}

/* A signal that would kill O in raw mode restores the terminal first. */
static void fatal_signal(int sig)
{
	tcsetattr(0, TCSANOW, &saved_tio);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void raw_mode(struct relay *x)
{
	static const int fatal[] = { SIGALRM, SIGVTALRM, SIGPROF, SIGIO, SIGXCPU, SIGXFSZ, SIGSYS,
				     SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGPWR, SIGSTKFLT };
	struct sigaction sa = { .sa_handler = fatal_signal, .sa_flags = SA_RESETHAND };
	struct termios t = saved_tio;

	if (!x->tty)
		return;
	for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++)
		sigaction(fatal[i], &sa, NULL);
	cfmakeraw(&t);
	if (tcsetattr(0, TCSADRAIN, &t) == 0)
		tio_raw = true;
}

static __attribute__((noreturn)) void relay(struct relay *x)
{
	for (;;) {
		struct pollfd p[6];
		int n = 0, i_out = -1, i_err = -1, i_master = -1, i_in = -1;

		p[n++] = (struct pollfd){ .fd = x->sock, .events = POLLIN };
		p[n++] = (struct pollfd){ .fd = x->sfd, .events = POLLIN };
		if (x->out >= 0)
			i_out = n, p[n++] = (struct pollfd){ .fd = x->out, .events = POLLIN };
		if (x->err >= 0)
			i_err = n, p[n++] = (struct pollfd){ .fd = x->err, .events = POLLIN };
		if (x->master >= 0)
			i_master = n, p[n++] = (struct pollfd){ .fd = x->master,
								.events = POLLIN | (x->in_len ? POLLOUT : 0) };
		if (x->master >= 0 && !x->in_len && !x->in_eof)
			i_in = n, p[n++] = (struct pollfd){ .fd = 0, .events = POLLIN };
		if (poll(p, (nfds_t)n, -1) < 0) {
			if (errno == EINTR)
				continue;
			fail(errno, "poll");
		}
		if (i_out >= 0 && p[i_out].revents)
			pump(&x->out, 1, &x->out_broken, true, &x->splice_out);
		if (i_err >= 0 && p[i_err].revents)
			pump(&x->err, 2, &x->err_broken, true, &x->splice_err);
		if (i_master >= 0 && (p[i_master].revents & POLLOUT))
			flush_stdin(x);
		if (i_master >= 0 && (p[i_master].revents & (POLLIN | POLLHUP | POLLERR)))
			pump(&x->master, 1, &x->out_broken, false, NULL);
		if (x->out_broken && x->pty && !x->hung_up) {   /* what a terminal's hangup does */
			send_msg(x->sock, -1, MSG_DONTWAIT, "signal %d", SIGHUP);
			x->hung_up = true;
		}
		if (i_in >= 0 && p[i_in].revents & POLLNVAL)
			x->in_eof = true;
		else if (i_in >= 0 && p[i_in].revents && x->master >= 0)
			read_stdin(x);
		if (p[1].revents)
			handle_signals(x);
		if (p[0].revents)
			handle_socket(x);
	}
}

int main(int argc, char **argv)
{
	static struct opts o;
	static struct relay x = { .sock = -1, .sfd = -1, .out = -1, .err = -1, .master = -1 };
	struct winsize ws = { 0 };
	char *area;
	size_t area_len = 0;
	int sv[2], outp[2] = { -1, -1 }, errp[2] = { -1, -1 }, fd, pidfd;
	static struct cgroups cg;
	scmp_filter_ctx filter;
	sigset_t set;
	pid_t a;
	bool born_in_v2;

	/* The engine runs a sealed copy of this binary (/proc/self/fd/N, a memfd): the container can
	 * see the shim's /proc/PID/exe but never write to the host's file. Named for ps and pgrep. */
	if (prctl(PR_SET_NAME, "cps-exec", 0, 0, 0) < 0)
		fail(errno, "PR_SET_NAME");
	argv = copy_args(argc, argv, &area, &area_len);
	parse_args(argc, argv, &o);
	if (close_range(3, ~0U, 0) < 0)                   /* nothing of the host leaks inside */
		fail(errno, "close_range");
	while ((fd = open("/dev/null", O_RDWR)) >= 0 && fd <= 2)
		;                                          /* make sure 0, 1 and 2 exist */
	if (fd < 0)
		fail(errno, "open /dev/null");
	close(fd);
	filter = build_filter(&o);
	x.pty = o.pty;
	x.tty = o.pty && tcgetattr(0, &saved_tio) == 0;
	if (x.tty && ioctl(0, TIOCGWINSZ, &ws) < 0)
		memset(&ws, 0, sizeof(ws));

	/* Until the shim's setresuid our forks are host root with the container's capabilities: not
	 * dumpable, so the container's root can't ptrace them or open their /proc files. O itself
	 * never enters the container: its memory stays charged to the caller's cgroups (an OOM in the
	 * container must not pick the relay), and only A and what it forks join. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		fail(errno, "PR_SET_DUMPABLE");
	pidfd = enter_pidns(&o);
	read_cgroups(o.pid, &cg);

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		fail(errno, "socketpair");
	if (!o.pty && (pipe2(outp, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0))
		fail(errno, "pipe2");
	if (!o.pty) {
		x.splice_out = is_pipe(1);
		x.splice_err = is_pipe(2);
		grow_pipe(outp[0]);                       /* bulk output moves in 1 MiB steps */
		if (x.splice_out)
			grow_pipe(1);
	}
	/* Blocked before the fork: the shim shares our process group and must not die of a ^C. */
	sigemptyset(&set);
	for (const int *s = (const int[]){ SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, 0 }; *s; s++)
		sigaddset(&set, *s);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0 || signal(SIGPIPE, SIG_IGN) == SIG_ERR ||
	    signal(SIGCHLD, SIG_IGN) == SIG_ERR)      /* A is reaped by the kernel */
		fail(errno, "signals");

	hide_args(area, area_len);
	if ((a = fork_into(&cg, &born_in_v2)) < 0)
		fail(errno, "fork");
	if (a == 0) {                                      /* A: enters; S is in the container's pid namespace */
		pid_t s;

		close(sv[0]);
		if (!o.pty) {
			close(outp[0]);
			close(errp[0]);
		}
		report_sock = sv[1];
		enter_container(&o, pidfd, &cg, born_in_v2);
		if ((s = fork()) < 0)
			shim_fail(sv[1], errno, "fork");
		if (s == 0)
			shim(&o, filter, sv[1], outp[1], errp[1], &ws);
		_exit(0);                                   /* S is adopted by the container's init */
	}
	close(sv[1]);
	close(pidfd);
	if (cg.v2 >= 0)
		close(cg.v2);
	x.sock = sv[0];
	if (!o.pty) {
		close(outp[1]);
		close(errp[1]);
		x.out = outp[0];
		x.err = errp[0];
		if (fcntl(x.out, F_SETFL, O_NONBLOCK) < 0 || fcntl(x.err, F_SETFL, O_NONBLOCK) < 0)
			fail(errno, "fcntl");
	}
	if ((x.sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK)) < 0)
		fail(errno, "signalfd");
	raw_mode(&x);
	relay(&x);
}
