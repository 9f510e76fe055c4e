/*
 * fcap: file capabilities from inside a container, for the tests (busybox has no setcap).
 *
 *   fcap set FILE   writes security.capability = cap_net_raw+ep as a v2 value, as setcap does
 *                   (in a user namespace the kernel stores it as v3 with the namespace's root id)
 *   fcap get FILE   prints "v2 PERMITTED" or "v3 PERMITTED ROOTID" as this process sees it
 *   fcap raw        prints "uid U caps CAPEFF raw ok|raw EPERM": whether a raw socket opens
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/xattr.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "set")) {
		uint32_t v[5] = { 0x02000001u, 1u << 13, 0, 0, 0 }; /* v2 | effective; permitted CAP_NET_RAW (13) */
		if (setxattr(argv[2], "security.capability", v, sizeof(v), 0) < 0) {
			perror("setxattr");
			return 1;
		}
		return 0;
	}
	if (argc == 3 && !strcmp(argv[1], "get")) {
		uint32_t v[6] = { 0 };
		ssize_t n = getxattr(argv[2], "security.capability", v, sizeof(v));
		if (n < 0) {
			perror("getxattr");
			return 1;
		}
		if ((v[0] & 0xff000000u) == 0x03000000u)
			printf("v3 %x %u\n", v[1], v[5]);
		else
			printf("v%u %x\n", v[0] >> 24, v[1]);
		return 0;
	}
	if (argc == 2 && !strcmp(argv[1], "raw")) {
		char line[256], caps[32] = "?";
		FILE *f = fopen("/proc/self/status", "r");
		while (f && fgets(line, sizeof(line), f))
			if (!strncmp(line, "CapEff:", 7))
				sscanf(line + 7, "%31s", caps);
		if (f)
			fclose(f);
		int s = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
		printf("uid %u caps %s raw %s\n", getuid(), caps, s >= 0 ? "ok" : strerror(errno));
		return s >= 0 ? 0 : 2;
	}
	fprintf(stderr, "usage: fcap set|get FILE | fcap raw\n");
	return 2;
}
