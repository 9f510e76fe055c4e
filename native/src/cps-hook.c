/*
 * cps-hook: the OCI createRuntime hook of containers with networks.
 *
 *   cps-hook REQUEST_FIFO REPLY_FIFO
 *
 * runc runs it after it has made the container's namespaces and before the init runs (and, on a
 * CRIU restore, when the namespaces are set up and before the processes come back), with the
 * container state JSON on stdin. It hands the init's host pid to the engine that started runc
 * ("PID\n" on REQUEST_FIFO), waits for the answer on REPLY_FIFO ("ok" or "error MESSAGE"), and
 * exits 0, or 1 with the message on stderr (runc then fails the start). The engine does the CNI
 * work itself; this program only carries the pid across.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int fail(const char *what, const char *path)
{
	fprintf(stderr, "cps-hook: %s %s: %s\n", what, path ? path : "", strerror(errno));
	return 1;
}

/* Reads all of fd into buf (NUL-terminated, truncated to size-1). */
static ssize_t read_all(int fd, char *buf, size_t size)
{
	size_t n = 0;
	while (n + 1 < size) {
		ssize_t r = read(fd, buf + n, size - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	return (ssize_t)n;
}

/* The "pid" member of the state JSON (a flat number; the state has no nested "pid"). */
static long state_pid(const char *state)
{
	const char *p = strstr(state, "\"pid\"");
	if (!p)
		return -1;
	p += 5;
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == ':')
		p++;
	char *end;
	errno = 0;
	long pid = strtol(p, &end, 10);
	if (errno || end == p || pid <= 0)
		return -1;
	return pid;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: cps-hook REQUEST_FIFO REPLY_FIFO (state JSON on stdin)\n");
		return 2;
	}
	static char state[1 << 16];
	if (read_all(STDIN_FILENO, state, sizeof state) < 0)
		return fail("reading the state from", "stdin");
	long pid = state_pid(state);
	if (pid < 0) {
		fprintf(stderr, "cps-hook: no pid in the container state\n");
		return 1;
	}

	int req = open(argv[1], O_WRONLY | O_CLOEXEC);
	if (req < 0)
		return fail("open", argv[1]);
	char line[32];
	int len = snprintf(line, sizeof line, "%ld\n", pid);
	if (write(req, line, (size_t)len) != len)
		return fail("write", argv[1]);
	close(req);

	int rep = open(argv[2], O_RDONLY | O_CLOEXEC);
	if (rep < 0)
		return fail("open", argv[2]);
	static char reply[8192];
	size_t n = 0;
	/* One line; the engine keeps the FIFO open, so read up to the newline, not to EOF. */
	while (n + 1 < sizeof reply) {
		ssize_t r = read(rep, reply + n, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return fail("read", argv[2]);
		if (r == 0 || reply[n] == '\n')
			break;
		n++;
	}
	reply[n] = '\0';
	close(rep);
	if (strcmp(reply, "ok") == 0)
		return 0;
	fprintf(stderr, "%s\n", strncmp(reply, "error ", 6) == 0 ? reply + 6 : (n ? reply : "cps-hook: the engine did not answer"));
	return 1;
}
