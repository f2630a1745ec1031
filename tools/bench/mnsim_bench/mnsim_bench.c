// SPDX-License-Identifier: GPL-2.0
/*
 * mnsim_bench: benchmark P1 (inval_flat) of tools/bench/run-bench.sh.
 *
 * Copyright (C) 2026 The mmu_notifier_sim authors
 *
 * Times the bare invalidation of one page in a secondary TLB (sec_tlb.ko)
 * holding 1, 1k, 100k and 1M entries, in the kernel and without a syscall in
 * the way. The TLBs are filled by a fake walker: synthetic translations of
 * consecutive virtual pages to synthetic pfns. Nothing is ever mapped, so 1M
 * entries fit any guest; only the TLB's own arrays are allocated.
 *
 * One sample is one sec_tlb_invalidate() of a cached page: the drop of its
 * entry from the index, which the secondary-TLB hook does under the
 * page-table lock while events are traced, and otherwise posts on the
 * invalidation queue for the next user of the index to do (the loop series
 * below takes that path). It is timed with the
 * cycle counter, interrupts off, and the entry is re-inserted outside the
 * timed window so that every sample sees the same number of entries. The
 * cost of reading the counter twice is measured the same way and subtracted.
 * Three series per TLB size:
 *
 *   same  the same page every time, looked up (untimed) just before, so
 *         that the entry and its path are in cache: the cost of the data
 *         structure;
 *   rand  a pseudo-random cached page every time: adds the cache misses a
 *         large TLB cannot avoid;
 *   loop  ktime_get_ns() around many (invalidate, re-insert) pairs of the
 *         same page, divided by their number: no per-sample timer. The
 *         invalidation is the hook's sec_tlb_invalidate_queue(), and the
 *         re-insert drains the queue, so a pair is the whole path;
 *   none  a page next to the cached ones, not cached itself: the cost of
 *         an invalidation that finds nothing to drop.
 *
 * The sizes are interleaved sample by sample (same, rand) or block by block
 * (loop), so that a slow phase of the host (QEMU TCG on a shared machine)
 * hits all of them alike. The raw per-repetition values are returned; the
 * statistics are computed by the user program (mnsim_ubench).
 *
 * Interface, debugfs:
 *   echo run > /sys/kernel/debug/mnsim_bench/inval_flat   (runs; blocks)
 *   cat /sys/kernel/debug/mnsim_bench/inval_flat          (last results)
 * Parameters (/sys/module/mnsim_bench/parameters/): reps, iters, max_entries.
 *
 * For P2 (cow_overhead) the module also offers a null device, to separate
 * the kernel's own cost of notifying a secondary TLB from the device's:
 *   /sys/kernel/debug/mnsim_bench/null_notifier
 * Writing "both" to an open file registers, on the writer's address space,
 * the same two subscriptions as an ATS binding of mmu_notifier_sim (one with
 * the secondary-TLB hook, one with invalidate_range_start/end), with
 * callbacks that do nothing; "hook" or "range" registers only that one.
 * Closing the file unregisters them.
 *
 * And a concurrency check of the access windows of sec_tlb (issue 6: a
 * lookup must not serialize with invalidations of unrelated ranges, and an
 * invalidation must not return while an access through what it dropped is
 * in flight), with real parallelism, which the uniprocessor KUnit kernels
 * cannot give:
 *   echo N > /sys/kernel/debug/mnsim_bench/windows   (N rounds; blocks)
 *   cat /sys/kernel/debug/mnsim_bench/windows
 * A kthread on another CPU plays the device: it opens the access window of
 * page Y (window lock, lookup under the TLB lock), holds it for a while,
 * and, once the invalidation of Y on this CPU has updated the index (the
 * TLB's sequence moved) and so waits for the window, looks up page X of
 * another region through its own window. This CPU plays the kernel: it
 * calls sec_tlb_invalidate_queue() for Y, the secondary-TLB hook's call, and
 * checks that the device had finished with Y when it returned. A negative
 * control does the same with the index update alone (__sec_tlb_invalidate()
 * under the TLB lock, no wait), which must return early.
 *
 * Result lines:
 *   khz <cycle counter frequency, kHz, calibrated against ktime_get_ns()>
 *   timer <rep> <1/1000 cycles of an empty counter pair>
 *   same|rand|none <entries> <rep> <1/1000 cycles of one invalidation>
 * (interquartile means of the samples: see bench_iqmean_milli())
 *   loop <entries> <rep> <picoseconds per invalidate + re-insert>
 *   done <seconds the run took>
 * and for windows:
 *   windows cpus <online CPUs> rounds <N>
 *   khz <cycle counter frequency>
 *   windows hook early <n> rounds <n> timeouts <n> waited <median cycles>
 *   windows lookup_x during <n> of <n> cycles <median>
 *   windows index early <n> rounds <n> timeouts <n> waited <median cycles>
 * "early": invalidations that returned while the device still used the
 * page; "during": lookups of x that completed while the invalidation of y
 * waited for the device.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/delay.h>
#include <linux/irqflags.h>
#include <linux/kthread.h>
#include <linux/ktime.h>
#include <linux/math64.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/mmu_notifier.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/sched.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/timex.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>

#include "compat.h"
#include "sec_tlb.h"

/* First synthetic virtual address; any page-aligned user-looking value. */
#define BENCH_VA_BASE		0x7f0000000000UL
/* First synthetic pfn. */
#define BENCH_PFN_BASE		0x100000UL
/* Entries inserted per lock hold while filling. */
#define BENCH_FILL_BATCH	256
/* Samples between two cond_resched(). */
#define BENCH_RESCHED_EVERY	64
/* (invalidate, re-insert) pairs per timed block of the loop series. */
#define BENCH_LOOP_BLOCK	100
/* Room for the results text. */
#define BENCH_OUT_SIZE		(64 * 1024)

static const unsigned int bench_sizes[] = { 1, 1024, 100 * 1024, 1024 * 1024 };

static unsigned int reps = 9;
module_param(reps, uint, 0644);
MODULE_PARM_DESC(reps, "Repetitions (each runs every size)");

static unsigned int iters = 2000;
module_param(iters, uint, 0644);
MODULE_PARM_DESC(iters, "Samples per size, series and repetition");

static unsigned int max_entries = 1024 * 1024;
module_param(max_entries, uint, 0644);
MODULE_PARM_DESC(max_entries, "Skip TLB sizes above this (smoke runs)");

/**
 * struct bench_tlb - one TLB under test
 * @tlb: the TLB, filled with @n entries
 * @n: entries cached
 * @rnd: state of the page picker of the rand series
 */
struct bench_tlb {
	struct sec_tlb tlb;
	unsigned int n;
	u32 rnd;
};

static DEFINE_MUTEX(bench_lock);	/* one run at a time; protects below */
static char *bench_out;
static size_t bench_out_len;
static u64 *bench_samples[ARRAY_SIZE(bench_sizes)];

static __printf(1, 2) void bench_emit(const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	bench_out_len += vscnprintf(bench_out + bench_out_len,
				    BENCH_OUT_SIZE - bench_out_len, fmt, args);
	va_end(args);
}

static struct sec_tlb_xlate bench_xlate(unsigned int i)
{
	struct sec_tlb_xlate x = {
		.va = BENCH_VA_BASE + ((unsigned long)i << PAGE_SHIFT),
		.pfn = BENCH_PFN_BASE + i,
		.shift = PAGE_SHIFT,
		.perm = SEC_TLB_R | SEC_TLB_W,
	};

	return x;
}

/**
 * bench_fill() - set up a TLB of @n entries with the fake walker
 * @bt: the TLB to set up
 * @n: entries: pages 0 .. @n - 1 are cached
 *
 * Context: Process context; may sleep. Takes and releases the TLB's lock
 * once per %BENCH_FILL_BATCH inserts, rescheduling in between.
 * Return: 0, or what sec_tlb_init() returns.
 */
static int bench_fill(struct bench_tlb *bt, unsigned int n)
{
	unsigned int i = 0;
	int ret;

	ret = sec_tlb_init(&bt->tlb, n);
	if (ret)
		return ret;
	bt->n = n;
	bt->rnd = 12345;
	while (i < n) {
		unsigned int end = min(n, i + BENCH_FILL_BATCH);

		spin_lock(&bt->tlb.lock);
		for (; i < end; i++) {
			struct sec_tlb_xlate x = bench_xlate(i);

			__sec_tlb_insert(&bt->tlb, &x);
		}
		spin_unlock(&bt->tlb.lock);
		cond_resched();
	}
	return 0;
}

/**
 * bench_reinsert() - cache page @i again after a sample dropped it
 * @bt: the TLB
 * @i: the page
 *
 * Context: Process context. Takes and releases the TLB's lock.
 */
static void bench_reinsert(struct bench_tlb *bt, unsigned int i)
{
	struct sec_tlb_xlate x = bench_xlate(i);

	spin_lock(&bt->tlb.lock);
	__sec_tlb_insert(&bt->tlb, &x);
	spin_unlock(&bt->tlb.lock);
}

static int bench_cmp_u64(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

static u64 bench_median(u64 *v, unsigned int n)
{
	sort(v, n, sizeof(*v), bench_cmp_u64, NULL);
	return v[n / 2];
}

/*
 * Interquartile mean (the mean of the middle half) of @v, in 1/1000 cycle.
 * The counter of a QEMU TCG guest here moves in steps of about 21 cycles
 * (10 ns); an invalidation costs 8 to 12 such steps, and a median of those
 * samples jumps a whole step (8 to 12 %) between runs. The mean of the
 * middle half keeps what falls between the steps and still ignores the
 * interrupts and host hiccups in the tails.
 */
static u64 bench_iqmean_milli(u64 *v, unsigned int n)
{
	unsigned int lo = n / 4, hi = n - n / 4, i;
	u64 sum = 0;

	sort(v, n, sizeof(*v), bench_cmp_u64, NULL);
	for (i = lo; i < hi; i++)
		sum += v[i];
	return div_u64(sum * 1000, hi - lo);
}

/* Cycles of an empty pair of counter reads (interquartile mean, 1/1000). */
static u64 bench_timer_cost(void)
{
	unsigned long flags;
	unsigned int k;

	for (k = 0; k < iters; k++) {
		cycles_t c0, c1;

		local_irq_save(flags);
		c0 = get_cycles();
		c1 = get_cycles();
		local_irq_restore(flags);
		bench_samples[0][k] = c1 - c0;
	}
	return bench_iqmean_milli(bench_samples[0], iters);
}

/* Page the next sample invalidates: xorshift32 over the cached pages. */
static unsigned int bench_pick(struct bench_tlb *bt, bool rand)
{
	u32 r = bt->rnd;

	if (!rand)
		return bt->n / 2;
	r ^= r << 13;
	r ^= r >> 17;
	r ^= r << 5;
	bt->rnd = r;
	return r % bt->n;
}

/* Which page a series invalidates. */
enum bench_pattern {
	BENCH_SAME,	/* the same cached page */
	BENCH_RAND,	/* a pseudo-random cached page */
	BENCH_NONE,	/* a page that is not cached */
};

/**
 * bench_sample() - time one invalidation of one page
 * @bt: the TLB
 * @pat: which page: the same one, a random cached one, or one not cached
 *
 * The dropped entry is re-inserted afterwards, untimed.
 *
 * Context: Process context. Takes and releases the TLB's lock (the same
 * series' untimed lookup, the re-insert) and, inside the timed part with
 * interrupts off, what sec_tlb_invalidate() takes.
 * Return: the cycles of the sec_tlb_invalidate() call (gross).
 */
static u64 bench_sample(struct bench_tlb *bt, enum bench_pattern pat)
{
	unsigned int i = pat == BENCH_NONE ? bt->n + 1 :
			 bench_pick(bt, pat == BENCH_RAND);
	unsigned long va = bench_xlate(i).va;
	struct sec_tlb_xlate x;
	unsigned int dropped;
	unsigned long flags;
	cycles_t c0, c1;

	/*
	 * same: the entry and its path in cache, as the series promises. The
	 * previous sample's re-insert walked the tree (20 levels at 1M) and
	 * pushed the bucket and the entry out of the emulator's TLB; an
	 * untimed lookup brings them back. rand keeps the misses.
	 */
	if (pat == BENCH_SAME) {
		spin_lock(&bt->tlb.lock);
		__sec_tlb_lookup(&bt->tlb, va, SEC_TLB_R, &x);
		spin_unlock(&bt->tlb.lock);
	}
	local_irq_save(flags);
	c0 = get_cycles();
	dropped = sec_tlb_invalidate(&bt->tlb, va, va + PAGE_SIZE);
	c1 = get_cycles();
	local_irq_restore(flags);
	if (dropped)
		bench_reinsert(bt, i);
	WARN_ON_ONCE(dropped != (pat != BENCH_NONE));
	return c1 - c0;
}

/*
 * One repetition of a same, rand or none series: @iters samples of each of
 * the @nr TLBs, interleaved; @med receives the interquartile mean of each,
 * in 1/1000 cycle.
 */
static void bench_series(struct bench_tlb *bts, unsigned int nr,
			 enum bench_pattern pat, u64 *med)
{
	unsigned int k, s;

	for (k = 0; k < iters; k++) {
		for (s = 0; s < nr; s++)
			bench_samples[s][k] = bench_sample(&bts[s], pat);
		if (k % BENCH_RESCHED_EVERY == 0)
			cond_resched();
	}
	for (s = 0; s < nr; s++)
		med[s] = bench_iqmean_milli(bench_samples[s], iters);
}

/* Picoseconds per (invalidate, re-insert) pair in a block timed as a whole. */
static u64 bench_loop_block(struct bench_tlb *bt)
{
	unsigned int i = bench_pick(bt, false), k;
	unsigned long va = bench_xlate(i).va;
	u64 t0, t1;

	t0 = ktime_get_ns();
	for (k = 0; k < BENCH_LOOP_BLOCK; k++) {
		sec_tlb_invalidate_queue(&bt->tlb, va, va + PAGE_SIZE);
		bench_reinsert(bt, i);
	}
	t1 = ktime_get_ns();
	return div_u64((t1 - t0) * 1000, BENCH_LOOP_BLOCK);
}

/* One repetition of the loop series: median block of each TLB, interleaved. */
static void bench_loop(struct bench_tlb *bts, unsigned int nr, u64 *med)
{
	unsigned int blocks = max(1U, iters / BENCH_LOOP_BLOCK), k, s;

	for (k = 0; k < blocks; k++) {
		for (s = 0; s < nr; s++)
			bench_samples[s][k] = bench_loop_block(&bts[s]);
		cond_resched();
	}
	for (s = 0; s < nr; s++)
		med[s] = bench_median(bench_samples[s], blocks);
}

/* Cycle counter frequency in kHz, against ktime over about 50 ms. */
static u64 bench_calibrate(void)
{
	u64 t0, t1;
	cycles_t c0, c1;

	t0 = ktime_get_ns();
	c0 = get_cycles();
	do {
		cpu_relax();
		t1 = ktime_get_ns();
	} while (t1 - t0 < 50 * NSEC_PER_MSEC);
	c1 = get_cycles();
	return div64_u64((u64)(c1 - c0) * USEC_PER_SEC, t1 - t0);
}

static void bench_emit_series(const char *name, struct bench_tlb *bts,
			      unsigned int nr, unsigned int rep, const u64 *med)
{
	unsigned int s;

	for (s = 0; s < nr; s++)
		bench_emit("%s %u %u %llu\n", name, bts[s].n, rep, med[s]);
}

static int bench_run(void)
{
	u64 t_start = ktime_get_ns(), med[ARRAY_SIZE(bench_sizes)];
	unsigned int nr = 0, s, r;
	struct bench_tlb *bts;
	int ret = 0;

	bench_out_len = 0;
	if (!reps || !iters || iters > 1000000)
		return -EINVAL;
	bts = kcalloc(ARRAY_SIZE(bench_sizes), sizeof(*bts), GFP_KERNEL);
	if (!bts)
		return -ENOMEM;
	for (s = 0; s < ARRAY_SIZE(bench_sizes); s++) {
		bench_samples[s] = kvcalloc(iters, sizeof(u64), GFP_KERNEL);
		if (!bench_samples[s]) {
			ret = -ENOMEM;
			goto out_free;
		}
	}
	for (s = 0; s < ARRAY_SIZE(bench_sizes); s++) {
		if (bench_sizes[s] > max_entries)
			break;
		ret = bench_fill(&bts[s], bench_sizes[s]);
		if (ret)
			goto out_destroy;
		nr++;
	}

	bench_emit("khz %llu\n", bench_calibrate());
	for (r = 0; r < reps; r++) {
		bench_emit("timer %u %llu\n", r, bench_timer_cost());
		bench_series(bts, nr, BENCH_SAME, med);
		bench_emit_series("same", bts, nr, r, med);
		bench_series(bts, nr, BENCH_RAND, med);
		bench_emit_series("rand", bts, nr, r, med);
		bench_series(bts, nr, BENCH_NONE, med);
		bench_emit_series("none", bts, nr, r, med);
		bench_loop(bts, nr, med);
		bench_emit_series("loop", bts, nr, r, med);
	}
	bench_emit("done %llu\n",
		   div_u64(ktime_get_ns() - t_start, NSEC_PER_SEC));

out_destroy:
	while (nr--)
		sec_tlb_destroy(&bts[nr].tlb);
out_free:
	for (s = 0; s < ARRAY_SIZE(bench_sizes); s++) {
		kvfree(bench_samples[s]);
		bench_samples[s] = NULL;
	}
	kfree(bts);
	return ret;
}

/**
 * bench_write() - any write to the debugfs file runs the P1 benchmark
 * @file: the file
 * @ubuf: ignored
 * @len: returned on success
 * @ppos: ignored
 *
 * Context: Process context; may sleep. Takes bench_lock (interruptible).
 * Return: @len, -EINTR, or the benchmark's errno.
 */
static ssize_t bench_write(struct file *file, const char __user *ubuf,
			   size_t len, loff_t *ppos)
{
	int ret;

	if (mutex_lock_interruptible(&bench_lock))
		return -EINTR;
	ret = bench_run();
	mutex_unlock(&bench_lock);
	return ret ? ret : len;
}

/**
 * bench_read() - the last run's results
 * @file: the file
 * @ubuf: the caller's buffer
 * @len: its size
 * @ppos: the position
 *
 * Context: Process context; may fault. Takes bench_lock (interruptible).
 * Return: bytes read, or -EINTR or -EFAULT.
 */
static ssize_t bench_read(struct file *file, char __user *ubuf, size_t len,
			  loff_t *ppos)
{
	ssize_t ret;

	if (mutex_lock_interruptible(&bench_lock))
		return -EINTR;
	ret = simple_read_from_buffer(ubuf, len, ppos, bench_out,
				      bench_out_len);
	mutex_unlock(&bench_lock);
	return ret;
}

static const struct file_operations bench_fops = {
	.owner	= THIS_MODULE,
	.read	= bench_read,
	.write	= bench_write,
	.llseek	= default_llseek,
};

/* ---- concurrency of the access windows ------------------------------- */

/*
 * How long the device keeps its window open, and the longest wait for the
 * other side: by the clock, not by udelay() counts (under TCG a vCPU may
 * not run for milliseconds, and the 6.1 guest's delay loop is calibrated on
 * an unstable TSC).
 */
#define WIN_HOLD_US		50
#define WIN_TIMEOUT_NS		(2 * NSEC_PER_SEC)
#define WIN_MAX_ROUNDS		10000

/**
 * struct win_test - one run of the windows check
 * @tlb: a TLB caching pages @y and @x, in regions with different windows
 * @y: the page the kernel invalidates while the device uses it
 * @x: the page the device looks up while that invalidation waits
 * @round: the round the kernel side started (written by it)
 * @opened: the last round whose window on @y the device opened
 * @done: the last round whose access through @y the device finished
 * @returned: the last round whose invalidation returned
 * @timeouts: device waits that gave up (no invalidation came)
 * @x_during: lookups of @x that completed while the invalidation of @y of
 *	the same round had not returned
 * @x_tries: lookups of @x made while an invalidation was seen in progress
 * @x_cycles: cycles of each lookup of @x, in its own window
 * @stop: the kernel side gave up; the device thread exits
 *
 * The fields the two CPUs share are read with READ_ONCE() and written with
 * WRITE_ONCE(); the order that matters comes from the locks of the TLB
 * under test, or is the subject of the check.
 */
struct win_test {
	struct sec_tlb tlb;
	unsigned long y;
	unsigned long x;
	int round;
	int opened;
	int done;
	int returned;
	unsigned int timeouts;
	unsigned int x_during;
	unsigned int x_tries;
	u64 *x_cycles;
	bool stop;
};

/* Spin until *@p == @v, at most WIN_TIMEOUT_NS; false on timeout. */
static bool win_wait(const int *p, int v, const bool *stop)
{
	u64 deadline = ktime_get_ns() + WIN_TIMEOUT_NS;

	while (READ_ONCE(*p) != v) {
		if ((stop && READ_ONCE(*stop)) || ktime_get_ns() > deadline)
			return false;
		cpu_relax();
	}
	return true;
}

/**
 * win_device() - the device thread of the windows check
 * @data: the &struct win_test
 *
 * One access window on y per round, a lookup of x inside it.
 *
 * Context: Kthread, bound to another CPU than the invalidating thread.
 * Opens and closes the window of y (sec_tlb_window_open()/_close()), takes
 * the window of x and the TLB's lock inside it for its lookups.
 * Return: 0.
 */
static int win_device(void *data)
{
	struct win_test *w = data;
	struct sec_tlb *tlb = &w->tlb;
	spinlock_t *wy = sec_tlb_window(tlb, w->y);
	spinlock_t *wx = sec_tlb_window(tlb, w->x);
	struct sec_tlb_xlate xl;
	unsigned long seq;
	u64 deadline;
	int round;
	bool hit;

	for (round = 1; !READ_ONCE(w->stop); round++) {
		if (!win_wait(&w->round, round, &w->stop))
			break;
		sec_tlb_window_open(tlb, wy);
		spin_lock(&tlb->lock);
		__sec_tlb_lookup(tlb, w->y, SEC_TLB_R, &xl);
		seq = tlb->seq;
		spin_unlock(&tlb->lock);
		WRITE_ONCE(w->opened, round);
		/* The invalidation bumps the sequence when it drops y. */
		deadline = ktime_get_ns() + WIN_TIMEOUT_NS;
		while (READ_ONCE(tlb->seq) == seq && ktime_get_ns() < deadline)
			cpu_relax();
		if (READ_ONCE(tlb->seq) != seq) {
			cycles_t c0 = get_cycles();

			/* Another region, while y's invalidation is in flight. */
			spin_lock(wx);
			spin_lock(&tlb->lock);
			hit = __sec_tlb_lookup(tlb, w->x, SEC_TLB_R, &xl);
			spin_unlock(&tlb->lock);
			spin_unlock(wx);
			w->x_cycles[w->x_tries++] = get_cycles() - c0;
			if (hit && READ_ONCE(w->returned) != round)
				w->x_during++;
		} else {
			w->timeouts++;
		}
		udelay(WIN_HOLD_US);	/* the DMA through y */
		WRITE_ONCE(w->done, round);
		sec_tlb_window_close(tlb, wy);
	}
	/* Keep the thread until kthread_stop(), which must find it alive. */
	while (!kthread_should_stop())
		schedule_timeout_interruptible(1);
	return 0;
}

/**
 * win_insert() - cache one page of the windows check
 * @tlb: the TLB
 * @va: the page
 * @i: makes the pfn
 *
 * Context: Process context. Takes and releases @tlb->lock.
 */
static void win_insert(struct sec_tlb *tlb, unsigned long va, unsigned int i)
{
	struct sec_tlb_xlate x = {
		.va = va,
		.pfn = BENCH_PFN_BASE + i,
		.shift = PAGE_SHIFT,
		.perm = SEC_TLB_R,
	};

	spin_lock(&tlb->lock);
	__sec_tlb_insert(tlb, &x);
	spin_unlock(&tlb->lock);
}

/**
 * win_series() - one series of the windows check
 * @rounds: rounds against a device thread on another CPU
 * @index_only: the negative control (__sec_tlb_invalidate() under the lock,
 *	no wait for windows)
 * @waited: receives the wait of each round, in ns
 *
 * Emits "windows hook|index early ..." and, for the hook path, the
 * lookups of x.
 *
 * Context: Process context; may sleep. Caller holds bench_lock. Takes the
 * TLB's lock, or what sec_tlb_invalidate_queue() takes.
 * Return: 0, -ENOMEM, or the errno of kthread_create().
 */
static int win_series(unsigned int rounds, bool index_only, u64 *waited)
{
	struct win_test *w = kzalloc(sizeof(*w), GFP_KERNEL);
	unsigned int early = 0, timeouts = 0, i, cpu;
	struct task_struct *dev;
	int round, ret;

	if (!w)
		return -ENOMEM;
	w->x_cycles = kcalloc(rounds, sizeof(u64), GFP_KERNEL);
	ret = w->x_cycles ? sec_tlb_init(&w->tlb, 4) : -ENOMEM;
	if (ret)
		goto out_free;
	w->y = BENCH_VA_BASE;
	w->x = BENCH_VA_BASE + PMD_SIZE;
	while (sec_tlb_window(&w->tlb, w->x) == sec_tlb_window(&w->tlb, w->y))
		w->x += PMD_SIZE;
	win_insert(&w->tlb, w->x, 1);

	cpu = cpumask_any_but(cpu_online_mask, raw_smp_processor_id());
	dev = kthread_create(win_device, w, "mnsim_bench_win");
	if (IS_ERR(dev)) {
		ret = PTR_ERR(dev);
		goto out_destroy;
	}
	kthread_bind(dev, cpu);
	wake_up_process(dev);

	for (round = 1; round <= rounds; round++) {
		u64 t0;

		win_insert(&w->tlb, w->y, 0);
		WRITE_ONCE(w->round, round);
		if (!win_wait(&w->opened, round, NULL)) {
			timeouts++;
			break;
		}
		t0 = get_cycles();
		if (index_only) {
			spin_lock(&w->tlb.lock);
			__sec_tlb_invalidate(&w->tlb, w->y, w->y + PAGE_SIZE);
			spin_unlock(&w->tlb.lock);
		} else {
			sec_tlb_invalidate_queue(&w->tlb, w->y,
						 w->y + PAGE_SIZE);
		}
		waited[round - 1] = get_cycles() - t0;
		/* The device must be done with y: the page may go now. */
		early += READ_ONCE(w->done) != round;
		WRITE_ONCE(w->returned, round);
		if (!win_wait(&w->done, round, NULL)) {
			timeouts++;
			break;
		}
		cond_resched();
	}
	WRITE_ONCE(w->stop, true);
	kthread_stop(dev);

	bench_emit("windows %s early %u rounds %d timeouts %u waited %llu\n",
		   index_only ? "index" : "hook", early, round - 1,
		   timeouts + w->timeouts,
		   round > 1 ? bench_median(waited, round - 1) : 0);
	if (!index_only) {
		for (i = 0; i < w->x_tries; i++)
			waited[i] = w->x_cycles[i];
		bench_emit("windows lookup_x during %u of %d cycles %llu\n",
			   w->x_during, round - 1,
			   w->x_tries ? bench_median(waited, w->x_tries) : 0);
	}
out_destroy:
	sec_tlb_destroy(&w->tlb);
out_free:
	kfree(w->x_cycles);
	kfree(w);
	return ret;
}

/* Both series; the results in bench_out. */
static int win_run(unsigned int rounds)
{
	u64 *waited;
	int ret;

	bench_out_len = 0;
	if (!rounds || rounds > WIN_MAX_ROUNDS)
		return -EINVAL;
	bench_emit("windows cpus %u rounds %u\n", num_online_cpus(), rounds);
	if (num_online_cpus() < 2)
		return 0;
	waited = kvcalloc(rounds, sizeof(u64), GFP_KERNEL);
	if (!waited)
		return -ENOMEM;
	bench_emit("khz %llu\n", bench_calibrate());
	ret = win_series(rounds, false, waited);
	if (!ret)
		ret = win_series(rounds, true, waited);
	kvfree(waited);
	return ret;
}

/**
 * win_write() - write a round count to the debugfs file to run the check
 * @file: the file
 * @ubuf: the round count, in decimal
 * @len: its length
 * @ppos: ignored
 *
 * Context: Process context; may sleep. Takes bench_lock (interruptible).
 * Return: @len, -EINTR, an errno from parsing, or the check's errno.
 */
static ssize_t win_write(struct file *file, const char __user *ubuf,
			 size_t len, loff_t *ppos)
{
	unsigned int rounds;
	int ret;

	ret = kstrtouint_from_user(ubuf, len, 10, &rounds);
	if (ret)
		return ret;
	if (mutex_lock_interruptible(&bench_lock))
		return -EINTR;
	ret = win_run(rounds);
	mutex_unlock(&bench_lock);
	return ret ? ret : len;
}

static const struct file_operations win_fops = {
	.owner	= THIS_MODULE,
	.read	= bench_read,
	.write	= win_write,
	.llseek	= default_llseek,
};

/* ---- the null device of P2 ------------------------------------------- */

/**
 * struct bench_null - up to two subscriptions with empty callbacks
 * @tlb_mn: the one with the secondary-TLB hook (from 6.6 it may not also
 *	have start/end, as in mmu_notifier_sim)
 * @range_mn: the one with invalidate_range_start/end
 * @mm: the address space registered on, grabbed; NULL before the write
 * @has_tlb: @tlb_mn is registered
 * @has_range: @range_mn is registered
 */
struct bench_null {
	struct mmu_notifier tlb_mn;
	struct mmu_notifier range_mn;
	struct mm_struct *mm;
	bool has_tlb;
	bool has_range;
};

static void bench_null_hook(struct mmu_notifier *mn, struct mm_struct *mm,
			    unsigned long start, unsigned long end)
{
}

static int bench_null_start(struct mmu_notifier *mn,
			    const struct mmu_notifier_range *range)
{
	return 0;
}

static void bench_null_end(struct mmu_notifier *mn,
			   const struct mmu_notifier_range *range)
{
}

static const struct mmu_notifier_ops bench_null_tlb_ops = {
	.arch_invalidate_secondary_tlbs	= bench_null_hook,
};

static const struct mmu_notifier_ops bench_null_range_ops = {
	.invalidate_range_start	= bench_null_start,
	.invalidate_range_end	= bench_null_end,
};

static int bench_null_open(struct inode *inode, struct file *file)
{
	struct bench_null *bn = kzalloc(sizeof(*bn), GFP_KERNEL);

	if (!bn)
		return -ENOMEM;
	bn->tlb_mn.ops = &bench_null_tlb_ops;
	bn->range_mn.ops = &bench_null_range_ops;
	file->private_data = bn;
	return 0;
}

/* Register on the writer's address space; once per open file. */
static ssize_t bench_null_write(struct file *file, const char __user *ubuf,
				size_t len, loff_t *ppos)
{
	struct bench_null *bn = file->private_data;
	struct mm_struct *mm = current->mm;
	bool tlb = true, range = true;
	char word[8] = "";
	int ret;

	if (bn->mm)
		return -EBUSY;
	if (!mm)
		return -ESRCH;
	if (copy_from_user(word, ubuf, min(len, sizeof(word) - 1)))
		return -EFAULT;
	if (!strncmp(word, "hook", 4))
		range = false;
	else if (!strncmp(word, "range", 5))
		tlb = false;
	if (range) {
		ret = mmu_notifier_register(&bn->range_mn, mm);
		if (ret)
			return ret;
	}
	if (tlb) {
		ret = mmu_notifier_register(&bn->tlb_mn, mm);
		if (ret) {
			if (range)
				mmu_notifier_unregister(&bn->range_mn, mm);
			return ret;
		}
	}
	mmgrab(mm);
	bn->mm = mm;
	bn->has_tlb = tlb;
	bn->has_range = range;
	return len;
}

static int bench_null_release(struct inode *inode, struct file *file)
{
	struct bench_null *bn = file->private_data;

	if (bn->mm) {
		if (bn->has_tlb)
			mmu_notifier_unregister(&bn->tlb_mn, bn->mm);
		if (bn->has_range)
			mmu_notifier_unregister(&bn->range_mn, bn->mm);
		mmdrop(bn->mm);
	}
	kfree(bn);
	return 0;
}

static const struct file_operations bench_null_fops = {
	.owner		= THIS_MODULE,
	.open		= bench_null_open,
	.write		= bench_null_write,
	.release	= bench_null_release,
};

static struct dentry *bench_dir;

static int __init bench_init(void)
{
	bench_out = kvzalloc(BENCH_OUT_SIZE, GFP_KERNEL);
	if (!bench_out)
		return -ENOMEM;
	bench_dir = debugfs_create_dir(KBUILD_MODNAME, NULL);
	debugfs_create_file("inval_flat", 0600, bench_dir, NULL, &bench_fops);
	debugfs_create_file("null_notifier", 0600, bench_dir, NULL,
			    &bench_null_fops);
	debugfs_create_file("windows", 0600, bench_dir, NULL, &win_fops);
	return 0;
}

static void __exit bench_exit(void)
{
	debugfs_remove(bench_dir);
	kvfree(bench_out);
}

module_init(bench_init);
module_exit(bench_exit);

MODULE_DESCRIPTION("mmu_notifier_sim benchmark P1: flat secondary-TLB invalidation");
MODULE_AUTHOR("The mmu_notifier_sim authors");
MODULE_LICENSE("GPL");
