// SPDX-License-Identifier: GPL-2.0
/*
 * Selftest for /dev/mmu_notifier_sim, an emulated ATS device whose secondary
 * TLB is kept coherent with a process's page tables by an mmu_notifier.
 *
 * Copyright (C) 2026 The mmu_notifier_sim authors
 *
 * Runs as root with the module loaded. The coherence tests drive real mm
 * events (COW after fork, munmap, mprotect, MADV_DONTNEED, mremap) between
 * device accesses and check the device sees what the CPU sees. Callback
 * counts differ between kernels, so STATS are compared as deltas and only
 * "at least once" is asserted of them.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <time.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <linux/capability.h>

#include "mnsim_utils.h"

#define RW	(PROT_READ | PROT_WRITE)

/* Pattern seeds; any two differ modulo 256. */
#define SEED_A	0x11
#define SEED_B	0x5b
#define SEED_C	0xa7

/*
 * A flag bit and command numbers no command knows. The uAPI grows by new
 * low bits and the next command numbers, so take them from the far end.
 */
#define FLAG_UNKNOWN	0x80000000U
#define NR_UNKNOWN	0x3f

/* Pages covered by [va, va + len), len > 0. */
static __u64 span_pages(const void *va, size_t len, size_t page_size)
{
	uintptr_t first = (uintptr_t)va / page_size;
	uintptr_t last = ((uintptr_t)va + len - 1) / page_size;

	return last - first + 1;
}

/*
 * A forked child of the COW tests: it waits for the test's go, then answers
 * whether its own copy of the @len bytes at @p still holds pattern @seed.
 * It never returns into the harness: the test belongs to the parent.
 */
static void check_in_child(struct mnsim_chan *ch, const void *p, size_t len,
			   unsigned int seed)
{
	mnsim_chan_child(ch);
	if (mnsim_recv(ch->to_child[0]) < 0)
		_exit(2);
	if (mnsim_send(ch->to_parent[1], mnsim_match(p, len, seed)))
		_exit(3);
	_exit(0);
}

/* ---- an unbound device ---- */

FIXTURE(mnsim_dev) {
	int fd;
	size_t page_size;
	struct mnsim_info info;
	__u32 any_mode;		/* a mode this kernel can emulate */
};

FIXTURE_SETUP(mnsim_dev)
{
	self->page_size = sysconf(_SC_PAGESIZE);
	self->fd = mnsim_open();
	ASSERT_LE(0, self->fd)
		TH_LOG("open %s: %s (module not loaded?)", MNSIM_DEV_PATH,
		       strerror(errno));
	test_cmd_info(&self->info);
	self->any_mode = mnsim_any_mode(self->info.modes);
	ASSERT_NE(0U, self->any_mode);
}

FIXTURE_TEARDOWN(mnsim_dev)
{
	close(self->fd);
}

/*
 * INFO reports the ABI version, the page size, a hook consistent with the
 * modes offered, and sane capacities; a second open reports the same.
 */
TEST_F(mnsim_dev, info_reports_abi)
{
	const __u32 known = MNSIM_MODE_BIT(MNSIM_MODE_ATS) |
			    MNSIM_MODE_BIT(MNSIM_MODE_SOFT) |
			    MNSIM_MODE_BIT(MNSIM_MODE_DEFER);
	struct mnsim_info *info = &self->info, info2;
	int fd2;

	EXPECT_EQ((__u32)MNSIM_ABI_VERSION, info->abi_version);
	EXPECT_EQ(self->page_size, info->page_size);
	EXPECT_LE((__u32)MNSIM_HOOK_NONE, info->hook);
	EXPECT_GE((__u32)MNSIM_HOOK_ARCH_INVALIDATE_SECONDARY_TLBS, info->hook);
	EXPECT_EQ(0U, info->modes & ~known);
	EXPECT_EQ(info->hook != MNSIM_HOOK_NONE,
		  !!(info->modes & MNSIM_MODE_BIT(MNSIM_MODE_ATS)));
	EXPECT_LE(1U, info->default_capacity);
	EXPECT_LE(info->default_capacity, info->max_capacity);
	EXPECT_EQ(0U, info->flags);
	EXPECT_EQ(0U, info->bind_flags & ~(MNSIM_BIND_RECORD |
					   MNSIM_BIND_ORACLE |
					   MNSIM_BIND_NO_FLUSH |
					   MNSIM_BIND_PERM_CACHE));

	fd2 = mnsim_open();
	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, _test_cmd_info(fd2, &info2));
	EXPECT_EQ(0, memcmp(info, &info2, sizeof(info2)));
	close(fd2);
}

/*
 * STATS on a device never bound reports mode 0 and every output zero, even
 * output fields the caller filled with garbage.
 */
TEST_F(mnsim_dev, stats_unbound_zero)
{
	struct mnsim_stats st, zero;

	memset(&zero, 0, sizeof(zero));
	memset(&st, 0xa5, sizeof(st));
	st.flags = 0;
	st.__reserved = 0;
	test_ioctl(MNSIM_IOC_STATS, &st);
	EXPECT_EQ(0, memcmp(&zero, &st, sizeof(st)));
}

/* Every command that needs a bound device fails with ENXIO when unbound. */
TEST_F(mnsim_dev, unbound_access_enxio)
{
	size_t ps = self->page_size;
	struct mnsim_vec_range range;
	struct mnsim_stats st;
	char *mem, *dst;

	mem = mnsim_map(ps, RW);
	dst = mnsim_map(ps, RW);
	ASSERT_NE(NULL, mem);
	ASSERT_NE(NULL, dst);
	memset(mem, 1, ps);
	memset(dst, 2, ps);

	test_err_dev_read(ENXIO, mem, 16, dst, NULL);
	test_err_dev_write(ENXIO, mem, 16, dst, NULL);
	range = mnsim_range(0, mem, 16, dst);
	test_err_dev_rwv(ENXIO, &range, 1, NULL);
	test_err_flush(ENXIO);
	test_err_unbind(ENXIO);
	EXPECT_TRUE(mnsim_all(mem, ps, 1));
	EXPECT_TRUE(mnsim_all(dst, ps, 2));

	test_cmd_stats(&st);
	EXPECT_EQ(0U, st.mode);
}

/*
 * Arguments before device state: an unbound device refuses a bad length or
 * range with E2BIG or EINVAL, not ENXIO, and DEV_RWV checks every range
 * before it looks at the binding.
 */
TEST_F(mnsim_dev, unbound_bad_args_before_enxio)
{
	struct mnsim_vec_range range[2];
	char buf[16];

	test_err_dev_read(E2BIG, buf, MNSIM_MAX_ACCESS_LEN + 1, buf, NULL);
	test_err_dev_write(E2BIG, buf, MNSIM_MAX_ACCESS_LEN + 1, buf, NULL);
	test_err_dev_read(EINVAL, (void *)-8UL, 16, buf, NULL);
	test_err_dev_write(EINVAL, (void *)-8UL, 16, buf, NULL);
	range[0] = mnsim_range(0, buf, 8, buf);
	range[1] = mnsim_range(0, buf, MNSIM_MAX_ACCESS_LEN + 1, buf);
	test_err_dev_rwv(E2BIG, range, 2, NULL);
	range[1] = mnsim_range(MNSIM_ACCESS_WRITE, (void *)-8UL, 16, buf);
	test_err_dev_rwv(EINVAL, range, 2, NULL);
	/* Valid arguments: now the device's state. */
	range[1] = mnsim_range(0, buf, 8, buf);
	test_err_dev_rwv(ENXIO, range, 2, NULL);
}

/*
 * BIND refuses unknown flags, a bad mode, non-zero reserved words and a
 * capacity above the maximum, and the device stays unbound; a valid BIND to
 * the caller's own pid then works.
 */
TEST_F(mnsim_dev, bind_invalid_args)
{
	struct mnsim_bind bind;
	struct mnsim_stats st;

	memset(&bind, 0, sizeof(bind));
	bind.mode = self->any_mode;
	bind.flags = FLAG_UNKNOWN;
	test_err_ioctl(EOPNOTSUPP, MNSIM_IOC_BIND, &bind);

	memset(&bind, 0, sizeof(bind));
	bind.mode = self->any_mode;
	bind.__reserved[0] = 1;
	test_err_ioctl(EINVAL, MNSIM_IOC_BIND, &bind);
	bind.__reserved[0] = 0;
	bind.__reserved[1] = 1ULL << 63;
	test_err_ioctl(EINVAL, MNSIM_IOC_BIND, &bind);

	test_err_bind(EINVAL, 0, MNSIM_TARGET_SELF, 0);
	test_err_bind(EINVAL, MNSIM_MODE_DEFER + 1, MNSIM_TARGET_SELF, 0);
	test_err_bind(EINVAL, UINT32_MAX, MNSIM_TARGET_SELF, 0);
	if (self->info.max_capacity < UINT32_MAX)
		test_err_bind(EINVAL, self->any_mode, MNSIM_TARGET_SELF,
			      self->info.max_capacity + 1);
	if (!(self->info.modes & MNSIM_MODE_BIT(MNSIM_MODE_ATS)))
		test_err_bind(EOPNOTSUPP, MNSIM_MODE_ATS, MNSIM_TARGET_SELF, 0);

	test_cmd_stats(&st);
	EXPECT_EQ(0U, st.mode);

	test_cmd_bind(self->any_mode, getpid(), 0);
	test_cmd_stats(&st);
	EXPECT_EQ(self->any_mode, st.mode);
}

/*
 * BIND to a process that exited fails with ESRCH, both while it is a zombie
 * without an address space and after it was reaped.
 */
TEST_F(mnsim_dev, bind_no_such_pid)
{
	struct mnsim_stats st;
	siginfo_t si;
	pid_t pid;

	pid = mnsim_fork();
	ASSERT_LE(0, pid);
	if (!pid)
		_exit(0);

	ASSERT_EQ(0, waitid(P_PID, pid, &si, WEXITED | WNOWAIT));
	test_err_bind(ESRCH, self->any_mode, pid, 0);
	ASSERT_EQ(pid, waitpid(pid, NULL, 0));
	test_err_bind(ESRCH, self->any_mode, pid, 0);

	test_cmd_stats(&st);
	EXPECT_EQ(0U, st.mode);
}

/*
 * An unknown command number, a foreign ioctl type and a wrong direction fail
 * with ENOTTY; an argument pointer the kernel cannot read fails with EFAULT.
 */
TEST_F(mnsim_dev, cmd_unknown)
{
	size_t ps = self->page_size;
	__u64 raw[MNSIM_RAW_MAX / sizeof(__u64)];
	void *none;

	memset(raw, 0, sizeof(raw));
	EXPECT_ERRNO(ENOTTY, _test_ioctl_raw(self->fd, NR_UNKNOWN,
					     sizeof(struct mnsim_info), raw));
	EXPECT_ERRNO(ENOTTY, _test_ioctl_raw(self->fd, 0x7f, 8, raw));
	EXPECT_ERRNO(ENOTTY, _test_ioctl_raw(self->fd, 0xff, 8, raw));
	test_err_ioctl(ENOTTY, _IOC(_IOC_READ | _IOC_WRITE, MNSIM_IOC_MAGIC + 1,
				    0, sizeof(struct mnsim_info)), raw);
	test_err_ioctl(ENOTTY, _IOR(MNSIM_IOC_MAGIC, 0, struct mnsim_info),
		       raw);
	test_err_ioctl(ENOTTY, _IOW(MNSIM_IOC_MAGIC, 0, struct mnsim_info),
		       raw);
	test_err_ioctl(ENOTTY, _IOR(MNSIM_IOC_MAGIC, _IOC_NR(MNSIM_IOC_STATS),
				    struct mnsim_stats), raw);
	test_err_ioctl(ENOTTY, _IO(MNSIM_IOC_MAGIC, 0), raw);

	test_err_ioctl(EFAULT, MNSIM_IOC_INFO, NULL);
	test_err_ioctl(EFAULT, MNSIM_IOC_STATS, NULL);
	test_err_ioctl(EFAULT, MNSIM_IOC_BIND, NULL);
	none = mnsim_map(ps, PROT_NONE);
	ASSERT_NE(NULL, none);
	test_err_ioctl(EFAULT, MNSIM_IOC_INFO, none);
	munmap(none, ps);
}

/*
 * Each command refuses a structure shorter than its first release with
 * EINVAL and a longer one with a non-zero tail with E2BIG, and takes a longer
 * one with a zero tail as if it had the exact size.
 */
TEST_F(mnsim_dev, cmd_length)
{
	const unsigned int nr_info = _IOC_NR(MNSIM_IOC_INFO);
	const unsigned int nr_bind = _IOC_NR(MNSIM_IOC_BIND);
	const unsigned int nr_unbind = _IOC_NR(MNSIM_IOC_UNBIND);
	const unsigned int nr_read = _IOC_NR(MNSIM_IOC_DEV_READ);
	const unsigned int nr_rwv = _IOC_NR(MNSIM_IOC_DEV_RWV);
	const unsigned int nr_flush = _IOC_NR(MNSIM_IOC_FLUSH);
	const unsigned int nr_stats = _IOC_NR(MNSIM_IOC_STATS);
	const unsigned int nr_park = _IOC_NR(MNSIM_IOC_PARK);
	const unsigned int nr_park_ctl = _IOC_NR(MNSIM_IOC_PARK_CTL);
	size_t ps = self->page_size;
	struct mnsim_park_ctl park_ctl;
	struct mnsim_vec_range range;
	struct mnsim_park park;
	struct mnsim_access_vec vec;
	struct mnsim_unbind unbind;
	struct mnsim_access acc;
	struct mnsim_flush flush;
	struct mnsim_stats st;
	struct mnsim_bind bind;
	struct mnsim_info info;
	char *mem, *dst;
	int fd = self->fd;

	/* INFO: sizes below, above with junk, above zero-extended */
	memset(&info, 0, sizeof(info));
	EXPECT_ERRNO(EINVAL, _test_cmd_sized(fd, nr_info, &info, sizeof(info),
					     0, 0));
	EXPECT_ERRNO(EINVAL, _test_cmd_sized(fd, nr_info, &info, sizeof(info),
					     sizeof(info) - 1, 0));
	EXPECT_ERRNO(E2BIG, _test_cmd_sized(fd, nr_info, &info, sizeof(info),
					    sizeof(info) + 1, 1));
	EXPECT_ERRNO(E2BIG, _test_cmd_sized(fd, nr_info, &info, sizeof(info),
					    sizeof(info) + 8, 0x80));
	ASSERT_EQ(0, _test_cmd_sized(fd, nr_info, &info, sizeof(info),
				     sizeof(info) + 8, 0));
	EXPECT_EQ(0, memcmp(&info, &self->info, sizeof(info)));
	memset(&info, 0, sizeof(info));
	ASSERT_EQ(0, _test_cmd_sized(fd, nr_info, &info, sizeof(info),
				     MNSIM_RAW_MAX, 0));
	EXPECT_EQ(0, memcmp(&info, &self->info, sizeof(info)));

	/* STATS, unbound */
	memset(&st, 0, sizeof(st));
	EXPECT_ERRNO(EINVAL, _test_cmd_sized(fd, nr_stats, &st, sizeof(st),
					     sizeof(st) - 1, 0));
	EXPECT_ERRNO(E2BIG, _test_cmd_sized(fd, nr_stats, &st, sizeof(st),
					    sizeof(st) + 8, 1));
	ASSERT_EQ(0, _test_cmd_sized(fd, nr_stats, &st, sizeof(st),
				     sizeof(st) + 8, 0));
	EXPECT_EQ(0U, st.mode);

	/* BIND: the refused sizes leave the device unbound */
	memset(&bind, 0, sizeof(bind));
	bind.mode = self->any_mode;
	EXPECT_ERRNO(EINVAL, _test_cmd_sized(fd, nr_bind, &bind, sizeof(bind),
					     sizeof(bind) - 1, 0));
	EXPECT_ERRNO(E2BIG, _test_cmd_sized(fd, nr_bind, &bind, sizeof(bind),
					    sizeof(bind) + 8, 1));
	test_cmd_stats(&st);
	EXPECT_EQ(0U, st.mode);
	ASSERT_EQ(0, _test_cmd_sized(fd, nr_bind, &bind, sizeof(bind),
				     sizeof(bind) + 8, 0));
	test_cmd_stats(&st);
	EXPECT_EQ(self->any_mode, st.mode);

	/* DEV_READ */
	mem = mnsim_map(ps, RW);
	dst = mnsim_map(ps, RW);
	ASSERT_NE(NULL, mem);
	ASSERT_NE(NULL, dst);
	mnsim_fill(mem, ps, SEED_A);
	memset(dst, 0, ps);
	memset(&acc, 0, sizeof(acc));
	acc.va = MNSIM_PTR(mem);
	acc.len = 64;
	acc.buf = MNSIM_PTR(dst);
	EXPECT_ERRNO(EINVAL, _test_cmd_sized(fd, nr_read, &acc, sizeof(acc),
					     sizeof(acc) - 1, 0));
	EXPECT_ERRNO(E2BIG, _test_cmd_sized(fd, nr_read, &acc, sizeof(acc),
					    sizeof(acc) + 8, 1));
	EXPECT_TRUE(mnsim_all(dst, ps, 0));
	ASSERT_EQ(0, _test_cmd_sized(fd, nr_read, &acc, sizeof(acc),
				     sizeof(acc) + 8, 0));
	EXPECT_EQ(0, memcmp(dst, mem, 64));

	/* DEV_RWV */
	memset(dst, 0, ps);
	range = mnsim_range(0, mem, 64, dst);
	memset(&vec, 0, sizeof(vec));
	vec.nr_ranges = 1;
	vec.ranges = MNSIM_PTR(&range);
	EXPECT_ERRNO(EINVAL, _test_cmd_sized(fd, nr_rwv, &vec, sizeof(vec),
					     sizeof(vec) - 1, 0));
	EXPECT_ERRNO(E2BIG, _test_cmd_sized(fd, nr_rwv, &vec, sizeof(vec),
					    sizeof(vec) + 8, 1));
	EXPECT_TRUE(mnsim_all(dst, ps, 0));
	ASSERT_EQ(0, _test_cmd_sized(fd, nr_rwv, &vec, sizeof(vec),
				     sizeof(vec) + 8, 0));
	EXPECT_EQ(1ULL, vec.done);
	EXPECT_EQ(0, memcmp(dst, mem, 64));

	/* FLUSH */
	memset(&flush, 0, sizeof(flush));
	EXPECT_ERRNO(EINVAL, _test_cmd_sized(fd, nr_flush, &flush,
					     sizeof(flush),
					     sizeof(flush) - 1, 0));
	EXPECT_ERRNO(E2BIG, _test_cmd_sized(fd, nr_flush, &flush,
					    sizeof(flush),
					    sizeof(flush) + 8, 1));
	ASSERT_EQ(0, _test_cmd_sized(fd, nr_flush, &flush, sizeof(flush),
				     sizeof(flush) + 8, 0));

	/* PARK arms only at a size it takes; PARK_CTL then disarms it */
	memset(&park, 0, sizeof(park));
	park.flags = MNSIM_PARK_END;
	park.timeout_ms = 1000;
	park.va = MNSIM_PTR(mem);
	EXPECT_ERRNO(EINVAL, _test_cmd_sized(fd, nr_park, &park, sizeof(park),
					     sizeof(park) - 1, 0));
	EXPECT_ERRNO(E2BIG, _test_cmd_sized(fd, nr_park, &park, sizeof(park),
					    sizeof(park) + 8, 1));
	test_cmd_park_ctl(0, &park_ctl);
	EXPECT_EQ(0U, park_ctl.armed);
	ASSERT_EQ(0, _test_cmd_sized(fd, nr_park, &park, sizeof(park),
				     sizeof(park) + 8, 0));
	EXPECT_GT((__u32)MNSIM_MAX_PARKS, park.id);
	memset(&park_ctl, 0, sizeof(park_ctl));
	EXPECT_ERRNO(EINVAL, _test_cmd_sized(fd, nr_park_ctl, &park_ctl,
					     sizeof(park_ctl),
					     sizeof(park_ctl) - 1, 0));
	EXPECT_ERRNO(E2BIG, _test_cmd_sized(fd, nr_park_ctl, &park_ctl,
					    sizeof(park_ctl),
					    sizeof(park_ctl) + 8, 1));
	park_ctl.flags = MNSIM_PARK_CTL_DISARM;
	ASSERT_EQ(0, _test_cmd_sized(fd, nr_park_ctl, &park_ctl,
				     sizeof(park_ctl),
				     sizeof(park_ctl) + 8, 0));
	EXPECT_EQ(0U, park_ctl.armed);
	EXPECT_EQ(0U, park_ctl.fired);

	/* UNBIND, last: the refused sizes leave the device bound */
	memset(&unbind, 0, sizeof(unbind));
	EXPECT_ERRNO(EINVAL, _test_cmd_sized(fd, nr_unbind, &unbind,
					     sizeof(unbind),
					     sizeof(unbind) - 1, 0));
	EXPECT_ERRNO(E2BIG, _test_cmd_sized(fd, nr_unbind, &unbind,
					    sizeof(unbind),
					    sizeof(unbind) + 8, 1));
	test_cmd_stats(&st);
	EXPECT_EQ(self->any_mode, st.mode);
	ASSERT_EQ(0, _test_cmd_sized(fd, nr_unbind, &unbind, sizeof(unbind),
				     sizeof(unbind) + 8, 0));
	test_cmd_stats(&st);
	EXPECT_EQ(0U, st.mode);
}

/*
 * PARK refuses bad flags, timeouts, addresses and reserved words, needs a
 * bound device, arms at most MNSIM_MAX_PARKS parks, and PARK_CTL reports and
 * disarms them, as UNBIND does.
 */
TEST_F(mnsim_dev, park_arm_disarm)
{
	const __u32 start = MNSIM_PARK_START, end = MNSIM_PARK_END;
	size_t ps = self->page_size;
	struct mnsim_park_ctl ctl;
	struct mnsim_park park;
	__u32 id, seen = 0;
	unsigned int i;
	char *mem;

	mem = mnsim_map(ps, RW);
	ASSERT_NE(NULL, mem);
	test_err_park(ENXIO, start, 1000, mem);
	test_cmd_bind(self->any_mode, MNSIM_TARGET_SELF, 0);

	test_err_park(EINVAL, 0, 1000, mem);
	test_err_park(EINVAL, MNSIM_PARK_DELAY, 1000, mem);
	test_err_park(EINVAL, start | end, 1000, mem);
	test_err_park(EOPNOTSUPP, start | FLAG_UNKNOWN, 1000, mem);
	test_err_park(EOPNOTSUPP, end | FLAG_UNKNOWN, 1000, mem);
	test_err_park(EINVAL, start, MNSIM_MAX_PARK_MS + 1, mem);
	test_err_park(EINVAL, start, 1000, 0xffff800000000000ULL);
	memset(&park, 0, sizeof(park));
	park.flags = start;
	park.va = MNSIM_PTR(mem);
	park.__pad = 1;
	test_err_ioctl(EINVAL, MNSIM_IOC_PARK, &park);
	park.__pad = 0;
	park.__reserved = 1;
	test_err_ioctl(EINVAL, MNSIM_IOC_PARK, &park);
	test_err_park_ctl(EOPNOTSUPP, FLAG_UNKNOWN, NULL);
	memset(&ctl, 0, sizeof(ctl));
	ctl.__reserved = 1;
	test_err_ioctl(EINVAL, MNSIM_IOC_PARK_CTL, &ctl);

	test_cmd_park_ctl(0, &ctl);
	EXPECT_EQ(0U, ctl.armed);
	EXPECT_EQ(0U, ctl.parked);
	EXPECT_EQ(0U, ctl.fired);

	/* Fill every slot, each with its own id; one more is EBUSY. */
	for (i = 0; i < MNSIM_MAX_PARKS; i++) {
		test_cmd_park(i & 1 ? end : start | MNSIM_PARK_DELAY,
			      i & 1 ? 0 : 10, mem, &id);
		ASSERT_GT((__u32)MNSIM_MAX_PARKS, id);
		EXPECT_EQ(0U, seen & (1U << id));
		seen |= 1U << id;
	}
	test_err_park(EBUSY, start, 1000, mem);
	test_cmd_park_ctl(0, &ctl);
	EXPECT_EQ((__u32)MNSIM_MAX_PARKS, ctl.armed);
	EXPECT_EQ(0U, ctl.parked);

	test_cmd_park_ctl(MNSIM_PARK_CTL_DISARM, &ctl);
	EXPECT_EQ(0U, ctl.armed);
	test_cmd_park(end, 1000, mem, NULL);
	test_cmd_park_ctl(MNSIM_PARK_CTL_RELEASE, &ctl);
	EXPECT_EQ(1U, ctl.armed);

	/* UNBIND disarms too. */
	test_cmd_unbind();
	test_cmd_bind(self->any_mode, MNSIM_TARGET_SELF, 0);
	test_cmd_park_ctl(0, &ctl);
	EXPECT_EQ(0U, ctl.armed);
	EXPECT_EQ(0U, ctl.parked);
	EXPECT_EQ(0U, ctl.fired);
}

/*
 * A DELAY park on invalidate_range_end() fires once, on the first range
 * containing its address (a munmap here), holds that thread for its timeout
 * and is then free again.
 */
TEST_F(mnsim_dev, park_delay_fires_once)
{
	const __u32 delay_ms = 100;
	size_t ps = self->page_size;
	struct timespec t0, t1;
	struct mnsim_park_ctl ctl;
	struct mnsim_stats s0, s1, d;
	char *mem;
	long ms;

	mem = mnsim_map(2 * ps, RW);
	ASSERT_NE(NULL, mem);
	memset(mem, 1, 2 * ps);
	test_cmd_bind(self->any_mode, MNSIM_TARGET_SELF, 0);
	test_cmd_park(MNSIM_PARK_END | MNSIM_PARK_DELAY, delay_ms,
		      mem + ps + 8, NULL);

	/* A range that does not contain the address leaves it armed. */
	ASSERT_EQ(0, munmap(mem, ps));
	test_cmd_park_ctl(0, &ctl);
	EXPECT_EQ(1U, ctl.armed);
	EXPECT_EQ(0U, ctl.fired);

	test_cmd_stats(&s0);
	ASSERT_EQ(0, clock_gettime(CLOCK_MONOTONIC, &t0));
	ASSERT_EQ(0, munmap(mem + ps, ps));
	ASSERT_EQ(0, clock_gettime(CLOCK_MONOTONIC, &t1));
	test_cmd_stats(&s1);
	d = mnsim_stats_delta(&s1, &s0);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 +
	     (t1.tv_nsec - t0.tv_nsec) / 1000000;
	/* Jiffies round the delay; TCG stretches it: only its order is checked. */
	EXPECT_LE((long)delay_ms / 2, ms);
	EXPECT_LE(1ULL, d.end_calls);

	test_cmd_park_ctl(0, &ctl);
	EXPECT_EQ(0U, ctl.armed);
	EXPECT_EQ(0U, ctl.parked);
	EXPECT_EQ(1U, ctl.fired);
}

#define PARAMS	"/sys/module/mmu_notifier_sim/parameters/"

static long read_param(const char *name)
{
	char path[128], buf[32];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), PARAMS "%s", name);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = 0;
	return strtol(buf, NULL, 10);
}

static int write_param(const char *name, long val)
{
	char path[128], buf[32];
	int fd, len, ok;

	snprintf(path, sizeof(path), PARAMS "%s", name);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -errno;
	len = snprintf(buf, sizeof(buf), "%ld", val);
	ok = write(fd, buf, len) == len;
	close(fd);
	return ok ? 0 : -EIO;
}

/* Drop CAP_SYS_ADMIN from the effective set of the calling process. */
static int drop_sys_admin(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data))
		return -errno;
	data[CAP_SYS_ADMIN / 32].effective &= ~(1U << (CAP_SYS_ADMIN % 32));
	return syscall(SYS_capset, &hdr, data) ? -errno : 0;
}

/*
 * Without CAP_SYS_ADMIN a BIND may preallocate at most max_capacity entries
 * and may not use DEFER or MNSIM_BIND_NO_FLUSH; all devices together stay
 * within max_total_entries.
 */
TEST_F(mnsim_dev, memory_caps)
{
	long cap = read_param("max_capacity");
	long total = read_param("max_total_entries");
	int status, fd2;
	pid_t pid;

	ASSERT_LT(0, cap);
	ASSERT_LT(0, total);
	/* An admin may go to the hard cap; INFO says so. */
	EXPECT_EQ(1048576U, self->info.max_capacity);

	pid = mnsim_fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		struct mnsim_info info;
		int fd;

		if (drop_sys_admin())
			_exit(10);
		fd = mnsim_open();
		if (fd < 0 || _test_cmd_info(fd, &info))
			_exit(11);
		if (info.max_capacity != (__u32)cap)
			_exit(12);
		if (_test_cmd_bind(fd, MNSIM_MODE_SOFT, 0, cap + 1) != -EINVAL)
			_exit(13);
		if (_test_cmd_bind(fd, MNSIM_MODE_DEFER, 0, 0) != -EPERM)
			_exit(14);
		/* Fault injection is for admins too. */
		if (_test_cmd_bind_flags(fd, MNSIM_BIND_NO_FLUSH,
					 MNSIM_MODE_SOFT, 0, 0) != -EPERM)
			_exit(16);
		if (_test_cmd_bind(fd, MNSIM_MODE_SOFT, 0, cap))
			_exit(15);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));

	/* The global budget: a second device cannot exceed it. */
	ASSERT_EQ(0, write_param("max_total_entries", 3000));
	test_cmd_bind(MNSIM_MODE_SOFT, MNSIM_TARGET_SELF, 2000);
	fd2 = mnsim_open();
	ASSERT_LE(0, fd2);
	EXPECT_EQ(-ENOMEM, _test_cmd_bind(fd2, MNSIM_MODE_SOFT, 0, 2000));
	EXPECT_EQ(0, _test_cmd_bind(fd2, MNSIM_MODE_SOFT, 0, 1000));
	close(fd2);
	/* Unbinding returns the entries to the budget. */
	test_cmd_unbind();
	fd2 = mnsim_open();
	ASSERT_LE(0, fd2);
	EXPECT_EQ(0, _test_cmd_bind(fd2, MNSIM_MODE_SOFT, 0, 2500));
	close(fd2);
	ASSERT_EQ(0, write_param("max_total_entries", total));
}

/* ---- table-driven checks of every command ---- */

/* A valid argument of any command; the largest is struct mnsim_stats. */
union cmd_arg {
	struct mnsim_info info;
	struct mnsim_bind bind;
	struct mnsim_unbind unbind;
	struct mnsim_access access;
	struct mnsim_access_vec vec;
	struct mnsim_flush flush;
	struct mnsim_stats stats;
	struct mnsim_park park;
	struct mnsim_park_ctl park_ctl;
	struct mnsim_read_events read_events;
};

/* One command of the uAPI. */
struct cmd_desc {
	const char *name;
	unsigned long cmd;
	size_t size;
	__u32 unknown_flag;	/* the lowest bit of flags it does not know */
};

#define CMD(_cmd, _struct, _flag)					\
	{ #_cmd, MNSIM_IOC_##_cmd, sizeof(struct _struct), (_flag) }

static const struct cmd_desc cmds[] = {
	CMD(INFO, mnsim_info, 1U << 0),
	CMD(BIND, mnsim_bind, MNSIM_BIND_PERM_CACHE << 1),
	CMD(UNBIND, mnsim_unbind, 1U << 0),
	/* The command says read or write: WRITE is no flag of theirs. */
	CMD(DEV_READ, mnsim_access, MNSIM_ACCESS_WRITE),
	CMD(DEV_WRITE, mnsim_access, MNSIM_ACCESS_WRITE),
	CMD(DEV_RWV, mnsim_access_vec, 1U << 0),
	CMD(FLUSH, mnsim_flush, 1U << 0),
	CMD(STATS, mnsim_stats, 1U << 0),
	CMD(PARK, mnsim_park, MNSIM_PARK_DELAY << 1),
	CMD(PARK_CTL, mnsim_park_ctl, MNSIM_PARK_CTL_DISARM << 1),
	CMD(READ_EVENTS, mnsim_read_events, 1U << 0),
};

/* What the valid arguments of make_valid() point to. */
struct valid_ctx {
	__u32 mode;			/* for BIND */
	unsigned char *mem;		/* a mapped, writable page */
	unsigned char *buf;		/* the data buffer, a page */
	struct mnsim_vec_range range;	/* DEV_RWV: one read of mem */
	struct mnsim_event ev[4];	/* READ_EVENTS */
};

static void valid_ctx_init(struct valid_ctx *c, __u32 mode,
			   unsigned char *mem, unsigned char *buf)
{
	memset(c, 0, sizeof(*c));
	c->mode = mode;
	c->mem = mem;
	c->buf = buf;
	c->range = mnsim_range(0, mem, 8, buf);
}

/*
 * A valid argument of @cmd: on a device bound to the process that maps
 * c->mem it succeeds (BIND: on an unbound device; PARK arms a 1 ms delay).
 */
static void make_valid(const struct valid_ctx *c, unsigned long cmd,
		       union cmd_arg *arg)
{
	memset(arg, 0, sizeof(*arg));
	switch (cmd) {
	case MNSIM_IOC_BIND:
		arg->bind.mode = c->mode;
		break;
	case MNSIM_IOC_DEV_READ:
	case MNSIM_IOC_DEV_WRITE:
		arg->access.va = MNSIM_PTR(c->mem);
		arg->access.len = 8;
		arg->access.buf = MNSIM_PTR(c->buf);
		break;
	case MNSIM_IOC_DEV_RWV:
		arg->vec.nr_ranges = 1;
		arg->vec.ranges = MNSIM_PTR(&c->range);
		break;
	case MNSIM_IOC_PARK:
		arg->park.flags = MNSIM_PARK_END | MNSIM_PARK_DELAY;
		arg->park.timeout_ms = 1;
		arg->park.va = MNSIM_PTR(c->mem);
		break;
	case MNSIM_IOC_READ_EVENTS:
		arg->read_events.max = ARRAY_SIZE(c->ev);
		arg->read_events.events = MNSIM_PTR(c->ev);
		break;
	}
}

/* The device is bound in @mode (0: unbound) with no park armed. */
static void expect_dev_state(struct __test_metadata *_metadata, int fd,
			     __u32 mode)
{
	struct mnsim_park_ctl ctl;
	struct mnsim_stats st;

	ASSERT_EQ(0, _test_cmd_stats(fd, &st));
	EXPECT_EQ(mode, st.mode);
	ASSERT_EQ(0, _test_cmd_park_ctl(fd, 0, &ctl));
	EXPECT_EQ(0U, ctl.armed);
}

#define EXPECT_DEV_STATE(fd, mode)	expect_dev_state(_metadata, fd, mode)

/*
 * Every command refuses a structure of size 0 or one byte short with
 * EINVAL and a longer one with a non-zero tail with E2BIG, whatever the
 * state of the device, and changes nothing; a longer one with a zero tail
 * works as the exact size does.
 */
TEST_F(mnsim_dev, cmd_table_size)
{
	size_t ps = self->page_size;
	union cmd_arg arg, exact;
	struct valid_ctx c;
	unsigned char *mem, *buf;
	unsigned int i, nr;
	int ret;

	mem = mnsim_map(ps, RW);
	buf = mnsim_map(ps, RW);
	ASSERT_NE(NULL, mem);
	ASSERT_NE(NULL, buf);
	mnsim_fill(mem, ps, SEED_A);
	/* A valid DEV_WRITE writes mem's own bytes back. */
	memcpy(buf, mem, ps);
	valid_ctx_init(&c, self->any_mode, mem, buf);

	for (i = 0; i < ARRAY_SIZE(cmds); i++) {
		const struct cmd_desc *d = &cmds[i];

		nr = _IOC_NR(d->cmd);
		make_valid(&c, d->cmd, &arg);
		ret = _test_cmd_sized(self->fd, nr, &arg, d->size, 0, 0);
		EXPECT_EQ(-EINVAL, ret) TH_LOG("%s: size 0", d->name);
		ret = _test_cmd_sized(self->fd, nr, &arg, d->size,
				      d->size - 1, 0);
		EXPECT_EQ(-EINVAL, ret) TH_LOG("%s: one byte short", d->name);
		ret = _test_cmd_sized(self->fd, nr, &arg, d->size,
				      d->size + 8, 1);
		EXPECT_EQ(-E2BIG, ret)
			TH_LOG("%s: junk after the structure", d->name);
		ret = _test_cmd_sized(self->fd, nr, &arg, d->size,
				      MNSIM_RAW_MAX, 0x80);
		EXPECT_EQ(-E2BIG, ret)
			TH_LOG("%s: junk at the end of a page", d->name);
	}
	EXPECT_DEV_STATE(self->fd, 0);
	test_cmd_bind(self->any_mode, MNSIM_TARGET_SELF, 0);
	for (i = 0; i < ARRAY_SIZE(cmds); i++) {
		const struct cmd_desc *d = &cmds[i];

		nr = _IOC_NR(d->cmd);
		make_valid(&c, d->cmd, &arg);
		ret = _test_cmd_sized(self->fd, nr, &arg, d->size,
				      d->size - 1, 0);
		EXPECT_EQ(-EINVAL, ret)
			TH_LOG("%s: one byte short, bound", d->name);
		ret = _test_cmd_sized(self->fd, nr, &arg, d->size,
				      d->size + 8, 1);
		EXPECT_EQ(-E2BIG, ret)
			TH_LOG("%s: junk after the structure, bound", d->name);
		/* Zero-extended, a command without side effects */
		if (d->cmd == MNSIM_IOC_BIND || d->cmd == MNSIM_IOC_UNBIND ||
		    d->cmd == MNSIM_IOC_PARK)
			continue;
		make_valid(&c, d->cmd, &exact);
		ASSERT_EQ(0, mnsim_ioctl(self->fd, d->cmd, &exact))
			TH_LOG("%s: exact size", d->name);
		ret = _test_cmd_sized(self->fd, nr, &arg, d->size,
				      d->size + 64, 0);
		EXPECT_EQ(0, ret) TH_LOG("%s: zero-extended", d->name);
	}
	EXPECT_DEV_STATE(self->fd, self->any_mode);
	EXPECT_TRUE(mnsim_match(mem, ps, SEED_A));
}

/*
 * Every command refuses its lowest unknown flag bit and the highest bit
 * with EOPNOTSUPP, bound or not, and changes nothing; so does a DEV_RWV
 * range with an unknown flag.
 */
TEST_F(mnsim_dev, cmd_table_flags)
{
	const __u32 high = FLAG_UNKNOWN;
	size_t ps = self->page_size;
	struct mnsim_access_vec out;
	struct mnsim_vec_range r;
	union cmd_arg arg;
	struct valid_ctx c;
	unsigned char *mem, *buf;
	unsigned int i, bound;
	int ret;

	mem = mnsim_map(ps, RW);
	buf = mnsim_map(ps, RW);
	ASSERT_NE(NULL, mem);
	ASSERT_NE(NULL, buf);
	mnsim_fill(mem, ps, SEED_A);
	valid_ctx_init(&c, self->any_mode, mem, buf);

	for (bound = 0; bound < 2; bound++) {
		for (i = 0; i < ARRAY_SIZE(cmds); i++) {
			const struct cmd_desc *d = &cmds[i];

			make_valid(&c, d->cmd, &arg);
			/* flags is the first word of every structure */
			arg.info.flags |= d->unknown_flag;
			ret = mnsim_ioctl(self->fd, d->cmd, &arg);
			EXPECT_EQ(-EOPNOTSUPP, ret)
				TH_LOG("%s: flag %#x, bound %u", d->name,
				       d->unknown_flag, bound);
			make_valid(&c, d->cmd, &arg);
			arg.info.flags |= high;
			ret = mnsim_ioctl(self->fd, d->cmd, &arg);
			EXPECT_EQ(-EOPNOTSUPP, ret)
				TH_LOG("%s: flag %#x, bound %u", d->name, high,
				       bound);
		}
		/* DEV_READ/DEV_WRITE: one more bit above NOFAULT */
		make_valid(&c, MNSIM_IOC_DEV_READ, &arg);
		arg.access.flags = MNSIM_ACCESS_NOFAULT << 1;
		test_err_ioctl(EOPNOTSUPP, MNSIM_IOC_DEV_READ, &arg);
		test_err_ioctl(EOPNOTSUPP, MNSIM_IOC_DEV_WRITE, &arg);
		EXPECT_DEV_STATE(self->fd, bound ? self->any_mode : 0);
		if (!bound)
			test_cmd_bind(self->any_mode, MNSIM_TARGET_SELF, 0);
	}

	r = mnsim_range(MNSIM_ACCESS_NOFAULT << 1, mem, 8, buf);
	EXPECT_ERRNO(EOPNOTSUPP, _test_cmd_dev_rwv(self->fd, &r, 1, &out));
	EXPECT_EQ(0ULL, out.done);
	r.flags = high | MNSIM_ACCESS_WRITE;
	EXPECT_ERRNO(EOPNOTSUPP, _test_cmd_dev_rwv(self->fd, &r, 1, &out));
	EXPECT_EQ(0ULL, out.done);
	EXPECT_TRUE(mnsim_match(mem, ps, SEED_A));
}

/* A reserved or padding field of a command. */
struct rsv_desc {
	unsigned long cmd;
	const char *name;
	size_t off;
	size_t width;		/* 4 or 8 bytes */
};

#define RSV(_cmd, _name, _off, _width)					\
	{ MNSIM_IOC_##_cmd, #_cmd "." _name, (_off), (_width) }
#define OFF(type, field)	offsetof(struct type, field)

static const struct rsv_desc rsvs[] = {
	RSV(BIND, "__reserved[0]", OFF(mnsim_bind, __reserved[0]), 8),
	RSV(BIND, "__reserved[1]", OFF(mnsim_bind, __reserved[1]), 8),
	RSV(UNBIND, "__pad", OFF(mnsim_unbind, __pad), 4),
	RSV(UNBIND, "__reserved", OFF(mnsim_unbind, __reserved), 8),
	RSV(DEV_READ, "__pad", OFF(mnsim_access, __pad), 4),
	RSV(DEV_READ, "__reserved", OFF(mnsim_access, __reserved), 8),
	RSV(DEV_WRITE, "__pad", OFF(mnsim_access, __pad), 4),
	RSV(DEV_WRITE, "__reserved", OFF(mnsim_access, __reserved), 8),
	RSV(DEV_RWV, "__reserved", OFF(mnsim_access_vec, __reserved), 8),
	RSV(FLUSH, "__pad", OFF(mnsim_flush, __pad), 4),
	RSV(FLUSH, "__reserved", OFF(mnsim_flush, __reserved), 8),
	RSV(STATS, "__reserved", OFF(mnsim_stats, __reserved), 8),
	RSV(PARK, "__pad", OFF(mnsim_park, __pad), 4),
	RSV(PARK, "__reserved", OFF(mnsim_park, __reserved), 8),
	RSV(PARK_CTL, "__reserved", OFF(mnsim_park_ctl, __reserved), 4),
	RSV(READ_EVENTS, "__pad", OFF(mnsim_read_events, __pad), 4),
	RSV(READ_EVENTS, "__reserved", OFF(mnsim_read_events, __reserved), 8),
};

/*
 * Every reserved and padding field, set to 1 or to its top bit in an
 * otherwise valid argument, is refused with EINVAL and changes nothing
 * (BIND on an unbound device, everything else on a bound one); so is the
 * padding of a DEV_RWV range.
 */
TEST_F(mnsim_dev, cmd_table_reserved)
{
	size_t ps = self->page_size;
	struct mnsim_access_vec out;
	struct mnsim_vec_range r;
	unsigned char *mem, *buf;
	union cmd_arg arg;
	struct valid_ctx c;
	unsigned int i, v;
	int fd2;

	mem = mnsim_map(ps, RW);
	buf = mnsim_map(ps, RW);
	ASSERT_NE(NULL, mem);
	ASSERT_NE(NULL, buf);
	mnsim_fill(mem, ps, SEED_A);
	memcpy(buf, mem, ps);
	valid_ctx_init(&c, self->any_mode, mem, buf);
	test_cmd_bind(self->any_mode, MNSIM_TARGET_SELF, 0);
	fd2 = mnsim_open();
	ASSERT_LE(0, fd2);

	for (i = 0; i < ARRAY_SIZE(rsvs); i++) {
		const struct rsv_desc *d = &rsvs[i];
		int fd = d->cmd == MNSIM_IOC_BIND ? fd2 : self->fd;

		for (v = 0; v < 2; v++) {
			unsigned char *field;

			make_valid(&c, d->cmd, &arg);
			field = (unsigned char *)&arg + d->off;
			if (d->width == 8)
				*(__u64 *)field = v ? 1ULL << 63 : 1;
			else
				*(__u32 *)field = v ? 1U << 31 : 1;
			EXPECT_EQ(-EINVAL, mnsim_ioctl(fd, d->cmd, &arg))
				TH_LOG("%s = %s", d->name, v ? "top bit" : "1");
		}
	}
	EXPECT_DEV_STATE(self->fd, self->any_mode);
	EXPECT_DEV_STATE(fd2, 0);

	/* The valid arguments themselves are accepted. */
	for (i = 0; i < ARRAY_SIZE(cmds); i++) {
		unsigned long cmd = cmds[i].cmd;

		if (cmd == MNSIM_IOC_UNBIND)
			continue;
		make_valid(&c, cmd, &arg);
		EXPECT_EQ(0, mnsim_ioctl(cmd == MNSIM_IOC_BIND ? fd2 : self->fd,
					 cmd, &arg))
			TH_LOG("%s: the valid argument", cmds[i].name);
	}
	ASSERT_EQ(0, _test_cmd_unbind(fd2));
	close(fd2);

	r = mnsim_range(0, mem, 8, buf);
	r.__pad = 1;
	EXPECT_ERRNO(EINVAL, _test_cmd_dev_rwv(self->fd, &r, 1, &out));
	EXPECT_EQ(0ULL, out.done);
	r.__pad = 1U << 31;
	EXPECT_ERRNO(EINVAL, _test_cmd_dev_rwv(self->fd, &r, 1, &out));
	EXPECT_TRUE(mnsim_match(mem, ps, SEED_A));
	test_cmd_park_ctl(MNSIM_PARK_CTL_DISARM, NULL);
}

/*
 * An argument pointer the kernel cannot read fails every command with
 * EFAULT, bound or not: NULL, a PROT_NONE page, a kernel address, and a
 * structure whose last byte lies in a PROT_NONE page. Read-only commands
 * fail with EFAULT on a read-only argument, which they cannot write back.
 */
TEST_F(mnsim_dev, cmd_table_efault)
{
	const __u64 kernel = 0xffff888000000000ULL;
	size_t ps = self->page_size;
	unsigned char *mem, *buf, *guard, *ro;
	union cmd_arg arg;
	struct valid_ctx c;
	unsigned int i, bound;
	int ret;

	mem = mnsim_map(ps, RW);
	buf = mnsim_map(ps, RW);
	guard = mnsim_map(2 * ps, RW);
	ASSERT_NE(NULL, mem);
	ASSERT_NE(NULL, buf);
	ASSERT_NE(NULL, guard);
	ASSERT_EQ(0, mprotect(guard + ps, ps, PROT_NONE));
	mnsim_fill(mem, ps, SEED_A);
	valid_ctx_init(&c, self->any_mode, mem, buf);

	for (bound = 0; bound < 2; bound++) {
		for (i = 0; i < ARRAY_SIZE(cmds); i++) {
			const struct cmd_desc *d = &cmds[i];
			void *tail = guard + ps - d->size + 1;

			ret = mnsim_ioctl(self->fd, d->cmd, NULL);
			EXPECT_EQ(-EFAULT, ret) TH_LOG("%s: NULL", d->name);
			ret = mnsim_ioctl(self->fd, d->cmd, guard + ps);
			EXPECT_EQ(-EFAULT, ret)
				TH_LOG("%s: PROT_NONE", d->name);
			ret = mnsim_ioctl(self->fd, d->cmd,
					  (void *)(uintptr_t)kernel);
			EXPECT_EQ(-EFAULT, ret)
				TH_LOG("%s: kernel address", d->name);
			make_valid(&c, d->cmd, &arg);
			memcpy(tail, &arg, d->size - 1);
			ret = mnsim_ioctl(self->fd, d->cmd, tail);
			EXPECT_EQ(-EFAULT, ret)
				TH_LOG("%s: last byte PROT_NONE", d->name);
		}
		EXPECT_DEV_STATE(self->fd, bound ? self->any_mode : 0);
		if (!bound)
			test_cmd_bind(self->any_mode, MNSIM_TARGET_SELF, 0);
	}

	ro = mnsim_map(ps, RW);
	ASSERT_NE(NULL, ro);
	memset(ro, 0, ps);
	ASSERT_EQ(0, mprotect(ro, ps, PROT_READ));
	test_err_ioctl(EFAULT, MNSIM_IOC_INFO, ro);
	test_err_ioctl(EFAULT, MNSIM_IOC_STATS, ro);
	test_err_ioctl(EFAULT, MNSIM_IOC_PARK_CTL, ro);
	EXPECT_TRUE(mnsim_all(ro, ps, 0));
	EXPECT_TRUE(mnsim_match(mem, ps, SEED_A));
	EXPECT_DEV_STATE(self->fd, self->any_mode);
}

/* A command and what it gives on a device in some state. */
struct cmd_expect {
	unsigned long cmd;
	const char *name;
	int err;		/* 0 or the errno */
};

/*
 * The commands that need a bound device fail with ENXIO, whether it never
 * was bound or was unbound (also with len 0 and an empty vector); INFO,
 * STATS, PARK_CTL and READ_EVENTS work; none of them binds it.
 */
TEST_F(mnsim_dev, cmd_table_unbound)
{
	static const struct cmd_expect table[] = {
		{ MNSIM_IOC_INFO, "INFO", 0 },
		{ MNSIM_IOC_UNBIND, "UNBIND", ENXIO },
		{ MNSIM_IOC_DEV_READ, "DEV_READ", ENXIO },
		{ MNSIM_IOC_DEV_WRITE, "DEV_WRITE", ENXIO },
		{ MNSIM_IOC_DEV_RWV, "DEV_RWV", ENXIO },
		{ MNSIM_IOC_FLUSH, "FLUSH", ENXIO },
		{ MNSIM_IOC_STATS, "STATS", 0 },
		{ MNSIM_IOC_PARK, "PARK", ENXIO },
		{ MNSIM_IOC_PARK_CTL, "PARK_CTL", 0 },
		{ MNSIM_IOC_READ_EVENTS, "READ_EVENTS", 0 },
	};
	size_t ps = self->page_size;
	unsigned char *mem, *buf;
	union cmd_arg arg;
	struct valid_ctx c;
	unsigned int i, pass;

	mem = mnsim_map(ps, RW);
	buf = mnsim_map(ps, RW);
	ASSERT_NE(NULL, mem);
	ASSERT_NE(NULL, buf);
	mnsim_fill(mem, ps, SEED_A);
	memset(buf, 0x5a, ps);
	valid_ctx_init(&c, self->any_mode, mem, buf);

	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < ARRAY_SIZE(table); i++) {
			int ret;

			make_valid(&c, table[i].cmd, &arg);
			ret = mnsim_ioctl(self->fd, table[i].cmd, &arg);
			EXPECT_EQ(-table[i].err, ret)
				TH_LOG("%s, %s", table[i].name,
				       pass ? "unbound again" : "never bound");
		}
		make_valid(&c, MNSIM_IOC_DEV_READ, &arg);
		arg.access.len = 0;
		test_err_ioctl(ENXIO, MNSIM_IOC_DEV_READ, &arg);
		make_valid(&c, MNSIM_IOC_DEV_RWV, &arg);
		arg.vec.nr_ranges = 0;
		test_err_ioctl(ENXIO, MNSIM_IOC_DEV_RWV, &arg);
		EXPECT_EQ(0ULL, arg.vec.done);
		make_valid(&c, MNSIM_IOC_READ_EVENTS, &arg);
		ASSERT_EQ(0, mnsim_ioctl(self->fd, MNSIM_IOC_READ_EVENTS,
					 &arg));
		EXPECT_EQ(0U, arg.read_events.nr);
		EXPECT_EQ(0ULL, arg.read_events.lost);
		EXPECT_DEV_STATE(self->fd, 0);
		EXPECT_TRUE(mnsim_all(buf, ps, 0x5a));

		test_cmd_bind(self->any_mode, MNSIM_TARGET_SELF, 0);
		test_cmd_unbind();
	}
}

/* Which process a credential case binds to. */
enum cred_target {
	TGT_SELF,		/* MNSIM_TARGET_SELF */
	TGT_OWN_PID,		/* its own pid, explicitly */
	TGT_ROOT,		/* the test process, root */
	TGT_OTHER,		/* a process of MNSIM_UID_OTHER */
	TGT_NOBODY,		/* a process of MNSIM_UID_NOBODY */
	TGT_DEAD,		/* a pid that exited */
};

struct cred_case {
	const char *name;
	uid_t uid;		/* the binder's uid */
	__u64 caps;		/* its capabilities; ~0: all it had */
	enum cred_target target;
	bool defer;		/* DEFER, else the fixture's mode */
	int err;		/* 0 or the errno */
};

#define ALL_BUT(cap)	(~0ULL & ~MNSIM_CAP(cap))

static const struct cred_case cred_cases[] = {
	{ "nobody binds root", MNSIM_UID_NOBODY, 0, TGT_ROOT, false, EPERM },
	{ "nobody binds another uid", MNSIM_UID_NOBODY, 0, TGT_OTHER, false,
	  EPERM },
	{ "nobody binds its own uid", MNSIM_UID_NOBODY, 0, TGT_NOBODY, false,
	  EPERM },
	{ "nobody binds a dead pid", MNSIM_UID_NOBODY, 0, TGT_DEAD, false,
	  ESRCH },
	{ "nobody binds itself", MNSIM_UID_NOBODY, 0, TGT_SELF, false, 0 },
	{ "nobody binds its own pid", MNSIM_UID_NOBODY, 0, TGT_OWN_PID, false,
	  0 },
	{ "nobody binds itself in DEFER", MNSIM_UID_NOBODY, 0, TGT_SELF, true,
	  EPERM },
	{ "nobody+CAP_SYS_PTRACE binds root", MNSIM_UID_NOBODY,
	  MNSIM_CAP(CAP_SYS_PTRACE), TGT_ROOT, false, 0 },
	{ "nobody+CAP_SYS_PTRACE binds another uid", MNSIM_UID_NOBODY,
	  MNSIM_CAP(CAP_SYS_PTRACE), TGT_OTHER, false, 0 },
	{ "nobody+CAP_SYS_PTRACE binds itself in DEFER", MNSIM_UID_NOBODY,
	  MNSIM_CAP(CAP_SYS_PTRACE), TGT_SELF, true, EPERM },
	{ "root-CAP_SYS_PTRACE binds nobody", 0, ALL_BUT(CAP_SYS_PTRACE),
	  TGT_NOBODY, false, EPERM },
	{ "root-CAP_SYS_PTRACE binds root", 0, ALL_BUT(CAP_SYS_PTRACE),
	  TGT_ROOT, false, EPERM },
	{ "root-CAP_SYS_ADMIN binds itself in DEFER", 0,
	  ALL_BUT(CAP_SYS_ADMIN), TGT_SELF, true, EPERM },
	{ "root binds nobody", 0, ~0ULL, TGT_NOBODY, false, 0 },
};

/*
 * A process that waits for EOF on @fd, as @uid (0 stays root).
 * Return: its pid, or -1.
 */
static pid_t spawn_target(uid_t uid, int *wait_fd)
{
	int p[2], ready[2];
	pid_t pid;
	char c;

	if (pipe(p) || pipe(ready))
		return -1;
	pid = mnsim_fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		close(p[1]);
		close(ready[0]);
		if (uid && mnsim_become(uid, 0))
			_exit(1);
		if (write(ready[1], "r", 1) != 1)
			_exit(2);
		while (read(p[0], &c, 1) > 0)
			;
		_exit(0);
	}
	close(p[0]);
	close(ready[1]);
	if (read(ready[0], &c, 1) != 1) {
		close(p[1]);
		waitpid(pid, NULL, 0);
		pid = -1;
	}
	close(ready[0]);
	*wait_fd = p[1];
	return pid;
}

/* ---- fault injection: each allocation of a command, failed in turn ---- */

/* This thread's fail-nth (the kernel's fail_nth), or -1 without one. */
static int fail_nth_open(void)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/task/%ld/fail-nth",
		 (long)syscall(SYS_gettid));
	return open(path, O_RDWR | O_CLOEXEC);
}

/* Fail the @n-th fault point of this thread from now on (0: none). */
static int fail_nth_set(int fd, unsigned int n)
{
	char buf[16];
	int len = snprintf(buf, sizeof(buf), "%u", n);

	return pwrite(fd, buf, len, 0) == len ? 0 : -errno;
}

/* What is left of the count: 0 once a fault point was failed. */
static long fail_nth_left(int fd)
{
	char buf[16] = {};

	if (pread(fd, buf, sizeof(buf) - 1, 0) <= 0)
		return -1;
	return strtol(buf, NULL, 10);
}

/* The entries all bound devices preallocate (debugfs "contexts"), or -1. */
static long mnsim_entries(void)
{
	char buf[128];
	long n;

	if (mnsim_read_file("/sys/kernel/debug/mmu_notifier_sim/contexts",
			    buf, sizeof(buf)) ||
	    sscanf(buf, "contexts=%*u entries=%ld", &n) != 1)
		return -1;
	return n;
}

/* The commands whose allocations fail in turn. */
enum fail_cmd { FAIL_OPEN, FAIL_BIND, FAIL_PARK, FAIL_NR };

static const char *const fail_cmd_name[FAIL_NR] = { "open()", "BIND", "PARK" };

#define FAIL_BIND_FLAGS	(MNSIM_BIND_RECORD | MNSIM_BIND_ORACLE)

/*
 * @cmd with this thread's @n-th fault point failing: open() of a device, or
 * BIND (with the ring and the oracle) of a fresh one, or the first PARK of
 * a fresh ATS binding without them. *@fd: the device (-1 after a failed
 * open()); *@fired: the fault point was reached. Return: the command's
 * result, -errno; -EIO when the set-up itself failed.
 */
static int fail_nth_cmd(int nth, unsigned int n, enum fail_cmd cmd,
			__u32 mode, int *fd, bool *fired)
{
	int ret = -EIO;

	*fired = false;
	*fd = cmd == FAIL_OPEN ? -1 : mnsim_open();
	if (cmd != FAIL_OPEN && *fd < 0)
		return -EIO;
	if (cmd == FAIL_PARK && _test_cmd_bind(*fd, mode, MNSIM_TARGET_SELF, 0))
		return -EIO;
	if (fail_nth_set(nth, n))
		return -EIO;
	switch (cmd) {
	case FAIL_OPEN:
		*fd = open(MNSIM_DEV_PATH, O_RDWR | O_CLOEXEC);
		ret = *fd < 0 ? -errno : 0;
		break;
	case FAIL_BIND:
		ret = _test_cmd_bind_flags(*fd, FAIL_BIND_FLAGS, mode,
					   MNSIM_TARGET_SELF, 0);
		break;
	case FAIL_PARK:
		ret = _test_cmd_park(*fd, MNSIM_PARK_END, 1000, MNSIM_PTR(fd),
				     NULL);
		break;
	case FAIL_NR:
		break;
	}
	*fired = fail_nth_left(nth) == 0;
	fail_nth_set(nth, 0);
	return ret;
}

/*
 * Every allocation of open(), BIND and an ATS device's first PARK fails in
 * turn, through the kernel's fail_nth (/proc/self/task/<tid>/fail-nth: the
 * Nth fault point of the thread fails; sec_tlb_fail_alloc(), asked before
 * each allocation of both modules, is those points, CONFIG_FAULT_INJECTION;
 * as iommufd's selftest does). Each
 * failure is ENOMEM and leaves nothing behind: the device is as before,
 * the entry budget is back, and the same command then works. The fault
 * points are counted, so that one that stops being reached shows: open()
 * has 2 (the context, its per-CPU counters), a BIND with the ring and the
 * oracle 5 (the ring, the TLB's hash and its entries, the two notifiers),
 * the PARK 1 (registering the range callbacks). Skipped, with the reason,
 * on a kernel without fault injection (Debian's).
 */
TEST_F(mnsim_dev, fail_nth_open_bind_park)
{
	const unsigned int want[FAIL_NR] = { 2, 5, 1 };
	unsigned int n, c, sites;
	long entries0;
	__u32 mode;
	int nth, fd, ret;
	bool fired;

	nth = fail_nth_open();
	if (nth < 0)
		SKIP(return, "no fail-nth: the kernel has no CONFIG_FAULT_INJECTION");
	entries0 = mnsim_entries();
	ASSERT_LE(0, entries0);
	mode = self->info.modes & MNSIM_MODE_BIT(MNSIM_MODE_ATS) ?
	       MNSIM_MODE_ATS : self->any_mode;

	for (c = 0; c < FAIL_NR; c++) {
		/* Only ATS registers its range callbacks at a PARK. */
		if (c == FAIL_PARK && mode != MNSIM_MODE_ATS)
			continue;
		for (n = 1, sites = 0; n < 16; n++) {
			ret = fail_nth_cmd(nth, n, c, mode, &fd, &fired);
			if (!fired) {
				EXPECT_EQ(0, ret) TH_LOG("%s", fail_cmd_name[c]);
				close(fd);
				break;
			}
			sites++;
			EXPECT_EQ(-ENOMEM, ret)
				TH_LOG("%s, fault point %u", fail_cmd_name[c], n);
			if (c == FAIL_BIND) {
				EXPECT_DEV_STATE(fd, 0);
				EXPECT_EQ(entries0, mnsim_entries())
					TH_LOG("BIND, fault point %u: the entry budget leaked", n);
				EXPECT_EQ(0, _test_cmd_bind_flags(fd, FAIL_BIND_FLAGS,
								  mode, MNSIM_TARGET_SELF, 0));
			} else if (c == FAIL_PARK) {
				EXPECT_DEV_STATE(fd, mode);
				EXPECT_EQ(0, _test_cmd_park(fd, MNSIM_PARK_END, 1000,
							    MNSIM_PTR(&fd), NULL));
			}
			if (fd >= 0)
				close(fd);
		}
		EXPECT_EQ(want[c], sites) TH_LOG("%s", fail_cmd_name[c]);
	}
	EXPECT_EQ(entries0, mnsim_entries());
	close(nth);
}

/*
 * BIND to another process needs CAP_SYS_PTRACE (EPERM without it, whatever
 * the uids: root to nobody, nobody to root, nobody to another uid, even a
 * same-uid target), DEFER needs CAP_SYS_ADMIN; a nobody binds itself, and
 * with CAP_SYS_PTRACE binds root. The device is opened as root before the
 * binder changes its credentials (the node is 0600).
 */
TEST_F(mnsim_dev, bind_credentials)
{
	pid_t tgt_other, tgt_nobody, dead;
	int hold_other, hold_nobody, status;
	unsigned int i;

	tgt_other = spawn_target(MNSIM_UID_OTHER, &hold_other);
	tgt_nobody = spawn_target(MNSIM_UID_NOBODY, &hold_nobody);
	ASSERT_LT(0, tgt_other);
	ASSERT_LT(0, tgt_nobody);
	dead = mnsim_fork();
	ASSERT_LE(0, dead);
	if (!dead)
		_exit(0);
	ASSERT_EQ(dead, waitpid(dead, NULL, 0));

	for (i = 0; i < ARRAY_SIZE(cred_cases); i++) {
		const struct cred_case *cc = &cred_cases[i];
		pid_t root = getpid(), pid;

		pid = mnsim_fork();
		ASSERT_LE(0, pid);
		if (!pid) {
			__u64 caps = cc->caps;
			__s32 target;
			int fd, ret;

			fd = mnsim_open();
			if (fd < 0)
				_exit(10);
			if (caps == ~0ULL)
				caps = mnsim_caps_effective();
			else if (!cc->uid)
				caps &= mnsim_caps_effective();
			if (mnsim_become(cc->uid, caps))
				_exit(11);
			switch (cc->target) {
			case TGT_SELF:
				target = MNSIM_TARGET_SELF;
				break;
			case TGT_OWN_PID:
				target = getpid();
				break;
			case TGT_ROOT:
				target = root;
				break;
			case TGT_OTHER:
				target = tgt_other;
				break;
			case TGT_NOBODY:
				target = tgt_nobody;
				break;
			default:
				target = dead;
				break;
			}
			ret = _test_cmd_bind(fd, cc->defer ? MNSIM_MODE_DEFER :
					     self->any_mode, target, 0);
			if (ret != -cc->err)
				_exit(ret ? 20 + (-ret & 0x7f) : 12);
			_exit(0);
		}
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status))
			TH_LOG("%s: expected %s, child status %#x %s",
			       cc->name, cc->err ? strerror(cc->err) : "success",
			       status,
			       "(10 open, 11 creds, 12 success, 20 + errno)");
	}
	close(hold_other);
	close(hold_nobody);
	waitpid(tgt_other, NULL, 0);
	waitpid(tgt_nobody, NULL, 0);
}

#define FILL8	0xa5U
#define FILL32	0xa5a5a5a5U
#define FILL64	0xa5a5a5a5a5a5a5a5ULL
/* The canonical kernel half of x86-64, and of every 64-bit port we run. */
#define KERNEL_HALF	0xffff800000000000ULL

/* Is @v a value no caller should see: the fill pattern or a kernel pointer? */
static bool leaky(__u64 v)
{
	return v == FILL64 || (__u32)v == FILL32 || (v >> 32) == FILL32 ||
	       (v >= KERNEL_HALF && v != ~0ULL);
}

/*
 * Without CAP_SYS_ADMIN (dropped from the bounding, permitted and
 * effective sets), every output field is written: the caller's buffers are
 * filled with 0xa5 (except the inputs), and afterwards no output holds the
 * pattern, padding and reserved words read 0, and the command wrote no
 * record beyond the ones it returned. No output is a kernel address
 * (except the documented "whole address space" end ~0 and a refused
 * access's negative errno) or the PFN or physical address of the pages
 * the device used, and events name the caller's thread.
 */
TEST_F(mnsim_dev, output_hygiene_unprivileged)
{
	size_t ps = self->page_size;
	int status;
	pid_t pid;

	pid = mnsim_fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		const unsigned int max_ev = 64;
		struct mnsim_event *ev, *e;
		struct mnsim_read_events re;
		struct mnsim_access_vec vec;
		struct mnsim_vec_range r;
		struct mnsim_park_ctl ctl;
		struct mnsim_access acc;
		struct mnsim_stats st;
		struct mnsim_info info;
		struct mnsim_park park;
		__u64 pfn[2], *w64, tid;
		unsigned char *mem, *buf;
		unsigned int i, k, n;
		__u32 *w32;
		long cap;
		int fd;

		mem = mnsim_map(2 * ps, RW);
		buf = mnsim_map(2 * ps, RW);
		ev = calloc(max_ev, sizeof(*ev));
		ASSERT_NE(NULL, mem);
		ASSERT_NE(NULL, buf);
		ASSERT_NE(NULL, ev);
		mnsim_fill(mem, 2 * ps, SEED_A);
		mnsim_fill(buf, 2 * ps, SEED_B);
		pfn[0] = mnsim_pagemap_pfn(mem, ps);
		pfn[1] = mnsim_pagemap_pfn(mem + ps, ps);
		ASSERT_NE(0ULL, pfn[0]);
		ASSERT_NE(0ULL, pfn[1]);
		cap = read_param("max_capacity");
		ASSERT_LT(0, cap);

		ASSERT_EQ(0, prctl(PR_CAPBSET_DROP, CAP_SYS_ADMIN, 0, 0, 0));
		ASSERT_EQ(0, mnsim_caps_set(mnsim_caps_effective() &
					    ~MNSIM_CAP(CAP_SYS_ADMIN)));
		ASSERT_EQ(0ULL, mnsim_caps_effective() &
				MNSIM_CAP(CAP_SYS_ADMIN));
		fd = mnsim_open();
		ASSERT_LE(0, fd);
		tid = syscall(SYS_gettid);

		/* INFO: the capacity a caller without CAP_SYS_ADMIN gets */
		memset(&info, FILL8, sizeof(info));
		info.flags = 0;
		ASSERT_EQ(0, mnsim_ioctl(fd, MNSIM_IOC_INFO, &info));
		w32 = (__u32 *)&info;
		for (i = 0; i < sizeof(info) / 4; i++)
			EXPECT_NE(FILL32, w32[i]) TH_LOG("INFO word %u", i);
		EXPECT_NE(0U, info.bind_flags & MNSIM_BIND_NO_FLUSH)
			TH_LOG("bind_flags lists what BIND knows, allowed or not");
		EXPECT_EQ((__u32)cap, info.max_capacity);

		ASSERT_EQ(0, _test_cmd_bind_flags(fd, MNSIM_BIND_RECORD |
						  MNSIM_BIND_ORACLE,
						  self->any_mode,
						  MNSIM_TARGET_SELF, 0));

		/* DEV_WRITE, DEV_READ: the per-call counters */
		for (k = 0; k < 2; k++) {
			memset(&acc, FILL8, sizeof(acc));
			acc.flags = 0;
			acc.__pad = 0;
			acc.__reserved = 0;
			acc.va = MNSIM_PTR(mem + 8);
			acc.len = ps;
			acc.buf = MNSIM_PTR(buf);
			ASSERT_EQ(0, mnsim_ioctl(fd, k ? MNSIM_IOC_DEV_READ :
						 MNSIM_IOC_DEV_WRITE, &acc));
			EXPECT_FALSE(leaky(acc.hits));
			EXPECT_FALSE(leaky(acc.misses));
			EXPECT_FALSE(leaky(acc.faults));
			EXPECT_EQ(2ULL, acc.hits + acc.misses);
			EXPECT_EQ(0U, acc.__pad);
			EXPECT_EQ(0ULL, acc.__reserved);
		}
		EXPECT_EQ(0, memcmp(buf, mem + 8, ps));

		/* DEV_RWV */
		r = mnsim_range(0, mem, 16, buf + ps);
		memset(&vec, FILL8, sizeof(vec));
		vec.flags = 0;
		vec.__reserved = 0;
		vec.nr_ranges = 1;
		vec.ranges = MNSIM_PTR(&r);
		ASSERT_EQ(0, mnsim_ioctl(fd, MNSIM_IOC_DEV_RWV, &vec));
		EXPECT_EQ(1ULL, vec.done);
		EXPECT_FALSE(leaky(vec.hits));
		EXPECT_FALSE(leaky(vec.misses));
		EXPECT_FALSE(leaky(vec.faults));
		EXPECT_EQ(0ULL, vec.__reserved);

		/* PARK and PARK_CTL */
		memset(&park, FILL8, sizeof(park));
		park.flags = MNSIM_PARK_END | MNSIM_PARK_DELAY;
		park.timeout_ms = 1;
		park.va = MNSIM_PTR(mem + ps);
		park.__pad = 0;
		park.__reserved = 0;
		ASSERT_EQ(0, mnsim_ioctl(fd, MNSIM_IOC_PARK, &park));
		EXPECT_GT((__u32)MNSIM_MAX_PARKS, park.id);
		EXPECT_EQ(0U, park.__pad);
		memset(&ctl, FILL8, sizeof(ctl));
		ctl.flags = 0;
		ctl.__reserved = 0;
		ASSERT_EQ(0, mnsim_ioctl(fd, MNSIM_IOC_PARK_CTL, &ctl));
		EXPECT_EQ(1U, ctl.armed);
		EXPECT_EQ(0U, ctl.parked);
		EXPECT_EQ(0U, ctl.fired);
		EXPECT_EQ(0U, ctl.timeouts);
		EXPECT_EQ(0U, ctl.__reserved);

		/* Invalidations: the hook, start/end, a park firing */
		ASSERT_EQ(0, mprotect(mem, 2 * ps, PROT_READ));
		ASSERT_EQ(0, mprotect(mem, 2 * ps, RW));
		mem[ps] ^= 1;
		ASSERT_EQ(0, madvise(mem + ps, ps, MADV_DONTNEED));
		EXPECT_ERRNO(EFAULT, _test_cmd_dev_read(fd, buf + ps, 8,
							NULL, NULL));

		/* STATS */
		memset(&st, FILL8, sizeof(st));
		st.flags = 0;
		st.__reserved = 0;
		ASSERT_EQ(0, mnsim_ioctl(fd, MNSIM_IOC_STATS, &st));
		w32 = (__u32 *)&st;
		for (i = 1; i < 4; i++)
			EXPECT_NE(FILL32, w32[i]) TH_LOG("STATS word %u", i);
		w64 = (__u64 *)&st.hits;
		for (i = 0; w64 + i < &st.__reserved; i++) {
			EXPECT_FALSE(leaky(w64[i])) TH_LOG("STATS u64 %u", i);
			EXPECT_NE(pfn[0], w64[i]);
			EXPECT_NE(pfn[1], w64[i]);
		}
		EXPECT_EQ(0ULL, st.__reserved);
		EXPECT_EQ(self->any_mode, st.mode);
		EXPECT_LE(1ULL, st.fills);

		/* READ_EVENTS: records, and nothing written past them */
		memset(ev, FILL8, max_ev * sizeof(*ev));
		memset(&re, FILL8, sizeof(re));
		re.flags = 0;
		re.__pad = 0;
		re.__reserved = 0;
		re.max = max_ev;
		re.events = MNSIM_PTR(ev);
		ASSERT_EQ(0, mnsim_ioctl(fd, MNSIM_IOC_READ_EVENTS, &re));
		n = re.nr;
		EXPECT_LT(4U, n);
		EXPECT_GE(max_ev, n);
		EXPECT_FALSE(leaky(re.lost));
		EXPECT_EQ(0U, re.__pad);
		EXPECT_EQ(0ULL, re.__reserved);
		for (i = 0; i < n; i++) {
			e = &ev[i];
			w32 = (__u32 *)e;
			for (k = 0; k < sizeof(*e) / 4; k++)
				EXPECT_NE(FILL32, w32[k])
					TH_LOG("event %u word %u", i, k);
			EXPECT_FALSE(leaky(e->start)) TH_LOG("event %u", i);
			EXPECT_FALSE(e->end != ~0ULL && leaky(e->end))
				TH_LOG("event %u end %#llx", i,
				       (unsigned long long)e->end);
			if (!(e->type == MNSIM_EV_ACCESS &&
			      (e->flags & MNSIM_EVF_REFUSED) &&
			      (__s64)e->value < 0 && (__s64)e->value > -4096))
				EXPECT_FALSE(leaky(e->value))
					TH_LOG("event %u type %u value %#llx",
					       i, e->type,
					       (unsigned long long)e->value);
			for (k = 0; k < 2; k++) {
				EXPECT_NE(pfn[k], e->start);
				EXPECT_NE(pfn[k], e->end);
				EXPECT_NE(pfn[k], e->value);
				EXPECT_NE(pfn[k] * ps, e->value);
				EXPECT_NE(pfn[k], (__u64)e->count);
			}
			if (e->type == MNSIM_EV_FILL || e->type == MNSIM_EV_HIT ||
			    e->type == MNSIM_EV_ACCESS) {
				/* The caller's accesses: mem, and buf + ps */
				EXPECT_EQ(tid, e->tid);
				EXPECT_TRUE((e->start >= MNSIM_PTR(mem) &&
					     e->end <= MNSIM_PTR(mem + 2 * ps)) ||
					    (e->start >= MNSIM_PTR(buf + ps) &&
					     e->end <= MNSIM_PTR(buf + 2 * ps)))
					TH_LOG("event %u: [%#llx, %#llx)", i,
					       (unsigned long long)e->start,
					       (unsigned long long)e->end);
			}
		}
		EXPECT_TRUE(mnsim_all(ev + n, (max_ev - n) * sizeof(*ev),
				      FILL8));
		close(fd);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

/* ---- a device bound to the test process, one variant per mode ---- */

FIXTURE(mnsim) {
	int fd;
	size_t page_size;
	struct mnsim_info info;
};

FIXTURE_VARIANT(mnsim) {
	__u32 mode;
};

FIXTURE_VARIANT_ADD(mnsim, ats) {
	.mode = MNSIM_MODE_ATS,
};

FIXTURE_VARIANT_ADD(mnsim, soft) {
	.mode = MNSIM_MODE_SOFT,
};

FIXTURE_VARIANT_ADD(mnsim, defer) {
	.mode = MNSIM_MODE_DEFER,
};

FIXTURE_SETUP(mnsim)
{
	self->page_size = sysconf(_SC_PAGESIZE);
	mnsim_setup_open(_metadata, &self->fd, &self->info, variant->mode);
	test_cmd_bind(variant->mode, MNSIM_TARGET_SELF, 0);
}

FIXTURE_TEARDOWN(mnsim)
{
	mnsim_report_stats(self->fd);
	close(self->fd);
}

/*
 * A bound device reports its mode, refuses a second BIND with EBUSY, keeps
 * its counters across UNBIND, starts from zero after the next BIND, and is
 * independent of a second device bound to the same process.
 */
TEST_F(mnsim, bind_lifecycle)
{
	size_t ps = self->page_size;
	struct mnsim_stats st, before;
	struct mnsim_access out;
	char *mem, *dst;
	__u32 cap, mode;
	int fd2;

	test_cmd_stats(&st);
	EXPECT_EQ(variant->mode, st.mode);
	EXPECT_EQ(self->info.default_capacity, st.capacity);
	EXPECT_EQ(0U, st.entries);
	EXPECT_EQ(0ULL, st.hits);
	EXPECT_EQ(0ULL, st.misses);
	EXPECT_EQ(0ULL, st.fills);

	for (mode = MNSIM_MODE_ATS; mode <= MNSIM_MODE_DEFER; mode++)
		if (self->info.modes & MNSIM_MODE_BIT(mode))
			test_err_bind(EBUSY, mode, MNSIM_TARGET_SELF, 0);

	mem = mnsim_map(ps, RW);
	dst = mnsim_map(ps, RW);
	ASSERT_NE(NULL, mem);
	ASSERT_NE(NULL, dst);
	mnsim_fill(mem, ps, SEED_A);
	memset(dst, 0, ps);
	test_cmd_dev_read(mem, ps, dst, NULL);
	test_cmd_dev_read(mem, ps, dst, &out);
	EXPECT_EQ(1ULL, out.hits);
	EXPECT_TRUE(mnsim_match(dst, ps, SEED_A));
	test_cmd_stats(&before);
	EXPECT_EQ(1U, before.entries);
	EXPECT_LE(1ULL, before.hits);
	EXPECT_LE(1ULL, before.misses);
	EXPECT_LE(1ULL, before.fills);

	test_cmd_unbind();
	test_cmd_stats(&st);
	EXPECT_EQ(0U, st.mode);
	EXPECT_EQ(0U, st.entries);
	EXPECT_EQ(before.hits, st.hits);
	EXPECT_EQ(before.misses, st.misses);
	EXPECT_EQ(before.fills, st.fills);
	test_err_unbind(ENXIO);
	test_err_dev_read(ENXIO, mem, ps, dst, NULL);
	test_err_flush(ENXIO);

	cap = self->info.max_capacity < 8 ? self->info.max_capacity : 8;
	test_cmd_bind(variant->mode, MNSIM_TARGET_SELF, cap);
	test_cmd_stats(&st);
	EXPECT_EQ(variant->mode, st.mode);
	EXPECT_EQ(cap, st.capacity);
	EXPECT_EQ(0U, st.entries);
	EXPECT_EQ(0ULL, st.hits);
	EXPECT_EQ(0ULL, st.misses);
	EXPECT_EQ(0ULL, st.fills);

	fd2 = mnsim_open();
	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, _test_cmd_stats(fd2, &st));
	EXPECT_EQ(0U, st.mode);
	ASSERT_EQ(0, _test_cmd_bind(fd2, variant->mode, MNSIM_TARGET_SELF, 0));
	memset(dst, 0, ps);
	ASSERT_EQ(0, _test_cmd_dev_read(fd2, mem, ps, dst, NULL));
	EXPECT_TRUE(mnsim_match(dst, ps, SEED_A));
	/* Closing a bound device unbinds it; the first one is unaffected. */
	ASSERT_EQ(0, close(fd2));
	memset(dst, 0, ps);
	test_cmd_dev_read(mem, ps, dst, NULL);
	EXPECT_TRUE(mnsim_match(dst, ps, SEED_A));
}

/*
 * Device reads and writes at unaligned addresses and lengths that cross page
 * boundaries move exactly the bytes the CPU sees, one TLB lookup per page.
 */
TEST_F(mnsim, read_write_roundtrip)
{
	const size_t ps = self->page_size, size = 4 * ps;
	unsigned char *mem, *dst, *src, *expect;
	struct mnsim_access out;
	unsigned char *va;
	size_t len;

	mem = mnsim_map(size, RW);
	dst = mnsim_map(size + ps, RW);
	src = mnsim_map(size, RW);
	expect = mnsim_map(size, RW);
	ASSERT_NE(NULL, mem);
	ASSERT_NE(NULL, dst);
	ASSERT_NE(NULL, src);
	ASSERT_NE(NULL, expect);
	mnsim_fill(mem, size, SEED_A);
	memcpy(expect, mem, size);

	/* A read from the middle of page 0 to the start of page 3 */
	va = mem + 100;
	len = 3 * ps - 50;
	memset(dst, 0x5a, size + ps);
	test_cmd_dev_read(va, len, dst, &out);
	EXPECT_EQ(0, memcmp(dst, va, len));
	EXPECT_TRUE(mnsim_all(dst + len, 64, 0x5a));
	EXPECT_EQ(span_pages(va, len, ps), out.hits + out.misses);

	/* A write straddling page 0/1 and page 1/2 */
	mnsim_fill(src, size, SEED_B);
	va = mem + ps - 7;
	len = ps + 14;
	test_cmd_dev_write(va, len, src, &out);
	memcpy(expect + ps - 7, src, len);
	EXPECT_EQ(0, memcmp(mem, expect, size));
	EXPECT_EQ(span_pages(va, len, ps), out.hits + out.misses);

	/* One byte at the very end, then everything back through the device */
	src[0] = 0xc3;
	test_cmd_dev_write(mem + size - 1, 1, src, NULL);
	expect[size - 1] = 0xc3;
	EXPECT_EQ(0xc3, mem[size - 1]);
	memset(dst, 0, size);
	test_cmd_dev_read(mem, size, dst, &out);
	EXPECT_EQ(0, memcmp(dst, expect, size));
	EXPECT_EQ(4ULL, out.hits + out.misses);

	/* len 0 is a no-op */
	memset(dst, 0x5a, size);
	test_cmd_dev_read(mem + 5, 0, dst, &out);
	test_cmd_dev_write(mem + 5, 0, src, NULL);
	EXPECT_EQ(0ULL, out.hits + out.misses + out.faults);
	EXPECT_TRUE(mnsim_all(dst, size, 0x5a));
	EXPECT_EQ(0, memcmp(mem, expect, size));

	munmap(mem, size);
	munmap(dst, size + ps);
	munmap(src, size);
	munmap(expect, size);
}

/*
 * A second device read of a page is served from the TLB: a hit and no
 * miss, in the call's counters and in the STATS deltas.
 */
TEST_F(mnsim, read_hit_second_time)
{
	size_t ps = self->page_size;
	struct mnsim_stats s0, s1, d;
	struct mnsim_access out;
	char *mem, *dst;

	mem = mnsim_map(2 * ps, RW);
	dst = mnsim_map(2 * ps, RW);
	ASSERT_NE(NULL, mem);
	ASSERT_NE(NULL, dst);
	mnsim_fill(mem, 2 * ps, SEED_A);
	memset(dst, 0, 2 * ps);

	test_cmd_dev_read(mem, ps, dst, &out);
	EXPECT_EQ(1ULL, out.misses);
	EXPECT_EQ(0ULL, out.hits);

	test_cmd_stats(&s0);
	test_cmd_dev_read(mem, ps, dst, &out);
	test_cmd_stats(&s1);
	EXPECT_EQ(1ULL, out.hits);
	EXPECT_EQ(0ULL, out.misses);
	EXPECT_EQ(0ULL, out.faults);
	d = mnsim_stats_delta(&s1, &s0);
	EXPECT_LE(1ULL, d.hits);
	EXPECT_EQ(0ULL, d.misses);
	EXPECT_EQ(0ULL, d.fills);
	EXPECT_EQ(0ULL, d.walks);
	EXPECT_EQ(0, memcmp(dst, mem, ps));

	/* Any part of a cached page hits */
	test_cmd_dev_read(mem + 10, 20, dst, &out);
	EXPECT_EQ(1ULL, out.hits);
	EXPECT_EQ(0ULL, out.misses);

	/* Across into page 1: one hit, one miss; then two hits */
	test_cmd_dev_read(mem + ps - 8, 16, dst, &out);
	EXPECT_EQ(1ULL, out.hits);
	EXPECT_EQ(1ULL, out.misses);
	test_cmd_dev_read(mem + ps - 8, 16, dst, &out);
	EXPECT_EQ(2ULL, out.hits);
	EXPECT_EQ(0ULL, out.misses);
	EXPECT_EQ(0, memcmp(dst, mem + ps - 8, 16));
}

/*
 * A device read of an untouched page faults the zero page in; a device
 * write to that read-only translation misses and faults a private page in,
 * and later device writes hit.
 */
TEST_F(mnsim, write_after_read_refaults)
{
	size_t ps = self->page_size;
	struct mnsim_access out;
	unsigned char *mem, *dst, *src;

	mem = mnsim_map(ps, RW);
	dst = mnsim_map(ps, RW);
	src = mnsim_map(ps, RW);
	ASSERT_NE(NULL, mem);
	ASSERT_NE(NULL, dst);
	ASSERT_NE(NULL, src);
	memset(dst, 0xff, ps);
	mnsim_fill(src, ps, SEED_B);

	test_cmd_dev_read(mem, 64, dst, &out);
	EXPECT_EQ(1ULL, out.misses);
	EXPECT_LE(1ULL, out.faults);
	EXPECT_TRUE(mnsim_all(dst, 64, 0));
	test_cmd_dev_read(mem, 64, dst, &out);
	EXPECT_EQ(1ULL, out.hits);
	EXPECT_EQ(0ULL, out.misses);

	test_cmd_dev_write(mem + 100, 16, src, &out);
	EXPECT_EQ(0ULL, out.hits);
	EXPECT_EQ(1ULL, out.misses);
	EXPECT_LE(1ULL, out.faults);
	EXPECT_EQ(0, memcmp(mem + 100, src, 16));
	EXPECT_TRUE(mnsim_all(mem, 100, 0));
	EXPECT_TRUE(mnsim_all(mem + 116, ps - 116, 0));

	test_cmd_dev_write(mem + 200, 16, src + 16, &out);
	EXPECT_EQ(1ULL, out.hits);
	EXPECT_EQ(0ULL, out.misses);
	EXPECT_EQ(0ULL, out.faults);
	EXPECT_EQ(0, memcmp(mem + 200, src + 16, 16));

	test_cmd_dev_read(mem, ps, dst, &out);
	EXPECT_EQ(1ULL, out.hits);
	EXPECT_EQ(0, memcmp(dst, mem, ps));
}

/*
 * After the device cached the zero page of an untouched address, a CPU
 * write (COW from the zero page) drops the translation: the next device read
 * misses and returns the CPU's data.
 */
TEST_F(mnsim, cpu_write_after_zero_page_read)
{
	size_t ps = self->page_size;
	struct mnsim_stats s0, s1;
	struct mnsim_access out;
	unsigned char *mem, *dst;

	mem = mnsim_map(ps, RW);
	dst = mnsim_map(ps, RW);
	ASSERT_NE(NULL, mem);
	ASSERT_NE(NULL, dst);
	memset(dst, 0xff, ps);

	test_cmd_dev_read(mem, ps, dst, NULL);
	test_cmd_dev_read(mem, ps, dst, &out);
	EXPECT_EQ(1ULL, out.hits);
	EXPECT_TRUE(mnsim_all(dst, ps, 0));

	test_cmd_stats(&s0);
	mnsim_fill(mem, ps, SEED_A);
	test_cmd_dev_read(mem, ps, dst, &out);
	test_cmd_stats(&s1);
	EXPECT_TRUE(mnsim_match(dst, ps, SEED_A));
	EXPECT_EQ(0ULL, out.hits);
	EXPECT_EQ(1ULL, out.misses);
	test_check_invalidated(variant->mode, &s1, &s0);
}

/*
 * After fork, a CPU write in the bound parent breaks COW: the device drops
 * its translation of the shared page and reads the parent's new data, the
 * child keeps the old data, and once the child is gone a device write to the
 * page reaches the parent's CPU view.
 */
TEST_F(mnsim, fork_cow_cpu_write)
{
	size_t ps = self->page_size;
	struct mnsim_access out;
	struct mnsim_stats s0, s1;
	struct mnsim_chan ch;
	unsigned char *mem, *dst, *src;
	int status;
	pid_t pid;

	mem = mnsim_map(ps, RW);
	dst = mnsim_map(ps, RW);
	src = mnsim_map(ps, RW);
	ASSERT_NE(NULL, mem);
	ASSERT_NE(NULL, dst);
	ASSERT_NE(NULL, src);
	mnsim_fill(mem, ps, SEED_A);
	memset(dst, 0, ps);
	mnsim_fill(src, ps, SEED_C);
	ASSERT_EQ(0, mnsim_chan_open(&ch));

	pid = mnsim_fork();
	ASSERT_LE(0, pid);
	if (!pid)
		check_in_child(&ch, mem, ps, SEED_A);
	mnsim_chan_parent(&ch);

	/* The device caches the page the parent and child now share. */
	test_cmd_stats(&s0);
	test_cmd_dev_read(mem, ps, dst, NULL);
	EXPECT_TRUE(mnsim_match(dst, ps, SEED_A));
	test_cmd_dev_read(mem, ps, dst, &out);
	EXPECT_EQ(1ULL, out.hits);

	/* CPU write while the child still maps the page: COW */
	mnsim_fill(mem, ps, SEED_B);
	memset(dst, 0, ps);
	test_cmd_dev_read(mem, ps, dst, &out);
	test_cmd_stats(&s1);
	EXPECT_TRUE(mnsim_match(dst, ps, SEED_B))
		TH_LOG("device read the page the parent no longer maps");
	EXPECT_EQ(0ULL, out.hits);
	/* ATS: the secondary-TLB hook ran for the COW */
	test_check_invalidated(variant->mode, &s1, &s0);

	/* The child still sees the old data. */
	ASSERT_EQ(0, mnsim_send(ch.to_child[1], 'g'));
	EXPECT_EQ(1, mnsim_recv(ch.to_parent[0]));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));

	/* Alone again: a device write lands in the parent's page. */
	test_cmd_dev_write(mem, ps, src, NULL);
	EXPECT_TRUE(mnsim_match(mem, ps, SEED_C));
	memset(dst, 0, ps);
	test_cmd_dev_read(mem, ps, dst, NULL);
	EXPECT_TRUE(mnsim_match(dst, ps, SEED_C));
}

/*
 * After fork, a device write to a page the device had cached writable before
 * the fork breaks COW in the bound parent only: the parent's CPU sees the
 * write, the child keeps its copy.
 */
TEST_F(mnsim, fork_cow_device_write)
{
	size_t ps = self->page_size;
	struct mnsim_access out;
	struct mnsim_stats s0, s1;
	struct mnsim_chan ch;
	unsigned char *mem, *src;
	int status;
	pid_t pid;

	mem = mnsim_map(ps, RW);
	src = mnsim_map(ps, RW);
	ASSERT_NE(NULL, mem);
	ASSERT_NE(NULL, src);
	mnsim_fill(mem, ps, SEED_A);
	mnsim_fill(src, ps, SEED_B);

	/* A writable translation, then a second write that hits it */
	test_cmd_dev_write(mem, ps, src, NULL);
	test_cmd_dev_write(mem, ps, src, &out);
	EXPECT_EQ(1ULL, out.hits);
	EXPECT_TRUE(mnsim_match(mem, ps, SEED_B));

	ASSERT_EQ(0, mnsim_chan_open(&ch));
	test_cmd_stats(&s0);
	pid = mnsim_fork();
	ASSERT_LE(0, pid);
	if (!pid)
		check_in_child(&ch, mem, ps, SEED_B);
	mnsim_chan_parent(&ch);

	/* fork() write-protected the page: no hit, a COW fault instead */
	mnsim_fill(src, ps, SEED_C);
	test_cmd_dev_write(mem, ps, src, &out);
	test_cmd_stats(&s1);
	EXPECT_EQ(0ULL, out.hits)
		TH_LOG("device wrote through a translation fork() made stale");
	EXPECT_EQ(1ULL, out.misses);
	EXPECT_TRUE(mnsim_match(mem, ps, SEED_C));
	test_check_invalidated(variant->mode, &s1, &s0);

	ASSERT_EQ(0, mnsim_send(ch.to_child[1], 'g'));
	EXPECT_EQ(1, mnsim_recv(ch.to_parent[0]))
		TH_LOG("the device write leaked into the child");
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

/*
 * munmap drops the translations of the range: device accesses to it fail
 * with EFAULT, live entries go down, the rest of the mapping still works.
 */
TEST_F(mnsim, munmap_drops_entries)
{
	size_t ps = self->page_size;
	struct mnsim_stats s0, s1;
	unsigned char *mem, *dst;

	mem = mnsim_map(4 * ps, RW);
	dst = mnsim_map(4 * ps, RW);
	ASSERT_NE(NULL, mem);
	ASSERT_NE(NULL, dst);
	mnsim_fill(mem, 4 * ps, SEED_A);
	memset(dst, 0, 4 * ps);

	test_cmd_dev_read(mem, 4 * ps, dst, NULL);
	EXPECT_EQ(0, memcmp(dst, mem, 4 * ps));
	test_cmd_stats(&s0);
	ASSERT_LE(4U, s0.capacity);
	EXPECT_LE(4U, s0.entries);

	ASSERT_EQ(0, munmap(mem + ps, 2 * ps));
	test_cmd_stats(&s1);
	EXPECT_LE(s1.entries + 2, s0.entries);
	test_check_invalidated(variant->mode, &s1, &s0);

	test_err_dev_read(EFAULT, mem + ps, 8, dst, NULL);
	test_err_dev_read(EFAULT, mem + 2 * ps + 100, 8, dst, NULL);
	test_err_dev_read(EFAULT, mem + ps - 8, 16, dst, NULL);
	test_err_dev_write(EFAULT, mem + 2 * ps, 8, dst, NULL);

	memset(dst, 0, 4 * ps);
	test_cmd_dev_read(mem, ps, dst, NULL);
	test_cmd_dev_read(mem + 3 * ps, ps, dst + 3 * ps, NULL);
	EXPECT_EQ(0, memcmp(dst, mem, ps));
	EXPECT_EQ(0, memcmp(dst + 3 * ps, mem + 3 * ps, ps));

	munmap(mem, ps);
	munmap(mem + 3 * ps, ps);
}

/*
 * mprotect drops the translations it downgrades: a device write to a page
 * made read-only fails with EFAULT while device reads still work, a page
 * made PROT_NONE cannot be read, and restoring write access lets writes in.
 */
TEST_F(mnsim, mprotect_blocks_device_write)
{
	size_t ps = self->page_size;
	struct mnsim_stats s0, s1;
	unsigned char *mem, *dst, *src, *ro;

	mem = mnsim_map(2 * ps, RW);
	dst = mnsim_map(2 * ps, RW);
	src = mnsim_map(2 * ps, RW);
	ASSERT_NE(NULL, mem);
	ASSERT_NE(NULL, dst);
	ASSERT_NE(NULL, src);
	mnsim_fill(mem, 2 * ps, SEED_A);
	memset(dst, 0, 2 * ps);
	mnsim_fill(src, 2 * ps, SEED_B);

	/* Writable translations of both pages */
	test_cmd_dev_write(mem, 2 * ps, src, NULL);
	EXPECT_TRUE(mnsim_match(mem, 2 * ps, SEED_B));

	test_cmd_stats(&s0);
	ASSERT_EQ(0, mprotect(mem, 2 * ps, PROT_READ));
	test_cmd_stats(&s1);
	test_check_invalidated(variant->mode, &s1, &s0);

	mnsim_fill(src, 2 * ps, SEED_C);
	test_err_dev_write(EFAULT, mem, 16, src, NULL);
	test_err_dev_write(EFAULT, mem + ps - 8, 16, src, NULL);
	EXPECT_TRUE(mnsim_match(mem, 2 * ps, SEED_B));
	test_cmd_dev_read(mem, 2 * ps, dst, NULL);
	EXPECT_TRUE(mnsim_match(dst, 2 * ps, SEED_B));

	ASSERT_EQ(0, mprotect(mem + ps, ps, PROT_NONE));
	test_err_dev_read(EFAULT, mem + ps, 16, dst, NULL);
	test_cmd_dev_read(mem, 16, dst, NULL);

	ASSERT_EQ(0, mprotect(mem, 2 * ps, RW));
	test_cmd_dev_write(mem, 2 * ps, src, NULL);
	EXPECT_TRUE(mnsim_match(mem, 2 * ps, SEED_C));

	/* A mapping that was never writable */
	ro = mnsim_map(ps, PROT_READ);
	ASSERT_NE(NULL, ro);
	test_err_dev_write(EFAULT, ro, 8, src, NULL);
	memset(dst, 0xff, ps);
	test_cmd_dev_read(ro, ps, dst, NULL);
	EXPECT_TRUE(mnsim_all(dst, ps, 0));
}

/*
 * MADV_DONTNEED drops the translations of the range: the device then reads
 * the fresh zero-filled pages, not the old data.
 */
TEST_F(mnsim, dontneed_reads_zero)
{
	size_t ps = self->page_size;
	struct mnsim_stats s0, s1;
	struct mnsim_access out;
	unsigned char *mem, *dst, *src;

	mem = mnsim_map(2 * ps, RW);
	dst = mnsim_map(2 * ps, RW);
	src = mnsim_map(ps, RW);
	ASSERT_NE(NULL, mem);
	ASSERT_NE(NULL, dst);
	ASSERT_NE(NULL, src);
	mnsim_fill(mem, 2 * ps, SEED_A);
	mnsim_fill(src, ps, SEED_B);

	test_cmd_dev_read(mem, 2 * ps, dst, NULL);
	EXPECT_TRUE(mnsim_match(dst, 2 * ps, SEED_A));

	test_cmd_stats(&s0);
	ASSERT_EQ(0, madvise(mem, 2 * ps, MADV_DONTNEED));
	test_cmd_stats(&s1);
	test_check_invalidated(variant->mode, &s1, &s0);

	memset(dst, 0xff, 2 * ps);
	test_cmd_dev_read(mem, 2 * ps, dst, &out);
	EXPECT_TRUE(mnsim_all(dst, 2 * ps, 0))
		TH_LOG("device read a page MADV_DONTNEED dropped");
	EXPECT_EQ(0ULL, out.hits);
	EXPECT_EQ(2ULL, out.misses);

	test_cmd_dev_write(mem + ps, ps, src, NULL);
	EXPECT_TRUE(mnsim_match(mem + ps, ps, SEED_B));
	EXPECT_TRUE(mnsim_all(mem, ps, 0));
}

/*
 * After mremap moves a page, the device finds its data at the new address
 * and nothing at the old one.
 */
TEST_F(mnsim, mremap_moves_translation)
{
	size_t ps = self->page_size;
	struct mnsim_stats s0, s1;
	unsigned char *mem, *to, *dst, *moved;

	mem = mnsim_map(ps, RW);
	to = mnsim_map(ps, RW);
	dst = mnsim_map(ps, RW);
	ASSERT_NE(NULL, mem);
	ASSERT_NE(NULL, to);
	ASSERT_NE(NULL, dst);
	mnsim_fill(mem, ps, SEED_A);
	memset(dst, 0, ps);

	test_cmd_dev_read(mem, ps, dst, NULL);
	EXPECT_TRUE(mnsim_match(dst, ps, SEED_A));

	test_cmd_stats(&s0);
	moved = mremap(mem, ps, ps, MREMAP_MAYMOVE | MREMAP_FIXED, to);
	ASSERT_EQ(to, moved);
	test_cmd_stats(&s1);
	test_check_invalidated(variant->mode, &s1, &s0);

	test_err_dev_read(EFAULT, mem, ps, dst, NULL);
	memset(dst, 0, ps);
	test_cmd_dev_read(to, ps, dst, NULL);
	EXPECT_TRUE(mnsim_match(dst, ps, SEED_A));
}

/*
 * FLUSH drops every translation: no live entry is left and the next read of
 * a cached page misses.
 */
TEST_F(mnsim, flush_drops_entries)
{
	size_t ps = self->page_size;
	struct mnsim_stats s0, s1, d;
	struct mnsim_access out;
	unsigned char *mem, *dst;

	mem = mnsim_map(2 * ps, RW);
	dst = mnsim_map(2 * ps, RW);
	ASSERT_NE(NULL, mem);
	ASSERT_NE(NULL, dst);
	mnsim_fill(mem, 2 * ps, SEED_A);
	memset(dst, 0, 2 * ps);

	test_cmd_dev_read(mem, 2 * ps, dst, NULL);
	test_cmd_dev_read(mem, 2 * ps, dst, &out);
	EXPECT_EQ(2ULL, out.hits);

	test_cmd_stats(&s0);
	test_cmd_flush();
	test_cmd_stats(&s1);
	d = mnsim_stats_delta(&s1, &s0);
	EXPECT_LE(1ULL, d.full_flushes);
	EXPECT_EQ(0U, s1.entries);

	memset(dst, 0, 2 * ps);
	test_cmd_dev_read(mem, 2 * ps, dst, &out);
	EXPECT_EQ(0ULL, out.hits);
	EXPECT_EQ(2ULL, out.misses);
	EXPECT_TRUE(mnsim_match(dst, 2 * ps, SEED_A));
}

/*
 * A TLB bound with a small capacity evicts to make room: live entries never
 * exceed the capacity and every page past it costs an eviction.
 */
TEST_F(mnsim, capacity_evicts)
{
	size_t ps = self->page_size;
	struct mnsim_stats s0, s1, d;
	unsigned char *mem, *dst;
	__u32 cap, i, n;

	cap = self->info.max_capacity < 4 ? self->info.max_capacity : 4;
	n = cap + 4;
	test_cmd_unbind();
	test_cmd_bind(variant->mode, MNSIM_TARGET_SELF, cap);

	mem = mnsim_map(n * ps, RW);
	dst = mnsim_map(ps, RW);
	ASSERT_NE(NULL, mem);
	ASSERT_NE(NULL, dst);
	mnsim_fill(mem, n * ps, SEED_A);
	memset(dst, 0, ps);

	test_cmd_stats(&s0);
	EXPECT_EQ(cap, s0.capacity);
	for (i = 0; i < n; i++) {
		test_cmd_dev_read(mem + i * ps, ps, dst, NULL);
		EXPECT_EQ(0, memcmp(dst, mem + i * ps, ps));
	}
	test_cmd_stats(&s1);
	EXPECT_GE(cap, s1.entries);
	d = mnsim_stats_delta(&s1, &s0);
	EXPECT_LE((__u64)n, d.fills);
	EXPECT_LE((__u64)(n - cap), d.evictions);
}

/*
 * DEV_READ and DEV_WRITE refuse unknown flags and non-zero padding, wrapping
 * and kernel-half ranges, lengths above the maximum, and buffers or
 * addresses that cannot be accessed; len 0 does nothing.
 */
TEST_F(mnsim, access_invalid_args)
{
	size_t ps = self->page_size;
	struct mnsim_access acc, out;
	unsigned char *mem, *dst, *ro, *hole;

	/* One usable page each, followed by a PROT_NONE guard page */
	mem = mnsim_map(2 * ps, RW);
	dst = mnsim_map(2 * ps, RW);
	ro = mnsim_map(ps, PROT_READ);
	hole = mnsim_map(ps, RW);
	ASSERT_NE(NULL, mem);
	ASSERT_NE(NULL, dst);
	ASSERT_NE(NULL, ro);
	ASSERT_NE(NULL, hole);
	ASSERT_EQ(0, mprotect(mem + ps, ps, PROT_NONE));
	ASSERT_EQ(0, mprotect(dst + ps, ps, PROT_NONE));
	ASSERT_EQ(0, munmap(hole, ps));
	mnsim_fill(mem, ps, SEED_A);
	memset(dst, 0, ps);

	memset(&acc, 0, sizeof(acc));
	acc.va = MNSIM_PTR(mem);
	acc.len = 16;
	acc.buf = MNSIM_PTR(dst);
	acc.flags = FLAG_UNKNOWN;
	test_err_ioctl(EOPNOTSUPP, MNSIM_IOC_DEV_READ, &acc);
	test_err_ioctl(EOPNOTSUPP, MNSIM_IOC_DEV_WRITE, &acc);
	acc.flags = 0;
	acc.__pad = 1;
	test_err_ioctl(EINVAL, MNSIM_IOC_DEV_READ, &acc);
	test_err_ioctl(EINVAL, MNSIM_IOC_DEV_WRITE, &acc);
	acc.__pad = 0;
	acc.__reserved = 1;
	test_err_ioctl(EINVAL, MNSIM_IOC_DEV_READ, &acc);
	test_err_ioctl(EINVAL, MNSIM_IOC_DEV_WRITE, &acc);

	/* Ranges that wrap or reach the kernel half */
	test_err_dev_read(EINVAL, UINT64_MAX - 15, 32, dst, NULL);
	test_err_dev_write(EINVAL, UINT64_MAX - 15, 32, dst, NULL);
	test_err_dev_read(EINVAL, UINT64_MAX, 1, dst, NULL);
	test_err_dev_read(EINVAL, 0xffff800000000000ULL, 8, dst, NULL);
	test_err_dev_write(EINVAL, 0xffff800000000000ULL, 8, dst, NULL);

	/*
	 * Lengths: one past the maximum is refused; the maximum itself is
	 * accepted and runs until the guard page.
	 */
	test_err_dev_read(E2BIG, mem, MNSIM_MAX_ACCESS_LEN + 1, dst, NULL);
	test_err_dev_write(E2BIG, mem, MNSIM_MAX_ACCESS_LEN + 1, dst, NULL);
	test_err_dev_read(EFAULT, mem, MNSIM_MAX_ACCESS_LEN, dst, NULL);

	/* Buffers the kernel cannot use */
	test_err_dev_read(EFAULT, mem, 16, NULL, NULL);
	test_err_dev_write(EFAULT, mem, 16, NULL, NULL);
	test_err_dev_read(EFAULT, mem, 16, dst + ps, NULL);
	test_err_dev_read(EFAULT, mem, 16, ro, NULL);
	EXPECT_TRUE(mnsim_match(mem, ps, SEED_A));

	/* Addresses the device cannot reach */
	test_err_dev_read(EFAULT, hole, 8, dst, NULL);
	test_err_dev_write(EFAULT, hole, 8, dst, NULL);
	test_err_dev_read(EFAULT, mem + ps, 8, dst, NULL);
	test_err_dev_read(EFAULT, 0, 8, dst, NULL);

	/* len 0 touches nothing */
	memset(dst, 0x5a, ps);
	test_cmd_dev_read(mem, 0, dst, &out);
	EXPECT_EQ(0ULL, out.hits + out.misses + out.faults);
	EXPECT_TRUE(mnsim_all(dst, ps, 0x5a));
}

/*
 * INFO, STATS, FLUSH and UNBIND refuse unknown flags with EOPNOTSUPP and
 * non-zero padding or reserved words with EINVAL, and change nothing.
 */
TEST_F(mnsim, cmd_invalid_fields)
{
	struct mnsim_unbind unbind;
	struct mnsim_flush flush;
	struct mnsim_info info;
	struct mnsim_stats st;

	memset(&info, 0, sizeof(info));
	info.flags = FLAG_UNKNOWN;
	test_err_ioctl(EOPNOTSUPP, MNSIM_IOC_INFO, &info);
	/* bind_flags is an output: whatever comes in is overwritten. */
	info.flags = 0;
	info.bind_flags = ~0U;
	test_ioctl(MNSIM_IOC_INFO, &info);
	EXPECT_EQ(0U, info.bind_flags & ~(MNSIM_BIND_RECORD |
					  MNSIM_BIND_ORACLE |
					  MNSIM_BIND_NO_FLUSH |
					  MNSIM_BIND_PERM_CACHE));

	memset(&st, 0, sizeof(st));
	st.flags = FLAG_UNKNOWN;
	test_err_ioctl(EOPNOTSUPP, MNSIM_IOC_STATS, &st);
	memset(&st, 0, sizeof(st));
	st.__reserved = 1;
	test_err_ioctl(EINVAL, MNSIM_IOC_STATS, &st);

	memset(&flush, 0, sizeof(flush));
	flush.flags = FLAG_UNKNOWN;
	test_err_ioctl(EOPNOTSUPP, MNSIM_IOC_FLUSH, &flush);
	flush.flags = 0;
	flush.__pad = 1;
	test_err_ioctl(EINVAL, MNSIM_IOC_FLUSH, &flush);
	flush.__pad = 0;
	flush.__reserved = 1;
	test_err_ioctl(EINVAL, MNSIM_IOC_FLUSH, &flush);

	memset(&unbind, 0, sizeof(unbind));
	unbind.flags = FLAG_UNKNOWN;
	test_err_ioctl(EOPNOTSUPP, MNSIM_IOC_UNBIND, &unbind);
	unbind.flags = 0;
	unbind.__pad = 1;
	test_err_ioctl(EINVAL, MNSIM_IOC_UNBIND, &unbind);
	unbind.__pad = 0;
	unbind.__reserved = 1;
	test_err_ioctl(EINVAL, MNSIM_IOC_UNBIND, &unbind);

	test_cmd_stats(&st);
	EXPECT_EQ(variant->mode, st.mode);
}

/*
 * A DEV_RWV vector runs its ranges in order, reads and writes mixed, each
 * range seeing the effect of the ones before it.
 */
TEST_F(mnsim, rwv_roundtrip)
{
	const size_t ps = self->page_size, size = 4 * ps;
	struct mnsim_vec_range r[4];
	struct mnsim_access_vec out;
	unsigned char *mem, *src, *dst1, *dst2, *expect;

	mem = mnsim_map(size, RW);
	src = mnsim_map(ps, RW);
	dst1 = mnsim_map(ps, RW);
	dst2 = mnsim_map(2 * ps, RW);
	expect = mnsim_map(size, RW);
	ASSERT_NE(NULL, mem);
	ASSERT_NE(NULL, src);
	ASSERT_NE(NULL, dst1);
	ASSERT_NE(NULL, dst2);
	ASSERT_NE(NULL, expect);
	mnsim_fill(mem, size, SEED_A);
	mnsim_fill(src, ps, SEED_B);
	memset(dst1, 0, ps);
	memset(dst2, 0, 2 * ps);
	memcpy(expect, mem, size);
	memcpy(expect + ps - 10, src, 20);

	r[0] = mnsim_range(MNSIM_ACCESS_WRITE, mem + ps - 10, 20, src);
	r[1] = mnsim_range(0, mem + ps - 10, 20, dst1);
	r[2] = mnsim_range(0, mem + 2 * ps + 5, ps, dst2);
	r[3] = mnsim_range(0, mem + 3 * ps, 0, dst2 + ps);
	test_cmd_dev_rwv(r, 4, &out);
	EXPECT_EQ(4ULL, out.done);
	EXPECT_EQ(0, memcmp(dst1, src, 20));
	EXPECT_EQ(0, memcmp(dst2, mem + 2 * ps + 5, ps));
	EXPECT_TRUE(mnsim_all(dst2 + ps, ps, 0));
	EXPECT_EQ(0, memcmp(mem, expect, size));
	EXPECT_EQ(6ULL, out.hits + out.misses);
	/* The read-back of range 1 hits what range 0 filled. */
	EXPECT_LE(2ULL, out.hits);

	/* Read everything back as one vector of single pages */
	r[0] = mnsim_range(0, mem, ps, dst2);
	r[1] = mnsim_range(0, mem + ps, ps, dst2 + ps);
	test_cmd_dev_rwv(r, 2, &out);
	EXPECT_EQ(2ULL, out.done);
	EXPECT_EQ(0, memcmp(dst2, expect, 2 * ps));

	/* An empty vector */
	test_cmd_dev_rwv(r, 0, &out);
	EXPECT_EQ(0ULL, out.done);
}

/*
 * DEV_RWV refuses bad vector fields, more than MNSIM_MAX_VEC ranges and bad
 * range fields, and on a failing range reports its index in done, after the
 * ranges before it took effect.
 */
TEST_F(mnsim, rwv_invalid_args)
{
	size_t ps = self->page_size;
	struct mnsim_vec_range r[2], *many;
	struct mnsim_access_vec vec, out;
	unsigned char *mem, *src, *dst, *hole, *expect;
	unsigned int i;

	mem = mnsim_map(ps, RW);
	src = mnsim_map(ps, RW);
	dst = mnsim_map(ps, RW);
	hole = mnsim_map(ps, RW);
	expect = mnsim_map(ps, RW);
	ASSERT_NE(NULL, mem);
	ASSERT_NE(NULL, src);
	ASSERT_NE(NULL, dst);
	ASSERT_NE(NULL, hole);
	ASSERT_NE(NULL, expect);
	ASSERT_EQ(0, munmap(hole, ps));
	mnsim_fill(mem, ps, SEED_A);
	mnsim_fill(src, ps, SEED_B);
	memset(dst, 0, ps);
	memcpy(expect, mem, ps);
	r[0] = mnsim_range(0, mem, 16, dst);
	r[1] = mnsim_range(0, mem, 16, dst);

	memset(&vec, 0, sizeof(vec));
	vec.nr_ranges = 1;
	vec.ranges = MNSIM_PTR(r);
	vec.flags = FLAG_UNKNOWN;
	test_err_ioctl(EOPNOTSUPP, MNSIM_IOC_DEV_RWV, &vec);
	vec.flags = 0;
	vec.__reserved = 1;
	test_err_ioctl(EINVAL, MNSIM_IOC_DEV_RWV, &vec);
	test_err_dev_rwv(EFAULT, NULL, 1, NULL);

	/* MNSIM_MAX_VEC empty ranges are fine; one more is too many. */
	many = calloc(MNSIM_MAX_VEC + 1, sizeof(*many));
	ASSERT_NE(NULL, many);
	for (i = 0; i < MNSIM_MAX_VEC + 1; i++)
		many[i] = mnsim_range(0, mem, 0, dst);
	test_cmd_dev_rwv(many, MNSIM_MAX_VEC, &out);
	EXPECT_EQ((__u64)MNSIM_MAX_VEC, out.done);
	test_err_dev_rwv(E2BIG, many, MNSIM_MAX_VEC + 1, NULL);
	free(many);

	/*
	 * Range 1 is bad in one way each time; range 0 is a good read. Every
	 * range's arguments are checked before any range runs: none is done.
	 */
	r[1].flags = FLAG_UNKNOWN;
	EXPECT_ERRNO(EOPNOTSUPP, _test_cmd_dev_rwv(self->fd, r, 2, &out));
	EXPECT_EQ(0ULL, out.done);
	r[1].flags = 0;
	r[1].__pad = 1;
	EXPECT_ERRNO(EINVAL, _test_cmd_dev_rwv(self->fd, r, 2, &out));
	EXPECT_EQ(0ULL, out.done);
	r[1].__pad = 0;
	r[1].len = MNSIM_MAX_ACCESS_LEN + 1;
	EXPECT_ERRNO(E2BIG, _test_cmd_dev_rwv(self->fd, r, 2, &out));
	EXPECT_EQ(0ULL, out.done);
	r[1] = mnsim_range(0, (void *)(uintptr_t)0xffff800000000000ULL, 8,
			   dst);
	EXPECT_ERRNO(EINVAL, _test_cmd_dev_rwv(self->fd, r, 2, &out));
	EXPECT_EQ(0ULL, out.done);
	EXPECT_TRUE(mnsim_all(dst, 16, 0));

	/* A failing range does not undo the write before it. */
	r[0] = mnsim_range(MNSIM_ACCESS_WRITE, mem, 32, src);
	r[1] = mnsim_range(0, hole, 8, dst);
	EXPECT_ERRNO(EFAULT, _test_cmd_dev_rwv(self->fd, r, 2, &out));
	EXPECT_EQ(1ULL, out.done);
	memcpy(expect, src, 32);
	EXPECT_EQ(0, memcmp(mem, expect, ps));
}

/*
 * As root, the device binds to another process (a forked child): it reads
 * and writes the child's memory, not the test's, and once the child exits
 * accesses fail with ESRCH until UNBIND.
 */
TEST_F(mnsim, bind_other_process)
{
	size_t ps = self->page_size;
	struct mnsim_stats s0, s1, d;
	struct mnsim_chan ch;
	unsigned char *mem, *dst, *src;
	int fd2, status;
	pid_t pid;

	mem = mnsim_map(ps, RW);
	dst = mnsim_map(ps, RW);
	src = mnsim_map(ps, RW);
	ASSERT_NE(NULL, mem);
	ASSERT_NE(NULL, dst);
	ASSERT_NE(NULL, src);
	mnsim_fill(mem, ps, SEED_A);
	memset(dst, 0, ps);
	mnsim_fill(src, ps, SEED_C);
	ASSERT_EQ(0, mnsim_chan_open(&ch));

	pid = mnsim_fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		/* Its own data at the same address, then the device's */
		mnsim_fill(mem, ps, SEED_B);
		if (mnsim_send(ch.to_parent[1], 'r'))
			_exit(2);
		check_in_child(&ch, mem, ps, SEED_C);
	}
	mnsim_chan_parent(&ch);
	ASSERT_EQ('r', mnsim_recv(ch.to_parent[0]));

	fd2 = mnsim_open();
	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, _test_cmd_bind(fd2, variant->mode, pid, 0));
	ASSERT_EQ(0, _test_cmd_dev_read(fd2, mem, ps, dst, NULL));
	EXPECT_TRUE(mnsim_match(dst, ps, SEED_B))
		TH_LOG("the device did not read the child's memory");
	ASSERT_EQ(0, _test_cmd_dev_write(fd2, mem, ps, src, NULL));
	EXPECT_TRUE(mnsim_match(mem, ps, SEED_A))
		TH_LOG("a device bound to the child wrote the test's memory");
	memset(dst, 0, ps);
	test_cmd_dev_read(mem, ps, dst, NULL);
	EXPECT_TRUE(mnsim_match(dst, ps, SEED_A));

	ASSERT_EQ(0, _test_cmd_stats(fd2, &s0));
	EXPECT_EQ(variant->mode, s0.mode);
	ASSERT_EQ(0, mnsim_send(ch.to_child[1], 'g'));
	EXPECT_EQ(1, mnsim_recv(ch.to_parent[0]))
		TH_LOG("the child does not see the device write");
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));

	/* The child's address space is gone: the binding is over. */
	EXPECT_ERRNO(ESRCH, _test_cmd_dev_read(fd2, mem, ps, dst, NULL));
	EXPECT_ERRNO(ESRCH, _test_cmd_dev_write(fd2, mem, ps, src, NULL));
	ASSERT_EQ(0, _test_cmd_stats(fd2, &s1));
	d = mnsim_stats_delta(&s1, &s0);
	EXPECT_LE(1ULL, d.release_calls);
	EXPECT_EQ(0U, s1.entries);
	ASSERT_EQ(0, _test_cmd_unbind(fd2));
	EXPECT_ERRNO(ENXIO, _test_cmd_unbind(fd2));
	close(fd2);
}

/*
 * One past the highest address a device access may reach: TASK_SIZE_MAX,
 * 2^47 less a page on x86-64, 2^56 less a page with 5-level paging.
 * 0 elsewhere (the boundary rows are then skipped).
 */
static __u64 user_top(size_t ps)
{
#ifdef __x86_64__
	char line[8192];
	bool la57 = false;
	FILE *f;

	f = fopen("/proc/cpuinfo", "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "flags", 5)) {
			la57 = !!strstr(line, " la57");
			break;
		}
	}
	fclose(f);
	return (1ULL << (la57 ? 56 : 47)) - ps;
#else
	(void)ps;	/* unknown: the boundary rows are skipped */
	return 0;
#endif
}

enum va_base {
	AT_MEM,			/* mem + off: two RW pages, then PROT_NONE */
	AT_TOP,			/* user_top() + off */
	AT_ABS,			/* off itself */
};

struct range_case {
	const char *name;
	enum va_base base;
	__u64 off;
	__u64 len;
	int err;		/* DEV_READ, DEV_WRITE, DEV_RWV */
	int err_nofault;	/* the same with MNSIM_ACCESS_NOFAULT */
};

#define MAXLEN		MNSIM_MAX_ACCESS_LEN
#define KTEXT		0xffffffff81000000ULL

static const struct range_case range_cases[] = {
	{ "unaligned in a page", AT_MEM, 1, 100, 0, 0 },
	{ "unaligned across pages", AT_MEM, 4093, 6, 0, 0 },
	{ "whole mapping, odd start", AT_MEM, 3, 8189, 0, 0 },
	{ "len 0 at NULL", AT_ABS, 0, 0, 0, 0 },
	{ "len 0 in the kernel half", AT_ABS, KERNEL_HALF, 0, 0, 0 },
	{ "len 0 wrapping", AT_ABS, ~0ULL, 0, 0, 0 },
	/* A page that is not mapped is EFAULT, ENOENT without faults. */
	{ "into the PROT_NONE page", AT_MEM, 8188, 8, EFAULT, ENOENT },
	{ "max len, into PROT_NONE", AT_MEM, 0, MAXLEN, EFAULT, ENOENT },
	{ "NULL", AT_ABS, 0, 8, EFAULT, ENOENT },
	{ "last user bytes", AT_TOP, -8ULL, 8, EFAULT, ENOENT },
	{ "len above the maximum", AT_MEM, 0, MAXLEN + 1, E2BIG, E2BIG },
	{ "len 2^32 + 8", AT_MEM, 0, (1ULL << 32) + 8, E2BIG, E2BIG },
	{ "len ~0", AT_MEM, 0, ~0ULL, E2BIG, E2BIG },
	{ "crosses the top", AT_TOP, -8ULL, 9, EINVAL, EINVAL },
	{ "at the top", AT_TOP, 0, 1, EINVAL, EINVAL },
	{ "bit 63", AT_ABS, 1ULL << 63, 8, EINVAL, EINVAL },
	{ "kernel half", AT_ABS, KERNEL_HALF, 8, EINVAL, EINVAL },
	{ "kernel text", AT_ABS, KTEXT, 4096, EINVAL, EINVAL },
	{ "last byte of the address space", AT_ABS, ~0ULL, 1, EINVAL, EINVAL },
	{ "wraps", AT_ABS, ~0ULL - 15, 32, EINVAL, EINVAL },
	{ "max len, wraps", AT_ABS, ~0ULL - 4095, MAXLEN, EINVAL, EINVAL },
};

/*
 * Every device access (DEV_READ, DEV_WRITE, a DEV_RWV range, and a read
 * with MNSIM_ACCESS_NOFAULT) gives the documented errno for each kind of
 * range: unaligned ranges work, len 0 is a no-op wherever it points,
 * lengths above MNSIM_MAX_ACCESS_LEN are E2BIG, ranges that wrap or reach
 * TASK_SIZE_MAX or the kernel half are EINVAL, and unmapped pages are
 * EFAULT (ENOENT with NOFAULT, which never faults). Nothing outside the
 * successful ranges changes.
 */
TEST_F(mnsim, access_range_table)
{
	size_t ps = self->page_size;
	const __u64 top = user_top(ps);
	unsigned char *mem, *buf, *expect;
	struct mnsim_vec_range r;
	struct mnsim_access out;
	bool top_mapped;
	unsigned int i;

	mem = mnsim_map(3 * ps, RW);
	buf = mnsim_map(3 * ps, RW);
	expect = mnsim_map(2 * ps, RW);
	ASSERT_NE(NULL, mem);
	ASSERT_NE(NULL, buf);
	ASSERT_NE(NULL, expect);
	ASSERT_EQ(0, mprotect(mem + 2 * ps, ps, PROT_NONE));
	mnsim_fill(mem, 2 * ps, SEED_A);
	memcpy(expect, mem, 2 * ps);
	/* The table's offsets are in 4 KiB pages. */
	ASSERT_EQ(4096U, ps);
	/* The stack may reach the top without ASLR: then skip those rows. */
	top_mapped = top && !msync((void *)(uintptr_t)(top - ps), ps, MS_ASYNC);

	for (i = 0; i < ARRAY_SIZE(range_cases); i++) {
		const struct range_case *rc = &range_cases[i];
		__u64 va, in;
		int ret;

		if (rc->base == AT_TOP && (!top || top_mapped))
			continue;
		va = rc->base == AT_MEM ? MNSIM_PTR(mem) + rc->off :
		     rc->base == AT_TOP ? top + rc->off : rc->off;
		/* A write puts back what is there: nothing may change. */
		in = rc->base == AT_MEM && rc->off < 2 * ps ?
		     2 * ps - rc->off : 0;
		if (in > rc->len)
			in = rc->len;
		memset(buf, 0x5a, 3 * ps);
		memcpy(buf, mem + (rc->base == AT_MEM ? rc->off : 0), in);

		ret = _test_cmd_dev_access(self->fd, MNSIM_IOC_DEV_WRITE, va,
					   rc->len, buf, NULL);
		EXPECT_EQ(-rc->err, ret) TH_LOG("DEV_WRITE: %s", rc->name);
		memset(buf, 0x5a, 3 * ps);
		ret = _test_cmd_dev_access(self->fd, MNSIM_IOC_DEV_READ, va,
					   rc->len, buf, &out);
		EXPECT_EQ(-rc->err, ret) TH_LOG("DEV_READ: %s", rc->name);
		if (!ret && rc->base == AT_MEM) {
			EXPECT_EQ(0, memcmp(buf, mem + rc->off, rc->len));
			EXPECT_TRUE(mnsim_all(buf + rc->len, 64, 0x5a));
		}
		r = mnsim_range(0, (void *)(uintptr_t)va, rc->len, buf);
		ret = _test_cmd_dev_rwv(self->fd, &r, 1, NULL);
		EXPECT_EQ(-rc->err, ret) TH_LOG("DEV_RWV: %s", rc->name);
		r.flags = MNSIM_ACCESS_NOFAULT;
		ret = _test_cmd_dev_rwv(self->fd, &r, 1, NULL);
		EXPECT_EQ(-rc->err_nofault, ret)
			TH_LOG("DEV_RWV NOFAULT: %s", rc->name);
	}
	EXPECT_EQ(0, memcmp(mem, expect, 2 * ps));
}

struct buf_case {
	const char *name;
	int where;		/* see buf_at() */
	int err_read;
	int err_write;
};

enum {
	BUF_NULL, BUF_KHALF, BUF_KTEXT, BUF_WRAP, BUF_NONE, BUF_RO, BUF_HOLE,
	BUF_STRADDLE,
};

static const struct buf_case buf_cases[] = {
	{ "NULL", BUF_NULL, EFAULT, EFAULT },
	{ "kernel half", BUF_KHALF, EFAULT, EFAULT },
	{ "kernel text", BUF_KTEXT, EFAULT, EFAULT },
	{ "wrapping", BUF_WRAP, EFAULT, EFAULT },
	{ "PROT_NONE", BUF_NONE, EFAULT, EFAULT },
	{ "read-only", BUF_RO, EFAULT, 0 },
	{ "unmapped", BUF_HOLE, EFAULT, EFAULT },
	{ "last bytes in PROT_NONE", BUF_STRADDLE, EFAULT, EFAULT },
};

/*
 * A caller's buffer the kernel cannot use fails DEV_READ (which writes it)
 * and DEV_WRITE (which reads it) with EFAULT, also inside a DEV_RWV: NULL,
 * kernel addresses, a wrapping range, PROT_NONE, unmapped, or running
 * into PROT_NONE; a read-only buffer is only good for DEV_WRITE. No byte
 * of kernel memory reaches the bound pages. The DEV_RWV array itself is
 * checked the same way.
 */
TEST_F(mnsim, access_buffer_table)
{
	size_t ps = self->page_size;
	unsigned char *mem, *region, *ro, *hole, *arr;
	struct mnsim_vec_range r[2];
	struct mnsim_access_vec out;
	unsigned int i, k;

	mem = mnsim_map(ps, RW);
	region = mnsim_map(2 * ps, RW);
	ro = mnsim_map(ps, RW);
	hole = mnsim_map(ps, RW);
	ASSERT_NE(NULL, mem);
	ASSERT_NE(NULL, region);
	ASSERT_NE(NULL, ro);
	ASSERT_NE(NULL, hole);
	mnsim_fill(mem, ps, SEED_A);
	memset(region, 0, ps);
	memcpy(ro, mem, ps);
	ASSERT_EQ(0, mprotect(region + ps, ps, PROT_NONE));
	ASSERT_EQ(0, mprotect(ro, ps, PROT_READ));
	ASSERT_EQ(0, munmap(hole, ps));

	for (i = 0; i < ARRAY_SIZE(buf_cases); i++) {
		const struct buf_case *bc = &buf_cases[i];
		const __u64 at[] = {
			[BUF_NULL] = 0,
			[BUF_KHALF] = KERNEL_HALF,
			[BUF_KTEXT] = KTEXT,
			[BUF_WRAP] = ~0ULL - 3,
			[BUF_NONE] = MNSIM_PTR(region + ps),
			[BUF_RO] = MNSIM_PTR(ro),
			[BUF_HOLE] = MNSIM_PTR(hole),
			[BUF_STRADDLE] = MNSIM_PTR(region + ps - 4),
		};
		void *b = (void *)(uintptr_t)at[bc->where];

		for (k = 0; k < 2; k++) {
			int err = k ? bc->err_write : bc->err_read;
			__u32 flags = k ? MNSIM_ACCESS_WRITE : 0;
			int ret;

			/*
			 * A write from a buffer that runs into PROT_NONE
			 * fails, but may have moved the bytes before the fault
			 * (DMA that faulted part way): let them be the ones
			 * there already. (A failed read may have left anything
			 * in its buffer: fault_in_writeable() writes zeroes.)
			 */
			memcpy(region + ps - 4, mem, 4);

			ret = _test_cmd_dev_access(self->fd, k ?
						   MNSIM_IOC_DEV_WRITE :
						   MNSIM_IOC_DEV_READ,
						   MNSIM_PTR(mem), 8, b, NULL);
			EXPECT_EQ(-err, ret)
				TH_LOG("%s buffer %s", k ? "DEV_WRITE" :
				       "DEV_READ", bc->name);
			r[0] = mnsim_range(flags, mem, 8, b);
			ret = _test_cmd_dev_rwv(self->fd, r, 1, &out);
			EXPECT_EQ(-err, ret)
				TH_LOG("DEV_RWV %s buffer %s", k ? "write" :
				       "read", bc->name);
			EXPECT_TRUE(mnsim_match(mem, ps, SEED_A))
				TH_LOG("%s from a buffer %s changed the page",
				       k ? "a write" : "a read", bc->name);
			mnsim_fill(mem, ps, SEED_A);
		}
	}
	EXPECT_TRUE(mnsim_match(mem, ps, SEED_A));
	EXPECT_TRUE(mnsim_match(ro, ps, SEED_A));

	/* The range array */
	test_err_dev_rwv(EFAULT, NULL, 1, NULL);
	test_err_dev_rwv(EFAULT, (void *)(uintptr_t)KERNEL_HALF, 1, NULL);
	test_err_dev_rwv(EFAULT, (void *)(uintptr_t)(region + ps), 1, NULL);
	test_err_dev_rwv(EFAULT, (void *)(uintptr_t)hole, 1, NULL);
	test_err_dev_rwv(E2BIG, NULL, UINT32_MAX, NULL);
	test_cmd_dev_rwv(NULL, 0, &out);
	EXPECT_EQ(0ULL, out.done);
	/*
	 * Range 1 ends in PROT_NONE: the array is read whole before any range
	 * runs, so EFAULT with nothing done.
	 */
	arr = region + ps - 2 * sizeof(r[0]) + 1;
	r[0] = mnsim_range(0, mem, 8, region);
	memcpy(arr, &r[0], sizeof(r[0]));
	memcpy(arr + sizeof(r[0]), &r[0], sizeof(r[0]) - 1);
	memset(region, 0, 8);
	EXPECT_ERRNO(EFAULT, _test_cmd_dev_rwv(self->fd,
					       (struct mnsim_vec_range *)arr,
					       2, &out));
	EXPECT_EQ(0ULL, out.done);
	EXPECT_TRUE(mnsim_all(region, 8, 0));
}

/* What a command gives on a device whose bound process exited. */
static const struct cmd_expect after_exit[] = {
	{ MNSIM_IOC_INFO, "INFO", 0 },
	{ MNSIM_IOC_BIND, "BIND", EBUSY },
	{ MNSIM_IOC_DEV_READ, "DEV_READ", ESRCH },
	{ MNSIM_IOC_DEV_WRITE, "DEV_WRITE", ESRCH },
	{ MNSIM_IOC_DEV_RWV, "DEV_RWV", ESRCH },
	{ MNSIM_IOC_FLUSH, "FLUSH", 0 },
	{ MNSIM_IOC_STATS, "STATS", 0 },
	{ MNSIM_IOC_PARK, "PARK", 0 },
	{ MNSIM_IOC_PARK_CTL, "PARK_CTL", 0 },
	{ MNSIM_IOC_READ_EVENTS, "READ_EVENTS", 0 },
};

/*
 * Every command on a device whose bound process exited: device accesses
 * fail with ESRCH, on the zombie and after it was reaped, reads and
 * writes, with and without NOFAULT, in a vector too; argument errors still
 * come first (EOPNOTSUPP, EINVAL, E2BIG) and len 0 or an empty vector are
 * no-ops; BIND is EBUSY; INFO, FLUSH, STATS (mode kept, release counted, no
 * entry left), PARK, PARK_CTL and READ_EVENTS (with the RELEASE record)
 * work; UNBIND works, then the device is unbound and binds again.
 */
TEST_F(mnsim, cmd_table_after_exit)
{
	size_t ps = self->page_size;
	struct mnsim_event *ev;
	struct mnsim_read_events re;
	struct mnsim_access_vec vec;
	struct mnsim_park_ctl ctl;
	struct mnsim_vec_range r;
	unsigned char *mem, *buf;
	struct mnsim_chan ch;
	struct mnsim_stats st;
	struct valid_ctx c;
	union cmd_arg arg;
	unsigned int i;
	bool released;
	siginfo_t si;
	pid_t pid;
	int fd2;

	mem = mnsim_map(ps, RW);
	buf = mnsim_map(ps, RW);
	ev = calloc(MNSIM_EVENT_RING, sizeof(*ev));
	ASSERT_NE(NULL, mem);
	ASSERT_NE(NULL, buf);
	ASSERT_NE(NULL, ev);
	mnsim_fill(mem, ps, SEED_A);
	memset(buf, 0x5a, ps);
	ASSERT_EQ(0, mnsim_chan_open(&ch));
	pid = mnsim_fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		mnsim_chan_child(&ch);
		mnsim_fill(mem, ps, SEED_B);
		if (mnsim_send(ch.to_parent[1], 'r'))
			_exit(2);
		mnsim_recv(ch.to_child[0]);
		_exit(0);
	}
	mnsim_chan_parent(&ch);
	ASSERT_EQ('r', mnsim_recv(ch.to_parent[0]));
	fd2 = mnsim_open();
	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, _test_cmd_bind_flags(fd2, MNSIM_BIND_RECORD, variant->mode,
					  pid, 0));
	ASSERT_EQ(0, _test_cmd_dev_read(fd2, mem, ps, buf, NULL));
	EXPECT_TRUE(mnsim_match(buf, ps, SEED_B));

	/* Exited, not reaped: the address space is gone already. */
	ASSERT_EQ(0, mnsim_send(ch.to_child[1], 'x'));
	ASSERT_EQ(0, waitid(P_PID, pid, &si, WEXITED | WNOWAIT));
	EXPECT_ERRNO(ESRCH, _test_cmd_dev_read(fd2, mem, 8, buf, NULL));
	ASSERT_EQ(pid, waitpid(pid, NULL, 0));

	/* The ring ends with the RELEASE record of the whole range. */
	memset(&re, 0, sizeof(re));
	re.max = MNSIM_EVENT_RING;
	re.events = MNSIM_PTR(ev);
	ASSERT_EQ(0, mnsim_ioctl(fd2, MNSIM_IOC_READ_EVENTS, &re));
	released = false;
	for (i = 0; i < re.nr; i++)
		if (ev[i].type == MNSIM_EV_RELEASE && ev[i].end == ~0ULL)
			released = true;
	EXPECT_TRUE(released);

	memset(buf, 0x5a, ps);
	valid_ctx_init(&c, variant->mode, mem, buf);
	for (i = 0; i < ARRAY_SIZE(after_exit); i++) {
		make_valid(&c, after_exit[i].cmd, &arg);
		EXPECT_EQ(-after_exit[i].err,
			  mnsim_ioctl(fd2, after_exit[i].cmd, &arg))
			TH_LOG("%s after exit", after_exit[i].name);
	}
	EXPECT_TRUE(mnsim_all(buf, ps, 0x5a));

	/* The other forms of a device access */
	EXPECT_ERRNO(ESRCH, _test_cmd_dev_read(fd2, mem, ps, buf, NULL));
	r = mnsim_range(MNSIM_ACCESS_NOFAULT, mem, 8, buf);
	EXPECT_ERRNO(ESRCH, _test_cmd_dev_rwv(fd2, &r, 1, &vec));
	EXPECT_EQ(0ULL, vec.done);
	r.flags = MNSIM_ACCESS_WRITE;
	EXPECT_ERRNO(ESRCH, _test_cmd_dev_rwv(fd2, &r, 1, &vec));
	EXPECT_EQ(0ULL, vec.done);
	make_valid(&c, MNSIM_IOC_DEV_READ, &arg);
	arg.access.flags = MNSIM_ACCESS_NOFAULT;
	EXPECT_ERRNO(ESRCH, mnsim_ioctl(fd2, MNSIM_IOC_DEV_READ, &arg));
	EXPECT_ERRNO(ESRCH, mnsim_ioctl(fd2, MNSIM_IOC_DEV_WRITE, &arg));
	EXPECT_EQ(0, _test_cmd_dev_read(fd2, mem, 0, buf, NULL));
	EXPECT_EQ(0, _test_cmd_dev_rwv(fd2, &r, 0, NULL));
	EXPECT_TRUE(mnsim_all(buf, ps, 0x5a));

	/* Argument errors come first. */
	arg.access.flags = MNSIM_ACCESS_WRITE;
	EXPECT_ERRNO(EOPNOTSUPP, mnsim_ioctl(fd2, MNSIM_IOC_DEV_READ, &arg));
	EXPECT_ERRNO(EINVAL, _test_cmd_dev_read(fd2, KERNEL_HALF, 8, buf,
						NULL));
	EXPECT_ERRNO(E2BIG, _test_cmd_dev_write(fd2, mem, MAXLEN + 1, buf,
						NULL));

	ASSERT_EQ(0, _test_cmd_stats(fd2, &st));
	EXPECT_EQ(variant->mode, st.mode);
	EXPECT_LE(1ULL, st.release_calls);
	EXPECT_EQ(0U, st.entries);
	ASSERT_EQ(0, _test_cmd_park_ctl(fd2, MNSIM_PARK_CTL_DISARM, &ctl));
	EXPECT_EQ(0U, ctl.armed);
	EXPECT_EQ(0U, ctl.parked);
	EXPECT_EQ(0U, ctl.fired);

	ASSERT_EQ(0, _test_cmd_unbind(fd2));
	EXPECT_ERRNO(ENXIO, _test_cmd_unbind(fd2));
	EXPECT_ERRNO(ENXIO, _test_cmd_dev_read(fd2, mem, 8, buf, NULL));
	ASSERT_EQ(0, _test_cmd_bind(fd2, variant->mode, MNSIM_TARGET_SELF, 0));
	ASSERT_EQ(0, _test_cmd_dev_read(fd2, mem, ps, buf, NULL));
	EXPECT_TRUE(mnsim_match(buf, ps, SEED_A));
	close(fd2);
	free(ev);
}

/*
 * A command's return value tells what happened: with the argument in
 * read-only memory (the kernel can read the command, but not write the
 * result back), BIND, UNBIND and PARK either succeed and take effect or
 * fail with EFAULT and change nothing. A caller told EFAULT by BIND
 * believes the device unbound; were it bound, its next BIND would get EBUSY.
 */
TEST_F(mnsim, cmd_result_tells_the_truth)
{
	size_t ps = self->page_size;
	struct mnsim_park_ctl ctl;
	struct mnsim_stats st;
	unsigned char *ro, *mem;
	union cmd_arg arg;
	int fd2, ret;

	mem = mnsim_map(ps, RW);
	ro = mnsim_map(ps, RW);
	ASSERT_NE(NULL, mem);
	ASSERT_NE(NULL, ro);
	fd2 = mnsim_open();
	ASSERT_LE(0, fd2);

	/* PARK: armed if and only if it succeeded */
	memset(&arg, 0, sizeof(arg));
	arg.park.flags = MNSIM_PARK_END | MNSIM_PARK_DELAY;
	arg.park.timeout_ms = 1;
	arg.park.va = MNSIM_PTR(mem);
	memcpy(ro, &arg, sizeof(arg));
	ASSERT_EQ(0, mprotect(ro, ps, PROT_READ));
	ret = mnsim_ioctl(self->fd, MNSIM_IOC_PARK, ro);
	test_cmd_park_ctl(0, &ctl);
	EXPECT_TRUE(ret == 0 || ret == -EFAULT) TH_LOG("PARK: %d", ret);
	EXPECT_EQ(ret ? 0U : 1U, ctl.armed)
		TH_LOG("PARK returned %d, %u park(s) armed", ret, ctl.armed);
	test_cmd_park_ctl(MNSIM_PARK_CTL_DISARM, NULL);
	ASSERT_EQ(0, mprotect(ro, ps, RW));

	/* BIND: bound if and only if it succeeded */
	memset(&arg, 0, sizeof(arg));
	arg.bind.mode = variant->mode;
	memcpy(ro, &arg, sizeof(arg));
	ASSERT_EQ(0, mprotect(ro, ps, PROT_READ));
	ret = mnsim_ioctl(fd2, MNSIM_IOC_BIND, ro);
	ASSERT_EQ(0, _test_cmd_stats(fd2, &st));
	EXPECT_TRUE(ret == 0 || ret == -EFAULT) TH_LOG("BIND: %d", ret);
	EXPECT_EQ(ret ? 0U : variant->mode, st.mode)
		TH_LOG("BIND returned %d, the device is %s", ret,
		       st.mode ? "bound" : "unbound");

	/* UNBIND: unbound if and only if it succeeded */
	ASSERT_EQ(0, mprotect(ro, ps, RW));
	memset(ro, 0, ps);
	ASSERT_EQ(0, mprotect(ro, ps, PROT_READ));
	ret = mnsim_ioctl(self->fd, MNSIM_IOC_UNBIND, ro);
	test_cmd_stats(&st);
	EXPECT_TRUE(ret == 0 || ret == -EFAULT) TH_LOG("UNBIND: %d", ret);
	EXPECT_EQ(ret ? variant->mode : 0U, st.mode)
		TH_LOG("UNBIND returned %d, the device is %s", ret,
		       st.mode ? "bound" : "unbound");
	close(fd2);
}

TEST_HARNESS_MAIN
