// SPDX-License-Identifier: GPL-2.0
/*
 * mnsim_owin: the coherence oracle's invalidation windows (struct mnsim_owin),
 * driven through the callbacks' own helpers: mnsim_owin_start(),
 * mnsim_owin_end(), mnsim_owin_hook() and __mnsim_owin_state(); and which
 * hits the oracle judges against its view (__mnsim_translate()).
 *
 * Copyright (C) 2026 The mmu_notifier_sim authors
 *
 * #included at the end of mmu_notifier_sim.c with the other suites. A window
 * is open from range start until its range end and a hook covering it; it is
 * unflushed where no hook since its start covered the address. Where the
 * kernel never calls the hook (UML from 6.6), a window is never unflushed
 * and closes at its end; up to 6.5 an ended window also closes at its task's
 * next callback.
 */
#include <kunit/test.h>

#define OW_A	0x100000UL	/* a page the tests invalidate */
#define OW_B	0x200000UL	/* another, never invalidated */

/* The unflushed state where the kernel calls hooks at all. */
#define OW_UNFLUSHED	(MNSIM_HOOK_CALLED ? MNSIM_OWIN_UNFLUSHED : \
				     MNSIM_OWIN_FLUSHED)

static struct mnsim_ctx *ow_ctx(struct kunit *test)
{
	struct mnsim_ctx *ctx = kunit_kzalloc(test, sizeof(*ctx), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, ctx);
	spin_lock_init(&ctx->tlb.lock);
	ctx->oracle = true;
	return ctx;
}

static struct mmu_notifier_range ow_range(unsigned long start,
					  unsigned long end)
{
	return (struct mmu_notifier_range){ .start = start, .end = end };
}

static enum mnsim_owin_state ow_state(struct mnsim_ctx *ctx, unsigned long va)
{
	enum mnsim_owin_state s;

	spin_lock(&ctx->tlb.lock);
	s = __mnsim_owin_state(ctx, va);
	spin_unlock(&ctx->tlb.lock);
	return s;
}

/* A COW: start, the hook under the PTL, end. */
static void mnsim_owin_cow_test(struct kunit *test)
{
	struct mnsim_ctx *ctx = ow_ctx(test);
	struct mmu_notifier_range r = ow_range(OW_A, OW_A + PAGE_SIZE);

	KUNIT_EXPECT_EQ(test, ow_state(ctx, OW_A), MNSIM_OWIN_NONE);
	mnsim_owin_start(ctx, &r);
	KUNIT_EXPECT_EQ(test, ow_state(ctx, OW_A), OW_UNFLUSHED);
	KUNIT_EXPECT_EQ(test, ow_state(ctx, OW_A + PAGE_SIZE), MNSIM_OWIN_NONE);
	KUNIT_EXPECT_EQ(test, ow_state(ctx, OW_B), MNSIM_OWIN_NONE);
	mnsim_owin_hook(ctx, OW_A, OW_A + PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, ow_state(ctx, OW_A), MNSIM_OWIN_FLUSHED);
	mnsim_owin_end(ctx, &r);
	KUNIT_EXPECT_EQ(test, ow_state(ctx, OW_A), MNSIM_OWIN_NONE);
	KUNIT_EXPECT_EQ(test, ctx->owin_nr, 0U);
}

/* A zap whose hook comes after its end (6.6+: tlb_finish_mmu()). */
static void mnsim_owin_zap_hook_after_end_test(struct kunit *test)
{
	struct mnsim_ctx *ctx = ow_ctx(test);
	struct mmu_notifier_range r = ow_range(OW_A, OW_A + 2 * PAGE_SIZE);

	mnsim_owin_start(ctx, &r);
	mnsim_owin_end(ctx, &r);
	/* Waits for the hook; without hook calls the end closed it. */
	KUNIT_EXPECT_EQ(test, ow_state(ctx, OW_A + PAGE_SIZE),
			MNSIM_HOOK_CALLED ? MNSIM_OWIN_UNFLUSHED :
					    MNSIM_OWIN_NONE);
	/*
	 * A hook over part of it: that part is flushed, the window stays.
	 * Up to 6.5 the task's next callback after an end closes the window
	 * (the range end's own hook covers the whole range, and comes first).
	 */
	mnsim_owin_hook(ctx, OW_A, OW_A + PAGE_SIZE);
	if (MNSIM_HOOK_FROM_RANGE_END) {
		KUNIT_EXPECT_EQ(test, ow_state(ctx, OW_A + PAGE_SIZE),
				MNSIM_OWIN_NONE);
	} else if (MNSIM_HOOK_CALLED) {
		KUNIT_EXPECT_EQ(test, ow_state(ctx, OW_A), MNSIM_OWIN_FLUSHED);
		KUNIT_EXPECT_EQ(test, ow_state(ctx, OW_A + PAGE_SIZE),
				MNSIM_OWIN_UNFLUSHED);
	}
	/* The rest: flushed all over, and ended, so closed. */
	mnsim_owin_hook(ctx, OW_A + PAGE_SIZE, OW_A + 2 * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, ow_state(ctx, OW_A), MNSIM_OWIN_NONE);
	KUNIT_EXPECT_EQ(test, ow_state(ctx, OW_A + PAGE_SIZE), MNSIM_OWIN_NONE);
	KUNIT_EXPECT_EQ(test, ctx->owin_nr, 0U);
}

/*
 * An ended window that waits for a hook: closed by the time limit, and up to
 * 6.5 by its task's next callback (an only_end range, e.g. a THP split).
 */
static void mnsim_owin_pending_closes_test(struct kunit *test)
{
	struct mnsim_ctx *ctx = ow_ctx(test);
	struct mmu_notifier_range r = ow_range(OW_A, OW_A + PAGE_SIZE);
	struct mmu_notifier_range other = ow_range(OW_B, OW_B + PAGE_SIZE);
	unsigned int i;

	if (!MNSIM_HOOK_CALLED)
		kunit_skip(test, "no hook calls: an end closes every window");
	mnsim_owin_start(ctx, &r);
	mnsim_owin_end(ctx, &r);
	KUNIT_EXPECT_EQ(test, ow_state(ctx, OW_A), MNSIM_OWIN_UNFLUSHED);
	mnsim_owin_start(ctx, &other);
	KUNIT_EXPECT_EQ(test, ow_state(ctx, OW_A),
			MNSIM_HOOK_FROM_RANGE_END ? MNSIM_OWIN_NONE :
						    MNSIM_OWIN_UNFLUSHED);
	mnsim_owin_end(ctx, &other);
	mnsim_owin_hook(ctx, OW_B, OW_B + PAGE_SIZE);

	/* From 6.6 the first one still waits; make every ended one expire. */
	mnsim_owin_start(ctx, &r);
	mnsim_owin_end(ctx, &r);
	KUNIT_EXPECT_EQ(test, ow_state(ctx, OW_A), MNSIM_OWIN_UNFLUSHED);
	KUNIT_ASSERT_LE(test, ctx->owin_nr, 2U);
	for (i = 0; i < ctx->owin_nr; i++)
		if (ctx->owin[i].ended)
			ctx->owin[i].expires = jiffies - 1;
	KUNIT_EXPECT_EQ(test, ow_state(ctx, OW_A), MNSIM_OWIN_NONE);
}

/* Nested and overlapping windows: the address is unflushed if any is. */
static void mnsim_owin_overlap_test(struct kunit *test)
{
	struct mnsim_ctx *ctx = ow_ctx(test);
	struct mmu_notifier_range big = ow_range(OW_A, OW_A + PMD_SIZE);
	struct mmu_notifier_range small = ow_range(OW_A, OW_A + PAGE_SIZE);

	mnsim_owin_start(ctx, &big);
	mnsim_owin_start(ctx, &small);
	mnsim_owin_hook(ctx, OW_A, OW_A + PAGE_SIZE);
	/* small is flushed; big is flushed at OW_A too (its hull). */
	KUNIT_EXPECT_EQ(test, ow_state(ctx, OW_A), MNSIM_OWIN_FLUSHED);
	KUNIT_EXPECT_EQ(test, ow_state(ctx, OW_A + PAGE_SIZE), OW_UNFLUSHED);
	mnsim_owin_end(ctx, &small);
	mnsim_owin_hook(ctx, 0, ULONG_MAX);	/* flush_tlb_mm() */
	KUNIT_EXPECT_EQ(test, ow_state(ctx, OW_A + PAGE_SIZE),
			MNSIM_OWIN_FLUSHED);
	mnsim_owin_end(ctx, &big);
	KUNIT_EXPECT_EQ(test, ow_state(ctx, OW_A + PAGE_SIZE), MNSIM_OWIN_NONE);
	KUNIT_EXPECT_EQ(test, ctx->owin_nr, 0U);
}

/* More invalidations than entries: every address counts as unflushed. */
static void mnsim_owin_overflow_test(struct kunit *test)
{
	struct mnsim_ctx *ctx = ow_ctx(test);
	struct mmu_notifier_range r = ow_range(OW_A, OW_A + PAGE_SIZE);
	unsigned int i;

	for (i = 0; i <= MNSIM_ORACLE_WINDOWS; i++)
		mnsim_owin_start(ctx, &r);
	KUNIT_EXPECT_EQ(test, ctx->owin_overflow, 1U);
	KUNIT_EXPECT_EQ(test, ow_state(ctx, OW_B), MNSIM_OWIN_UNFLUSHED);
	for (i = 0; i <= MNSIM_ORACLE_WINDOWS; i++) {
		mnsim_owin_hook(ctx, OW_A, OW_A + PAGE_SIZE);
		mnsim_owin_end(ctx, &r);
	}
	KUNIT_EXPECT_EQ(test, ctx->owin_overflow, 0U);
	KUNIT_EXPECT_EQ(test, ctx->owin_nr, 0U);
	KUNIT_EXPECT_EQ(test, ow_state(ctx, OW_B), MNSIM_OWIN_NONE);
}

/*
 * A hit on an entry inserted after the oracle's view takes a new view: the
 * view may have found no PTE where another thread's fault then set one (a
 * zap's refault), which is no invalidation and bumps no sequence. Judged
 * against the old view, that entry was a false case B.
 */
static void mnsim_oracle_fill_after_view_test(struct kunit *test)
{
	struct mnsim_ctx *ctx = ow_ctx(test);
	struct sec_tlb_xlate walked = {
		.va = OW_A, .shift = PAGE_SHIFT, .perm = SEC_TLB_R, .pfn = 42,
	};
	struct mnsim_call call = {};
	unsigned long fills, seq;
	struct sec_tlb_xlate x;

	KUNIT_ASSERT_EQ(test, sec_tlb_init(&ctx->tlb, 16), 0);
	ctx->mode = MNSIM_MODE_ATS;

	/* The view, then another thread's walk and fill. */
	fills = sec_tlb_fills(&ctx->tlb);
	seq = sec_tlb_read_begin(&ctx->tlb);
	spin_lock(&ctx->tlb.lock);
	KUNIT_EXPECT_EQ(test, __mnsim_translate(ctx, OW_A, false, &walked,
						seq, 0, &x, &call),
			MNSIM_FILLED);
	KUNIT_EXPECT_EQ(test, __mnsim_translate(ctx, OW_A, false, NULL, seq,
						fills, &x, &call),
			MNSIM_NEED_VIEW);
	spin_unlock(&ctx->tlb.lock);
	KUNIT_EXPECT_EQ(test, call.hits, 0ULL);

	/* A view taken after the fill judges the hit. */
	fills = sec_tlb_fills(&ctx->tlb);
	seq = sec_tlb_read_begin(&ctx->tlb);
	spin_lock(&ctx->tlb.lock);
	KUNIT_EXPECT_EQ(test, __mnsim_translate(ctx, OW_A, false, NULL, seq,
						fills, &x, &call),
			MNSIM_HIT);
	spin_unlock(&ctx->tlb.lock);
	KUNIT_EXPECT_EQ(test, x.pfn, 42UL);
	KUNIT_EXPECT_EQ(test, call.hits, 1ULL);
	sec_tlb_destroy(&ctx->tlb);
}

static struct kunit_case mnsim_owin_test_cases[] = {
	KUNIT_CASE(mnsim_owin_cow_test),
	KUNIT_CASE(mnsim_owin_zap_hook_after_end_test),
	KUNIT_CASE(mnsim_owin_pending_closes_test),
	KUNIT_CASE(mnsim_owin_overlap_test),
	KUNIT_CASE(mnsim_owin_overflow_test),
	KUNIT_CASE(mnsim_oracle_fill_after_view_test),
	{}
};

static struct kunit_suite mnsim_owin_test_suite = {
	.name = "mnsim_owin",
	.test_cases = mnsim_owin_test_cases,
};

kunit_test_suite(mnsim_owin_test_suite);
