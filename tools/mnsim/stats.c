// SPDX-License-Identifier: GPL-2.0
/*
 * mnsim stats: the counters of every emulated device in the system, from the
 * module's root-only debugfs file (one "key=value ..." line per context,
 * after one line of module-wide totals).
 *
 * Copyright (C) 2026 The mmu_notifier_sim authors
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mnsim.h"

#define CONTEXTS_FILE	"/sys/kernel/debug/mmu_notifier_sim/contexts"

/* The columns printed, in order; the file may carry more keys. */
static const struct column {
	const char *key;
	const char *title;
	int width;
} columns[] = {
	{ "ctx", "CTX", 5 },
	{ "tgid", "TGID", 7 },
	{ "mode", "MODE", 5 },
	{ "entries", "ENTRIES", 8 },
	{ "capacity", "CAP", 8 },
	{ "hits", "HITS", 10 },
	{ "misses", "MISSES", 9 },
	{ "faults", "FAULTS", 8 },
	{ "hook_calls", "HOOK", 9 },
	{ "hook_empty", "EMPTY", 6 },
	{ "start_calls", "START", 9 },
	{ "end_calls", "END", 9 },
	{ "inval_entries", "INVAL'D", 9 },
	{ "full_flushes", "FLUSHES", 8 },
	{ "oracle_coherent", "COHERENT", 10 },
	{ "oracle_violation_b", "VIOL_B", 7 },
	{ "oracle_violation_a", "VIOL_A", 7 },
	{ "perm_stuck", "STUCK", 6 },
};

/* The value of @key in a "k=v k=v" line, copied to @val; -1 if absent. */
static int field(const char *line, const char *key, char *val, size_t size)
{
	size_t klen = strlen(key);
	const char *p = line;

	while ((p = strstr(p, key))) {
		if ((p == line || p[-1] == ' ') && p[klen] == '=') {
			size_t n = strcspn(p + klen + 1, "\n ");

			if (n >= size)
				n = size - 1;
			memcpy(val, p + klen + 1, n);
			val[n] = '\0';
			return 0;
		}
		p += klen;
	}
	return -1;
}

/* One snapshot; @ctx < 0 shows every context. Return: 0 or -errno. */
static int show(long ctx, int wide)
{
	char line[1024], val[32];
	unsigned int i, shown = 0;
	FILE *f;

	f = fopen(CONTEXTS_FILE, "re");
	if (!f)
		return -errno;
	if (!fgets(line, sizeof(line), f)) {
		fclose(f);
		return -EIO;
	}
	/* contexts=N entries=N max_total_entries=N */
	printf("%s", line);
	for (i = 0; !wide && i < ARRAY_SIZE(columns); i++)
		printf("%*s", columns[i].width, columns[i].title);
	if (!wide)
		putchar('\n');
	while (fgets(line, sizeof(line), f)) {
		if (ctx >= 0 && (field(line, "ctx", val, sizeof(val)) ||
				 strtol(val, NULL, 10) != ctx))
			continue;
		shown++;
		if (wide) {
			printf("%s", line);
			continue;
		}
		for (i = 0; i < ARRAY_SIZE(columns); i++) {
			if (field(line, columns[i].key, val, sizeof(val)))
				snprintf(val, sizeof(val), "-");
			printf("%*s", columns[i].width, val);
		}
		putchar('\n');
	}
	fclose(f);
	if (ctx >= 0 && !shown)
		return -ENOENT;
	return 0;
}

int cmd_stats(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "watch", required_argument, NULL, 'w' },
		{ "ctx", required_argument, NULL, 'c' },
		{ "wide", no_argument, NULL, 'W' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long watch = 0;
	long ctx = -1;
	int c, ret, wide = 0;
	char *end;

	while ((c = getopt_long(argc, argv, "w:c:W", opts, NULL)) != -1) {
		switch (c) {
		case 'w':
			watch = strtoul(optarg, &end, 10);
			if (*end || !watch || watch > 3600)
				return mnsim_usage_error("--watch SEC: 1..3600");
			break;
		case 'c':
			ctx = strtol(optarg, &end, 10);
			if (*end || ctx < 0)
				return mnsim_usage_error("--ctx ID: a context id");
			break;
		case 'W':
			wide = 1;
			break;
		default:
			return 2;
		}
	}
	if (optind != argc)
		return mnsim_usage_error("stats takes no operands");

	mnsim_catch_stop();
	for (;;) {
		ret = show(ctx, wide);
		if (ret == -ENOENT && ctx >= 0)
			return mnsim_error(0, "stats: no context %ld", ctx);
		if (ret)
			return mnsim_error(ret, "stats: read %s%s", CONTEXTS_FILE,
					   ret == -ENOENT ?
					   " (debugfs mounted? module loaded?)" :
					   "");
		fflush(stdout);
		if (!watch || mnsim_stopped())
			return 0;
		/* sleep() returns early on Ctrl-C: no SA_RESTART. */
		sleep(watch);
		if (mnsim_stopped())
			return 0;
		putchar('\n');
	}
}
