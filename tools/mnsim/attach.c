// SPDX-License-Identifier: GPL-2.0
/*
 * mnsim attach: an emulated device that DMA-scans a running process's memory
 * over and over, with the coherence oracle on.
 *
 * Copyright (C) 2026 The mmu_notifier_sim authors
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>

#include "mnsim.h"

#define PAGE		4096UL
#define BATCH		256		/* pages per DEV_RWV */
#define PTR(p)		((__u64)(unsigned long)(p))

struct region {
	unsigned long start, end;
	bool writable;
};

struct scan {
	int fd;
	pid_t pid;
	bool fault;
	__u32 delay_ms;
	unsigned long pages, present, violations_b, violations_a;
	struct mnsim_event *ev;
	char *buf;
};

/*
 * Readable mappings of @pid. The kernel's special mappings are left out:
 * [vvar] and [vsyscall] are VM_PFNMAP/VM_IO, which the device refuses.
 */
static int read_maps(pid_t pid, struct region **out, int *nr)
{
	char path[64], line[512], perms[8], name[256];
	struct region *r = NULL;
	int n = 0, cap = 0;
	unsigned long s, e;
	FILE *f;

	/* Set on every path: aarch64 gcc 12 warns (-Wmaybe-uninitialized). */
	*out = NULL;
	*nr = 0;
	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		name[0] = 0;
		if (sscanf(line, "%lx-%lx %7s %*s %*s %*s %255s", &s, &e, perms,
			   name) < 3)
			continue;
		if (perms[0] != 'r' || !strcmp(name, "[vvar]") ||
		    !strcmp(name, "[vsyscall]") || !strcmp(name, "[vvar_vclock]"))
			continue;
		if (n == cap) {
			struct region *nr_ = realloc(r, (cap = cap * 2 + 16) *
						     sizeof(*r));

			if (!nr_) {
				free(r);
				fclose(f);
				return -ENOMEM;
			}
			r = nr_;
		}
		r[n].start = s;
		r[n].end = e;
		r[n].writable = perms[1] == 'w';
		n++;
	}
	fclose(f);
	*out = r;
	*nr = n;
	return 0;
}

/* Print the violations the oracle found since the last call. */
static int drain_events(struct scan *sc)
{
	struct mnsim_read_events cmd = {
		.max = MNSIM_EVENT_RING,
		.events = PTR(sc->ev),
	};
	__u32 i, v;
	int ret;

	ret = mnsim_xioctl(sc->fd, MNSIM_IOC_READ_EVENTS, &cmd);
	if (ret)
		return ret;
	for (i = 0; i < cmd.nr; i++) {
		if (sc->ev[i].type != MNSIM_EV_ACCESS)
			continue;
		v = MNSIM_EVF_VERDICT(sc->ev[i].flags);
		if (v != MNSIM_VERDICT_VIOLATION_B &&
		    v != MNSIM_VERDICT_VIOLATION_A)
			continue;
		if (v == MNSIM_VERDICT_VIOLATION_B)
			sc->violations_b++;
		else
			sc->violations_a++;
		printf("violation: case %c at %#llx: %s\n",
		       v == MNSIM_VERDICT_VIOLATION_B ? 'B' : 'A',
		       (unsigned long long)sc->ev[i].start,
		       v == MNSIM_VERDICT_VIOLATION_B ?
		       "the device read through a translation the CPU replaced" :
		       "the device used a page the kernel freed");
		fflush(stdout);
	}
	return 0;
}

/*
 * Fault injection for the DEFER demonstration: before each pass, re-arm every
 * park slot as a timed delay on the range end of a random page of a writable
 * mapping, where COWs happen. A COW of that page then leaves the device's
 * stale translation in place for @sc->delay_ms, long enough for the next
 * pass to read through it. Parks that did not fire are moved on each pass.
 */
static void arm_delays(struct scan *sc, const struct region *rg, int nr)
{
	struct mnsim_park_ctl ctl = { .flags = MNSIM_PARK_CTL_DISARM };
	unsigned long pages = 0, pick;
	int i, k;

	if (!sc->delay_ms)
		return;
	mnsim_xioctl(sc->fd, MNSIM_IOC_PARK_CTL, &ctl);
	for (i = 0; i < nr; i++)
		if (rg[i].writable)
			pages += (rg[i].end - rg[i].start) / PAGE;
	for (k = 0; pages && k < MNSIM_MAX_PARKS; k++) {
		struct mnsim_park park = {
			.flags = MNSIM_PARK_END | MNSIM_PARK_DELAY,
			.timeout_ms = sc->delay_ms,
		};

		pick = (unsigned long)rand() % pages;
		for (i = 0; i < nr; i++) {
			unsigned long n = (rg[i].end - rg[i].start) / PAGE;

			if (!rg[i].writable)
				continue;
			if (pick < n) {
				park.va = rg[i].start + pick * PAGE;
				break;
			}
			pick -= n;
		}
		if (mnsim_xioctl(sc->fd, MNSIM_IOC_PARK, &park))
			break;		/* EBUSY: every slot parked or armed */
	}
}

/* Scan one region page by page; 0, or -ESRCH when the process is gone. */
static int scan_region(struct scan *sc, const struct region *rg)
{
	struct mnsim_vec_range vec[BATCH];
	unsigned long va = rg->start;
	__u32 flags = sc->fault ? 0 : MNSIM_ACCESS_NOFAULT;
	int n, ret;

	while (va < rg->end && !mnsim_stopped()) {
		struct mnsim_access_vec cmd = { .ranges = PTR(vec) };

		for (n = 0; n < BATCH && va + n * PAGE < rg->end; n++) {
			vec[n].flags = flags;
			vec[n].__pad = 0;
			vec[n].va = va + n * PAGE;
			vec[n].len = PAGE;
			vec[n].buf = PTR(sc->buf + n * PAGE);
		}
		cmd.nr_ranges = n;
		ret = mnsim_xioctl(sc->fd, MNSIM_IOC_DEV_RWV, &cmd);
		sc->pages += ret ? cmd.done + 1 : cmd.done;
		sc->present += cmd.done;
		if (ret == -ESRCH)
			return ret;
		/* A page not present (ENOENT) or not accessible: skip it. */
		va += (cmd.done + (ret ? 1 : 0)) * PAGE;
	}
	return 0;
}

/* The bound address space was torn down (release() ran). */
static bool process_gone(int fd)
{
	struct mnsim_stats s = { 0 };

	return !mnsim_xioctl(fd, MNSIM_IOC_STATS, &s) && s.release_calls;
}

static int print_stats(int fd, const struct scan *sc)
{
	struct mnsim_stats s = { 0 };
	int ret = mnsim_xioctl(fd, MNSIM_IOC_STATS, &s);

	if (ret)
		return ret;
	printf("stats: pages scanned %lu (present %lu), TLB hits %llu, misses %llu, fills %llu\n",
	       sc->pages, sc->present, (unsigned long long)s.hits,
	       (unsigned long long)s.misses, (unsigned long long)s.fills);
	printf("stats: hook calls %llu, range start %llu, end %llu, entries invalidated %llu\n",
	       (unsigned long long)s.hook_calls,
	       (unsigned long long)s.start_calls,
	       (unsigned long long)s.end_calls,
	       (unsigned long long)s.inval_entries);
	printf("stats: oracle: %llu coherent, %llu stale but allowed, %llu case B, %llu case A\n",
	       (unsigned long long)s.oracle_coherent,
	       (unsigned long long)s.oracle_stale_allowed,
	       (unsigned long long)s.oracle_violation_b,
	       (unsigned long long)s.oracle_violation_a);
	printf("stats: accesses to freed pages refused %llu\n",
	       (unsigned long long)s.freed_refused);
	return 0;
}

int cmd_attach(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "mode", required_argument, NULL, 'm' },
		{ "interval", required_argument, NULL, 'i' },
		{ "passes", required_argument, NULL, 'n' },
		{ "fault", no_argument, NULL, 'f' },
		{ "delay-end", required_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 },
	};
	struct mnsim_bind bind = {
		.flags = MNSIM_BIND_ORACLE | MNSIM_BIND_RECORD,
		.mode = MNSIM_MODE_ATS,
	};
	struct scan sc = { .fd = -1 };
	long interval_ms = 10, passes = 0, pass;
	struct region *rg = NULL;
	int c, i, nr, ret;

	while ((c = getopt_long(argc, argv, "m:i:n:fd:", opts, NULL)) != -1) {
		switch (c) {
		case 'm':
			if (mnsim_parse_mode(optarg, &bind.mode))
				return mnsim_usage_error("unknown mode '%s'", optarg);
			break;
		case 'i':
			interval_ms = strtol(optarg, NULL, 0);
			break;
		case 'n':
			passes = strtol(optarg, NULL, 0);
			break;
		case 'f':
			sc.fault = true;
			break;
		case 'd':
			sc.delay_ms = strtoul(optarg, NULL, 0);
			break;
		default:
			return 2;
		}
	}
	if (optind != argc - 1)
		return mnsim_usage_error("attach needs one PID");
	sc.pid = atoi(argv[optind]);
	bind.target = sc.pid;

	sc.ev = calloc(MNSIM_EVENT_RING, sizeof(*sc.ev));
	sc.buf = malloc(BATCH * PAGE);
	if (!sc.ev || !sc.buf)
		return mnsim_error(-ENOMEM, "attach");
	sc.fd = mnsim_open_dev();
	if (sc.fd < 0)
		return 2;
	ret = mnsim_xioctl(sc.fd, MNSIM_IOC_BIND, &bind);
	if (ret)
		return mnsim_error(ret, "BIND to pid %d", sc.pid);
	mnsim_catch_stop();
	fprintf(stderr, "mnsim: attached to pid %d (%s)%s\n", sc.pid,
		mnsim_mode_name(bind.mode),
		sc.fault ? ", faulting pages in" : ", present pages only");

	for (pass = 1; !mnsim_stopped() && (!passes || pass <= passes); pass++) {
		ret = read_maps(sc.pid, &rg, &nr);
		if (ret)
			break;		/* the process is gone */
		arm_delays(&sc, rg, nr);
		for (i = 0; i < nr && !mnsim_stopped() && !ret; i++)
			ret = scan_region(&sc, &rg[i]);
		free(rg);
		rg = NULL;
		drain_events(&sc);
		/*
		 * An exited process may linger as a zombie whose maps read
		 * empty, so no access would ever fail: ask the device whether
		 * its address space was released.
		 */
		if (ret == -ESRCH || process_gone(sc.fd)) {
			ret = -ESRCH;
			break;
		}
		fprintf(stderr, "mnsim: pass %ld: %lu pages scanned, %lu violations\n",
			pass, sc.pages, sc.violations_b + sc.violations_a);
		if (interval_ms > 0)
			usleep(interval_ms * 1000);
	}
	drain_events(&sc);
	fprintf(stderr, "mnsim: %s after %ld passes\n",
		mnsim_stopped() ? "interrupted" : ret == -ESRCH || ret == -ENOENT ?
		"process exited" : "done", pass - 1);
	print_stats(sc.fd, &sc);
	printf("violations: %lu (case B %lu, case A %lu)\n",
	       sc.violations_b + sc.violations_a, sc.violations_b,
	       sc.violations_a);
	/* Closing the device unbinds it, releasing any park left armed. */
	close(sc.fd);
	free(sc.ev);
	free(sc.buf);
	return sc.violations_b + sc.violations_a ? 1 : 0;
}
