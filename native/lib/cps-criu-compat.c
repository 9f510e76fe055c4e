/*
 * cps-criu-compat.so: preloaded into runc (and so into the criu it runs) for checkpoint and restore.
 *
 * Linux 6.16 restricted SO_PASSCRED / SO_PASSSEC to AF_UNIX, AF_NETLINK and AF_BLUETOOTH sockets:
 * getsockopt() on a TCP or UDP socket now fails with EOPNOTSUPP. CRIU 4.1.1 (Debian 13) reads
 * both options for every socket it dumps and gives up on that error, so no container with an
 * inet socket can be checkpointed on such a kernel (criu issue #2705; fixed upstream after 4.1.1
 * by skipping those options for other families). This library does the same from outside: for
 * exactly those two options, an EOPNOTSUPP answer becomes "option off" (0), which is the truth
 * for a socket family that cannot have it. Every other call passes through untouched.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

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
