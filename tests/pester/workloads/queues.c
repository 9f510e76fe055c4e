/*
 * Test workload (sockets00 / pty00 / timers-like): data left unread in a unix stream socket, a
 * unix datagram socket and a pty, a timerfd and an interval timer (SIGALRM) running. It writes
 * "waiting ALARMS" to STATUS_FILE until CHECK_FILE exists, then reads everything back and writes
 * "ok unix=... dgram=... pty=... timerfd=N alarms=M" (or "bad WHAT"). A checkpoint/restore in
 * between must keep the queued data and the timers.
 *   queues STATUS_FILE CHECK_FILE
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <termios.h>
#include <unistd.h>

#include "status.h"

static volatile sig_atomic_t alarms;

static void on_alarm(int sig)
{
	(void)sig;
	alarms++;
}

static int bad(const char *file, const char *what)
{
	char line[256];
	snprintf(line, sizeof line, "bad %s\n", what);
	status(file, line);
	return 1;
}

int main(int argc, char **argv)
{
	int st[2], dg[2], master, slave, tfd;
	char line[512], a[64] = "", b[64] = "", c[64] = "";

	if (argc != 3)
		return 2;
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, st) < 0 || socketpair(AF_UNIX, SOCK_DGRAM, 0, dg) < 0)
		return bad(argv[1], "socketpair");
	if (write(st[0], "unix-queued", 11) != 11 || write(dg[0], "dgram-queued", 12) != 12)
		return bad(argv[1], "write socket");
	if ((master = posix_openpt(O_RDWR | O_NOCTTY)) < 0 || grantpt(master) < 0 || unlockpt(master) < 0 ||
	    (slave = open(ptsname(master), O_RDWR | O_NOCTTY)) < 0)
		return bad(argv[1], "pty");
	struct termios t;
	if (tcgetattr(slave, &t) < 0)
		return bad(argv[1], "tcgetattr");
	t.c_lflag &= ~(tcflag_t)ECHO;
	if (tcsetattr(slave, TCSANOW, &t) < 0 || write(master, "pty-queued\n", 11) != 11)
		return bad(argv[1], "pty write");
	struct itimerspec its = { { 0, 50 * 1000000 }, { 0, 50 * 1000000 } };
	if ((tfd = timerfd_create(CLOCK_MONOTONIC, 0)) < 0 || timerfd_settime(tfd, 0, &its, NULL) < 0)
		return bad(argv[1], "timerfd");
	signal(SIGALRM, on_alarm);
	struct itimerval itv = { { 0, 50000 }, { 0, 50000 } };
	if (setitimer(ITIMER_REAL, &itv, NULL) < 0)
		return bad(argv[1], "setitimer");

	while (access(argv[2], F_OK) != 0) {
		snprintf(line, sizeof line, "waiting %d\n", (int)alarms);
		status(argv[1], line);
		usleep(50000);
	}
	int before = alarms;
	if (read(st[1], a, sizeof a - 1) != 11 || strcmp(a, "unix-queued"))
		return bad(argv[1], "unix");
	if (read(dg[1], b, sizeof b - 1) != 12 || strcmp(b, "dgram-queued"))
		return bad(argv[1], "dgram");
	if (read(slave, c, sizeof c - 1) != 11 || strcmp(c, "pty-queued\n"))
		return bad(argv[1], "pty");
	uint64_t ticks = 0;
	if (read(tfd, &ticks, sizeof ticks) != sizeof ticks || ticks == 0)
		return bad(argv[1], "timerfd");
	usleep(200000);
	if (alarms <= before)
		return bad(argv[1], "itimer");
	snprintf(line, sizeof line, "ok unix=%s dgram=%s pty=pty-queued timerfd=%llu alarms=%d\n", a, b, (unsigned long long)ticks, (int)alarms);
	status(argv[1], line);
	pause();
	return 0;
}
