/*
 * cps-criu-compat.so: preloaded into runc (and so into the criu it runs) for checkpoint and restore.
 *
 * Linux 6.16 restricted SO_PASSCRED / SO_PASSSEC to AF_UNIX, AF_NETLINK and AF_BLUETOOTH sockets:
 * getsockopt() on a TCP or UDP socket now fails with EOPNOTSUPP. CRIU 4.1.1 (Debian 13) reads
 * both options for every socket it dumps and gives up on that error, so no container with an
 * inet socket can be checkpointed on such a kernel (criu issue #2705; fixed upstream after 4.1.1
 * by skipping those options for other families). This library does the same from outside: for
 * exactly those two options, an EOPNOTSUPP answer becomes "option off" (0), which is the truth
 * for a socket family that cannot have it.
 *
 * Lazy restore (post-copy) in a user namespace: CRIU opens a userfaultfd in each restored task,
 * which by then is root of the container's user namespace only. Since Linux 5.11 the syscall then
 * needs vm.unprivileged_userfaultfd = 1 (a host-wide loosening: every user could stall kernel
 * faults) or CAP_SYS_PTRACE in the initial namespace (criu issue #964). Linux 6.1 added
 * /dev/userfaultfd, whose USERFAULTFD_IOC_NEW ioctl makes a userfaultfd for the caller's memory with
 * no capability check: access is decided when the device is opened. With CPS_CRIU_UFFD_DEV=1 in
 * its environment, runc restore opens the device as it loads (root in the host's namespaces and
 * cgroups: criu itself may already be in the container's cgroup, whose device rules refuse it) and
 * criu takes the inherited descriptor; each task it forks inherits it in turn, and where the
 * userfaultfd syscall is refused (EPERM) the ioctl makes the descriptor instead, after which the
 * task closes the device for good, before any of the container's code runs. CRIU closes a task's
 * old descriptors before that point, so close() keeps this one open (its number is checked to
 * still be the device before use).
 *
 * CRIU's lazy page server sizes its pipe with F_SETPIPE_SZ to 4 MiB and ignores a failure, then
 * splices into a descriptor it never opened (EBADF: "page-pipe: splice: -1"). Above
 * /proc/sys/fs/pipe-max-size (1 MiB by default) that size needs CAP_SYS_RESOURCE, which a host
 * (or a container host nested in another) may withhold from root. Where the kernel refuses it
 * (EPERM), the pipe grows to the largest size allowed instead (when that is a growth at all),
 * which holds what CRIU then puts in it: its own page pipes were capped the same way at dump time. Every other call passes through
 * untouched.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

typedef int (*getsockopt_fn)(int, int, int, void *, socklen_t *);

int getsockopt(int fd, int level, int name, void *val, socklen_t *len)
{
	static getsockopt_fn real;

	if (!real) {
		real = (getsockopt_fn)dlsym(RTLD_NEXT, "getsockopt");
		if (!real) {
			errno = ENOSYS;
			return -1;
		}
	}
	int r = real(fd, level, name, val, len);
	if (r < 0 && errno == EOPNOTSUPP && level == SOL_SOCKET && (name == SO_PASSCRED || name == SO_PASSSEC) &&
	    val && len && *len >= (socklen_t)sizeof(int)) {
		memset(val, 0, sizeof(int));
		*len = sizeof(int);
		return 0;
	}
	return r;
}

static int uffd_dev = -1;    /* /dev/userfaultfd in the criu process that loaded this library */
static pid_t uffd_dev_owner; /* that process: it keeps the device; its forks (the restored tasks) close it after use */
static struct stat uffd_dev_st; /* what that descriptor is: the number must still be it when used */

/* Where runc keeps the device for criu: above what runc hands criu (stdio, its socket, extra files). */
#define UFFD_DEV_RUNC_FD 200

/*
 * The device is a misc device with a dynamic minor (10:126 on Debian 12's 6.1, 10:257 on 6.18):
 * it is known by the inode /dev/userfaultfd names, never by number.
 */
static int same_uffd_dev(const struct stat *st, const struct stat *dev)
{
	return S_ISCHR(st->st_mode) && S_ISCHR(dev->st_mode) && major(dev->st_rdev) == 10 && st->st_rdev == dev->st_rdev &&
	       st->st_dev == dev->st_dev && st->st_ino == dev->st_ino;
}

static int is_uffd_dev(int fd)
{
	struct stat st;

	return fd >= 0 && fstat(fd, &st) == 0 && same_uffd_dev(&st, &uffd_dev_st);
}

static int runc_restores(void)
{
	char args[4096];
	int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, args, sizeof(args) - 1);

	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return 0;
	args[n] = '\0';
	for (char *a = args; a < args + n; a += strlen(a) + 1)
		if (strcmp(a, "restore") == 0)
			return 1;
	return 0;
}

/*
 * runc restore moves criu into the container's cgroup, whose device rules refuse the device,
 * right after starting it: criu, racing it, often could not open the device itself (the lane's
 * failure on 6.1). So runc opens it as it loads and criu inherits it (F_DUPFD: no FD_CLOEXEC).
 */
static void runc_open_uffd_dev(void)
{
	int fd;

	if (!runc_restores() || (fd = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC)) < 0)
		return;
	if (fcntl(fd, F_DUPFD, UFFD_DEV_RUNC_FD) < 0)
		fprintf(stderr, "cps-criu-compat: /dev/userfaultfd for criu: %s\n", strerror(errno));
	close(fd);
}

/* criu: the device runc handed down, else (criu run by hand) its own, while the cgroup allows it. */
static void criu_take_uffd_dev(void)
{
	struct stat dev, st;
	DIR *d;
	struct dirent *e;

	if (stat("/dev/userfaultfd", &dev) != 0 || !S_ISCHR(dev.st_mode) || major(dev.st_rdev) != 10)
		return;
	if ((d = opendir("/proc/self/fd"))) {
		while (uffd_dev < 0 && (e = readdir(d))) {
			int fd = atoi(e->d_name);

			if (e->d_name[0] != '.' && fd > 2 && fd != dirfd(d) && fstat(fd, &st) == 0 && same_uffd_dev(&st, &dev) &&
			    fcntl(fd, F_SETFD, FD_CLOEXEC) == 0)
				uffd_dev = fd;
		}
		closedir(d);
	}
	if (uffd_dev < 0) {
		int fd = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);

		if (fd >= 0 && fstat(fd, &st) == 0 && same_uffd_dev(&st, &dev))
			uffd_dev = fd;
		else if (fd >= 0)
			close(fd); /* nothing recorded yet: the real close */
	}
	if (uffd_dev >= 0) {
		uffd_dev_st = dev;
		uffd_dev_owner = getpid();
	}
}

__attribute__((constructor)) static void open_uffd_dev(void)
{
	const char *want = getenv("CPS_CRIU_UFFD_DEV");

	if (!want || strcmp(want, "1") != 0)
		return;
	if (strcmp(program_invocation_short_name, "runc") == 0)
		runc_open_uffd_dev();
	else if (strcmp(program_invocation_short_name, "criu") == 0)
		criu_take_uffd_dev();
}

typedef int (*close_fn)(int);
typedef long (*syscall_fn)(long, ...);

static close_fn real_close(void)
{
	static close_fn real;

	if (!real)
		real = (close_fn)dlsym(RTLD_NEXT, "close");
	return real;
}

int close(int fd)
{
	if (fd == uffd_dev && fd >= 0 && getpid() != uffd_dev_owner)
		return 0; /* CRIU closing a restored task's inherited descriptors: this one is still needed */
	if (!real_close()) {
		errno = ENOSYS;
		return -1;
	}
	if (fd == uffd_dev)
		uffd_dev = -1;
	return real_close()(fd);
}

long syscall(long number, ...)
{
	static syscall_fn real;
	va_list ap;
	long a[6];

	va_start(ap, number);
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	if (!real) {
		real = (syscall_fn)dlsym(RTLD_NEXT, "syscall");
		if (!real) {
			errno = ENOSYS;
			return -1;
		}
	}
	long r = real(number, a[0], a[1], a[2], a[3], a[4], a[5]);
	if (number != SYS_userfaultfd || uffd_dev < 0)
		return r;
	if (r < 0 && errno == EPERM && is_uffd_dev(uffd_dev)) {
		r = ioctl(uffd_dev, USERFAULTFD_IOC_NEW, (int)a[0]);
		if (r < 0)
			errno = EPERM;
	}
	if (getpid() != uffd_dev_owner) {
		/* A restored task: the container's code must never hold the device. */
		int saved = errno, fd = uffd_dev;
		uffd_dev = -1;
		if (is_uffd_dev(fd) && real_close())
			real_close()(fd);
		errno = saved;
	}
	return r;
}

typedef int (*fcntl_fn)(int, int, ...);

/* CRIU calls fcntl64 (glibc's name with 64-bit offsets); fcntl is the same call. */
int fcntl64(int fd, int cmd, ...)
{
	static fcntl_fn real;
	va_list ap;

	va_start(ap, cmd);
	long arg = va_arg(ap, long);
	va_end(ap);
	if (!real) {
		real = (fcntl_fn)dlsym(RTLD_NEXT, "fcntl64");
		if (!real) {
			errno = ENOSYS;
			return -1;
		}
	}
	int r = real(fd, cmd, arg);
	if (r < 0 && errno == EPERM && cmd == F_SETPIPE_SZ) {
		FILE *f = fopen("/proc/sys/fs/pipe-max-size", "re");
		long max = 0;

		if (f) {
			if (fscanf(f, "%ld", &max) != 1)
				max = 0;
			fclose(f);
		}
		/* Only a real growth: CRIU takes an answer no larger than the pipe it had as "full". */
		if (max > 0 && max < arg && max > real(fd, F_GETPIPE_SZ))
			r = real(fd, cmd, max);
		if (r < 0)
			errno = EPERM;
	}
	return r;
}
