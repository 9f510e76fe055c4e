/*
 * cps-mount: mounts a host directory into a running container, or unmounts it (hot attach of
 * storage volumes).
 *
 *   cps-mount attach --pid PID --source HOSTDIR --target PATH [--idmap] [--readonly]
 *   cps-mount detach --pid PID --target PATH
 *
 * attach: a recursive clone of HOSTDIR is made in the host (open_tree), idmapped with the user
 * namespace of PID when --idmap is given (files owned by on-disk id N appear owned by container id N),
 * and made read-only with --readonly. The program then joins the user and mount namespaces of PID
 * (setns through a pidfd) as the container's root, creates PATH like `mkdir -p` would inside the
 * container (so symlinks resolve inside the container: its root is now ours), and attaches the clone
 * there (move_mount). A container without a user namespace (privileged) is joined in its mount
 * namespace only. detach: joins the same namespaces and unmounts PATH (MNT_DETACH, the last
 * component not followed); nothing mounted there (any more) counts as done.
 * Exit 0 on success, 3 when --idmap was given and the filesystem of HOSTDIR cannot be idmapped
 * (EINVAL: overlayfs, most FUSE filesystems), 2 on bad arguments, else 1; errors are one line on
 * stderr.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef UMOUNT_NOFOLLOW
#define UMOUNT_NOFOLLOW 8
#endif

static int fail(const char *what, const char *arg)
{
	fprintf(stderr, "cps-mount: %s%s%s: %s\n", what, arg ? " " : "", arg ? arg : "", strerror(errno));
	return 1;
}

static int usage(const char *why)
{
	fprintf(stderr, "cps-mount: %s\nusage: cps-mount attach --pid PID --source DIR --target PATH [--idmap] [--readonly]\n"
			"       cps-mount detach --pid PID --target PATH\n", why);
	return 2;
}

/* Same user namespace as ours? (privileged containers have none of their own) */
static int same_userns(long pid)
{
	char path[64];
	struct stat a, b;
	snprintf(path, sizeof(path), "/proc/%ld/ns/user", pid);
	if (stat(path, &a) < 0 || stat("/proc/self/ns/user", &b) < 0)
		return -1;
	return a.st_ino == b.st_ino && a.st_dev == b.st_dev;
}

/* Joins the container's namespaces; in its user namespace as its root (uid and gid 0). */
static int enter(long pid, int own_userns)
{
	int pidfd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);
	if (pidfd < 0)
		return fail("pidfd_open", NULL);
	if (setns(pidfd, own_userns ? CLONE_NEWNS : CLONE_NEWUSER | CLONE_NEWNS) < 0)
		return fail("setns", NULL);
	close(pidfd);
	if (!own_userns) {
		if (setgroups(0, NULL) < 0 && errno != EPERM)
			return fail("setgroups", NULL);
		if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
			return fail("becoming the container's root", NULL);
	}
	if (chdir("/") < 0)
		return fail("chdir", "/");
	return 0;
}

/* mkdir -p PATH (absolute, inside our root). */
static int make_dirs(const char *target)
{
	char buf[PATH_MAX];
	if (strlen(target) >= sizeof(buf)) {
		errno = ENAMETOOLONG;
		return fail("target", target);
	}
	strcpy(buf, target);
	for (char *p = buf + 1; ; p++) {
		if (*p == '/' || *p == '\0') {
			char c = *p;
			*p = '\0';
			if (mkdir(buf, 0755) < 0 && errno != EEXIST)
				return fail("mkdir", buf);
			*p = c;
			if (c == '\0')
				break;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage("no command");
	const char *cmd = argv[1], *source = NULL, *target = NULL;
	long pid = 0;
	int idmap = 0, readonly = 0;
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--idmap"))
			idmap = 1;
		else if (!strcmp(argv[i], "--readonly"))
			readonly = 1;
		else if (i + 1 < argc && !strcmp(argv[i], "--pid"))
			pid = strtol(argv[++i], NULL, 10);
		else if (i + 1 < argc && !strcmp(argv[i], "--source"))
			source = argv[++i];
		else if (i + 1 < argc && !strcmp(argv[i], "--target"))
			target = argv[++i];
		else
			return usage("unknown argument");
	}
	int attach = !strcmp(cmd, "attach");
	if ((!attach && strcmp(cmd, "detach")) || pid <= 0 || !target || target[0] != '/' || (attach && (!source || source[0] != '/')))
		return usage("missing or invalid arguments (paths must be absolute)");
	int own = same_userns(pid);
	if (own < 0)
		return fail("reading the user namespace of pid", argv[0]);

	if (!attach) {
		if (enter(pid, own))
			return 1;
		/* EINVAL: nothing is mounted there any more (unmounted from inside): the goal is reached. */
		if (umount2(target, MNT_DETACH | UMOUNT_NOFOLLOW) < 0 && errno != EINVAL && errno != ENOENT)
			return fail("umount", target);
		return 0;
	}

	int tree = (int)syscall(SYS_open_tree, AT_FDCWD, source, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
	if (tree < 0)
		return fail("open_tree", source);
	struct mount_attr attr = { 0 };
	if (readonly)
		attr.attr_set |= MOUNT_ATTR_RDONLY;
	if (idmap && !own) {
		char ns[64];
		snprintf(ns, sizeof(ns), "/proc/%ld/ns/user", pid);
		int userns = open(ns, O_RDONLY | O_CLOEXEC);
		if (userns < 0)
			return fail("open", ns);
		attr.attr_set |= MOUNT_ATTR_IDMAP;
		attr.userns_fd = (unsigned)userns;
	}
	if (attr.attr_set && syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) < 0) {
		if (attr.attr_set & MOUNT_ATTR_IDMAP && errno == EINVAL) {
			fail("the filesystem cannot be idmapped (mount_setattr)", source);
			return 3;
		}
		return fail("mount_setattr", source);
	}
	if (enter(pid, own) || make_dirs(target))
		return 1;
	struct open_how how = { .flags = O_PATH | O_DIRECTORY | O_CLOEXEC, .resolve = RESOLVE_NO_MAGICLINKS };
	int dir = (int)syscall(SYS_openat2, AT_FDCWD, target, &how, sizeof(how));
	if (dir < 0)
		return fail("open", target);
	if (syscall(SYS_move_mount, tree, "", dir, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return fail("move_mount", target);
	return 0;
}
