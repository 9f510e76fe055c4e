/* keyring: tries the kernel keyring calls (not namespaced) and prints one line per call,
 * "NAME ok" or "NAME errno N". Security.Tests.ps1 runs it inside containers (static build). */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/syscall.h>

#define KEY_SPEC_PROCESS_KEYRING (-2)
#define KEYCTL_GET_KEYRING_ID 0

static void report(const char *name, long r)
{
	if (r < 0)
		printf("%s errno %d\n", name, errno);
	else
		printf("%s ok\n", name);
}

int main(void)
{
	report("add_key", syscall(SYS_add_key, "user", "cps-test", "secret", 6, KEY_SPEC_PROCESS_KEYRING));
	report("keyctl", syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_PROCESS_KEYRING, 1));
	report("request_key", syscall(SYS_request_key, "user", "cps-test-none", NULL, KEY_SPEC_PROCESS_KEYRING));
	return 0;
}
