/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for the mmu_notifier_sim selftest.
 *
 * Copyright (C) 2026 The mmu_notifier_sim authors
 *
 * One triad per ioctl: _test_cmd_x() issues it and returns 0 or -errno,
 * test_cmd_x() asserts success and test_err_x() asserts a given errno. The
 * test_* macros use _metadata and self->fd, so they belong inside TEST_F();
 * call _test_cmd_x() directly for a second device.
 */
#ifndef __MNSIM_UTILS_H
#define __MNSIM_UTILS_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <linux/capability.h>
#include <linux/mmu_notifier_sim.h>

/*
 * kselftest_harness.h is not clean under -Wextra: its SIGALRM handler has an
 * unused parameter, and in 6.12 GCC reports -Wclobbered for the fork
 * bookkeeping of a TEST_F() wrapper into which it inlined the test body.
 * Both are the harness's own; silence just these two.
 */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "kselftest_harness.h"
#pragma GCC diagnostic pop
#pragma GCC diagnostic ignored "-Wclobbered"

#define MNSIM_DEV_PATH		"/dev/mmu_notifier_sim"
#define MNSIM_MODE_BIT(mode)	(1U << (mode))
#define MNSIM_PTR(p)		((__u64)(uintptr_t)(p))

/* A command of number @nr, whatever the size of its structure. */
#define MNSIM_IOC_RAW(nr, size)	\
	_IOC(_IOC_READ | _IOC_WRITE, MNSIM_IOC_MAGIC, (nr), (size))
/* Largest size _test_cmd_sized() passes; _IOC_SIZE holds up to 16383. */
#define MNSIM_RAW_MAX		4096

/*
 * The statement for SKIP() in FIXTURE_SETUP: SKIP(MNSIM_SETUP_SKIP, ...).
 * A plain return is not enough with the 6.1 harness, which then runs the
 * test body anyway; there a test process reports a skip by exiting 255. The
 * 6.12 harness (which has KSELFTEST_PRIO_TEST) runs setup in a process of
 * its own and has the skip recorded already: that process just exits 0.
 */
#ifdef KSELFTEST_PRIO_TEST
#define MNSIM_SKIP_STATUS	0
#else
#define MNSIM_SKIP_STATUS	255
#endif
#define MNSIM_SETUP_SKIP	_exit(MNSIM_SKIP_STATUS)

/*
 * The command must fail, and with @expected_errno. A success stops the test,
 * since later steps would build on the wrong state; a wrong errno does not.
 */
#define EXPECT_ERRNO(expected_errno, cmd)				\
	do {								\
		int __ret = (cmd);					\
									\
		ASSERT_GT(0, __ret);					\
		EXPECT_EQ(-(expected_errno), __ret);			\
	} while (0)

/* ioctl() that retries EINTR. Return: 0 or -errno. */
static inline int mnsim_ioctl(int fd, unsigned long cmd, void *arg)
{
	int ret;

	do {
		ret = ioctl(fd, cmd, arg);
	} while (ret == -1 && errno == EINTR);
	return ret == -1 ? -errno : ret;
}

#define test_ioctl(cmd, arg)	ASSERT_EQ(0, mnsim_ioctl(self->fd, (cmd), (arg)))
#define test_err_ioctl(_errno, cmd, arg)				\
	EXPECT_ERRNO(_errno, mnsim_ioctl(self->fd, (cmd), (arg)))

/* Command @nr with @size encoded in it; @arg must hold @size bytes. */
static inline int _test_ioctl_raw(int fd, unsigned int nr, size_t size,
				  void *arg)
{
	return mnsim_ioctl(fd, MNSIM_IOC_RAW(nr, size), arg);
}

/*
 * Command @nr carrying the @known bytes at @cmd as a @size-byte structure:
 * truncated when shorter, zero-extended when longer, with @tail in its last
 * byte. On success the first @known bytes of the result are copied back.
 */
static inline int _test_cmd_sized(int fd, unsigned int nr, void *cmd,
				  size_t known, size_t size,
				  unsigned char tail)
{
	static __u64 raw[MNSIM_RAW_MAX / sizeof(__u64)];
	int ret;

	if (size > sizeof(raw) || known > sizeof(raw))
		return -E2BIG;
	memset(raw, 0, sizeof(raw));
	memcpy(raw, cmd, size < known ? size : known);
	if (size > known)
		((unsigned char *)raw)[size - 1] = tail;
	ret = _test_ioctl_raw(fd, nr, size, raw);
	if (!ret)
		memcpy(cmd, raw, known);
	return ret;
}

/* PFN mapped at @va in @pid (0: self; root sees PFNs), 0 if not present. */
static inline __u64 mnsim_pagemap_pfn_of(pid_t pid, const void *va, size_t ps)
{
	char path[64];
	__u64 ent = 0;
	int fd;

	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/pagemap", pid);
	else
		snprintf(path, sizeof(path), "/proc/self/pagemap");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if (pread(fd, &ent, sizeof(ent), (uintptr_t)va / ps * sizeof(ent)) !=
	    sizeof(ent))
		ent = 0;
	close(fd);
	if (!(ent & (1ULL << 63)))
		return 0;
	return ent & ((1ULL << 55) - 1);
}

static inline __u64 mnsim_pagemap_pfn(const void *va, size_t ps)
{
	return mnsim_pagemap_pfn_of(0, va, ps);
}

/* Read a small sysfs/tracefs file into @buf (NUL-terminated). */
static inline int mnsim_read_file(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return 0;
}

/*
 * Write @s to a sysfs/tracefs file in one write(); O_TRUNC, so that "" to
 * tracefs's "trace" clears the buffer. Return: 0 or -errno.
 */
static inline int mnsim_write_file(const char *path, const char *s)
{
	ssize_t n;
	int fd;

	fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	close(fd);
	return n == (ssize_t)strlen(s) ? 0 : -EIO;
}

static inline int mnsim_open(void)
{
	return open(MNSIM_DEV_PATH, O_RDWR | O_CLOEXEC);
}

/* A mode this kernel can emulate, SOFT first; 0 if none. */
static inline __u32 mnsim_any_mode(__u32 modes)
{
	if (modes & MNSIM_MODE_BIT(MNSIM_MODE_SOFT))
		return MNSIM_MODE_SOFT;
	if (modes & MNSIM_MODE_BIT(MNSIM_MODE_ATS))
		return MNSIM_MODE_ATS;
	if (modes & MNSIM_MODE_BIT(MNSIM_MODE_DEFER))
		return MNSIM_MODE_DEFER;
	return 0;
}

/* ---- INFO ---- */

static inline int _test_cmd_info(int fd, struct mnsim_info *info)
{
	memset(info, 0, sizeof(*info));
	return mnsim_ioctl(fd, MNSIM_IOC_INFO, info);
}

#define test_cmd_info(info)	ASSERT_EQ(0, _test_cmd_info(self->fd, (info)))

/*
 * The opening of a FIXTURE_SETUP: open the device into *@fd, read INFO into
 * *@info, and skip the test unless this kernel offers @mode.
 */
static inline void mnsim_setup_open(struct __test_metadata *_metadata,
				    int *fd, struct mnsim_info *info,
				    __u32 mode)
{
	*fd = mnsim_open();
	ASSERT_LE(0, *fd)
		TH_LOG("open %s: %s (module not loaded?)", MNSIM_DEV_PATH,
		       strerror(errno));
	ASSERT_EQ(0, _test_cmd_info(*fd, info));
	if (!(info->modes & MNSIM_MODE_BIT(mode)))
		SKIP(MNSIM_SETUP_SKIP, "mode %u not offered (hook %u, modes %#x)",
		     mode, info->hook, info->modes);
}

#define test_err_info(_errno, info)					\
	EXPECT_ERRNO(_errno, _test_cmd_info(self->fd, (info)))

/* ---- BIND / UNBIND ---- */

static inline int _test_cmd_bind_flags(int fd, __u32 flags, __u32 mode,
				       __s32 target, __u32 capacity)
{
	struct mnsim_bind cmd = {
		.flags = flags,
		.mode = mode,
		.target = target,
		.capacity = capacity,
	};

	return mnsim_ioctl(fd, MNSIM_IOC_BIND, &cmd);
}

static inline int _test_cmd_bind(int fd, __u32 mode, __s32 target,
				 __u32 capacity)
{
	return _test_cmd_bind_flags(fd, 0, mode, target, capacity);
}

#define test_cmd_bind(mode, target, capacity)				\
	ASSERT_EQ(0, _test_cmd_bind(self->fd, (mode), (target), (capacity)))
#define test_err_bind(_errno, mode, target, capacity)			\
	EXPECT_ERRNO(_errno, _test_cmd_bind(self->fd, (mode), (target),	\
					    (capacity)))

static inline int _test_cmd_unbind(int fd)
{
	struct mnsim_unbind cmd = {};

	return mnsim_ioctl(fd, MNSIM_IOC_UNBIND, &cmd);
}

#define test_cmd_unbind()	ASSERT_EQ(0, _test_cmd_unbind(self->fd))
#define test_err_unbind(_errno)						\
	EXPECT_ERRNO(_errno, _test_cmd_unbind(self->fd))

/* ---- DEV_READ / DEV_WRITE ---- */

/*
 * One device access of @len bytes at @va (an address of the bound process)
 * from or into @buf. @out, if not NULL, receives the structure as the kernel
 * returned it, also on error (the per-call counters).
 */
static inline int _test_cmd_dev_access(int fd, unsigned long cmd_nr, __u64 va,
				       __u64 len, void *buf,
				       struct mnsim_access *out)
{
	struct mnsim_access cmd = {
		.va = va,
		.len = len,
		.buf = MNSIM_PTR(buf),
	};
	int ret;

	ret = mnsim_ioctl(fd, cmd_nr, &cmd);
	if (out)
		*out = cmd;
	return ret;
}

#define _test_cmd_dev_read(fd, va, len, buf, out)			\
	_test_cmd_dev_access(fd, MNSIM_IOC_DEV_READ, MNSIM_PTR(va), len, buf, out)
#define test_cmd_dev_read(va, len, buf, out)				\
	ASSERT_EQ(0, _test_cmd_dev_read(self->fd, va, len, buf, out))
#define test_err_dev_read(_errno, va, len, buf, out)			\
	EXPECT_ERRNO(_errno, _test_cmd_dev_read(self->fd, va, len, buf, out))

#define _test_cmd_dev_write(fd, va, len, buf, out)			\
	_test_cmd_dev_access(fd, MNSIM_IOC_DEV_WRITE, MNSIM_PTR(va), len, buf, out)
#define test_cmd_dev_write(va, len, buf, out)				\
	ASSERT_EQ(0, _test_cmd_dev_write(self->fd, va, len, buf, out))
#define test_err_dev_write(_errno, va, len, buf, out)			\
	EXPECT_ERRNO(_errno, _test_cmd_dev_write(self->fd, va, len, buf, out))

/* ---- DEV_RWV ---- */

/* @out, if not NULL, receives the result, also on error (@done). */
static inline int _test_cmd_dev_rwv(int fd, struct mnsim_vec_range *ranges,
				    __u32 nr_ranges,
				    struct mnsim_access_vec *out)
{
	struct mnsim_access_vec cmd = {
		.nr_ranges = nr_ranges,
		.ranges = MNSIM_PTR(ranges),
	};
	int ret;

	ret = mnsim_ioctl(fd, MNSIM_IOC_DEV_RWV, &cmd);
	if (out)
		*out = cmd;
	return ret;
}

#define test_cmd_dev_rwv(ranges, nr, out)				\
	ASSERT_EQ(0, _test_cmd_dev_rwv(self->fd, (ranges), (nr), (out)))
#define test_err_dev_rwv(_errno, ranges, nr, out)			\
	EXPECT_ERRNO(_errno, _test_cmd_dev_rwv(self->fd, (ranges), (nr), (out)))

static inline struct mnsim_vec_range mnsim_range(__u32 flags, const void *va,
						 __u64 len, void *buf)
{
	struct mnsim_vec_range r = {
		.flags = flags,
		.va = MNSIM_PTR(va),
		.len = len,
		.buf = MNSIM_PTR(buf),
	};

	return r;
}

/* ---- FLUSH ---- */

static inline int _test_cmd_flush(int fd)
{
	struct mnsim_flush cmd = {};

	return mnsim_ioctl(fd, MNSIM_IOC_FLUSH, &cmd);
}

#define test_cmd_flush()	ASSERT_EQ(0, _test_cmd_flush(self->fd))
#define test_err_flush(_errno)	EXPECT_ERRNO(_errno, _test_cmd_flush(self->fd))

/* ---- PARK / PARK_CTL (fault injection) ---- */

/* Arm a park; @id, if not NULL, receives its slot. */
static inline int _test_cmd_park(int fd, __u32 flags, __u32 timeout_ms,
				 __u64 va, __u32 *id)
{
	struct mnsim_park cmd = {
		.flags = flags,
		.timeout_ms = timeout_ms,
		.va = va,
	};
	int ret;

	ret = mnsim_ioctl(fd, MNSIM_IOC_PARK, &cmd);
	if (!ret && id)
		*id = cmd.id;
	return ret;
}

#define test_cmd_park(flags, timeout_ms, va, id)			\
	ASSERT_EQ(0, _test_cmd_park(self->fd, (flags), (timeout_ms),	\
				    MNSIM_PTR(va), (id)))
#define test_err_park(_errno, flags, timeout_ms, va)			\
	EXPECT_ERRNO(_errno, _test_cmd_park(self->fd, (flags), (timeout_ms), \
					    MNSIM_PTR(va), NULL))

/* @out, if not NULL, receives the park counts after the command. */
static inline int _test_cmd_park_ctl(int fd, __u32 flags,
				     struct mnsim_park_ctl *out)
{
	struct mnsim_park_ctl cmd = { .flags = flags };
	int ret;

	ret = mnsim_ioctl(fd, MNSIM_IOC_PARK_CTL, &cmd);
	if (out)
		*out = cmd;
	return ret;
}

#define test_cmd_park_ctl(flags, out)					\
	ASSERT_EQ(0, _test_cmd_park_ctl(self->fd, (flags), (out)))
#define test_err_park_ctl(_errno, flags, out)				\
	EXPECT_ERRNO(_errno, _test_cmd_park_ctl(self->fd, (flags), (out)))

/* ---- STATS ---- */

static inline int _test_cmd_stats(int fd, struct mnsim_stats *st)
{
	memset(st, 0, sizeof(*st));
	return mnsim_ioctl(fd, MNSIM_IOC_STATS, st);
}

#define test_cmd_stats(st)	ASSERT_EQ(0, _test_cmd_stats(self->fd, (st)))
#define test_err_stats(_errno, st)					\
	EXPECT_ERRNO(_errno, _test_cmd_stats(self->fd, (st)))

/*
 * What happened between two STATS snapshots: each u64 counter of @after less
 * the one of @before. Mode, capacity and entries are those of @after.
 */
static inline struct mnsim_stats
mnsim_stats_delta(const struct mnsim_stats *after,
		  const struct mnsim_stats *before)
{
	struct mnsim_stats d = *after;

	d.hits -= before->hits;
	d.misses -= before->misses;
	d.fills -= before->fills;
	d.evictions -= before->evictions;
	d.inval_calls -= before->inval_calls;
	d.inval_entries -= before->inval_entries;
	d.full_flushes -= before->full_flushes;
	d.hook_calls -= before->hook_calls;
	d.start_calls -= before->start_calls;
	d.end_calls -= before->end_calls;
	d.release_calls -= before->release_calls;
	d.walks -= before->walks;
	d.faults -= before->faults;
	d.fill_retries -= before->fill_retries;
	d.freed_refused -= before->freed_refused;
	d.oracle_coherent -= before->oracle_coherent;
	d.oracle_stale_allowed -= before->oracle_stale_allowed;
	d.oracle_violation_b -= before->oracle_violation_b;
	d.oracle_violation_a -= before->oracle_violation_a;
	d.hook_empty -= before->hook_empty;
	d.perm_faults -= before->perm_faults;
	d.perm_stuck -= before->perm_stuck;
	return d;
}

/*
 * One line per test for the report of check-kernel.sh: the hook calls the
 * device saw and the oracle's verdicts, with the accesses refused because
 * the page was freed, cumulative since BIND (a fixture's teardown prints
 * it). @data_b: case-B orderings the test's own data check saw (the seed's
 * "B new, A old"), which the oracle may judge otherwise on 6.1. Then the
 * permission faults and stuck writes of a %MNSIM_BIND_PERM_CACHE device.
 */
static inline void mnsim_stats_line(const struct mnsim_stats *st,
				    unsigned long long data_b)
{
	/* one line, the one prefix "# " */
	ksft_print_msg("mnsim-stats: hook=%llu coherent=%llu allowed=%llu",
		       (unsigned long long)st->hook_calls,
		       (unsigned long long)st->oracle_coherent,
		       (unsigned long long)st->oracle_stale_allowed);
	printf(" case_b=%llu case_a=%llu refused=%llu data_b=%llu",
	       (unsigned long long)st->oracle_violation_b,
	       (unsigned long long)st->oracle_violation_a,
	       (unsigned long long)st->freed_refused, data_b);
	printf(" perm_faults=%llu stuck=%llu\n",
	       (unsigned long long)st->perm_faults,
	       (unsigned long long)st->perm_stuck);
	fflush(stdout);
}

/* mnsim_stats_line() of device @fd, if it is open and answers STATS. */
static inline void mnsim_report_stats(int fd)
{
	struct mnsim_stats st;

	if (fd >= 0 && !_test_cmd_stats(fd, &st))
		mnsim_stats_line(&st, 0);
}

/*
 * Between two STATS snapshots the kernel told the device about a change of
 * the CPU page table, through the callback that @mode flushes from: the
 * secondary-TLB hook (ATS), start and end (SOFT) or end (DEFER). Only "at
 * least once": counts differ between kernels (6.1 also calls the hook from
 * invalidate_range_end(), 6.12 x86 from every TLB flush of the mm), and 6.12
 * x86 may widen a range to a full flush.
 */
#define test_check_invalidated(mode, after, before)			\
	do {								\
		struct mnsim_stats __d = mnsim_stats_delta(after, before); \
									\
		switch (mode) {						\
		case MNSIM_MODE_ATS:					\
			EXPECT_LE(1ULL, __d.hook_calls);		\
			break;						\
		case MNSIM_MODE_SOFT:					\
			EXPECT_LE(1ULL, __d.start_calls);		\
			EXPECT_LE(1ULL, __d.end_calls);			\
			break;						\
		default:						\
			EXPECT_LE(1ULL, __d.end_calls);			\
			break;						\
		}							\
		EXPECT_LE(1ULL, __d.inval_calls + __d.full_flushes);	\
	} while (0)

/* ---- optional kernel features ---- */

/*
 * A scenario that needs a feature the running kernel was built without
 * SKIPs and says which, with the option (check-kernel.sh's preflight lists
 * the same from the .config). A feature that is there but fails is a
 * failure, never a skip.
 */
enum mnsim_feature {
	MNSIM_FEAT_THP,
	MNSIM_FEAT_HUGETLB,
	MNSIM_FEAT_UFFD,
	MNSIM_FEAT_TRACE,
	MNSIM_FEAT_KSM,
};

/* NULL when the kernel has @f, else the reason to skip. */
static inline const char *mnsim_missing(enum mnsim_feature f)
{
	static const struct {
		const char *path;	/* exists only with the feature */
		const char *why;
	} feat[] = {
		[MNSIM_FEAT_THP] = { "/sys/kernel/mm/transparent_hugepage",
			"no THP (CONFIG_TRANSPARENT_HUGEPAGE)" },
		[MNSIM_FEAT_HUGETLB] = { "/proc/sys/vm/nr_hugepages",
			"no hugetlb (CONFIG_HUGETLBFS)" },
		[MNSIM_FEAT_UFFD] = { "/proc/sys/vm/unprivileged_userfaultfd",
			"no userfaultfd (CONFIG_USERFAULTFD)" },
		[MNSIM_FEAT_TRACE] = { "/sys/kernel/tracing/events",
			"no trace events (CONFIG_EVENT_TRACING)" },
		[MNSIM_FEAT_KSM] = { "/sys/kernel/mm/ksm/run",
			"no KSM (CONFIG_KSM)" },
	};

	return access(feat[f].path, F_OK) ? feat[f].why : NULL;
}

/* In a TEST body: SKIP unless the running kernel has feature @f. */
#define MNSIM_NEED(f)							\
	do {								\
		const char *__why = mnsim_missing(MNSIM_FEAT_##f);	\
									\
		if (__why)						\
			SKIP(return, "%s", __why);			\
	} while (0)

/* ---- which paths call the secondary-TLB hook, per architecture ---- */

/* A kernel path whose hook call a test asserts. */
enum mnsim_path {
	/*
	 * A write fault that reuses the page in place (wp_page_reuse():
	 * ptep_set_access_flags() makes the PTE writable and dirty).
	 */
	MNSIM_PATH_WRITE_REUSE,
	/*
	 * A one-page zap (MADV_DONTNEED: zap_page_range_single()) calls the
	 * hook before its invalidate_range_end(), from the mmu_gather's flush
	 * at the end of the VMA (tlb_end_vma()).
	 */
	MNSIM_PATH_ZAP_HOOK_BEFORE_END,
	/*
	 * mprotect(PROT_READ | PROT_WRITE) of a dirty, exclusive anonymous
	 * page that mprotect(PROT_READ) made read-only: change_pte_range()
	 * makes the PTE writable itself (MM_CP_TRY_CHANGE_WRITABLE).
	 */
	MNSIM_PATH_MPROTECT_UPGRADE,
};

/*
 * Whether @path calls the hook, per architecture and notifier generation
 * (&mnsim_info.hook: invalidate_range up to 6.5, the architecture's TLB
 * flush from 6.6), each row read in Debian's sources (6.1.192, 6.12.118),
 * file:line. A test asserts this table, not what x86 happens to do.
 */
struct mnsim_hook_row {
	const char *arch;
	__u32 hook;
	enum mnsim_path path;
	bool calls;
	const char *source;
};

static const struct mnsim_hook_row mnsim_hook_table[] = {
	{ "x86_64", MNSIM_HOOK_INVALIDATE_RANGE, MNSIM_PATH_WRITE_REUSE, false,
	  "6.1 mm/memory.c:3085 wp_page_reuse() -> arch/x86/mm/pgtable.c:486 ptep_set_access_flags(): set_pte() only, no flush, no notifier"
	},
	{ "x86_64", MNSIM_HOOK_ARCH_INVALIDATE_SECONDARY_TLBS,
	  MNSIM_PATH_WRITE_REUSE, false,
	  "6.12 mm/memory.c:3245 wp_page_reuse() -> arch/x86/mm/pgtable.c:502 ptep_set_access_flags(): set_pte() only, no flush"
	},
	{ "aarch64", MNSIM_HOOK_INVALIDATE_RANGE, MNSIM_PATH_WRITE_REUSE, false,
	  "6.1 arch/arm64/mm/fault.c:236 ptep_set_access_flags() -> flush_tlb_page() (asm/tlbflush.h:288): TLBI only, no notifier"
	},
	{ "aarch64", MNSIM_HOOK_ARCH_INVALIDATE_SECONDARY_TLBS,
	  MNSIM_PATH_WRITE_REUSE, true,
	  "6.12 arch/arm64/mm/fault.c:242 __ptep_set_access_flags() -> flush_tlb_page() -> __flush_tlb_page_nosync() (asm/tlbflush.h:314): mmu_notifier_arch_invalidate_secondary_tlbs()"
	},
	{ "x86_64", MNSIM_HOOK_INVALIDATE_RANGE, MNSIM_PATH_ZAP_HOOK_BEFORE_END,
	  false,
	  "6.1 mm/mmu_notifier.c:553 mn_hlist_invalidate_end(): the hook in range end's own walk; x86 selects MMU_GATHER_MERGE_VMAS (arch/x86/Kconfig:255): tlb_end_vma() does not flush"
	},
	{ "x86_64", MNSIM_HOOK_ARCH_INVALIDATE_SECONDARY_TLBS,
	  MNSIM_PATH_ZAP_HOOK_BEFORE_END, false,
	  "6.12 arch/x86/Kconfig:274 MMU_GATHER_MERGE_VMAS: tlb_end_vma() (include/asm-generic/tlb.h:576) does not flush; the flush and its hook come in tlb_finish_mmu(), after range end (mm/memory.c:1935)"
	},
	{ "aarch64", MNSIM_HOOK_INVALIDATE_RANGE, MNSIM_PATH_ZAP_HOOK_BEFORE_END,
	  true,
	  "6.1 mm/memory.c:1793 unmap_single_vma() -> tlb_end_vma() (include/asm-generic/tlb.h:536, no MMU_GATHER_MERGE_VMAS) -> tlb_flush_mmu_tlbonly() -> mmu_notifier_invalidate_range() (include/asm-generic/tlb.h:447): the hook, before range end (mm/memory.c:1794)"
	},
	{ "aarch64", MNSIM_HOOK_ARCH_INVALIDATE_SECONDARY_TLBS,
	  MNSIM_PATH_ZAP_HOOK_BEFORE_END, true,
	  "6.12 mm/memory.c:1933 unmap_single_vma() -> tlb_end_vma() (include/asm-generic/tlb.h:576, no MMU_GATHER_MERGE_VMAS) -> tlb_flush() -> __flush_tlb_range() (asm/tlbflush.h:482): the hook, before range end (mm/memory.c:1934)"
	},
	{ "x86_64", MNSIM_HOOK_INVALIDATE_RANGE, MNSIM_PATH_MPROTECT_UPGRADE,
	  true,
	  "6.1 mm/mprotect.c:195 can_change_pte_writable() (needs pte_dirty, :48) -> pte_mkwrite(); the hook from range end (mm/mprotect.c:426 -> mm/mmu_notifier.c:575), and from tlb_finish_mmu() (include/asm-generic/tlb.h:447): x86's pte_needs_flush() counts _PAGE_RW (asm/tlbflush.h:278), mm/mprotect.c:202"
	},
	{ "x86_64", MNSIM_HOOK_ARCH_INVALIDATE_SECONDARY_TLBS,
	  MNSIM_PATH_MPROTECT_UPGRADE, true,
	  "6.12 mm/mprotect.c:190 pte_mkwrite(); x86's pte_needs_flush() counts _PAGE_RW (asm/tlbflush.h:312) -> tlb_flush_pte_range() (mm/mprotect.c:197) -> tlb_finish_mmu() (:846) -> flush_tlb_mm_range() -> the hook, arch/x86/mm/tlb.c:1083 (range end calls none)"
	},
	{ "aarch64", MNSIM_HOOK_INVALIDATE_RANGE, MNSIM_PATH_MPROTECT_UPGRADE,
	  true,
	  "6.1 mm/mprotect.c:195 pte_mkwrite(); the hook from range end (mm/mprotect.c:426 -> mm/mmu_notifier.c:575), and from tlb_finish_mmu() (include/asm-generic/tlb.h:447; the generic pte_needs_flush(), :686, is always true)"
	},
	{ "aarch64", MNSIM_HOOK_ARCH_INVALIDATE_SECONDARY_TLBS,
	  MNSIM_PATH_MPROTECT_UPGRADE, true,
	  "6.12 mm/mprotect.c:190 pte_mkwrite() -> tlb_flush_pte_range() (:197, generic pte_needs_flush()) -> tlb_finish_mmu() -> tlb_flush() (asm/tlb.h:76) -> __flush_tlb_range() -> the hook, asm/tlbflush.h:482"
	},
};

#if defined(__x86_64__)
#define MNSIM_ARCH	"x86_64"
#elif defined(__aarch64__)
#define MNSIM_ARCH	"aarch64"
#else
#define MNSIM_ARCH	"unknown"
#endif

/*
 * The row of @path on this architecture and a kernel whose hook is @hook.
 * Return: it, or NULL when the table has none (a test then skips).
 */
static inline const struct mnsim_hook_row *
mnsim_hook_expect(enum mnsim_path path, __u32 hook)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(mnsim_hook_table); i++) {
		const struct mnsim_hook_row *r = &mnsim_hook_table[i];

		if (r->path == path && r->hook == hook &&
		    !strcmp(r->arch, MNSIM_ARCH))
			return r;
	}
	return NULL;
}

/* ---- memory ---- */

/*
 * Private anonymous memory that stays mapped with 4 KiB pages, so that THP
 * and khugepaged stay away from it. Return: the mapping, or NULL.
 */
static inline void *mnsim_map(size_t len, int prot)
{
	void *p = mmap(NULL, len, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	/* EINVAL: a kernel without THP, which is what we want anyway. */
	if (madvise(p, len, MADV_NOHUGEPAGE) && errno != EINVAL) {
		munmap(p, len);
		return NULL;
	}
	return p;
}

/*
 * Pattern @seed: two seeds that differ modulo 256 differ in every byte, and
 * a byte differs from the ones 1, 256 and 4096 bytes away, so a copy from
 * the wrong offset or page shows.
 */
static inline unsigned char mnsim_byte(size_t i, unsigned int seed)
{
	return (unsigned char)(seed + i * 7 + (i >> 8) * 13);
}

static inline void mnsim_fill(void *p, size_t len, unsigned int seed)
{
	unsigned char *c = p;
	size_t i;

	for (i = 0; i < len; i++)
		c[i] = mnsim_byte(i, seed);
}

/* Does @p hold @len bytes of pattern @seed? Usable in a forked child. */
static inline bool mnsim_match(const void *p, size_t len, unsigned int seed)
{
	const unsigned char *c = p;
	size_t i;

	for (i = 0; i < len; i++)
		if (c[i] != mnsim_byte(i, seed))
			return false;
	return true;
}

/* Are all @len bytes at @p equal to @byte? */
static inline bool mnsim_all(const void *p, size_t len, unsigned char byte)
{
	const unsigned char *c = p;
	size_t i;

	for (i = 0; i < len; i++)
		if (c[i] != byte)
			return false;
	return true;
}

/* ---- the event ring ---- */

/*
 * Drain up to @max records of the ring into @ev, oldest first.
 * Return: the number of records, or -errno.
 */
static inline int mnsim_read_events(int fd, struct mnsim_event *ev, __u32 max,
				    __u64 *lost)
{
	struct mnsim_read_events cmd = {
		.max = max,
		.events = MNSIM_PTR(ev),
	};
	int ret = mnsim_ioctl(fd, MNSIM_IOC_READ_EVENTS, &cmd);

	if (ret)
		return ret;
	if (lost)
		*lost = cmd.lost;
	return cmd.nr;
}

/* ---- a test and its forked child ---- */

/* Two pipes: the test talks on to_child, the child answers on to_parent. */
struct mnsim_chan {
	int to_child[2];
	int to_parent[2];
};

static inline int mnsim_chan_open(struct mnsim_chan *ch)
{
	if (pipe(ch->to_child))
		return -1;
	if (pipe(ch->to_parent)) {
		close(ch->to_child[0]);
		close(ch->to_child[1]);
		return -1;
	}
	return 0;
}

/*
 * After fork(), each side keeps only its ends, so that the child sees EOF
 * when the test dies and no child outlives a failed test.
 */
static inline void mnsim_chan_child(struct mnsim_chan *ch)
{
	close(ch->to_child[1]);
	close(ch->to_parent[0]);
}

static inline void mnsim_chan_parent(struct mnsim_chan *ch)
{
	close(ch->to_child[0]);
	close(ch->to_parent[1]);
}

static inline int mnsim_send(int fd, unsigned char c)
{
	ssize_t ret;

	do {
		ret = write(fd, &c, 1);
	} while (ret == -1 && errno == EINTR);
	return ret == 1 ? 0 : -1;
}

/* Return: the byte received, or -1 on EOF or error. */
static inline int mnsim_recv(int fd)
{
	unsigned char c;
	ssize_t ret;

	do {
		ret = read(fd, &c, 1);
	} while (ret == -1 && errno == EINTR);
	return ret == 1 ? c : -1;
}

/* ---- BIND with flags, waiting for a park ---- */

/* BIND with @flags (%MNSIM_BIND_RECORD, %MNSIM_BIND_ORACLE). */

#define test_cmd_bind_flags(flags, mode, target, capacity)		\
	ASSERT_EQ(0, _test_cmd_bind_flags(self->fd, (flags), (mode),	\
					  (target), (capacity)))

/*
 * Poll PARK_CTL until at least @n callbacks are parked, for at most
 * @timeout_ms. Neither allocates nor maps anything, so it is safe while a
 * parked thread holds the bound mm's mmap_lock.
 * Return: 0, -ETIMEDOUT, or the -errno of PARK_CTL.
 */
static inline int mnsim_wait_parked(int fd, __u32 n, unsigned int timeout_ms)
{
	struct mnsim_park_ctl ctl;
	unsigned int waited;
	int ret;

	for (waited = 0;; waited++) {
		ret = _test_cmd_park_ctl(fd, 0, &ctl);
		if (ret)
			return ret;
		if (ctl.parked >= n)
			return 0;
		if (waited >= timeout_ms)
			return -ETIMEDOUT;
		usleep(1000);
	}
}

/* ---- passing a device to another process (SCM_RIGHTS) ---- */

/* Send @fd over the AF_UNIX socket @sock. Return: 0 or -errno. */
static inline int mnsim_send_fd(int sock, int fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	char byte = 'f';
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = cbuf,
		.msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cm;

	memset(cbuf, 0, sizeof(cbuf));
	cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	return sendmsg(sock, &msg, 0) == 1 ? 0 : -errno;
}

/* Receive one fd from @sock (close-on-exec). Return: the fd or -errno. */
static inline int mnsim_recv_fd(int sock)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	char byte;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = cbuf,
		.msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cm;
	ssize_t n;
	int fd;

	do {
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	} while (n == -1 && errno == EINTR);
	if (n < 0)
		return -errno;
	cm = CMSG_FIRSTHDR(&msg);
	if (n != 1 || !cm || cm->cmsg_level != SOL_SOCKET ||
	    cm->cmsg_type != SCM_RIGHTS || cm->cmsg_len != CMSG_LEN(sizeof(int)))
		return -EPROTO;
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}

/* ---- credentials ---- */

#define MNSIM_CAP(cap)		(1ULL << (cap))
/* Unprivileged ids for the credential tests; not root, not each other. */
#define MNSIM_UID_NOBODY	65534
#define MNSIM_UID_OTHER		65533

/* The effective capabilities of the caller, as a mask; 0 on error. */
static inline __u64 mnsim_caps_effective(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data))
		return 0;
	return (__u64)data[1].effective << 32 | data[0].effective;
}

/*
 * Make @keep the effective and permitted capabilities, and nothing
 * inheritable. Only drops what the caller has. Return: 0 or -errno.
 */
static inline int mnsim_caps_set(__u64 keep)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2];

	memset(data, 0, sizeof(data));
	data[0].effective = (__u32)keep;
	data[0].permitted = (__u32)keep;
	data[1].effective = (__u32)(keep >> 32);
	data[1].permitted = (__u32)(keep >> 32);
	return syscall(SYS_capset, &hdr, data) ? -errno : 0;
}

/*
 * fork() for the tests: the child is killed when the thread that forked it
 * exits (PR_SET_PDEATHSIG). A test that stops at a failed ASSERT, before it
 * tells its child to go, thus never leaves the child behind, blocked, with
 * an inherited device fd that keeps the module in use and fails every later
 * rmmod test. Return: as fork().
 */
static inline pid_t mnsim_fork(void)
{
	pid_t parent = getpid();
	pid_t pid = fork();

	/* A parent gone before the prctl(): the child was reparented. */
	if (!pid && (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() != parent))
		_exit(125);
	return pid;
}

/*
 * Become @uid (real, effective, saved; group too, no supplementary groups)
 * with exactly the capabilities @keep. For a child of mnsim_fork() of a
 * root test: a change of uid clears the parent-death signal, set it again.
 * Return: 0 or -errno.
 */
static inline int mnsim_become(uid_t uid, __u64 keep)
{
	if (keep && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0))
		return -errno;
	if (setgroups(0, NULL) || setresgid(uid, uid, uid) ||
	    setresuid(uid, uid, uid))
		return -errno;
	if (prctl(PR_SET_PDEATHSIG, SIGKILL))
		return -errno;
	if (mnsim_caps_set(keep))
		return -errno;
	return mnsim_caps_effective() == keep ? 0 : -EPERM;
}

#endif /* __MNSIM_UTILS_H */
