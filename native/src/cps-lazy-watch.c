/*
 * cps-lazy-watch: runs CRIU's lazy-pages daemon for a post-copy arrival and makes its failure safe.
 *
 *   cps-lazy-watch --done FILE --err FILE --init FILE -- CRIU lazy-pages ARGS...
 *
 * The daemon holds the userfaultfds of the restored processes: a page they touch that has not
 * arrived waits for it. If the daemon dies (its source host or the link died), the kernel drops
 * those descriptors and every page that never came reads as zeros: silent corruption. So this
 * watcher traces the daemon (PTRACE_SEIZE with PTRACE_O_TRACEEXIT): the daemon stops at its exit
 * before the kernel releases its descriptors, and when it is failing, the watcher SIGKILLs the
 * container's init (pid 1 of its pid namespace: every process of the container goes) while the
 * faults still wait, and only then lets the daemon finish exiting. (Holding duplicates of the
 * userfaultfds instead would keep them alive after their processes exit, which the daemon waits
 * for.) It writes the daemon's exit code to FILE (--done; written aside and renamed). SIGTERM ends
 * the daemon and counts as a failure. The daemon's output goes to --err.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/ptrace.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static pid_t read_pid(const char *file)
{
	char buf[32] = "";
	FILE *f = fopen(file, "re");

	if (!f)
		return -1;
	if (!fgets(buf, sizeof buf, f))
		buf[0] = '\0';
	fclose(f);
	long pid = strtol(buf, NULL, 10);
	return pid > 1 ? (pid_t)pid : -1;
}

static int alive(pid_t pid)
{
	char path[64], state = 0;
	FILE *f;

	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	if (!(f = fopen(path, "re")))
		return 0;
	/* pid (comm) S ...: comm may hold spaces and parentheses, so read the state after the last ')' */
	char line[512];
	if (fgets(line, sizeof line, f)) {
		char *p = strrchr(line, ')');
		if (p && p[1] == ' ')
			state = p[2];
	}
	fclose(f);
	return state && state != 'Z' && state != 'X';
}

/* SIGKILLs the container's init (its pid namespace goes with it) and waits for it to be gone. */
static void end_container(const char *init)
{
	pid_t pid = read_pid(init);

	if (pid <= 0)
		return;
	kill(pid, SIGKILL);
	for (int t = 0; t < 2000 && alive(pid); t++)
		sleep_ms(5);
	sleep_ms(50); /* the rest of its pid namespace goes with it */
}

static void write_done(const char *file, int code)
{
	char tmp[4096];
	FILE *f;

	snprintf(tmp, sizeof tmp, "%s.tmp", file);
	if (!(f = fopen(tmp, "we")))
		return;
	fprintf(f, "%d\n", code);
	if (fclose(f) == 0)
		rename(tmp, file);
}

int main(int argc, char **argv)
{
	const char *done = NULL, *err = NULL, *init = NULL;
	int i;

	for (i = 1; i + 1 < argc && strcmp(argv[i], "--") != 0; i += 2) {
		if (!strcmp(argv[i], "--done"))
			done = argv[i + 1];
		else if (!strcmp(argv[i], "--err"))
			err = argv[i + 1];
		else if (!strcmp(argv[i], "--init"))
			init = argv[i + 1];
		else
			break;
	}
	if (!done || !err || !init || i >= argc || strcmp(argv[i], "--") != 0 || i + 1 >= argc) {
		fprintf(stderr, "usage: cps-lazy-watch --done FILE --err FILE --init FILE -- CRIU ARGS...\n");
		return 2;
	}
	char **cmd = argv + i + 1;
	struct sigaction sa = { .sa_handler = on_term };
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);

	pid_t daemon = fork();
	if (daemon < 0) {
		perror("fork");
		return 2;
	}
	if (daemon == 0) {
		int null = open("/dev/null", O_RDONLY);
		int out = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (null < 0 || out < 0 || dup2(null, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
			_exit(127);
		signal(SIGPIPE, SIG_DFL); /* (SIGHUP stays ignored: the daemon outlives the session that started it) */
		execv(cmd[0], cmd);
		_exit(127);
	}
	/* Traced only for its exit; every other stop is let go at once, with its signal. */
	if (ptrace(PTRACE_SEIZE, daemon, NULL, (void *)(long)PTRACE_O_TRACEEXIT) < 0)
		perror("ptrace(PTRACE_SEIZE)"); /* then only its exit code is recorded */
	int status = 0, code = -1, killed = 0, ended = 0;

	for (;;) {
		if (stop && !killed) {
			kill(daemon, SIGKILL);
			killed = 1;
		}
		pid_t r = waitpid(daemon, &status, __WALL);
		if (r < 0) {
			if (errno != EINTR) {
				status = 0xff00;
				break;
			}
			continue;
		}
		if (WIFEXITED(status) || WIFSIGNALED(status))
			break;
		if (!WIFSTOPPED(status))
			continue;
		int sig = 0;
		if (status >> 8 == (SIGTRAP | (PTRACE_EVENT_EXIT << 8))) {
			unsigned long msg = 0;
			ptrace(PTRACE_GETEVENTMSG, daemon, NULL, &msg);
			int st = (int)msg;
			code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
			if (code != 0) {
				/* The faults still wait on its descriptors: end the container before they can read zeros. */
				end_container(init);
				ended = 1;
			}
		} else if (status >> 16 == 0) {
			sig = WSTOPSIG(status); /* a signal for the daemon: delivered */
		}
		ptrace(PTRACE_CONT, daemon, NULL, (void *)(long)sig);
	}
	if (code < 0)
		code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	if (code != 0 && !ended)
		end_container(init); /* (it was not stopped at its exit: killed, or not traced) */
	write_done(done, code);
	return code == 0 ? 0 : 1;
}
