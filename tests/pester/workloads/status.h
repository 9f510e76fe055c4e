/* Shared by the test workloads: writes TEXT to FILE atomically (FILE.tmp, then rename), so a
 * reader inside or outside the container never sees a half-written status line. */
#ifndef CPS_WORKLOAD_STATUS_H
#define CPS_WORKLOAD_STATUS_H
#include <stdio.h>

static void status(const char *file, const char *text)
{
	char tmp[512];
	snprintf(tmp, sizeof tmp, "%s.tmp", file);
	FILE *f = fopen(tmp, "w");
	if (!f)
		return;
	fputs(text, f);
	fclose(f);
	rename(tmp, file);
}
#endif
