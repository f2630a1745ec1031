// SPDX-License-Identifier: GPL-2.0
/*
 * The seed's COW timeline, reproduced deterministically.
 *
 * Copyright (C) 2026 The mmu_notifier_sim authors
 *
 * Documentation/mm/mmu_notifier.rst ("When do you need to notify inside page
 * table lock?") shows two COW faults, on addrA and addrB, whose threads are
 * preempted between updating the PTE (COW_step1) and
 * mmu_notifier_invalidate_range_end(). If the device TLB is flushed only at
 * range end, the device can read addrB's new value together with addrA's old
 * one, although the CPU wrote A before B.
 *
 * MNSIM_IOC_PARK holds the thread running the COW of addrA in
 * invalidate_range_end() — "preempted" after COW_step1 — until the test
 * releases it. The CPU then writes A (to the new page) and B (a whole COW),
 * in that order, and the device reads B, then A.
 *
 * ATS (flushed by the secondary-TLB hook under the PTL) and SOFT (flushed at
 * start, refills wait for end) must never show B new with A old; DEFER (flushed
 * only at end) must show it on every run.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "mnsim_utils.h"

#define PAGE	4096UL

/* Wait until @n callbacks are parked; 0 or -ETIMEDOUT after ~10 s. */
static int mnsim_wait_parked(int fd, __u32 n)
{
	struct mnsim_park_ctl ctl;
	int i;

	for (i = 0; i < 10000; i++) {
		if (_test_cmd_park_ctl(fd, 0, &ctl))
			return -EIO;
		if (ctl.parked >= n)
			return 0;
		usleep(1000);
	}
	return -ETIMEDOUT;
}

static void pin_to_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

/* CPU accesses the compiler may neither drop nor reorder. */
static void cpu_write(__u64 *p, __u64 v)
{
	__atomic_store_n(p, v, __ATOMIC_SEQ_CST);
}

static __u64 cpu_read(__u64 *p)
{
	return __atomic_load_n(p, __ATOMIC_SEQ_CST);
}

struct cpu_writer {
	__u64 *addr;
	__u64 val;
};

/* CPU-thread-0: the write that COWs addrA, parked in its range end. */
static void *cpu_thread_0(void *arg)
{
	struct cpu_writer *w = arg;

	pin_to_cpu(0);
	cpu_write(w->addr, w->val);
	return NULL;
}

struct dev_reader {
	int fd;
	int go;		/* read end of a pipe: a byte starts the read */
	__u64 va;
	__u64 val;
	int ret;
	int done;
};

/*
 * DEV-thread-0: a device read that may wait (SOFT) for addrA's range end.
 * Created before the park: on 6.1 the parked fault holds mmap_lock for read,
 * and creating a thread (mmap of its stack) would queue a writer behind it
 * that blocks every later fault and walk.
 */
static void *dev_thread_0(void *arg)
{
	struct dev_reader *r = arg;
	char c;

	if (read(r->go, &c, 1) != 1) {
		r->ret = -EPIPE;
	} else {
		r->ret = _test_cmd_dev_read(r->fd, r->va, sizeof(r->val),
					    &r->val, NULL);
	}
	__atomic_store_n(&r->done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

static int dev_done(struct dev_reader *r)
{
	return __atomic_load_n(&r->done, __ATOMIC_SEQ_CST);
}

FIXTURE(seed)
{
	int fd;
	char *mem;
	__u64 *a;
	__u64 *b;
	pid_t child;
	int release_child;
};

FIXTURE_VARIANT(seed)
{
	__u32 mode;
	const char *name;
	bool violation;
};

FIXTURE_VARIANT_ADD(seed, ats)
{
	.mode = MNSIM_MODE_ATS,
	.name = "ATS",
	.violation = false,
};

FIXTURE_VARIANT_ADD(seed, soft)
{
	.mode = MNSIM_MODE_SOFT,
	.name = "SOFT",
	.violation = false,
};

FIXTURE_VARIANT_ADD(seed, defer)
{
	.mode = MNSIM_MODE_DEFER,
	.name = "DEFER",
	.violation = true,
};

FIXTURE_SETUP(seed)
{
	struct mnsim_bind bind = {
		.flags = MNSIM_BIND_ORACLE | MNSIM_BIND_RECORD,
		.mode = variant->mode,
	};
	struct mnsim_info info;
	int pipefd[2];
	__u64 v;
	char c;

	self->fd = mnsim_open();
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, _test_cmd_info(self->fd, &info));
	if (!(info.modes & MNSIM_MODE_BIT(variant->mode)))
		SKIP(MNSIM_SETUP_SKIP, "mode %s not supported here", variant->name);
	/* The oracle judges every access through a cached translation. */
	ASSERT_EQ(0, mnsim_ioctl(self->fd, MNSIM_IOC_BIND, &bind));

	/* addrA and addrB in different pages, kept away from khugepaged. */
	self->mem = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->mem);
	ASSERT_EQ(0, madvise(self->mem, 2 * PAGE, MADV_NOHUGEPAGE));
	self->a = (__u64 *)self->mem;
	self->b = (__u64 *)(self->mem + PAGE);
	cpu_write(self->a, 0);
	cpu_write(self->b, 0);

	/* A child keeps the old pages mapped: the writes below are COWs. */
	ASSERT_EQ(0, pipe(pipefd));
	self->child = fork();
	ASSERT_LE(0, self->child);
	if (!self->child) {
		close(pipefd[1]);
		if (read(pipefd[0], &c, 1) < 0)
			_exit(2);
		_exit(!cpu_read(self->a) && !cpu_read(self->b) ? 0 : 1);
	}
	close(pipefd[0]);
	self->release_child = pipefd[1];

	/* [Time N]: the device reads addrA and addrB and caches them. */
	ASSERT_EQ(0, _test_cmd_dev_read(self->fd, self->a, sizeof(v), &v, NULL));
	ASSERT_EQ(0ULL, v);
	ASSERT_EQ(0, _test_cmd_dev_read(self->fd, self->b, sizeof(v), &v, NULL));
	ASSERT_EQ(0ULL, v);
}

FIXTURE_TEARDOWN(seed)
{
	int status;

	_test_cmd_park_ctl(self->fd,
			   MNSIM_PARK_CTL_RELEASE | MNSIM_PARK_CTL_DISARM, NULL);
	if (self->child > 0) {
		if (write(self->release_child, "x", 1) != 1)
			kill(self->child, SIGKILL);
		waitpid(self->child, &status, 0);
		/* The child's view never changed: COW kept its old pages. */
		EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	close(self->fd);
}

/* The seed's table, with what this run's device read, as TAP diagnostics. */
static void print_timeline(const char *mode, __u64 dev_a, __u64 dev_b)
{
	static const char * const rows[][7] = {
		{ "try to write to addrA", "try to write to addrB", "", "",
		  "read addrA and populate device TLB",
		  "read addrB and populate device TLB" },
		{ "COW_step0: {mmu_notifier_invalidate_range_start(addrA)}",
		  "", "", "", "", "" },
		{ "COW_step1: {update page table to point to new page for addrA}",
		  "", "", "", "", "" },
		{ "preempted: parked in invalidate_range_end(addrA)", "",
		  "write to addrA which is a write to new page", "", "", "" },
		{ "preempted",
		  "COW of addrB: start, new page, end (not parked)", "",
		  "write to addrB which is a write to new page", "", "" },
		{ "preempted", "", "", "", "", "" },
	};
	static const char * const who[] = { "CPU-thread-0", "CPU-thread-1",
		"CPU-thread-2", "CPU-thread-3", "DEV-thread-0", "DEV-thread-2" };
	char dev0[96], dev2[96];
	int t, i;

	snprintf(dev0, sizeof(dev0), "read addrA = %llu (%s page)",
		 (unsigned long long)dev_a, dev_a ? "new" : "old");
	snprintf(dev2, sizeof(dev2), "read addrB = %llu (%s page)",
		 (unsigned long long)dev_b, dev_b ? "new" : "old");
	ksft_print_msg("seed timeline, mode %s:\n", mode);
	for (t = 0; t <= 5; t++) {
		ksft_print_msg("[Time N%s%.0d] -----------------------------------------\n",
			       t ? "+" : "", t);
		for (i = 0; i < 6; i++) {
			const char *what = t < 5 ? rows[t][i] : rows[5][i];

			if (t == 5 && i == 4)
				what = dev0;
			if (t == 5 && i == 5)
				what = dev2;
			ksft_print_msg("%-13s {%s}\n", who[i], what);
		}
	}
}

/*
 * The CPU writes A, then B; with A's COW parked before its range end, the
 * device reads B, then A. Only DEFER sees B new with A old, and every time.
 */
TEST_F_TIMEOUT(seed, cow_timeline, 60)
{
	struct cpu_writer w0 = { .addr = self->a, .val = 1 };
	struct dev_reader r0 = { .fd = self->fd, .va = MNSIM_PTR(self->a) };
	struct mnsim_stats s0, s1;
	struct mnsim_park_ctl ctl;
	pthread_t t0, d0;
	__u64 dev_b = ~0ULL;
	int go[2], i;

	pin_to_cpu(1);
	ASSERT_EQ(0, pipe(go));
	r0.go = go[0];
	ASSERT_EQ(0, pthread_create(&d0, NULL, dev_thread_0, &r0));
	/*
	 * From here to the release: no allocation, printing or thread creation,
	 * which could take this mm's mmap_lock for write (see dev_thread_0()).
	 */
	test_cmd_stats(&s0);
	test_cmd_park(MNSIM_PARK_END, 20000, self->a, NULL);

	/* [Time N+1..N+2]: CPU-thread-0's COW of addrA, parked after step 1. */
	ASSERT_EQ(0, pthread_create(&t0, NULL, cpu_thread_0, &w0));
	ASSERT_EQ(0, mnsim_wait_parked(self->fd, 1));

	/* [Time N+3]: CPU-thread-2 writes addrA: the new page is mapped. */
	cpu_write(self->a, 1);
	/* [Time N+3..N+4]: then addrB, a whole COW whose end is not parked. */
	cpu_write(self->b, 1);

	/* [Time N+5]: DEV-thread-2 reads addrB, then DEV-thread-0 addrA. */
	ASSERT_EQ(0, _test_cmd_dev_read(self->fd, self->b, sizeof(dev_b),
					&dev_b, NULL));
	ASSERT_EQ(1, write(go[1], "g", 1));
	for (i = 0; i < 2000 && !dev_done(&r0); i++)
		usleep(1000);
	if (variant->mode == MNSIM_MODE_SOFT) {
		/* SOFT: refills of addrA wait for its range end. */
		EXPECT_FALSE(dev_done(&r0));
	} else {
		EXPECT_TRUE(dev_done(&r0));
	}

	/* CPU-thread-0 resumes and ends its COW; waits until it returned. */
	test_cmd_park_ctl(MNSIM_PARK_CTL_RELEASE, &ctl);
	EXPECT_EQ(0U, ctl.parked);
	EXPECT_EQ(0U, ctl.timeouts);
	ASSERT_EQ(0, pthread_join(t0, NULL));
	ASSERT_EQ(0, pthread_join(d0, NULL));
	close(go[0]);
	close(go[1]);
	ASSERT_EQ(0, r0.ret);

	test_cmd_stats(&s1);
	print_timeline(variant->name, r0.val, dev_b);
	ksft_print_msg("%s: oracle: %llu coherent, %llu stale-allowed, %llu case-B, %llu case-A\n",
		       variant->name,
		       (unsigned long long)(s1.oracle_coherent - s0.oracle_coherent),
		       (unsigned long long)(s1.oracle_stale_allowed -
					    s0.oracle_stale_allowed),
		       (unsigned long long)(s1.oracle_violation_b -
					    s0.oracle_violation_b),
		       (unsigned long long)(s1.oracle_violation_a -
					    s0.oracle_violation_a));
	/* The oracle sees what the values show, and no freed page is used. */
	EXPECT_EQ(variant->violation ? 1ULL : 0ULL,
		  s1.oracle_violation_b - s0.oracle_violation_b);
	EXPECT_EQ(0ULL, s1.oracle_violation_a - s0.oracle_violation_a);
	EXPECT_EQ(0ULL, s1.freed_refused - s0.freed_refused);
	EXPECT_EQ(1ULL, dev_b);
	if (variant->violation) {
		ksft_print_msg("%s: violation: the device saw addrB new and addrA old\n",
			       variant->name);
		EXPECT_EQ(0ULL, r0.val);
	} else {
		ksft_print_msg("%s: ordering kept: addrB new implies addrA new\n",
			       variant->name);
		EXPECT_EQ(1ULL, r0.val);
	}

	/* After the end, every mode sees the CPU's value. */
	ASSERT_EQ(0, _test_cmd_dev_read(self->fd, self->a, sizeof(r0.val),
					&r0.val, NULL));
	EXPECT_EQ(1ULL, r0.val);
}

TEST_HARNESS_MAIN
