// SPDX-License-Identifier: GPL-2.0
/*
 * The seed's COW timeline, run on the emulated device and drawn from its
 * recorded events.
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
 * invalidate_range_end() — "preempted" after COW_step1 — until we release it.
 * The CPU then writes A (to the new page) and B (a whole COW), in that order,
 * and the device reads B, then A.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "mnsim.h"
#include "seed.h"

#define PAGE		4096UL
#define PTR(p)		((__u64)(unsigned long)(p))

static __u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static pid_t gettid_(void)
{
	return syscall(SYS_gettid);
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

static void note(struct seed_result *res, enum seed_row row,
		 const char *fmt, ...)
{
	struct seed_note *n;
	va_list ap;

	if (res->nr_notes == SEED_MAX_NOTES)
		return;
	n = &res->notes[res->nr_notes++];
	n->time_ns = now_ns();
	n->row = row;
	va_start(ap, fmt);
	vsnprintf(n->what, sizeof(n->what), fmt, ap);
	va_end(ap);
}

static int dev_read(int fd, void *va, __u64 *val)
{
	struct mnsim_access a = {
		.va = PTR(va), .len = sizeof(*val), .buf = PTR(val),
	};

	return mnsim_xioctl(fd, MNSIM_IOC_DEV_READ, &a);
}

struct cpu0_arg {
	__u64 *a;
	pid_t tid;
};

/* CPU-thread-0: the write that COWs addrA, parked in its range end. */
static void *cpu_thread_0(void *p)
{
	struct cpu0_arg *arg = p;

	__atomic_store_n(&arg->tid, gettid_(), __ATOMIC_SEQ_CST);
	pin_to_cpu(0);
	cpu_write(arg->a, 1);
	return NULL;
}

struct dev0_arg {
	int fd;
	int go;		/* read end of a pipe: a byte starts the read */
	__u64 *a;
	__u64 val;
	int ret;
	int done;
	pid_t tid;
};

/*
 * DEV-thread-0: a device read that may wait (SOFT) for addrA's range end.
 * Created before the park: on 6.1 the parked fault holds mmap_lock for read,
 * and creating a thread (mmap of its stack) would queue a writer behind it
 * that blocks every later fault and walk.
 */
static void *dev_thread_0(void *p)
{
	struct dev0_arg *arg = p;
	char c;

	arg->tid = gettid_();
	if (read(arg->go, &c, 1) != 1)
		arg->ret = -EPIPE;
	else
		arg->ret = dev_read(arg->fd, arg->a, &arg->val);
	__atomic_store_n(&arg->done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

static int wait_parked(int fd, __u32 n)
{
	struct mnsim_park_ctl ctl;
	int i, ret;

	for (i = 0; i < 10000; i++) {
		memset(&ctl, 0, sizeof(ctl));
		ret = mnsim_xioctl(fd, MNSIM_IOC_PARK_CTL, &ctl);
		if (ret)
			return ret;
		if (ctl.parked >= n)
			return 0;
		usleep(1000);
	}
	return -ETIMEDOUT;
}

/* Say why in @err and return @e. */
static int fail(char *err, size_t errlen, int e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return e;
}

/* The CPU side of [Time N+1 .. N+5], with the device fd bound. */
static int seed_cpu_side(int fd, struct seed_result *res, __u64 *a, __u64 *b,
			 char *err, size_t errlen)
{
	struct dev0_arg d0 = { .fd = fd, .a = a };
	struct cpu0_arg c0 = { .a = a };
	struct mnsim_park park = {
		.flags = MNSIM_PARK_END, .va = PTR(a), .timeout_ms = 20000,
	};
	pthread_t t0, td0;
	int go[2], i, ret = 0;
	bool t0_started = false, d0_started = false;

	if (pipe(go))
		return -errno;
	d0.go = go[0];
	if (pthread_create(&td0, NULL, dev_thread_0, &d0)) {
		ret = fail(err, errlen, -EAGAIN, "pthread_create failed");
		goto out;
	}
	d0_started = true;
	res->tid_main = gettid_();
	res->before.flags = 0;
	ret = mnsim_xioctl(fd, MNSIM_IOC_STATS, &res->before);
	if (ret) {
		ret = fail(err, errlen, ret, "STATS: %s", strerror(-ret));
		goto out;
	}

	/*
	 * From here to the release: no allocation, printing or thread creation
	 * but CPU-thread-0's, which could take the mmap_lock for write.
	 */
	ret = mnsim_xioctl(fd, MNSIM_IOC_PARK, &park);
	if (ret) {
		ret = fail(err, errlen, ret, "PARK: %s", strerror(-ret));
		goto out;
	}
	if (pthread_create(&t0, NULL, cpu_thread_0, &c0)) {
		ret = fail(err, errlen, -EAGAIN, "pthread_create failed");
		goto out;
	}
	t0_started = true;
	ret = wait_parked(fd, 1);
	if (ret) {
		ret = fail(err, errlen, ret, "CPU-thread-0 never parked: %s", strerror(-ret));
		goto out;
	}

	note(res, ROW_CPU2, "write to addrA which is a write to new page");
	cpu_write(a, 1);
	note(res, ROW_CPU3, "write to addrB: COW, whose end is not parked");
	cpu_write(b, 1);

	ret = dev_read(fd, b, &res->dev_b);
	if (ret) {
		ret = fail(err, errlen, ret, "device read of addrB: %s", strerror(-ret));
		goto out;
	}
	if (write(go[1], "g", 1) != 1) {
		ret = fail(err, errlen, -EIO, "pipe write failed");
		goto out;
	}
	for (i = 0; i < 2000 && !__atomic_load_n(&d0.done, __ATOMIC_SEQ_CST);
	     i++)
		usleep(1000);
	res->read_a_waited = !__atomic_load_n(&d0.done, __ATOMIC_SEQ_CST);

	/* CPU-thread-0 resumes; PARK_CTL returns once its callback returned. */
	res->park.flags = MNSIM_PARK_CTL_RELEASE;
	ret = mnsim_xioctl(fd, MNSIM_IOC_PARK_CTL, &res->park);
	if (ret) {
		ret = fail(err, errlen, ret, "PARK_CTL: %s", strerror(-ret));
		goto out;
	}
out:
	if (ret) {
		struct mnsim_park_ctl ctl = {
			.flags = MNSIM_PARK_CTL_RELEASE | MNSIM_PARK_CTL_DISARM,
		};

		mnsim_xioctl(fd, MNSIM_IOC_PARK_CTL, &ctl);
	}
	if (t0_started)
		pthread_join(t0, NULL);
	if (d0_started) {
		if (!__atomic_load_n(&d0.done, __ATOMIC_SEQ_CST) &&
		    write(go[1], "g", 1) != 1)
			close(go[1]);
		pthread_join(td0, NULL);
	}
	close(go[0]);
	close(go[1]);
	res->tid_cpu0 = c0.tid;
	res->tid_dev0 = d0.tid;
	res->dev_a = d0.val;
	if (!ret && d0.ret) {
		snprintf(err, errlen, "device read of addrA: %s",
			 strerror(-d0.ret));
		ret = d0.ret;
	}
	return ret;
}

static int read_all_events(int fd, struct seed_result *res)
{
	struct mnsim_read_events cmd = {
		.max = SEED_MAX_EVENTS,
		.events = PTR(res->ev),
	};
	int ret = mnsim_xioctl(fd, MNSIM_IOC_READ_EVENTS, &cmd);

	if (!ret)
		res->nr_ev = cmd.nr;
	return ret;
}

/**
 * seed_run() - run the seed's COW scenario once on a new device
 * @mode: &enum mnsim_mode
 * @bind_flags: more &mnsim_bind.flags (%MNSIM_BIND_NO_FLUSH), or 0
 * @res: receives what happened; free with seed_result_free()
 * @err: receives a one-line reason on failure
 * @errlen: size of @err
 *
 * Return: 0, or -errno with @err set.
 */
int seed_run(__u32 mode, __u32 bind_flags, struct seed_result *res,
	     char *err, size_t errlen)
{
	struct mnsim_bind bind = {
		.flags = MNSIM_BIND_ORACLE | MNSIM_BIND_RECORD | bind_flags,
		.mode = mode,
	};
	int fd = -1, release[2] = { -1, -1 }, ret = 0, status;
	pid_t child = -1;
	__u64 *a, *b, v;
	char *mem = MAP_FAILED;
	char c;

	memset(res, 0, sizeof(*res));
	res->mode = mode;
	res->ev = calloc(SEED_MAX_EVENTS, sizeof(*res->ev));
	if (!res->ev) {
		ret = fail(err, errlen, -ENOMEM, "out of memory");
		goto out;
	}
	fd = open("/dev/mmu_notifier_sim", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		ret = fail(err, errlen, -errno, "open /dev/mmu_notifier_sim: %s", strerror(errno));
		goto out;
	}
	ret = mnsim_xioctl(fd, MNSIM_IOC_BIND, &bind);
	if (ret) {
		ret = fail(err, errlen, ret, "BIND %s: %s", mnsim_mode_name(mode), strerror(-ret));
		goto out;
	}

	/* addrA and addrB in different pages, kept away from khugepaged. */
	mem = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED) {
		ret = fail(err, errlen, -errno, "mmap: %s", strerror(errno));
		goto out;
	}
	madvise(mem, 2 * PAGE, MADV_NOHUGEPAGE);
	a = (__u64 *)mem;
	b = (__u64 *)(mem + PAGE);
	res->a = (unsigned long)a;
	res->b = (unsigned long)b;
	cpu_write(a, 0);
	cpu_write(b, 0);

	/* A child keeps the old pages mapped: the writes below are COWs. */
	if (pipe(release)) {
		ret = fail(err, errlen, -errno, "pipe: %s", strerror(errno));
		goto out;
	}
	child = fork();
	if (child < 0) {
		ret = fail(err, errlen, -errno, "fork: %s", strerror(errno));
		goto out;
	}
	if (!child) {
		close(release[1]);
		if (read(release[0], &c, 1) < 0)
			_exit(2);
		_exit(!cpu_read(a) && !cpu_read(b) ? 0 : 1);
	}

	/* [Time N]: the device reads addrA and addrB and caches them. */
	read_all_events(fd, res);	/* drop fork's events */
	pin_to_cpu(1);
	note(res, ROW_CPU0, "try to write to addrA");
	note(res, ROW_CPU1, "try to write to addrB");
	ret = dev_read(fd, a, &v) ?: dev_read(fd, b, &v);
	if (ret) {
		ret = fail(err, errlen, ret, "device read at [Time N]: %s", strerror(-ret));
		goto out;
	}

	ret = seed_cpu_side(fd, res, a, b, err, errlen);
	if (ret)
		goto out;
	res->after.flags = 0;
	ret = mnsim_xioctl(fd, MNSIM_IOC_STATS, &res->after) ?:
	      read_all_events(fd, res);
	if (ret) {
		ret = fail(err, errlen, ret, "STATS/READ_EVENTS: %s", strerror(-ret));
		goto out;
	}
out:
	if (child > 0) {
		if (write(release[1], "x", 1) != 1)
			kill(child, SIGKILL);
		if (waitpid(child, &status, 0) == child && !ret &&
		    !(WIFEXITED(status) && !WEXITSTATUS(status))) {
			ret = fail(err, errlen, -EIO, "the child's view of addrA/addrB changed");
			goto out;
		}
	}
	if (release[0] >= 0) {
		close(release[0]);
		close(release[1]);
	}
	if (mem != MAP_FAILED)
		munmap(mem, 2 * PAGE);
	if (fd >= 0)
		close(fd);
	return ret;
}

void seed_result_free(struct seed_result *res)
{
	free(res->ev);
	res->ev = NULL;
}

/* The seed's case B in the data: the device saw addrB new and addrA old. */
bool seed_order_violated(const struct seed_result *res)
{
	return res->dev_b == 1 && res->dev_a == 0;
}

/*
 * Case B in the data, the other way: the device read addrB after
 * CPU-thread-1's write to it had returned (its COW is never parked, so its
 * range end and its flush came first on a correct kernel, in every mode)
 * and saw the old value: it kept a translation the CPU had replaced. The
 * oracle cannot always tell this from a flush still pending (on 6.12 a
 * hook may follow range end, as after a zap), so the values must.
 */
bool seed_write_missed(const struct seed_result *res)
{
	return res->dev_b == 0;
}

/* Accesses of the run the oracle judged case B or case A. */
unsigned long long seed_oracle_violations(const struct seed_result *res)
{
	return res->after.oracle_violation_b - res->before.oracle_violation_b +
	       res->after.oracle_violation_a - res->before.oracle_violation_a;
}

/*
 * The run's verdict comes from every check it made: the values read, and
 * the oracle's judgement of each access. A kernel that never flushes the
 * device leaves both reads old (the order looks kept, addrB's write missed)
 * while the oracle sees two stale hits.
 */
bool seed_violation(const struct seed_result *res)
{
	return seed_order_violated(res) || seed_write_missed(res) ||
	       seed_oracle_violations(res);
}
