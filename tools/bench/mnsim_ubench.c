// SPDX-License-Identifier: GPL-2.0
/*
 * mnsim_ubench: the guest side of tools/bench/run-bench.sh (x86-64).
 *
 * Copyright (C) 2026 The mmu_notifier_sim authors
 *
 *   mnsim_ubench [--smoke] inval_flat|cow_overhead|read_vs_memcpy|vs_dmirror
 *   mnsim_ubench [--smoke] windows
 *
 * Each command measures one figure of issue 6 and prints it as
 *   bench: <name> <value> <unit> (goal <op> <value>)
 * followed by "bench-detail: <name>: ..." lines with the other points, the
 * spreads and sanity counters. Absolute times under QEMU TCG drift, so every
 * figure is a ratio of two things measured side by side, alternating, in the
 * same guest: each repetition yields one ratio, and the figure is the median
 * of those ratios. Spreads are printed as "median [min..max]" over the
 * repetitions.
 *
 * inval_flat reads the in-kernel results of mnsim_bench.ko (debugfs); the
 * others use /dev/mmu_notifier_sim, the null notifier of mnsim_bench.ko and,
 * for vs_dmirror, /dev/hmm_dmirror_read (dmirror_read.ko). windows is not a
 * figure but a check, with real parallelism, of the TLB's access windows
 * (mnsim_bench.ko); it prints "bench-check: windows ok" or "... FAIL".
 * See Documentation/benchmarks.rst.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/mmu_notifier_sim.h>
#include "dmirror/dmirror_read_uapi.h"

#define MNSIM_DEV	"/dev/mmu_notifier_sim"
#define DMIRROR_DEV	"/dev/hmm_dmirror_read"
#define BENCH_DEBUGFS	"/sys/kernel/debug/mnsim_bench/"
#define BENCH_PARAMS	"/sys/module/mnsim_bench/parameters/"

#define MAX_REPS	64
#define PAGE		4096UL

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

static bool smoke;

/* ---- helpers ------------------------------------------------------------ */

static void die(const char *fmt, ...)
{
	int err = errno;
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "bench-error: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, err ? ": %s\n" : "\n", strerror(err));
	exit(1);
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/*
 * Cycle counter for timing single events: cheap and fine-grained under TCG,
 * where it is the host's TSC. (On 6.1 the guest marks its TSC unstable and
 * clock_gettime() becomes a syscall that reads the emulated HPET.)
 */
static inline uint64_t cycles(void)
{
	return __builtin_ia32_rdtsc();
}

/* Counter cycles per nanosecond, against CLOCK_MONOTONIC over 50 ms. */
static double cycles_per_ns(void)
{
	static double cpn;
	double t0, t1;
	uint64_t c0, c1;

	if (cpn)
		return cpn;
	t0 = now_ns();
	c0 = cycles();
	do {
		t1 = now_ns();
	} while (t1 - t0 < 50e6);
	c1 = cycles();
	cpn = (c1 - c0) / (t1 - t0);
	return cpn;
}

static unsigned long min_ul(unsigned long a, unsigned long b)
{
	return a < b ? a : b;
}

static double max_d(double a, double b)
{
	return a > b ? a : b;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Median of n values, sorting them in place. */
static double median_inplace(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Median, minimum and maximum of n values (1 <= n <= MAX_REPS). */
struct stat3 {
	double med;
	double min;
	double max;
};

static struct stat3 stats(const double *v, int n)
{
	double s[MAX_REPS];
	struct stat3 r;

	memcpy(s, v, n * sizeof(*v));
	r.med = median_inplace(s, n);
	r.min = s[0];
	r.max = s[n - 1];
	return r;
}

/* Statistics of the per-repetition ratios a[i] / b[i]. */
static struct stat3 ratio_stats(const double *a, const double *b, int n)
{
	double r[MAX_REPS];
	int i;

	for (i = 0; i < n; i++)
		r[i] = a[i] / b[i];
	return stats(r, n);
}

static void figure(const char *name, double value, const char *op,
		   double goal)
{
	printf("bench: %s %.3f ratio (goal %s %g)\n", name, value, op, goal);
	fflush(stdout);
}

static void note(const char *name, const char *fmt, ...)
{
	va_list ap;

	printf("bench-detail: %s: ", name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

/* "<what>: median [min..max]", ratios to 3 decimals, times in whole ns. */
static void note_stat(const char *name, const char *what, struct stat3 s,
		      const char *unit)
{
	int prec = *unit ? 0 : 3;

	note(name, "%s: %.*f%s [%.*f..%.*f]", what, prec, s.med, unit, prec,
	     s.min, prec, s.max);
}

static void *map_pages(unsigned long npages, bool populate)
{
	void *p = mmap(NULL, npages * PAGE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		die("mmap %lu pages", npages);
	/* 4 KiB pages everywhere: THP would change what a fault costs. */
	if (madvise(p, npages * PAGE, MADV_NOHUGEPAGE))
		die("madvise");
	if (populate)
		memset(p, 0x5a, npages * PAGE);
	return p;
}

static int mnsim_open_bound(unsigned int mode, unsigned int capacity)
{
	struct mnsim_bind b = { .mode = mode, .capacity = capacity };
	int fd = open(MNSIM_DEV, O_RDWR);

	if (fd < 0)
		die("open " MNSIM_DEV);
	if (ioctl(fd, MNSIM_IOC_BIND, &b))
		die("BIND mode %u capacity %u", mode, capacity);
	return fd;
}

static struct mnsim_access mnsim_read(int fd, void *src, void *dst,
				      unsigned long len)
{
	struct mnsim_access a = {
		.va = (uintptr_t)src,
		.len = len,
		.buf = (uintptr_t)dst,
	};

	if (ioctl(fd, MNSIM_IOC_DEV_READ, &a))
		die("DEV_READ %lu bytes", len);
	return a;
}

static struct mnsim_stats mnsim_get_stats(int fd)
{
	struct mnsim_stats s = { 0 };

	if (ioctl(fd, MNSIM_IOC_STATS, &s))
		die("STATS");
	return s;
}

static void mnsim_flush(int fd)
{
	struct mnsim_flush f = { 0 };

	if (ioctl(fd, MNSIM_IOC_FLUSH, &f))
		die("FLUSH");
}

/* Keep the process on one CPU: the guest's TSCs may be unsynchronised. */
static void pin_last_cpu(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(n > 1 ? n - 1 : 0, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

static void write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY);

	if (fd < 0)
		die("open %s", path);
	if (write(fd, val, strlen(val)) != (ssize_t)strlen(val))
		die("write %s to %s", val, path);
	close(fd);
}

/* ---- P1 inval_flat ------------------------------------------------------- */

#define P1_SIZES	4

/* One series of mnsim_bench.ko: per TLB size, per repetition. */
struct p1_series {
	unsigned int entries[P1_SIZES];
	double v[P1_SIZES][MAX_REPS];
	int nsizes;
};

static int p1_size_index(struct p1_series *s, unsigned int entries)
{
	int i;

	for (i = 0; i < s->nsizes; i++)
		if (s->entries[i] == entries)
			return i;
	if (s->nsizes == P1_SIZES)
		die("inval_flat: more than %d sizes", P1_SIZES);
	s->entries[s->nsizes] = entries;
	return s->nsizes++;
}

/* Ratios to the 1-entry TLB and median times of every size of a series. */
static void p1_report(const char *what, struct p1_series *s, int reps,
		      double ns_per_unit)
{
	char line[512];
	int len = 0, i;

	for (i = 1; i < s->nsizes; i++) {
		struct stat3 r = ratio_stats(s->v[i], s->v[0], reps);

		len += snprintf(line + len, sizeof(line) - len,
				"%s%u: %.3f [%.3f..%.3f]", i > 1 ? ", " : "",
				s->entries[i], r.med, r.min, r.max);
	}
	note("inval_flat", "%s, ratio to 1 entry: %s", what, line);
	len = 0;
	for (i = 0; i < s->nsizes; i++)
		len += snprintf(line + len, sizeof(line) - len,
				"%s%u: %.0f", i ? ", " : "", s->entries[i],
				stats(s->v[i], reps).med * ns_per_unit);
	note("inval_flat", "%s, ns: %s", what, line);
}

/* Run mnsim_bench.ko's measurement and return its text. */
static void p1_run_kernel(char *buf, size_t size, int reps)
{
	char val[16];
	ssize_t n, got = 0;
	int fd;

	snprintf(val, sizeof(val), "%d", reps);
	write_file(BENCH_PARAMS "reps", val);
	write_file(BENCH_PARAMS "iters", smoke ? "200" : "3000");
	write_file(BENCH_PARAMS "max_entries", "1048576");
	write_file(BENCH_DEBUGFS "inval_flat", "run");
	fd = open(BENCH_DEBUGFS "inval_flat", O_RDONLY);
	if (fd < 0)
		die("open " BENCH_DEBUGFS "inval_flat");
	while ((n = read(fd, buf + got, size - 1 - got)) > 0)
		got += n;
	close(fd);
	buf[got] = 0;
}

static void bench_inval_flat(void)
{
	struct p1_series same = { 0 }, rnd = { 0 }, none = { 0 }, loop = { 0 };
	unsigned int entries, rep, secs = 0, reps = smoke ? 3 : 11;
	double timer[MAX_REPS] = { 0 }, khz = 0;
	static char buf[1 << 16];
	unsigned long long val;
	char *line, *save, kind[16];
	struct stat3 r;
	int i, last;

	p1_run_kernel(buf, sizeof(buf), reps);
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (sscanf(line, "khz %llu", &val) == 1) {
			khz = val;
		} else if (sscanf(line, "timer %u %llu", &rep, &val) == 2) {
			if (rep < reps)
				timer[rep] = val / 1000.0;	/* millicycles */
		} else if (sscanf(line, "done %u", &secs) == 1) {
			continue;
		} else if (sscanf(line, "%15s %u %u %llu", kind, &entries,
				  &rep, &val) == 4 && rep < reps) {
			struct p1_series *s = !strcmp(kind, "same") ? &same :
					      !strcmp(kind, "rand") ? &rnd :
					      !strcmp(kind, "none") ? &none :
					      &loop;

			/* Millicycles, but picoseconds for loop. */
			s->v[p1_size_index(s, entries)][rep] =
				s == &loop ? val : val / 1000.0;
		}
	}
	if (!khz || same.nsizes < 2 || same.entries[0] != 1)
		die("inval_flat: no results from mnsim_bench.ko");

	/* Net cycles: the cost of the two counter reads is subtracted. */
	for (i = 0; i < same.nsizes; i++) {
		for (rep = 0; rep < reps; rep++) {
			same.v[i][rep] = max_d(same.v[i][rep] - timer[rep], 1);
			rnd.v[i][rep] = max_d(rnd.v[i][rep] - timer[rep], 1);
			none.v[i][rep] = max_d(none.v[i][rep] - timer[rep], 1);
		}
	}
	last = same.nsizes - 1;
	r = ratio_stats(same.v[last], same.v[0], reps);
	figure("inval_flat", r.med, "<=", 1.2);
	note("inval_flat", "%u reps; one page invalidated, %u entries vs 1; mean of mid half",
	     reps, same.entries[last]);
	p1_report("same page", &same, reps, 1e6 / khz);
	p1_report("random page", &rnd, reps, 1e6 / khz);
	p1_report("page not cached", &none, reps, 1e6 / khz);
	p1_report("loop of queued invalidate + re-insert (drains)", &loop, reps, 0.001);
	note("inval_flat", "timer pair %.0f ns subtracted; counter %.0f kHz; kernel run %u s",
	     stats(timer, reps).med * 1e6 / khz, khz, secs);
}

/* ---- P2 cow_overhead ----------------------------------------------------- */

enum { COW_UNBOUND, COW_UNBOUND_GUP, COW_NULL, COW_NULL_HOOK,
	COW_NULL_RANGE, COW_ATS, COW_ATS_COLD, COW_SOFT, COW_NR };

static const char * const cow_name[COW_NR] = {
	[COW_UNBOUND]		= "unbound",
	[COW_UNBOUND_GUP]	= "unbound, pages read via /proc/self/mem",
	[COW_NULL]		= "null notifier, hook + start/end",
	[COW_NULL_HOOK]		= "null notifier, hook only",
	[COW_NULL_RANGE]	= "null notifier, start/end only",
	[COW_ATS]		= "ATS",
	[COW_ATS_COLD]		= "ATS cold (TLB empty)",
	[COW_SOFT]		= "SOFT",
};

/* What each null kind writes to the null notifier file. */
static const char * const cow_null[COW_NR] = {
	[COW_NULL]		= "both",
	[COW_NULL_HOOK]		= "hook",
	[COW_NULL_RANGE]	= "range",
};

static const unsigned int cow_mode[COW_NR] = {
	[COW_ATS]		= MNSIM_MODE_ATS,
	[COW_ATS_COLD]		= MNSIM_MODE_ATS,
	[COW_SOFT]		= MNSIM_MODE_SOFT,
};

/* What a COW worker reports through shared memory. */
struct cow_result {
	double med_ns;			/* median COW fault of the rep */
	double mean_ns;			/* mean, outliers included */
	unsigned long long misses;	/* of the warm-up device read */
	unsigned long long hook_calls;	/* during the writes */
	unsigned long long inval_entries;
};

/* Faults per turn: the kinds take turns of this many faults each. */
#define COW_TURN	16

/*
 * Pages a worker maps: the npages it times, then one more per turn, written
 * untimed at the start of the turn (a COW fault like the others: it brings
 * the fault path, the device's TLB structures and the page tables back into
 * the caches after the switch from the previous worker).
 */
static unsigned long cow_pages(unsigned long npages)
{
	return npages + (npages + COW_TURN - 1) / COW_TURN;
}

/*
 * The other side of a worker's address space: the registration of the kind
 * (device binding or null notifier), and for the warm kinds a read of every
 * page through GUP (device read, or /proc/self/mem without a device).
 */
static int cow_prepare(int kind, unsigned long npages)
{
	int fd = -1;

	if (cow_mode[kind])
		fd = mnsim_open_bound(cow_mode[kind], cow_pages(npages));
	if (cow_null[kind]) {
		size_t len = strlen(cow_null[kind]);

		fd = open(BENCH_DEBUGFS "null_notifier", O_WRONLY);
		if (fd < 0 || write(fd, cow_null[kind], len) != (ssize_t)len)
			die("register the null notifier");
	}
	return fd;	/* stays open until the worker exits */
}

static void cow_warm(int kind, int fd, char *buf, char *dst,
		     unsigned long npages, struct cow_result *res)
{
	unsigned long len = cow_pages(npages) * PAGE;
	int mfd;

	if (cow_mode[kind] && kind != COW_ATS_COLD)
		res->misses = mnsim_read(fd, buf, dst, len).misses;
	if (kind != COW_UNBOUND_GUP && !cow_null[kind])
		return;
	/*
	 * What the warm-up does to the pages, without a device: GUP with
	 * FOLL_GET, as the device's walk. (process_vm_readv() would pin, and
	 * pinning a COW-shared page unshares, that is copies, it.) The null
	 * notifiers get it too, so that they differ from ATS by the device
	 * alone.
	 */
	mfd = open("/proc/self/mem", O_RDONLY);
	if (mfd < 0 || pread(mfd, dst, len, (uintptr_t)buf) != (ssize_t)len)
		die("read /proc/self/mem");
	close(mfd);
}

/* A worker, seen from the parent: command and acknowledgment pipes. */
struct cow_ctl {
	pid_t pid;
	int cmd;	/* parent writes: faults to do next, 0 to finish */
	int ack;	/* parent reads: one byte per command done */
};

static void xread(int fd, void *p, size_t n)
{
	if (read(fd, p, n) != (ssize_t)n)
		die("pipe read");
}

static void xwrite(int fd, const void *p, size_t n)
{
	if (write(fd, p, n) != (ssize_t)n)
		die("pipe write");
}

/*
 * A worker is a fresh process, so that the unbound kind runs in an address
 * space that never had a notifier. It maps and populates its pages, binds or
 * registers, forks a child that shares the pages copy-on-write and sleeps,
 * warms the device TLB (after the fork: on 6.12 fork flushes secondary
 * TLBs), reports ready, then writes to its pages, one COW fault each, in
 * the turns the parent gives it: one untimed fault on a spare page, then
 * the turn's faults, each timed on its own.
 */
static void cow_worker(int kind, unsigned long npages, int cmd, int ack,
		       struct cow_result *res)
{
	char *buf = map_pages(cow_pages(npages), true), *dst, c = 0;
	char *spare = buf + npages * PAGE;
	struct mnsim_stats s0 = { 0 }, s1 = { 0 };
	int fd = cow_prepare(kind, npages), go[2];
	unsigned long i = 0, n, turn = 0;
	uint64_t total = 0;
	double *d;
	pid_t child;

	if (pipe(go))
		die("pipe");
	child = fork();
	if (child < 0)
		die("fork");
	if (!child) {
		close(go[1]);
		_exit(read(go[0], &c, 1) < 0);
	}
	close(go[0]);
	dst = map_pages(cow_pages(npages), true);
	cow_warm(kind, fd, buf, dst, npages, res);
	if (cow_mode[kind])
		s0 = mnsim_get_stats(fd);
	d = (double *)dst;	/* the timings reuse the warm-up buffer */
	xwrite(ack, &c, 1);

	for (xread(cmd, &n, sizeof(n)); n; xread(cmd, &n, sizeof(n))) {
		unsigned long stop = min_ul(i + n, npages);

		spare[turn++ * PAGE] = 1;
		for (; i < stop; i++) {
			uint64_t c0 = cycles();

			buf[i * PAGE] = 1;
			d[i] = cycles() - c0;
			total += d[i];
		}
		xwrite(ack, &c, 1);
	}

	if (cow_mode[kind])
		s1 = mnsim_get_stats(fd);
	res->hook_calls = s1.hook_calls - s0.hook_calls;
	res->inval_entries = s1.inval_entries - s0.inval_entries;
	xwrite(go[1], &c, 1);
	waitpid(child, NULL, 0);
	res->mean_ns = total / cycles_per_ns() / npages;
	res->med_ns = median_inplace(d, npages) / cycles_per_ns();
}

static void cow_start(int kind, unsigned long npages, struct cow_ctl *ctl,
		      struct cow_result *res)
{
	int cmd[2], ack[2];
	char c;

	if (pipe(cmd) || pipe(ack))
		die("pipe");
	ctl->pid = fork();
	if (ctl->pid < 0)
		die("fork");
	if (!ctl->pid) {
		close(cmd[1]);
		close(ack[0]);
		cow_worker(kind, npages, cmd[0], ack[1], res);
		_exit(0);
	}
	close(cmd[0]);
	close(ack[1]);
	ctl->cmd = cmd[1];
	ctl->ack = ack[0];
	xread(ctl->ack, &c, 1);		/* ready */
}

/*
 * One repetition: a worker per kind, all prepared first, then taking turns
 * of COW_TURN faults, in an order rotated by @rep, so that every kind sees
 * the same host conditions within a fraction of a millisecond.
 */
static void cow_round(int rep, unsigned long npages, struct cow_result *res)
{
	struct cow_ctl ctl[COW_NR];
	unsigned long turn = COW_TURN, done;
	int k, status;
	char c;

	memset(res, 0, COW_NR * sizeof(*res));
	/* Rotated too: no kind always gets the first pages allocated. */
	for (k = 0; k < COW_NR; k++) {
		int kind = (k + rep) % COW_NR;

		cow_start(kind, npages, &ctl[kind], &res[kind]);
	}
	for (done = 0; done < npages; done += turn) {
		for (k = 0; k < COW_NR; k++) {
			int kind = (k + rep + done / turn) % COW_NR;

			xwrite(ctl[kind].cmd, &turn, sizeof(turn));
			xread(ctl[kind].ack, &c, 1);
		}
	}
	turn = 0;
	for (k = 0; k < COW_NR; k++) {
		xwrite(ctl[k].cmd, &turn, sizeof(turn));
		if (waitpid(ctl[k].pid, &status, 0) != ctl[k].pid ||
		    !WIFEXITED(status) || WEXITSTATUS(status))
			die("cow_overhead: %s worker failed", cow_name[k]);
		close(ctl[k].cmd);
		close(ctl[k].ack);
	}
}

static void bench_cow_overhead(void)
{
	unsigned long npages = smoke ? 64 : 512;
	int reps = smoke ? 3 : 31, r, k;
	double med[COW_NR][MAX_REPS], mean[COW_NR][MAX_REPS];
	struct cow_result *res;
	char what[128];

	cycles_per_ns();
	res = mmap(NULL, COW_NR * sizeof(*res), PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (res == MAP_FAILED)
		die("mmap shared");
	cow_round(0, npages, res);	/* warm-up round, not counted */
	for (r = 0; r < reps; r++) {
		cow_round(r, npages, res);
		for (k = 0; k < COW_NR; k++) {
			med[k][r] = res[k].med_ns;
			mean[k][r] = res[k].mean_ns;
		}
	}
	figure("cow_overhead",
	       ratio_stats(med[COW_ATS], med[COW_UNBOUND], reps).med, "<=",
	       1.10);
	/* Side by side: what any secondary TLB costs, and ours on top of it. */
	note_stat("cow_overhead", "kernel floor: null notifier, hook only / unbound",
		  ratio_stats(med[COW_NULL_HOOK], med[COW_UNBOUND], reps), "");
	note_stat("cow_overhead", "device on top of the floor: ATS / null notifier, hook only",
		  ratio_stats(med[COW_ATS], med[COW_NULL_HOOK], reps), "");
	note("cow_overhead", "%d reps of %lu COW faults a kind; median per rep",
	     reps, npages);
	note("cow_overhead",
	     "turns of %d timed faults after an untimed one; rotating order",
	     COW_TURN);
	for (k = COW_UNBOUND_GUP; k < COW_NR; k++) {
		snprintf(what, sizeof(what), "%s / unbound", cow_name[k]);
		note_stat("cow_overhead", what,
			  ratio_stats(med[k], med[COW_UNBOUND], reps), "");
	}
	note_stat("cow_overhead", "ATS / unbound, mean fault (with outliers)",
		  ratio_stats(mean[COW_ATS], mean[COW_UNBOUND], reps), "");
	for (k = 0; k < COW_NR; k++) {
		snprintf(what, sizeof(what), "%s, median fault", cow_name[k]);
		note_stat("cow_overhead", what, stats(med[k], reps), " ns");
	}
	for (k = COW_ATS; k < COW_NR; k++) {
		if (k == COW_ATS_COLD)
			continue;
		note("cow_overhead",
		     "%s: warm-up misses %llu, hooks %llu, dropped %llu (of %lu)",
		     cow_name[k], res[k].misses, res[k].hook_calls,
		     res[k].inval_entries, cow_pages(npages));
	}
}

/* ---- P3 read_vs_memcpy --------------------------------------------------- */

/* Device read of src into dst by MNSIM_IOC_DEV_RWV, chunk bytes a range. */
static struct mnsim_access_vec rwv_read(int fd, struct mnsim_vec_range *v,
					char *src, char *dst,
					unsigned long len, unsigned long chunk)
{
	struct mnsim_access_vec a = { .ranges = (uintptr_t)v };
	unsigned long off;

	for (off = 0; off < len; off += chunk, a.nr_ranges++) {
		v[a.nr_ranges] = (struct mnsim_vec_range) {
			.va = (uintptr_t)(src + off),
			.len = chunk,
			.buf = (uintptr_t)(dst + off),
		};
	}
	if (ioctl(fd, MNSIM_IOC_DEV_RWV, &a))
		die("DEV_RWV");
	return a;
}

/* Pages per block: the methods alternate block by block. */
#define P3_BLOCK	16

enum { P3_CPU, P3_HIT, P3_HIT1, P3_MISS, P3_GUP, P3_NR, P3_BIG = P3_NR };

/* Cycles to move one block of P3_BLOCK pages from src to dst by @how. */
static double p3_block(int how, int fd, struct mnsim_vec_range *v,
		       char *src, char *dst, unsigned long *bad)
{
	unsigned long len = P3_BLOCK * PAGE;
	struct iovec liov = { dst, len }, riov = { src, len };
	uint64_t c0 = cycles();

	switch (how) {
	case P3_CPU:
		memcpy(dst, src, len);
		__asm__ volatile("" : : "r"(dst) : "memory");
		break;
	case P3_HIT:	/* a vector of one range per page */
		*bad += rwv_read(fd, v, src, dst, len, PAGE).misses;
		break;
	case P3_HIT1:	/* one range */
		*bad += mnsim_read(fd, src, dst, len).misses;
		break;
	case P3_MISS:	/* after a FLUSH: every page walked */
		*bad += P3_BLOCK - rwv_read(fd, v, src, dst, len, PAGE).misses;
		break;
	case P3_GUP:	/* the kernel's GUP + copy */
		if (process_vm_readv(getpid(), &liov, 1, &riov, 1, 0) !=
		    (ssize_t)len)
			die("process_vm_readv");
		break;
	}
	return cycles() - c0;
}

/*
 * One repetition: for every block, memcpy and the device reads on TLB hits
 * back to back; then for every block, a FLUSH, the device read on TLB misses
 * and process_vm_readv() back to back. ratio[x] receives the median over the
 * blocks of t(x) / t(reference): memcpy for the hits, GUP for the misses;
 * per_page[x] the median block time per page, in ns, and per_page[P3_BIG]
 * that of one memcpy() of the whole buffer (glibc takes another path for
 * large copies).
 */
static void p3_rep(int fd, struct mnsim_vec_range *v, char *src, char *dst,
		   unsigned long npages, double *ratio, double *per_page,
		   unsigned long *bad)
{
	unsigned long nb = min_ul(npages / P3_BLOCK, MAX_REPS), b;
	double t[P3_NR][MAX_REPS], q[MAX_REPS];
	int k;

	uint64_t c0 = cycles();

	memcpy(dst, src, npages * PAGE);
	__asm__ volatile("" : : "r"(dst) : "memory");
	per_page[P3_BIG] = (cycles() - c0) / cycles_per_ns() / npages;
	rwv_read(fd, v, src, dst, npages * PAGE, PAGE);	/* warm */
	for (b = 0; b < nb; b++) {
		char *s = src + b * P3_BLOCK * PAGE, *d = dst + b * P3_BLOCK * PAGE;

		for (k = P3_CPU; k <= P3_HIT1; k++)
			t[k][b] = p3_block(k, fd, v, s, d, bad);
	}
	for (b = 0; b < nb; b++) {
		char *s = src + b * P3_BLOCK * PAGE, *d = dst + b * P3_BLOCK * PAGE;

		mnsim_flush(fd);
		for (k = P3_MISS; k <= P3_GUP; k++)
			t[k][b] = p3_block(k, fd, v, s, d, bad);
	}
	for (k = 0; k < P3_NR; k++) {
		int ref = k < P3_MISS ? P3_CPU : P3_GUP;

		for (b = 0; b < nb; b++)
			q[b] = t[ref][b] / t[k][b];
		ratio[k] = median_inplace(q, nb);
		per_page[k] = median_inplace(t[k], nb) / cycles_per_ns() /
			      P3_BLOCK;
	}
}

static void bench_read_vs_memcpy(void)
{
	unsigned long npages = smoke ? 64 : 512, bad = 0;
	int reps = smoke ? 3 : 31, r, k;
	double ratio[P3_NR][MAX_REPS], per_page[P3_NR + 1][MAX_REPS];
	double rr[P3_NR], pp[P3_NR + 1];
	static struct mnsim_vec_range v[MNSIM_MAX_VEC];
	char *src, *dst;
	int fd;

	cycles_per_ns();
	src = map_pages(npages, true);
	dst = map_pages(npages, true);
	fd = mnsim_open_bound(MNSIM_MODE_ATS, npages);
	for (r = 0; r < reps; r++) {
		p3_rep(fd, v, src, dst, npages, rr, pp, &bad);
		for (k = 0; k < P3_NR; k++)
			ratio[k][r] = rr[k];
		for (k = 0; k <= P3_BIG; k++)
			per_page[k][r] = pp[k];
	}
	figure("read_vs_memcpy", stats(ratio[P3_HIT], reps).med, ">=", 0.5);
	note("read_vs_memcpy", "%d reps of %lu KiB in blocks of %d KiB; median block ratio per rep",
	     reps, npages * PAGE / 1024, (int)(P3_BLOCK * PAGE / 1024));
	note_stat("read_vs_memcpy", "DEV_RWV, a range a page, TLB hits / memcpy, throughput",
		  stats(ratio[P3_HIT], reps), "");
	note_stat("read_vs_memcpy", "DEV_READ, one range, TLB hits / memcpy, throughput",
		  stats(ratio[P3_HIT1], reps), "");
	note_stat("read_vs_memcpy", "DEV_RWV, TLB hits / one memcpy of it all, throughput",
		  ratio_stats(per_page[P3_BIG], per_page[P3_HIT], reps), "");
	note_stat("read_vs_memcpy", "DEV_RWV on TLB misses / process_vm_readv, throughput",
		  stats(ratio[P3_MISS], reps), "");
	note("read_vs_memcpy",
	     "ns per page: memcpy %.0f (in one go %.0f), hit %.0f (one range %.0f)",
	     stats(per_page[P3_CPU], reps).med,
	     stats(per_page[P3_BIG], reps).med,
	     stats(per_page[P3_HIT], reps).med,
	     stats(per_page[P3_HIT1], reps).med);
	note("read_vs_memcpy", "ns per page: miss %.0f, process_vm_readv %.0f",
	     stats(per_page[P3_MISS], reps).med,
	     stats(per_page[P3_GUP], reps).med);
	note("read_vs_memcpy", "sanity: %lu unexpected hits/misses", bad);
	close(fd);
}

/* ---- P4 vs_dmirror ------------------------------------------------------- */

enum { P4_DMIRROR, P4_ATS, P4_SOFT, P4_NR };
static const char * const p4_name[P4_NR] = { "dmirror", "ATS", "SOFT" };

/* Time one device read of npages pages that the device has never seen. */
static double p4_read(int kind, int fd, unsigned long npages, bool populate,
		      char *dst)
{
	char *src = map_pages(npages, populate);
	double t0, t;

	if (kind == P4_DMIRROR) {
		struct hmm_dmirror_cmd cmd = {
			.addr = (uintptr_t)src,
			.ptr = (uintptr_t)dst,
			.npages = npages,
		};

		t0 = now_ns();
		if (ioctl(fd, HMM_DMIRROR_READ, &cmd) || cmd.cpages != npages)
			die("HMM_DMIRROR_READ");
		t = now_ns() - t0;
	} else {
		struct mnsim_access a;

		t0 = now_ns();
		a = mnsim_read(fd, src, dst, npages * PAGE);
		t = now_ns() - t0;
		if (a.misses != npages)
			die("vs_dmirror: %llu misses for %lu fresh pages",
			    (unsigned long long)a.misses, npages);
	}
	/* munmap invalidates both devices' entries for the next round. */
	munmap(src, npages * PAGE);
	return t;
}

static void p4_series(int fd[P4_NR], unsigned long npages, bool populate,
		      int reps, double t[P4_NR][MAX_REPS], char *dst)
{
	int r, k;

	for (k = 0; k < P4_NR; k++)	/* warm-up round, not counted */
		p4_read(k, fd[k], npages, populate, dst);
	for (r = 0; r < reps; r++)
		for (k = 0; k < P4_NR; k++) {
			int kind = (k + r) % P4_NR;

			t[kind][r] = p4_read(kind, fd[kind], npages, populate,
					     dst);
		}
}

static void bench_vs_dmirror(void)
{
	unsigned long npages = smoke ? 64 : 256;
	int reps = smoke ? 3 : 51, fd[P4_NR], k;
	double t[P4_NR][MAX_REPS], u[P4_NR][MAX_REPS];
	char *dst;

	fd[P4_DMIRROR] = open(DMIRROR_DEV, O_RDWR);
	if (fd[P4_DMIRROR] < 0)
		die("open " DMIRROR_DEV);
	fd[P4_ATS] = mnsim_open_bound(MNSIM_MODE_ATS, npages);
	fd[P4_SOFT] = mnsim_open_bound(MNSIM_MODE_SOFT, npages);
	dst = map_pages(npages, true);

	p4_series(fd, npages, true, reps, t, dst);
	p4_series(fd, npages, false, reps, u, dst);

	figure("vs_dmirror", ratio_stats(t[P4_DMIRROR], t[P4_ATS], reps).med,
	       ">", 1);
	note("vs_dmirror", "%d reps; one read of %lu pages new to the device",
	     reps, npages);
	note_stat("vs_dmirror", "dmirror / ATS, resident pages",
		  ratio_stats(t[P4_DMIRROR], t[P4_ATS], reps), "");
	note_stat("vs_dmirror", "dmirror / SOFT, resident pages",
		  ratio_stats(t[P4_DMIRROR], t[P4_SOFT], reps), "");
	note_stat("vs_dmirror", "dmirror / ATS, never-touched pages (read faults)",
		  ratio_stats(u[P4_DMIRROR], u[P4_ATS], reps), "");
	for (k = 0; k < P4_NR; k++)
		note("vs_dmirror", "%s: %.0f ns per page resident, %.0f ns never touched",
		     p4_name[k], stats(t[k], reps).med / npages,
		     stats(u[k], reps).med / npages);
	for (k = 0; k < P4_NR; k++)
		close(fd[k]);
}

/* ---- windows: the concurrency check of the access windows --------------- */

/*
 * mnsim_bench.ko runs the device side on another CPU and the invalidation
 * here (see its header). Passes when no invalidation returned while the
 * device still used the page, every lookup of the other region completed
 * while an invalidation waited, and the negative control (index update
 * without waiting for windows) was caught returning early.
 */
static void bench_windows(void)
{
	unsigned int rounds = smoke ? 20 : 200, cpus = 0, n = 0;
	unsigned int early = 0, hr = 0, ht = 0, xd = 0, xr = 0;
	unsigned int ie = 0, ir = 0, it = 0;
	unsigned long long khz = 0, hw = 0, xc = 0, iw = 0;
	static char buf[4096];
	char val[16], *line, *save;
	ssize_t got;
	int fd;

	snprintf(val, sizeof(val), "%u", rounds);
	write_file(BENCH_DEBUGFS "windows", val);
	fd = open(BENCH_DEBUGFS "windows", O_RDONLY);
	if (fd < 0)
		die("open " BENCH_DEBUGFS "windows");
	got = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[got > 0 ? got : 0] = 0;
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (sscanf(line, "windows cpus %u", &cpus) == 1)
			n++;
		if (sscanf(line, "khz %llu", &khz) == 1)
			n++;
		n += sscanf(line, "windows hook early %u rounds %u timeouts %u waited %llu",
			    &early, &hr, &ht, &hw) == 4;
		n += sscanf(line, "windows lookup_x during %u of %u cycles %llu",
			    &xd, &xr, &xc) == 3;
		n += sscanf(line, "windows index early %u rounds %u timeouts %u waited %llu",
			    &ie, &ir, &it, &iw) == 4;
	}
	if (cpus < 2) {
		note("windows", "%u CPU online: no parallelism to check", cpus);
		printf("bench-check: windows FAIL needs 2 CPUs\n");
		return;
	}
	if (n != 5 || !khz)
		die("windows: unexpected output from mnsim_bench.ko");
	note("windows", "%u rounds, device on another CPU in Y's window %d us",
	     rounds, 50);
	note("windows",
	     "sec_tlb_invalidate_queue(Y): %u of %u early; waited %.0f ns (median)",
	     early, hr, hw * 1e6 / khz);
	note("windows",
	     "lookups of X (other region) in the wait: %u of %u, %.0f ns (median)",
	     xd, xr, xc * 1e6 / khz);
	note("windows", "negative control, index update only: %u of %u early",
	     ie, ir);
	if (early || ht || it || hr != rounds || ir != rounds || xd != rounds ||
	    ie < rounds / 2)
		printf("bench-check: windows FAIL (%u early, %u/%u lookups, %s)\n",
		       early, xd, xr, ht || it ? "timeouts" : "control missed");
	else
		printf("bench-check: windows ok (0 of %u early, %u lookups in the wait, %s %u)\n",
		       hr, xd, "control caught", ie);
	fflush(stdout);
}

/* ---- main ---------------------------------------------------------------- */

static const struct {
	const char *name;
	void (*fn)(void);
} benches[] = {
	{ "inval_flat", bench_inval_flat },
	{ "cow_overhead", bench_cow_overhead },
	{ "read_vs_memcpy", bench_read_vs_memcpy },
	{ "vs_dmirror", bench_vs_dmirror },
	{ "windows", bench_windows },
};

int main(int argc, char **argv)
{
	unsigned int i;
	int a = 1;

	if (a < argc && !strcmp(argv[a], "--smoke")) {
		smoke = true;
		a++;
	}
	if (a + 1 != argc) {
		fprintf(stderr, "usage: %s [--smoke] FIGURE\n", argv[0]);
		return 2;
	}
	pin_last_cpu();
	for (i = 0; i < ARRAY_SIZE(benches); i++) {
		double t0 = now_ns();

		if (strcmp(argv[a], benches[i].name))
			continue;
		errno = 0;
		benches[i].fn();
		note(benches[i].name, "took %.1f s in the guest",
		     (now_ns() - t0) / 1e9);
		return 0;
	}
	fprintf(stderr, "unknown figure %s\n", argv[a]);
	return 2;
}
