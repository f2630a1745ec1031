// SPDX-License-Identifier: GPL-2.0
/*
 * mnsim_retry: the bound on a device access that keeps losing the
 * fill-vs-invalidate race (MNSIM_MAX_TRIES, the uAPI's EAGAIN).
 *
 * Copyright (C) 2026 The mmu_notifier_sim authors
 *
 * #included at the end of mmu_notifier_sim.c with the other suites. The
 * device's ops are replaced by a fake walk that calls the secondary-TLB hook
 * for the address it translates, as a CPU invalidating the page between the
 * IOMMU's walk and the driver's fill would: the sequence count sampled before
 * the walk (sec_tlb_read_begin()) no longer matches at the fill, which is
 * refused, and the access walks again. No real hardware loses every race,
 * and no real kernel can be made to invalidate one page a thousand times
 * exactly between two instructions of the driver: this is the only place the
 * bound can be reached on purpose, so this is where the errno is asserted.
 */
#include <kunit/test.h>

#define RT_VA		0x300000UL	/* the address the device reads */
#define RT_VALUE	0x5eedf00dULL	/* what the fake memory holds */

/**
 * struct rt_dev - the fake device of one case
 * @races: walks still to be raced by an invalidation of the page
 * @walks: walks so far
 * @dmas: accesses that went through
 */
struct rt_dev {
	unsigned int races;
	unsigned int walks;
	unsigned int dmas;
};

/* The case's device; cases of a suite run one at a time. */
static struct rt_dev *rt_cur;

/*
 * The walk: a present, writable page; while @races lasts, the hook for its
 * page runs after the translation is read and before the driver fills it.
 */
static int rt_walk(struct mnsim_ctx *ctx, unsigned long va, bool write,
		   struct sec_tlb_xlate *x, struct mnsim_call *call)
{
	x->va = va & PAGE_MASK;
	x->pfn = 0x1234;
	x->shift = PAGE_SHIFT;
	x->perm = SEC_TLB_R | SEC_TLB_W;
	x->tag = 1;
	rt_cur->walks++;
	if (rt_cur->races) {
		rt_cur->races--;
		mnsim_secondary_tlb_hook(&ctx->tlb_mn, NULL, x->va,
					 x->va + PAGE_SIZE);
	}
	return 0;
}

/* The access: @ubuf is a kernel buffer here (see rt_read()). */
static int rt_dma(struct mnsim_ctx *ctx, const struct sec_tlb_xlate *x,
		  unsigned long va, void __user *ubuf, size_t len, bool write)
{
	u64 *buf = (u64 __force *)ubuf;

	rt_cur->dmas++;
	if (!write)
		*buf = RT_VALUE;
	return 0;
}

static const struct mnsim_dev_ops rt_dev_ops = {
	.walk	= rt_walk,
	.dma	= rt_dma,
};

/*
 * A fresh, never bound ATS device of 16 TLB entries, reaching memory by
 * @ops: the file's private data. Undo with rt_dev_free().
 */
static struct mnsim_ctx *rt_dev_new(struct kunit *test, struct file *file,
				    const struct mnsim_dev_ops *ops)
{
	struct mnsim_ctx *ctx;
	int ret;

	ret = mnsim_open(NULL, file);
	KUNIT_ASSERT_EQ(test, ret, 0);
	ctx = file->private_data;
	ret = sec_tlb_init(&ctx->tlb, 16);
	if (ret) {
		mnsim_release_file(NULL, file);
		KUNIT_ASSERT_EQ(test, ret, 0);
	}
	ctx->ops = ops;
	ctx->mode = MNSIM_MODE_ATS;
	return ctx;
}

static void rt_dev_free(struct file *file)
{
	struct mnsim_ctx *ctx = file->private_data;

	sec_tlb_destroy(&ctx->tlb);
	mnsim_release_file(NULL, file);
}

/*
 * One device read of RT_VA by a fresh, never bound ATS device whose walks
 * race @races times. Returns what mnsim_access_page() returns; the counts
 * are left in @d and the TLB's state in @cached.
 */
static int rt_read(struct kunit *test, struct rt_dev *d, unsigned int races,
		   u64 *value, bool *cached)
{
	struct mnsim_call call = {};
	struct sec_tlb_xlate x;
	struct mnsim_ctx *ctx;
	struct file file = {};
	int ret;

	ctx = rt_dev_new(test, &file, &rt_dev_ops);
	d->races = races;
	rt_cur = d;

	ret = mnsim_access_page(ctx, RT_VA, (void __force __user *)value,
				sizeof(*value), false, &call);

	spin_lock(&ctx->tlb.lock);
	*cached = __sec_tlb_lookup(&ctx->tlb, RT_VA, SEC_TLB_R, &x);
	spin_unlock(&ctx->tlb.lock);
	rt_cur = NULL;
	rt_dev_free(&file);
	return ret;
}

/* Every walk raced: the access gives up after MNSIM_MAX_TRIES walks. */
static void mnsim_retry_gives_up_test(struct kunit *test)
{
	struct rt_dev d = {};
	bool cached;
	u64 v = 0;

	KUNIT_EXPECT_EQ(test, rt_read(test, &d, UINT_MAX, &v, &cached),
			-EAGAIN);
	KUNIT_EXPECT_EQ(test, d.walks, MNSIM_MAX_TRIES);
	KUNIT_EXPECT_EQ(test, d.dmas, 0U);
	KUNIT_EXPECT_EQ(test, v, 0ULL);
	KUNIT_EXPECT_FALSE_MSG(test, cached,
			       "a translation refused at every fill was cached");
}

/* The last try wins: MNSIM_MAX_TRIES - 1 raced walks still succeed. */
static void mnsim_retry_last_try_succeeds_test(struct kunit *test)
{
	struct rt_dev d = {};
	bool cached;
	u64 v = 0;

	KUNIT_EXPECT_EQ(test, rt_read(test, &d, MNSIM_MAX_TRIES - 1, &v,
				      &cached), 0);
	KUNIT_EXPECT_EQ(test, d.walks, MNSIM_MAX_TRIES);
	KUNIT_EXPECT_EQ(test, d.dmas, 1U);
	KUNIT_EXPECT_EQ(test, v, RT_VALUE);
	KUNIT_EXPECT_TRUE(test, cached);
}

/* A walk that did not race fills at once: the control of the two above. */
static void mnsim_retry_no_race_test(struct kunit *test)
{
	struct rt_dev d = {};
	bool cached;
	u64 v = 0;

	KUNIT_EXPECT_EQ(test, rt_read(test, &d, 0, &v, &cached), 0);
	KUNIT_EXPECT_EQ(test, d.walks, 1U);
	KUNIT_EXPECT_EQ(test, d.dmas, 1U);
	KUNIT_EXPECT_EQ(test, v, RT_VALUE);
	KUNIT_EXPECT_TRUE(test, cached);
}

static struct kunit_case mnsim_retry_test_cases[] = {
	KUNIT_CASE(mnsim_retry_no_race_test),
	KUNIT_CASE(mnsim_retry_last_try_succeeds_test),
	KUNIT_CASE(mnsim_retry_gives_up_test),
	{}
};

static struct kunit_suite mnsim_retry_test_suite = {
	.name = "mnsim_retry",
	.test_cases = mnsim_retry_test_cases,
};

kunit_test_suite(mnsim_retry_test_suite);
