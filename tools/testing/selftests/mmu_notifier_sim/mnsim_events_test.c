// SPDX-License-Identifier: GPL-2.0
/*
 * Events of the emulated device: the ring (MNSIM_BIND_RECORD,
 * MNSIM_IOC_READ_EVENTS) and the trace event mmu_notifier_sim:mnsim_event.
 *
 * Copyright (C) 2026 The mmu_notifier_sim authors
 */
#define _GNU_SOURCE
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <linux/userfaultfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "mnsim_utils.h"

#define TRACEFS		"/sys/kernel/tracing"
#define MNSIM_EVENT_DIR	TRACEFS "/events/mmu_notifier_sim/mnsim_event"
#define MAX_EV		MNSIM_EVENT_RING

/* Index of the first record at or after @from of @type covering @va. */
static int find_event(const struct mnsim_event *ev, int nr, int from,
		      __u32 type, __u64 va)
{
	int i;

	for (i = from; i < nr; i++)
		if (ev[i].type == type && ev[i].start <= va && va < ev[i].end)
			return i;
	return -1;
}

FIXTURE(events)
{
	int fd;
	long ps;
	struct mnsim_event *ev;
};

FIXTURE_VARIANT(events)
{
	__u32 mode;
	/* Which callback drops the translation on a COW in this mode. */
	__u32 inval_type;
};

FIXTURE_VARIANT_ADD(events, ats)
{
	.mode = MNSIM_MODE_ATS,
	.inval_type = MNSIM_EV_HOOK,
};

FIXTURE_VARIANT_ADD(events, soft)
{
	.mode = MNSIM_MODE_SOFT,
	.inval_type = MNSIM_EV_START,
};

FIXTURE_VARIANT_ADD(events, defer)
{
	.mode = MNSIM_MODE_DEFER,
	.inval_type = MNSIM_EV_END,
};

FIXTURE_SETUP(events)
{
	struct mnsim_info info;

	self->ps = sysconf(_SC_PAGESIZE);
	mnsim_setup_open(_metadata, &self->fd, &info, variant->mode);
	self->ev = calloc(MAX_EV, sizeof(*self->ev));
	ASSERT_NE(NULL, self->ev);
	test_cmd_bind_flags(MNSIM_BIND_RECORD, variant->mode, MNSIM_TARGET_SELF,
			    0);
}

FIXTURE_TEARDOWN(events)
{
	mnsim_report_stats(self->fd);
	free(self->ev);
	close(self->fd);
}

/*
 * A fill, a hit and a COW are recorded in order, with the values the device
 * moved, and the callback that drops the translation covers the page and
 * names the faulting thread.
 */
TEST_F(events, cow_is_recorded_in_order)
{
	__u64 *page, v = 0, lost = ~0ULL;
	int nr, fill, hit, acc, inval, pipefd[2], i;
	pid_t child;
	char c;

	page = mmap(NULL, self->ps, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, page);
	ASSERT_EQ(0, madvise(page, self->ps, MADV_NOHUGEPAGE));
	*page = 7;
	ASSERT_EQ(0, pipe(pipefd));
	child = mnsim_fork();
	ASSERT_LE(0, child);
	if (!child) {
		if (read(pipefd[0], &c, 1) < 0)
			_exit(2);
		_exit(*page == 7 ? 0 : 1);
	}
	/* Everything fork did is drained: the window starts now. */
	ASSERT_LE(0, mnsim_read_events(self->fd, self->ev, MAX_EV, NULL));

	ASSERT_EQ(0, _test_cmd_dev_read(self->fd, page, sizeof(v), &v, NULL));
	ASSERT_EQ(0, _test_cmd_dev_read(self->fd, page, sizeof(v), &v, NULL));
	*page = 8;		/* COW */

	nr = mnsim_read_events(self->fd, self->ev, MAX_EV, &lost);
	ASSERT_LT(0, nr);
	EXPECT_EQ(0ULL, lost);

	fill = find_event(self->ev, nr, 0, MNSIM_EV_FILL, MNSIM_PTR(page));
	ASSERT_LE(0, fill);
	acc = find_event(self->ev, nr, fill, MNSIM_EV_ACCESS, MNSIM_PTR(page));
	ASSERT_LE(0, acc);
	EXPECT_EQ(7ULL, self->ev[acc].value);
	EXPECT_EQ(0U, self->ev[acc].flags & MNSIM_EVF_REFUSED);
	hit = find_event(self->ev, nr, acc, MNSIM_EV_HIT, MNSIM_PTR(page));
	ASSERT_LE(0, hit);
	inval = find_event(self->ev, nr, hit, variant->inval_type,
			   MNSIM_PTR(page));
	ASSERT_LE(0, inval);
	EXPECT_EQ((__u32)syscall(SYS_gettid), self->ev[inval].tid);
	EXPECT_LE(1U, self->ev[inval].count);
	EXPECT_LT(self->ev[fill].seq, self->ev[inval].seq);
	EXPECT_LE(self->ev[fill].time_ns, self->ev[inval].time_ns);

	/*
	 * Drained: a second read finds nothing new of this thread. Other
	 * threads may add some meanwhile: khugepaged collapsing the test's
	 * other memory on a THP=always kernel (the project's test kernels).
	 */
	nr = mnsim_read_events(self->fd, self->ev, MAX_EV, NULL);
	ASSERT_LE(0, nr);
	for (i = 0; i < nr; i++)
		EXPECT_NE((__u32)syscall(SYS_gettid), self->ev[i].tid)
			TH_LOG("event %d (type %u) after the drain", i,
			       self->ev[i].type);

	ASSERT_EQ(1, write(pipefd[1], "x", 1));
	ASSERT_EQ(child, waitpid(child, NULL, 0));
}

/* The ring refuses bad arguments with the documented errnos. */
TEST_F(events, read_events_invalid_args)
{
	struct mnsim_read_events cmd = { .max = MAX_EV + 1 };
	__u64 v = 1, w;

	EXPECT_ERRNO(EINVAL, mnsim_ioctl(self->fd, MNSIM_IOC_READ_EVENTS, &cmd));
	cmd.max = 1;
	cmd.flags = 1U << 31;
	EXPECT_ERRNO(EOPNOTSUPP,
		     mnsim_ioctl(self->fd, MNSIM_IOC_READ_EVENTS, &cmd));
	cmd.flags = 0;
	cmd.__reserved = 1;
	EXPECT_ERRNO(EINVAL, mnsim_ioctl(self->fd, MNSIM_IOC_READ_EVENTS, &cmd));
	cmd.__reserved = 0;

	/* A record to copy out, then an unmapped destination for it. */
	ASSERT_EQ(0, _test_cmd_dev_read(self->fd, &v, sizeof(v), &w, NULL));
	cmd.events = 8;
	EXPECT_ERRNO(EFAULT, mnsim_ioctl(self->fd, MNSIM_IOC_READ_EVENTS, &cmd));
}

/*
 * A destination that faults part way: the read ends short, and the record
 * it could not copy stays in the ring for the next read.
 */
TEST_F(events, read_events_short_on_fault)
{
	struct mnsim_read_events cmd = { .max = 2 };
	struct mnsim_event *first;
	__u64 v = 1, w, seq;
	char *buf;

	buf = mmap(NULL, 2 * self->ps, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, buf);
	ASSERT_EQ(0, mprotect(buf + self->ps, self->ps, PROT_NONE));
	/* Record 0 ends at the page boundary, record 1 is in the hole. */
	first = (struct mnsim_event *)(buf + self->ps - sizeof(*first));
	cmd.events = (__u64)(uintptr_t)first;

	/* A device read records more than one event (fill, access). */
	ASSERT_EQ(0, _test_cmd_dev_read(self->fd, &v, sizeof(v), &w, NULL));
	ASSERT_EQ(0, mnsim_ioctl(self->fd, MNSIM_IOC_READ_EVENTS, &cmd));
	ASSERT_EQ(1U, cmd.nr);
	seq = first->seq;

	/* The next read starts with the record that did not fit. */
	cmd.max = 1;
	cmd.events = (__u64)(uintptr_t)self->ev;
	ASSERT_EQ(0, mnsim_ioctl(self->fd, MNSIM_IOC_READ_EVENTS, &cmd));
	ASSERT_EQ(1U, cmd.nr);
	EXPECT_EQ(seq + 1, self->ev[0].seq);
	EXPECT_EQ(0ULL, cmd.lost);
	munmap(buf, 2 * self->ps);
}

/* The trace event exists in tracefs and fires for a device fill. */
TEST_F(events, tracepoint_fires)
{
	char buf[4096], *mem;
	ssize_t n;
	__u64 v;
	int fd;

	MNSIM_NEED(TRACE);
	ASSERT_EQ(0, access(MNSIM_EVENT_DIR "/enable", W_OK))
		TH_LOG("%s missing: tracefs not mounted or no trace events",
		       MNSIM_EVENT_DIR);
	ASSERT_EQ(0, mnsim_write_file(TRACEFS "/trace", ""));
	ASSERT_EQ(0, mnsim_write_file(MNSIM_EVENT_DIR "/enable", "1"));

	mem = mmap(NULL, self->ps, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, mem);
	memset(mem, 1, self->ps);
	EXPECT_EQ(0, _test_cmd_dev_read(self->fd, mem, sizeof(v), &v, NULL));

	ASSERT_EQ(0, mnsim_write_file(MNSIM_EVENT_DIR "/enable", "0"));
	fd = open(TRACEFS "/trace", O_RDONLY);
	ASSERT_LE(0, fd);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	ASSERT_LT(0, n);
	buf[n] = 0;
	EXPECT_NE(NULL, strstr(buf, "mnsim_event"));
	EXPECT_NE(NULL, strstr(buf, " fill "));
	EXPECT_NE(NULL, strstr(buf, " access "));
}

/* ---- an END park stops the thread before the hook of the same walk ---- */

/* A thread that MADV_DONTNEEDs [va, va + len) when told to. */
struct zapper {
	pthread_t thread;
	int go[2];
	void *va;
	size_t len;
	int ret;
	bool started;
};

static void *zapper_main(void *arg)
{
	struct zapper *z = arg;
	char c;

	if (read(z->go[0], &c, 1) == 1)
		z->ret = madvise(z->va, z->len, MADV_DONTNEED) ? -errno : 0;
	return NULL;
}

FIXTURE(park_order)
{
	int fd;
	long ps;
	struct mnsim_event *ev;
	struct zapper z;
	/* the zap's hook comes before its range end (mnsim_hook_table) */
	const struct mnsim_hook_row *zap;
};

FIXTURE_VARIANT(park_order)
{
	/*
	 * MNSIM_BIND_RECORD or MNSIM_BIND_ORACLE (the watched bind has both)
	 * registers the range callbacks at BIND; without them, an ATS bind
	 * registers them at the first PARK, after the hook's subscription,
	 * and has no verdicts to check.
	 */
	bool watched;
};

FIXTURE_VARIANT_ADD(park_order, watched)
{
	.watched = true,
};

FIXTURE_VARIANT_ADD(park_order, armed_later)
{
	.watched = false,
};

FIXTURE_SETUP(park_order)
{
	struct mnsim_info info;

	self->ps = sysconf(_SC_PAGESIZE);
	mnsim_setup_open(_metadata, &self->fd, &info, MNSIM_MODE_ATS);
	self->zap = mnsim_hook_expect(MNSIM_PATH_ZAP_HOOK_BEFORE_END, info.hook);
	if (!self->zap)
		SKIP(return, "no row in mnsim_hook_table for %s, hook %u",
		     MNSIM_ARCH, info.hook);
	/* Faulted in now: nothing may fault or allocate in the park window. */
	self->ev = calloc(MAX_EV, sizeof(*self->ev));
	ASSERT_NE(NULL, self->ev);
	memset(self->ev, 0, MAX_EV * sizeof(*self->ev));
	ASSERT_EQ(0, pipe(self->z.go));
	ASSERT_EQ(0, pthread_create(&self->z.thread, NULL, zapper_main,
				    &self->z));
	self->z.started = true;
	test_cmd_bind_flags(variant->watched ?
			    MNSIM_BIND_ORACLE | MNSIM_BIND_RECORD : 0,
			    MNSIM_MODE_ATS, MNSIM_TARGET_SELF, 0);
}

FIXTURE_TEARDOWN(park_order)
{
	/* On every exit path: nothing parked, the thread joined. */
	if (self->z.started) {
		_test_cmd_park_ctl(self->fd, MNSIM_PARK_CTL_RELEASE |
				   MNSIM_PARK_CTL_DISARM, NULL);
		close(self->z.go[1]);
		pthread_join(self->z.thread, NULL);
		close(self->z.go[0]);
	}
	free(self->ev);
	close(self->fd);
}

/*
 * Release the parked zap and join its thread, which must have succeeded.
 * The fixture's data as the structure FIXTURE_DATA(park_order) names.
 */
static void zapper_release(struct __test_metadata *_metadata,
			   struct _test_data_park_order *self)
{
	test_cmd_park_ctl(MNSIM_PARK_CTL_RELEASE, NULL);
	ASSERT_EQ(0, pthread_join(self->z.thread, NULL));
	self->z.started = false;
	close(self->z.go[0]);
	close(self->z.go[1]);
	EXPECT_EQ(0, self->z.ret);
}

/*
 * The zap parked in its range end, on an architecture whose zap calls the
 * hook before (mnsim_hook_table: arm64 from 6.6, tlb_end_vma()'s flush):
 * the device's entry is gone before the park, so in the window the device
 * walks and reads what the CPU maps now, @expect, coherent; the ring has
 * the hook before the park. Releases the zap.
 * The fixture's data and variant as the structures the macros name.
 */
static void zap_hook_came_first(struct __test_metadata *_metadata,
				struct _test_data_park_order *self,
				const struct _fixture_variant_park_order *variant,
				const struct mnsim_stats *s0, __u64 *page,
				__u64 expect)
{
	struct mnsim_stats s1, d;
	struct mnsim_access acc;
	int nr, park, hook;
	__u64 v = ~0ULL;

	test_cmd_stats(&s1);
	d = mnsim_stats_delta(&s1, s0);
	EXPECT_LE(1ULL, d.hook_calls) TH_LOG("%s", self->zap->source);
	if (variant->watched) {
		nr = mnsim_read_events(self->fd, self->ev, MAX_EV, NULL);
		ASSERT_LT(0, nr);
		park = find_event(self->ev, nr, 0, MNSIM_EV_PARK,
				  MNSIM_PTR(page));
		hook = find_event(self->ev, nr, 0, MNSIM_EV_HOOK,
				  MNSIM_PTR(page));
		EXPECT_LE(0, hook);
		EXPECT_LT(hook, park) TH_LOG("%s", self->zap->source);
	}
	ASSERT_EQ(0, _test_cmd_dev_read(self->fd, page, sizeof(v), &v, &acc));
	EXPECT_EQ(0ULL, acc.hits)
		TH_LOG("a TLB hit after the hook: the flush dropped nothing");
	EXPECT_EQ(expect, v) TH_LOG("the device did not read the CPU's page");
	test_cmd_stats(&s1);
	d = mnsim_stats_delta(&s1, s0);
	if (variant->watched)
		EXPECT_EQ(0ULL, d.oracle_stale_allowed + d.oracle_violation_a +
				d.oracle_violation_b);
	zapper_release(_metadata, self);
	munmap(page, self->ps);
}

/*
 * A one-page MADV_DONTNEED parked in its invalidate_range_end(). It is not
 * an only_end path, so 6.1 calls the hook from that same walk
 * (mn_hlist_invalidate_end()); 6.12 x86 calls it from tlb_finish_mmu(),
 * after range end. Either way a correct kernel has not flushed the device
 * TLB while the thread is parked, and the page is not freed before the
 * flush: the device may still hit its stale entry, and the oracle must call
 * that "stale but allowed". A park that came after the hook would hide a
 * kernel that defers the hook to range end. After the release the hook
 * follows.
 */
TEST_F(park_order, park_before_end_hook)
{
	const __u64 sig = 0x5eedbeef5eedbeefULL;
	struct mnsim_stats s0, s1, s2, s3, d;
	struct mnsim_access acc;
	__u64 *page, v = 0;
	int nr = 0, park, unpark, hook;

	page = mnsim_map(self->ps, PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, page);
	*page = sig;
	test_cmd_dev_read(page, sizeof(v), &v, NULL);
	ASSERT_EQ(sig, v);
	test_cmd_park(MNSIM_PARK_END, 30000, page, NULL);
	if (variant->watched)
		ASSERT_LE(0, mnsim_read_events(self->fd, self->ev, MAX_EV, NULL));
	test_cmd_stats(&s0);

	self->z.va = page;
	self->z.len = self->ps;
	ASSERT_EQ(1, write(self->z.go[1], "z", 1));
	ASSERT_EQ(0, mnsim_wait_parked(self->fd, 1, 30000));

	if (self->zap->calls) {
		/* the zapped page reads as zeroes (a fault maps the zero page) */
		zap_hook_came_first(_metadata, self, variant, &s0, page, 0);
		return;
	}
	/*
	 * Parked in range end: no hook for the page yet. The ring says so
	 * for the page (a hook count would also count a flush of another
	 * range of the test process, seen once on the 6.12 coverage kernel);
	 * unwatched, the device's hit below says its entry was not dropped.
	 */
	test_cmd_stats(&s1);
	if (variant->watched) {
		nr = mnsim_read_events(self->fd, self->ev, MAX_EV, NULL);
		ASSERT_LT(0, nr);
		park = find_event(self->ev, nr, 0, MNSIM_EV_PARK,
				  MNSIM_PTR(page));
		EXPECT_LE(0, park);
		hook = find_event(self->ev, nr, 0, MNSIM_EV_HOOK,
				  MNSIM_PTR(page));
		EXPECT_EQ(-1, hook)
			TH_LOG("the ring has the hook (record %d) before the park (record %d)",
			       hook, park);
	}
	/* The device still hits its entry: stale, but allowed. */
	v = 0;
	ASSERT_EQ(0, _test_cmd_dev_read(self->fd, page, sizeof(v), &v, &acc));
	EXPECT_EQ(1ULL, acc.hits)
		TH_LOG("no TLB hit in the park window: the TLB was flushed already");
	EXPECT_EQ(sig, v);
	test_cmd_stats(&s2);
	d = mnsim_stats_delta(&s2, &s1);
	if (variant->watched) {
		EXPECT_EQ(1ULL, d.oracle_stale_allowed);
		EXPECT_EQ(0ULL, d.oracle_violation_a + d.oracle_violation_b);
	}

	zapper_release(_metadata, self);

	/* Then the hook, after the park went on. */
	test_cmd_stats(&s3);
	d = mnsim_stats_delta(&s3, &s2);
	EXPECT_LE(1ULL, d.hook_calls);
	if (variant->watched) {
		nr = mnsim_read_events(self->fd, self->ev, MAX_EV, NULL);
		ASSERT_LT(0, nr);
		unpark = find_event(self->ev, nr, 0, MNSIM_EV_UNPARK,
				    MNSIM_PTR(page));
		ASSERT_LE(0, unpark);
		hook = find_event(self->ev, nr, unpark, MNSIM_EV_HOOK,
				  MNSIM_PTR(page));
		EXPECT_LT(unpark, hook);
	}
	/* The page is gone: the device sees the new, zero-filled one. */
	v = ~0ULL;
	test_cmd_dev_read(page, sizeof(v), &v, &acc);
	EXPECT_EQ(0ULL, acc.hits);
	EXPECT_EQ(0ULL, v);
	munmap(page, self->ps);
}

/*
 * MADV_DONTNEED racing an access, the other half of the window above: while
 * the zap is parked in its range end, before its flush, another thread (the
 * test) writes the page and so faults a new one in. The device still hits
 * the old page, which the mmu_gather keeps until the flush, while the CPU
 * maps the new one (the test's own stores could still reach the old page
 * through this CPU's TLB, so the refault is a write through /proc/self/mem,
 * which walks the page table). By the seed's rules that is not case B, which is a PTE
 * the kernel updates to a new page (a COW) before the hook: here the kernel
 * cleared the PTE, a fault filled it while the unmap's flush was pending,
 * and the CPU's own TLBs may hold the old page as long. The oracle must
 * call it stale but allowed. After the release the hook drops the entry
 * and the device reads the new page.
 */
TEST_F(park_order, refault_in_park_window_allowed)
{
	const __u64 sig = 0x01d01d01d0ULL, sig2 = 0x7e7a017ULL;
	struct mnsim_stats s0, s1, d;
	struct mnsim_access acc;
	__u64 *page, v = 0;
	int mem;

	page = mnsim_map(self->ps, PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, page);
	*page = sig;
	mem = open("/proc/self/mem", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, mem);
	test_cmd_dev_read(page, sizeof(v), &v, NULL);
	ASSERT_EQ(sig, v);
	test_cmd_park(MNSIM_PARK_END, 30000, page, NULL);
	test_cmd_stats(&s0);

	self->z.va = page;
	self->z.len = self->ps;
	ASSERT_EQ(1, write(self->z.go[1], "z", 1));
	ASSERT_EQ(0, mnsim_wait_parked(self->fd, 1, 30000));

	/*
	 * The refault: a new, private page, mapped before the zap's flush.
	 * Written through /proc/self/mem, which walks the page table (GUP)
	 * and faults: a store would go through this CPU's own TLB, which may
	 * still map the old page until the flush (seen on 6.12: the store
	 * landed in the old page).
	 */
	ASSERT_EQ((ssize_t)sizeof(sig2),
		  pwrite(mem, &sig2, sizeof(sig2), (off_t)(uintptr_t)page));
	if (self->zap->calls) {
		close(mem);
		zap_hook_came_first(_metadata, self, variant, &s0, page, sig2);
		return;
	}
	v = 0;
	ASSERT_EQ(0, _test_cmd_dev_read(self->fd, page, sizeof(v), &v, &acc));
	EXPECT_EQ(1ULL, acc.hits)
		TH_LOG("no TLB hit in the park window: the TLB was flushed already");
	EXPECT_EQ(sig, v) TH_LOG("the device did not read the old page");
	test_cmd_stats(&s1);
	d = mnsim_stats_delta(&s1, &s0);
	if (variant->watched) {
		EXPECT_EQ(1ULL, d.oracle_stale_allowed);
		EXPECT_EQ(0ULL, d.oracle_violation_b)
			TH_LOG("refault, unmap flush pending: not case B");
		EXPECT_EQ(0ULL, d.oracle_violation_a);
	}

	zapper_release(_metadata, self);

	v = 0;
	test_cmd_dev_read(page, sizeof(v), &v, &acc);
	EXPECT_EQ(0ULL, acc.hits);
	EXPECT_EQ(sig2, v);
	close(mem);
	munmap(page, self->ps);
}

/* ---- READ_EVENTS racing UNBIND and BIND ---- */

struct ev_reader {
	int fd;
	void *dst;
	int ret;
	__u32 nr;
};

static void *ev_reader_main(void *arg)
{
	struct ev_reader *r = arg;
	struct mnsim_read_events cmd = {
		.max = 1,
		.events = MNSIM_PTR(r->dst),
	};

	r->ret = mnsim_ioctl(r->fd, MNSIM_IOC_READ_EVENTS, &cmd);
	r->nr = cmd.nr;
	return NULL;
}

/*
 * READ_EVENTS takes no bind lock. A reader stopped in the copy of a record
 * (its destination is a userfaultfd page, resolved only later) while the
 * device is unbound and bound again, and records of the new binding are
 * written: the old binding's record must not be delivered (nr 0), and the
 * new binding's first record (seq 0) must still be there, not consumed in
 * its place.
 */
FIXTURE(rebind)
{
	int fd;
};

FIXTURE_SETUP(rebind)
{
	self->fd = mnsim_open();
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(rebind)
{
	close(self->fd);
}

TEST_F(rebind, read_events_racing_rebind)
{
	const long ps = sysconf(_SC_PAGESIZE);
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = { .mode = UFFDIO_REGISTER_MODE_MISSING };
	struct mnsim_event *ev = calloc(MAX_EV, sizeof(*ev));
	struct ev_reader r = { .ret = -1 };
	struct uffdio_copy cp = {};
	struct uffd_msg msg;
	struct pollfd pfd;
	struct mnsim_info info;
	pthread_t th;
	__u64 v, lost = ~0ULL, *page;
	void *dst, *src;
	int fd, uffd, nr;
	__u32 mode;

	MNSIM_NEED(UFFD);
	ASSERT_NE(NULL, ev);
	fd = self->fd;
	ASSERT_EQ(0, _test_cmd_info(fd, &info));
	mode = mnsim_any_mode(info.modes);
	ASSERT_EQ(0, _test_cmd_bind_flags(fd, MNSIM_BIND_RECORD, mode,
					  MNSIM_TARGET_SELF, 0));
	page = mnsim_map(ps, PROT_READ | PROT_WRITE);
	src = mnsim_map(ps, PROT_READ | PROT_WRITE);
	dst = mmap(NULL, ps, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(NULL, page);
	ASSERT_NE(NULL, src);
	ASSERT_NE(MAP_FAILED, dst);
	*page = 1;
	ASSERT_EQ(0, _test_cmd_dev_read(fd, page, sizeof(v), &v, NULL));

	uffd = syscall(__NR_userfaultfd, O_CLOEXEC);
	ASSERT_LE(0, uffd) TH_LOG("userfaultfd: %s", strerror(errno));
	ASSERT_EQ(0, ioctl(uffd, UFFDIO_API, &api));
	reg.range.start = (uintptr_t)dst;
	reg.range.len = ps;
	ASSERT_EQ(0, ioctl(uffd, UFFDIO_REGISTER, &reg));

	r.fd = fd;
	r.dst = dst;
	ASSERT_EQ(0, pthread_create(&th, NULL, ev_reader_main, &r));
	/* The reader has a record of the first binding and is in its copy. */
	pfd = (struct pollfd){ .fd = uffd, .events = POLLIN };
	ASSERT_EQ(1, poll(&pfd, 1, 10000)) TH_LOG("READ_EVENTS never faulted");
	ASSERT_EQ((ssize_t)sizeof(msg), read(uffd, &msg, sizeof(msg)));
	ASSERT_EQ(UFFD_EVENT_PAGEFAULT, msg.event);

	ASSERT_EQ(0, _test_cmd_unbind(fd));
	ASSERT_EQ(0, _test_cmd_bind_flags(fd, MNSIM_BIND_RECORD, mode,
					  MNSIM_TARGET_SELF, 0));
	ASSERT_EQ(0, _test_cmd_dev_read(fd, page, sizeof(v), &v, NULL));

	cp.dst = (uintptr_t)dst;
	cp.src = (uintptr_t)src;
	cp.len = ps;
	ASSERT_EQ(0, ioctl(uffd, UFFDIO_COPY, &cp));
	ASSERT_EQ(0, pthread_join(th, NULL));
	EXPECT_EQ(0, r.ret);
	EXPECT_EQ(0U, r.nr)
		TH_LOG("READ_EVENTS handed out a record of the binding UNBIND ended");

	nr = mnsim_read_events(fd, ev, MAX_EV, &lost);
	ASSERT_LT(0, nr);
	EXPECT_EQ(0ULL, ev[0].seq)
		TH_LOG("the new binding's first record was consumed unread");
	EXPECT_EQ(0ULL, lost);
	close(uffd);
	free(ev);
}

TEST_HARNESS_MAIN
