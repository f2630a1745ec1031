// SPDX-License-Identifier: GPL-2.0
/*
 * mnsim_hook: what the secondary-TLB hook drops from the device's TLB, for
 * the ranges the kernel passes, including an empty one.
 *
 * Copyright (C) 2026 The mmu_notifier_sim authors
 *
 * #included at the end of mmu_notifier_sim.c with the other suites. The
 * hook is called directly (on UML from 6.6 no kernel path calls it), on a
 * fresh, never bound device whose TLB holds two pages. An empty range
 * (start == end, or start after end) is what arm64's __flush_tlb_range_op()
 * passed in 2025; the device flushes everything then, as SMMUv3 does, counts
 * it in hook_empty and marks the HOOK event MNSIM_EVF_EMPTY.
 */
#include <kunit/test.h>

#define HK_A	0x400000UL	/* two pages the TLB caches */
#define HK_B	0x800000UL

/* A fresh device in ATS mode, recording events, with HK_A and HK_B cached. */
static struct mnsim_ctx *hk_ctx(struct kunit *test, struct file *file)
{
	const unsigned long va[] = { HK_A, HK_B };
	struct mnsim_ctx *ctx;
	unsigned int i;
	int ret;

	ret = mnsim_open(NULL, file);
	KUNIT_ASSERT_EQ(test, ret, 0);
	ctx = file->private_data;
	ret = sec_tlb_init(&ctx->tlb, 16);
	if (!ret)
		ret = mnsim_ev_init(ctx, true);
	if (ret) {
		if (ctx->tlb.entries)
			sec_tlb_destroy(&ctx->tlb);
		mnsim_release_file(NULL, file);
		KUNIT_ASSERT_EQ(test, ret, 0);
	}
	ctx->mode = MNSIM_MODE_ATS;
	for (i = 0; i < ARRAY_SIZE(va); i++) {
		struct sec_tlb_xlate x = {
			.va = va[i],
			.shift = PAGE_SHIFT,
			.perm = SEC_TLB_R | SEC_TLB_W,
			.pfn = 0x1000 + i,
			.tag = 1,
		};

		spin_lock(&ctx->tlb.lock);
		__sec_tlb_insert(&ctx->tlb, &x);
		spin_unlock(&ctx->tlb.lock);
	}
	return ctx;
}

static bool hk_cached(struct mnsim_ctx *ctx, unsigned long va)
{
	struct sec_tlb_xlate x;
	bool hit;

	spin_lock(&ctx->tlb.lock);
	hit = __sec_tlb_lookup(&ctx->tlb, va, SEC_TLB_R, &x);
	spin_unlock(&ctx->tlb.lock);
	return hit;
}

/* The newest event in the ring. */
static struct mnsim_event hk_last_event(struct mnsim_ctx *ctx)
{
	struct mnsim_event ev = {};

	spin_lock(&ctx->ev_lock);
	if (ctx->ev_head != ctx->ev_tail)
		ev = ctx->ev_ring[(ctx->ev_head - 1) % MNSIM_EVENT_RING];
	spin_unlock(&ctx->ev_lock);
	return ev;
}

static void hk_put(struct mnsim_ctx *ctx, struct file *file)
{
	sec_tlb_destroy(&ctx->tlb);
	mnsim_release_file(NULL, file);
}

/*
 * One hook call for [@start, @end) on a fresh device: HK_A is dropped, HK_B
 * too when @empty, and the counters and the HOOK event say so; the event
 * keeps the range the kernel passed.
 */
static void hk_check(struct kunit *test, unsigned long start, unsigned long end,
		     bool empty)
{
	struct file file = {};
	struct mnsim_ctx *ctx = hk_ctx(test, &file);
	struct mnsim_counters c;
	struct mnsim_event ev;

	mnsim_secondary_tlb_hook(&ctx->tlb_mn, NULL, start, end);
	KUNIT_EXPECT_FALSE_MSG(test, hk_cached(ctx, HK_A), "[%lx, %lx)", start, end);
	KUNIT_EXPECT_EQ_MSG(test, hk_cached(ctx, HK_B), !empty, "[%lx, %lx)",
			    start, end);
	mnsim_sum_counters(ctx, &c);
	KUNIT_EXPECT_EQ(test, c.hook_calls, 1ULL);
	KUNIT_EXPECT_EQ(test, c.hook_empty, empty ? 1ULL : 0ULL);
	ev = hk_last_event(ctx);
	KUNIT_EXPECT_EQ(test, ev.type, (u32)MNSIM_EV_HOOK);
	KUNIT_EXPECT_EQ(test, ev.flags & MNSIM_EVF_EMPTY,
			empty ? MNSIM_EVF_EMPTY : 0U);
	KUNIT_EXPECT_EQ(test, ev.start, (u64)start);
	KUNIT_EXPECT_EQ(test, ev.end, (u64)end);
	KUNIT_EXPECT_EQ(test, ev.count, empty ? 2U : 1U);
	hk_put(ctx, &file);
}

/* A page's range drops that page only, and is not counted as empty. */
static void mnsim_hook_range_test(struct kunit *test)
{
	hk_check(test, HK_A, HK_A + PAGE_SIZE, false);
}

/* start == end, and start after end: everything goes, counted, marked. */
static void mnsim_hook_empty_range_test(struct kunit *test)
{
	hk_check(test, HK_A, HK_A, true);		/* arm64's 2025 bug */
	hk_check(test, HK_A + PAGE_SIZE, HK_A, true);	/* inverted */
}

static struct kunit_case mnsim_hook_test_cases[] = {
	KUNIT_CASE(mnsim_hook_range_test),
	KUNIT_CASE(mnsim_hook_empty_range_test),
	{}
};

static struct kunit_suite mnsim_hook_test_suite = {
	.name = "mnsim_hook",
	.test_cases = mnsim_hook_test_cases,
};

kunit_test_suite(mnsim_hook_test_suite);
