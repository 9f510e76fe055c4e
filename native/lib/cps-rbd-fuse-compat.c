/*
 * cps-rbd-fuse-compat.so: preloaded into rbd-fuse when ContainerPS maps an RBD image.
 *
 * Debian 13's rbd-fuse (ceph 18) is built against libfuse3, whose fuse_opt_parse() frees the
 * previous value of a "%s" option before it stores the new one. rbd-fuse's default pool name is a
 * string literal, so `rbd-fuse -p POOL` crashes in free() before it mounts anything (any -p, any
 * pool). This library wraps fuse_opt_parse(): before the real one runs, every "%s" option that
 * already holds a value gets a heap copy of it, which libfuse3 may free. Nothing else changes.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct fuse_args;
struct fuse_opt {
	const char *templ;
	unsigned long offset;
	int value;
};
typedef int (*fuse_opt_proc_t)(void *data, const char *arg, int key, struct fuse_args *outargs);
typedef int (*fuse_opt_parse_fn)(struct fuse_args *, void *, const struct fuse_opt *, fuse_opt_proc_t);

int fuse_opt_parse(struct fuse_args *args, void *data, const struct fuse_opt opts[], fuse_opt_proc_t proc)
{
	fuse_opt_parse_fn real = (fuse_opt_parse_fn)dlvsym(RTLD_NEXT, "fuse_opt_parse", "FUSE_3.0");

	if (!real)
		real = (fuse_opt_parse_fn)dlsym(RTLD_NEXT, "fuse_opt_parse");
	if (!real) {
		errno = ENOSYS;
		return -1;
	}
	for (const struct fuse_opt *o = opts; data && o && o->templ; o++) {
		size_t n = strlen(o->templ);
		if (o->offset == -1UL || n < 2 || strcmp(o->templ + n - 2, "%s") != 0)
			continue;
		char **slot = (char **)((char *)data + o->offset);
		if (*slot) {
			char *copy = strdup(*slot);
			if (!copy)
				return -1;
			*slot = copy;
		}
	}
	return real(args, data, opts, proc);
}
