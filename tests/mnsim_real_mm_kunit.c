// SPDX-License-Identifier: GPL-2.0
/*
 * mnsim_real_mm: the driver bound to a real user address space that the test
 * owns, and invalidated by the kernel's own mm code.
 *
 * Copyright (C) 2026 The mmu_notifier_sim authors
 *
 * #included at the end of mmu_notifier_sim.c when
 * CONFIG_MMU_NOTIFIER_SIM_KUNIT_TEST is set (the driver must be built in:
 * mm_alloc(), do_madvise() and arch_pick_mmap_layout() are not exported).
 *
 * The KUnit thread gets an mm of its own as lib/kunit/user_alloc.c does it
 * on 6.12 (mm_alloc() + arch_pick_mmap_layout() + kthread_use_mm(); 6.1 has
 * no kunit_vm_mmap(), and doing it by hand works on both), maps anonymous
 * pages, binds the driver with __mnsim_bind_mm(), fills the device TLB
 * through the real GUP walk, and lets mm code invalidate: MADV_DONTNEED
 * (zap), munmap, and a write fault on the zero page (the COW path of
 * wp_page_copy()). mprotect stays in the kselftests: do_mprotect_pkey() is
 * static.
 *
 * The driver's notifier ops are wrapped for the test: at the moment the
 * driver flushes (the hook in ATS, range start in SOFT, range end in DEFER)
 * the wrapper looks at every translation the device still holds in the test
 * region and checks that its page is not free yet. Afterwards, no
 * translation of the invalidated pages may be left.
 *
 * ATS needs a kernel that calls the secondary-TLB hook: UML from 6.6 never
 * does, so ATS is skipped there (tools/testing/kunit/expected-skips) and
 * runs on x86_64 under QEMU.
 */
#include <kunit/test.h>
#include <linux/kthread.h>
#include <linux/mman.h>
#include <linux/sched/mm.h>

#define RM_PAGES	4
#define RM_WATCH	8
/*
 * Larger than the mmu_gather batch (MAX_GATHER_BATCH_COUNT batches, about
 * 10,000 pages): zap_pte_range() has to flush and free part of it before
 * range end, the seed's case A on a real kernel.
 */
#define RM_BIG_PAGES	(48UL << (20 - PAGE_SHIFT))

struct rm_state {
	struct kunit *test;
	struct mnsim_ctx *ctx;
	struct file file;
	struct mm_struct *mm;
	unsigned long addr;	/* RM_PAGES pages under test */
	unsigned long buf;	/* one page: the device's user buffer */
	unsigned long watch[RM_WATCH];	/* pages whose translations we check */
	unsigned int nwatch;
	unsigned int flushes;	/* flushing callbacks seen */
	unsigned int live_at_flush;
	unsigned int freed_at_flush;
};

/* The test in progress (KUnit runs one case at a time). */
static struct rm_state *rm_cur;

/**
 * rm_check_flush() - check the device's translations at a flush
 * @ctx: the device that flushes
 * @start: first byte of the flush
 * @end: one past the last byte
 *
 * Every translation the device holds of a watched page must still point to
 * an allocated page.
 *
 * Context: From the test's wrappers of the driver's callbacks, just before
 * the driver flushes: the secondary-TLB hook (under the page-table lock on
 * the COW and clear paths) or range start/end. No lock of @ctx is held.
 * Takes and releases tlb.lock.
 */
static void rm_check_flush(struct mnsim_ctx *ctx, unsigned long start,
			   unsigned long end)
{
	struct rm_state *rm = rm_cur;
	struct sec_tlb_xlate x;
	unsigned long va;
	int i;

	if (!rm || rm->ctx != ctx)
		return;
	rm->flushes++;
	spin_lock(&ctx->tlb.lock);
	for (i = 0; i < rm->nwatch; i++) {
		va = rm->watch[i];
		if (va < start || va >= end ||
		    !__sec_tlb_lookup(&ctx->tlb, va, SEC_TLB_R, &x))
			continue;
		rm->live_at_flush++;
		if (!page_count(pfn_to_page(x.pfn)))
			rm->freed_at_flush++;
	}
	spin_unlock(&ctx->tlb.lock);
}

static void rm_hook(struct mmu_notifier *mn, struct mm_struct *mm,
		    unsigned long start, unsigned long end)
{
	rm_check_flush(container_of(mn, struct mnsim_ctx, tlb_mn), start, end);
	mnsim_secondary_tlb_hook(mn, mm, start, end);
}

static int rm_range_start(struct mmu_notifier *mn,
			  const struct mmu_notifier_range *range)
{
	struct mnsim_ctx *ctx = container_of(mn, struct mnsim_ctx, range_mn);

	if (ctx->mode == MNSIM_MODE_SOFT)
		rm_check_flush(ctx, range->start, range->end);
	return mnsim_range_start(mn, range);
}

static void rm_range_end(struct mmu_notifier *mn,
			 const struct mmu_notifier_range *range)
{
	struct mnsim_ctx *ctx = container_of(mn, struct mnsim_ctx, range_mn);

	if (ctx->mode == MNSIM_MODE_DEFER)
		rm_check_flush(ctx, range->start, range->end);
	mnsim_range_end(mn, range);
}

static const struct mmu_notifier_ops rm_tlb_ops = {
	.release			= mnsim_tlb_release,
	.arch_invalidate_secondary_tlbs	= rm_hook,
};

static const struct mmu_notifier_ops rm_range_ops = {
	.release		= mnsim_release,
	.invalidate_range_start	= rm_range_start,
	.invalidate_range_end	= rm_range_end,
};

/* An address space for the KUnit thread, as kunit_attach_mm() makes one. */
static int rm_attach_mm(struct rm_state *rm)
{
	struct mm_struct *mm;

	if (current->mm)
		return -EBUSY;
	mm = mm_alloc();
	if (!mm)
		return -ENOMEM;
	mm->task_size = TASK_SIZE;
	arch_pick_mmap_layout(mm, &current->signal->rlim[RLIMIT_STACK]);
	kthread_use_mm(mm);
	rm->mm = mm;
	return 0;
}

static void rm_detach_mm(struct rm_state *rm)
{
	kthread_unuse_mm(rm->mm);
	mmput(rm->mm);
}

/**
 * rm_dev() - a device access of one byte at a page of the region
 * @rm: the test's state
 * @i: the page
 * @write: device write of @val
 * @val: the byte to write
 *
 * Context: Process context (the test's kthread, with the test's mm); may
 * sleep and fault. Takes bind_rwsem for read, then as mnsim_access().
 * Return: the byte read back, or a negative errno.
 */
static int rm_dev(struct rm_state *rm, int i, bool write, u8 val)
{
	struct mnsim_call call = {};
	u8 __user *ubuf = (u8 __user *)rm->buf;
	int ret;
	u8 got;

	if (write && put_user(val, ubuf))
		return -EFAULT;
	down_read(&rm->ctx->bind_rwsem);
	ret = mnsim_access(rm->ctx, rm->addr + i * PAGE_SIZE, 1,
			   rm->buf, write, &call);
	up_read(&rm->ctx->bind_rwsem);
	if (ret)
		return ret;
	if (get_user(got, ubuf))
		return -EFAULT;
	return got;
}

static int rm_cpu_write(struct rm_state *rm, int i, u8 val)
{
	u8 __user *p = (u8 __user *)(rm->addr + i * PAGE_SIZE);

	return put_user(val, p);
}

static u64 rm_hook_calls(struct rm_state *rm)
{
	struct mnsim_counters c;

	mnsim_sum_counters(rm->ctx, &c);
	return c.hook_calls;
}

/**
 * rm_cached() - does the device cache page @i of the region?
 * @rm: the test's state
 * @i: the page
 *
 * Context: Takes and releases tlb.lock.
 * Return: true if a lookup hits.
 */
static bool rm_cached(struct rm_state *rm, int i)
{
	struct sec_tlb_xlate x;
	bool hit;

	spin_lock(&rm->ctx->tlb.lock);
	hit = __sec_tlb_lookup(&rm->ctx->tlb, rm->addr + i * PAGE_SIZE,
			       SEC_TLB_R, &x);
	spin_unlock(&rm->ctx->tlb.lock);
	return hit;
}

/*
 * Set up: an mm with the region and the buffer, the driver bound to it in
 * @mode with its ops wrapped. Skips ATS where the kernel never calls the
 * hook. Returns 0 or a negative errno (the test failed or was skipped).
 */
static int rm_setup(struct kunit *test, struct rm_state *rm,
		    enum mnsim_mode mode)
{
	struct mnsim_bind arg = { .mode = mode, .target = MNSIM_TARGET_SELF };
	unsigned long addr;
	int ret;

	rm->test = test;
	ret = rm_attach_mm(rm);
	KUNIT_ASSERT_EQ(test, ret, 0);
	addr = vm_mmap(NULL, 0, (RM_PAGES + 1) * PAGE_SIZE,
		       PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, 0);
	if (IS_ERR_VALUE(addr)) {
		ret = (int)addr;
		goto out_detach;
	}
	/* 4 KiB pages only: no THP, no khugepaged. */
	do_madvise(rm->mm, addr, (RM_PAGES + 1) * PAGE_SIZE, MADV_NOHUGEPAGE);
	rm->addr = addr;
	rm->buf = addr + RM_PAGES * PAGE_SIZE;
	for (rm->nwatch = 0; rm->nwatch < RM_PAGES; rm->nwatch++)
		rm->watch[rm->nwatch] = addr + rm->nwatch * PAGE_SIZE;

	ret = mnsim_open(NULL, &rm->file);
	if (ret)
		goto out_detach;
	rm->ctx = rm->file.private_data;
	ret = mnsim_check_bind(&arg);
	if (ret == -EOPNOTSUPP) {
		mnsim_release_file(NULL, &rm->file);
		rm_detach_mm(rm);
		kunit_skip(test, "ATS: this kernel never calls the secondary-TLB hook here");
	}
	if (!ret) {
		mmget(rm->mm);
		ret = __mnsim_bind_mm(rm->ctx, rm->mm, &arg, 0);
		mmput(rm->mm);
	}
	if (ret)
		goto out_release;
	/*
	 * Wrap the driver's callbacks. Nothing else runs in this mm, so the
	 * pointers can change under the registered subscriptions. (An ATS
	 * binding that nobody watches has no range subscription registered:
	 * its ops pointer is then unused.)
	 */
	WRITE_ONCE(rm->ctx->range_mn.ops, &rm_range_ops);
	if (mode == MNSIM_MODE_ATS)
		WRITE_ONCE(rm->ctx->tlb_mn.ops, &rm_tlb_ops);
	rm_cur = rm;
	return 0;

out_release:
	mnsim_release_file(NULL, &rm->file);
out_detach:
	rm_detach_mm(rm);
	KUNIT_FAIL(test, "setup failed: %d", ret);
	return ret;
}

static void rm_teardown(struct rm_state *rm)
{
	rm_cur = NULL;
	/* Unbinds first: mmu_notifier_unregister() needs the mm alive. */
	mnsim_release_file(NULL, &rm->file);
	vm_munmap(rm->addr, (RM_PAGES + 1) * PAGE_SIZE);
	rm_detach_mm(rm);
}

/* The flushes seen at the time the driver flushed were all in time. */
static void rm_expect_flushed(struct kunit *test, struct rm_state *rm,
			      int first, int n)
{
	int i;

	KUNIT_EXPECT_GT(test, rm->flushes, 0U);
	KUNIT_EXPECT_GT(test, rm->live_at_flush, 0U);
	KUNIT_EXPECT_EQ(test, rm->freed_at_flush, 0U);
	for (i = first; i < first + n; i++)
		KUNIT_EXPECT_FALSE_MSG(test, rm_cached(rm, i),
				       "page %d still cached", i);
}

static const enum mnsim_mode rm_modes[] = {
	MNSIM_MODE_ATS, MNSIM_MODE_SOFT, MNSIM_MODE_DEFER,
};

static void rm_mode_desc(const enum mnsim_mode *m, char *desc)
{
	strscpy(desc, *m == MNSIM_MODE_ATS ? "ats" :
		*m == MNSIM_MODE_SOFT ? "soft" : "defer",
		KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(rm_mode, rm_modes, rm_mode_desc);

/*
 * mnsim_real_mm_dontneed_test - MADV_DONTNEED zaps two cached pages: the
 * driver drops both translations before the pages are freed, and the device
 * then reads the fresh zero-filled pages.
 */
static void mnsim_real_mm_dontneed_test(struct kunit *test)
{
	enum mnsim_mode mode = *(const enum mnsim_mode *)test->param_value;
	struct rm_state rm = {};
	int i;

	if (rm_setup(test, &rm, mode))
		return;
	for (i = 0; i < RM_PAGES; i++) {
		KUNIT_EXPECT_EQ(test, rm_cpu_write(&rm, i, 0x40 + i), 0);
		KUNIT_EXPECT_EQ(test, rm_dev(&rm, i, false, 0), 0x40 + i);
		KUNIT_EXPECT_TRUE(test, rm_cached(&rm, i));
	}
	KUNIT_EXPECT_EQ(test, do_madvise(rm.mm, rm.addr, 2 * PAGE_SIZE,
					 MADV_DONTNEED), 0);
	rm_expect_flushed(test, &rm, 0, 2);
	KUNIT_EXPECT_EQ(test, rm_dev(&rm, 0, false, 0), 0);
	KUNIT_EXPECT_EQ(test, rm_dev(&rm, 2, false, 0), 0x42);
	rm_teardown(&rm);
}

/*
 * mnsim_real_mm_munmap_test - munmap of cached pages, one of them written by
 * the device: translations are dropped before the pages are freed, and
 * device accesses then fault.
 */
static void mnsim_real_mm_munmap_test(struct kunit *test)
{
	enum mnsim_mode mode = *(const enum mnsim_mode *)test->param_value;
	struct rm_state rm = {};
	int i;

	if (rm_setup(test, &rm, mode))
		return;
	for (i = 0; i < RM_PAGES; i++)
		KUNIT_EXPECT_EQ(test, rm_cpu_write(&rm, i, 0x50 + i), 0);
	KUNIT_EXPECT_EQ(test, rm_dev(&rm, 1, true, 0x77), 0x77);
	KUNIT_EXPECT_EQ(test, rm_dev(&rm, 2, false, 0), 0x52);
	KUNIT_EXPECT_EQ(test, vm_munmap(rm.addr + PAGE_SIZE, 2 * PAGE_SIZE), 0);
	rm_expect_flushed(test, &rm, 1, 2);
	KUNIT_EXPECT_EQ(test, rm_dev(&rm, 1, false, 0), -EFAULT);
	KUNIT_EXPECT_EQ(test, rm_dev(&rm, 2, true, 1), -EFAULT);
	rm_teardown(&rm);
}

/*
 * mnsim_real_mm_zero_page_cow_test - the device caches the zero page; a CPU
 * write replaces it with a new page (wp_page_copy()); the device must then
 * read the new value, never the zero page. In ATS the hook does it.
 */
static void mnsim_real_mm_zero_page_cow_test(struct kunit *test)
{
	enum mnsim_mode mode = *(const enum mnsim_mode *)test->param_value;
	struct rm_state rm = {};
	u64 hooks;

	if (rm_setup(test, &rm, mode))
		return;
	/* A read walk maps the zero page; the device caches it. */
	KUNIT_EXPECT_EQ(test, rm_dev(&rm, 3, false, 0), 0);
	KUNIT_EXPECT_TRUE(test, rm_cached(&rm, 3));
	hooks = rm_hook_calls(&rm);
	KUNIT_EXPECT_EQ(test, rm_cpu_write(&rm, 3, 0x99), 0);
	KUNIT_EXPECT_EQ(test, rm.freed_at_flush, 0U);
	KUNIT_EXPECT_FALSE(test, rm_cached(&rm, 3));
	if (mode == MNSIM_MODE_ATS)
		KUNIT_EXPECT_GT(test, rm_hook_calls(&rm), hooks);
	KUNIT_EXPECT_EQ(test, rm_dev(&rm, 3, false, 0), 0x99);
	rm_teardown(&rm);
}

/*
 * mnsim_real_mm_perm_cache_test - an ATS device that caches permissions
 * (MNSIM_BIND_PERM_CACHE, set here on every architecture: the walk and the
 * COW are generic): a read of a page the CPU wrote caches it writable; a
 * read of an untouched page faults the zero page in, translates again and
 * caches it read-only; a device write to it is a permission fault whose
 * page request breaks the COW, which calls the hook on every kernel that
 * calls one at all, so the write goes through after one fault.
 */
static void mnsim_real_mm_perm_cache_test(struct kunit *test)
{
	struct rm_state rm = {};
	struct mnsim_counters c;
	struct sec_tlb_xlate x;
	u8 got = 0;
	bool hit;

	if (rm_setup(test, &rm, MNSIM_MODE_ATS))
		return;
	rm.ctx->perm_cache = true;
	KUNIT_EXPECT_EQ(test, rm_cpu_write(&rm, 0, 0x33), 0);
	KUNIT_EXPECT_EQ(test, rm_dev(&rm, 0, false, 0), 0x33);
	KUNIT_EXPECT_EQ(test, rm_dev(&rm, 3, false, 0), 0);
	spin_lock(&rm.ctx->tlb.lock);
	hit = __sec_tlb_lookup(&rm.ctx->tlb, rm.addr, SEC_TLB_W, &x);
	KUNIT_EXPECT_TRUE_MSG(test, hit, "a read of a written page cached it read-only");
	hit = __sec_tlb_lookup(&rm.ctx->tlb, rm.addr + 3 * PAGE_SIZE,
			       SEC_TLB_W, &x);
	KUNIT_EXPECT_FALSE(test, hit);
	KUNIT_EXPECT_EQ_MSG(test, x.perm, (unsigned int)SEC_TLB_R,
			    "the zero page is not cached read-only");
	spin_unlock(&rm.ctx->tlb.lock);

	KUNIT_EXPECT_EQ(test, rm_dev(&rm, 3, true, 0x44), 0x44);
	KUNIT_EXPECT_EQ(test, get_user(got, (u8 __user *)(rm.addr +
							   3 * PAGE_SIZE)), 0);
	KUNIT_EXPECT_EQ(test, got, 0x44);
	mnsim_sum_counters(rm.ctx, &c);
	KUNIT_EXPECT_EQ(test, c.perm_faults, 1ULL);
	KUNIT_EXPECT_EQ(test, c.verdicts[MNSIM_VERDICT_STUCK_RO], 0ULL);
	KUNIT_EXPECT_EQ(test, rm.freed_at_flush, 0U);
	rm_teardown(&rm);
}

/*
 * mnsim_real_mm_munmap_batch_test - munmap of more pages than one mmu_gather
 * holds: the kernel frees the first batch before range end. ATS (the hook
 * flushes before that free) and SOFT (range start) drop the translations in
 * time; DEFER, flushing at range end, finds the pages already freed: the
 * seed's case A, which the driver's DEFER access path must then refuse.
 */
static void mnsim_real_mm_munmap_batch_test(struct kunit *test)
{
	enum mnsim_mode mode = *(const enum mnsim_mode *)test->param_value;
	struct rm_state rm = {};
	unsigned long big, i;
	int fails = 0;

	if (rm_setup(test, &rm, mode))
		return;
	big = vm_mmap(NULL, 0, RM_BIG_PAGES * PAGE_SIZE, PROT_READ | PROT_WRITE,
		      MAP_ANONYMOUS | MAP_PRIVATE, 0);
	if (IS_ERR_VALUE(big)) {
		rm_teardown(&rm);
		KUNIT_FAIL(test, "mmap of %lu pages: %ld", RM_BIG_PAGES, (long)big);
		return;
	}
	do_madvise(rm.mm, big, RM_BIG_PAGES * PAGE_SIZE, MADV_NOHUGEPAGE);
	for (i = 0; i < RM_BIG_PAGES; i++)
		fails += !!put_user(1, (u8 __user *)(big + i * PAGE_SIZE));
	KUNIT_EXPECT_EQ(test, fails, 0);

	/* Cache the first pages, which the first forced flush frees. */
	rm.addr = big;
	for (rm.nwatch = 0; rm.nwatch < RM_WATCH; rm.nwatch++) {
		rm.watch[rm.nwatch] = big + rm.nwatch * PAGE_SIZE;
		KUNIT_EXPECT_EQ(test, rm_dev(&rm, rm.nwatch, false, 0), 1);
	}
	KUNIT_EXPECT_EQ(test, vm_munmap(big, RM_BIG_PAGES * PAGE_SIZE), 0);

	kunit_info(test, "%u flushes saw %u cached pages, %u of them already freed",
		   rm.flushes, rm.live_at_flush, rm.freed_at_flush);
	KUNIT_EXPECT_EQ(test, rm.live_at_flush, (unsigned int)RM_WATCH);
	if (mode == MNSIM_MODE_DEFER)
		KUNIT_EXPECT_GT(test, rm.freed_at_flush, 0U);
	else
		KUNIT_EXPECT_EQ(test, rm.freed_at_flush, 0U);
	for (i = 0; i < RM_WATCH; i++)
		KUNIT_EXPECT_FALSE(test, rm_cached(&rm, i));

	/* rm_teardown() unmaps the small region. */
	rm.addr = rm.buf - RM_PAGES * PAGE_SIZE;
	rm_teardown(&rm);
}

static struct kunit_case mnsim_real_mm_test_cases[] = {
	KUNIT_CASE_PARAM(mnsim_real_mm_dontneed_test, rm_mode_gen_params),
	KUNIT_CASE_PARAM(mnsim_real_mm_munmap_test, rm_mode_gen_params),
	KUNIT_CASE_PARAM(mnsim_real_mm_zero_page_cow_test, rm_mode_gen_params),
	KUNIT_CASE_PARAM(mnsim_real_mm_munmap_batch_test, rm_mode_gen_params),
	KUNIT_CASE(mnsim_real_mm_perm_cache_test),
	{}
};

static struct kunit_suite mnsim_real_mm_test_suite = {
	.name = "mnsim_real_mm",
	.test_cases = mnsim_real_mm_test_cases,
};

kunit_test_suite(mnsim_real_mm_test_suite);
