/*
 * Test workload (maps00-like): holds MB megabytes of anonymous memory and keeps dirtying it.
 * Every page carries (magic, page index, generation) and a pseudo-random body. Each round checks that every page still
 * holds the previous round's generation, then writes the next one, and writes its state to
 * STATUS_FILE: "ok GEN PAGES" or "corrupt PAGE". A checkpoint/restore or a migration in between
 * must leave the pattern intact and the generation going on.
 * With PERCENT (1-100, default 100) a round writes only that share of the pages, always the same
 * ones (a hot set, as a real service has), checking every page against the generation it was last
 * written in: the dirty set between a pre-copy move's rounds is the hot set, whatever their length.
 *   dirty MB STATUS_FILE [PERCENT]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "status.h"

#define PAGE 4096
#define MAGIC 0x4350534d454d4f52ULL /* "CPSMEMOR" */

int main(int argc, char **argv)
{
	if (argc != 3 && argc != 4)
		return 2;
	size_t pages = (size_t)atol(argv[1]) * (1 << 20) / PAGE;
	long percent = argc == 4 ? atol(argv[3]) : 100;
	if (percent < 1 || percent > 100)
		return 2;
	size_t window = pages * (size_t)percent / 100;
	unsigned long long *mem = malloc(pages * PAGE);
	unsigned long long *written = calloc(pages, sizeof *written); /* the generation each page holds */
	char line[128];
	if (!mem || !written || window == 0)
		return 1;
	/* Pseudo-random page bodies (xorshift), so the memory does not compress: a migration moves
	 * every byte of it. */
	unsigned long long x = 0x9E3779B97F4A7C15ULL;
	for (size_t p = 0; p < pages; p++) {
		unsigned long long *w = mem + p * (PAGE / 8);
		for (size_t i = 3; i < PAGE / 8; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			w[i] = x;
		}
		w[0] = MAGIC;
		w[1] = p;
		w[2] = 0;
	}
	for (unsigned long long gen = 1;; gen++) {
		for (size_t p = 0; p < pages; p++) {
			unsigned long long *w = mem + p * (PAGE / 8);
			if (w[0] != MAGIC || w[1] != p || w[2] != written[p]) {
				snprintf(line, sizeof line, "corrupt %zu\n", p);
				status(argv[2], line);
				return 1;
			}
		}
		for (size_t p = 0; p < window; p++) {
			mem[p * (PAGE / 8) + 2] = gen;
			written[p] = gen;
		}
		snprintf(line, sizeof line, "ok %llu %zu\n", gen, pages);
		status(argv[2], line);
		usleep(20000);
	}
}
