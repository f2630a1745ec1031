// SPDX-License-Identifier: GPL-2.0
/*
 * mnsim_perm: the permission-caching device (MNSIM_BIND_PERM_CACHE), an
 * SMMU without broadcast TLB maintenance: a write through a read-only entry
 * is a permission fault, answered by a page request, and retried through
 * the TLB; only the secondary-TLB hook ever drops the entry.
 *
 * Copyright (C) 2026 The mmu_notifier_sim authors
 *
 * #included at the end of mmu_notifier_sim.c with the other suites, after
 * mnsim_retry, whose rt_dev_new() makes the device. The device's ops are
 * fakes: a page table whose PTE is writable, a page
 * request that either does what arm64 6.1's write-fault reuse does (makes
 * the PTE writable and calls no hook) or what 6.12's does (calls the hook,
 * on the Nth request), and memory that is a u64. The kselftest perm
 * fixture runs the same path on real kernels; here every bound and count
 * is exact.
 */
#include <kunit/test.h>

#define PM_VA		0x500000UL	/* the address the device writes */
#define PM_PFN		0x4321UL

/**
 * struct pm_dev - the fake device of one case
 * @notify_at: the page request that calls the hook (1 = the first), 0 for
 *	none: a kernel that never notifies the upgrade
 * @req_err: what every page request returns, when not 0
 * @requests: page requests so far
 * @walks: walks so far
 * @dmas: accesses that went through
 * @mem: the fake page's first 8 bytes
 */
struct pm_dev {
	unsigned int notify_at;
	int req_err;
	unsigned int requests;
	unsigned int walks;
	unsigned int dmas;
	u64 mem;
};

/* The case's device; cases of a suite run one at a time. */
static struct pm_dev *pm_cur;

/* The walk: the PTE is writable now, whatever the access. */
static int pm_walk(struct mnsim_ctx *ctx, unsigned long va, bool write,
		   struct sec_tlb_xlate *x, struct mnsim_call *call)
{
	x->va = va & PAGE_MASK;
	x->pfn = PM_PFN;
	x->shift = PAGE_SHIFT;
	x->perm = SEC_TLB_R | SEC_TLB_W;
	x->tag = 1;
	pm_cur->walks++;
	return 0;
}

static int pm_dma(struct mnsim_ctx *ctx, const struct sec_tlb_xlate *x,
		  unsigned long va, void __user *ubuf, size_t len, bool write)
{
	u64 *buf = (u64 __force *)ubuf;

	pm_cur->dmas++;
	if (write)
		pm_cur->mem = *buf;
	else
		*buf = pm_cur->mem;
	return 0;
}

/* The page request: the upgrade, notified or not. */
static int pm_page_request(struct mnsim_ctx *ctx, unsigned long va,
			   struct mnsim_call *call)
{
	pm_cur->requests++;
	if (pm_cur->req_err)
		return pm_cur->req_err;
	if (pm_cur->requests == pm_cur->notify_at)
		mnsim_secondary_tlb_hook(&ctx->tlb_mn, NULL, va & PAGE_MASK,
					 (va & PAGE_MASK) + PAGE_SIZE);
	return 0;
}

static const struct mnsim_dev_ops pm_dev_ops = {
	.walk		= pm_walk,
	.dma		= pm_dma,
	.page_request	= pm_page_request,
};

/**
 * struct pm_result - what one device write left behind
 * @ret: what mnsim_access_page() returned
 * @verdict: the call's verdict
 * @perm_faults: the device's permission-fault counter
 * @stuck: the device's MNSIM_VERDICT_STUCK_RO counter
 * @perm: the permission of the entry at PM_VA afterwards, 0 if none
 */
struct pm_result {
	int ret;
	unsigned int verdict;
	u64 perm_faults;
	u64 stuck;
	unsigned int perm;
};

/*
 * One device write of PM_VA by a fresh ATS device, @perm_cache or not,
 * whose TLB holds PM_VA read-only (the walk before the upgrade);
 * @nofault is MNSIM_ACCESS_NOFAULT.
 */
static void pm_write(struct kunit *test, struct pm_dev *d, bool perm_cache,
		     bool nofault, struct pm_result *r)
{
	const struct sec_tlb_xlate ro = {
		.va = PM_VA, .pfn = PM_PFN, .shift = PAGE_SHIFT,
		.perm = SEC_TLB_R, .tag = 1,
	};
	struct mnsim_call call = { .nofault = nofault };
	struct mnsim_counters c;
	struct sec_tlb_xlate x;
	struct mnsim_ctx *ctx;
	struct file file = {};
	u64 v = 0x7772697465ULL;

	ctx = rt_dev_new(test, &file, &pm_dev_ops);
	ctx->perm_cache = perm_cache;
	spin_lock(&ctx->tlb.lock);
	__sec_tlb_insert(&ctx->tlb, &ro);
	spin_unlock(&ctx->tlb.lock);
	pm_cur = d;

	r->ret = mnsim_access_page(ctx, PM_VA, (void __force __user *)&v,
				   sizeof(v), true, &call);
	r->verdict = call.verdict;
	mnsim_sum_counters(ctx, &c);
	r->perm_faults = c.perm_faults;
	r->stuck = c.verdicts[MNSIM_VERDICT_STUCK_RO];
	spin_lock(&ctx->tlb.lock);
	r->perm = __sec_tlb_lookup(&ctx->tlb, PM_VA, SEC_TLB_R, &x) ?
		  x.perm : 0;
	spin_unlock(&ctx->tlb.lock);
	pm_cur = NULL;
	rt_dev_free(&file);
	if (!r->ret)
		KUNIT_EXPECT_EQ(test, d->mem, v);
}

/* arm64 6.1: the upgrade is never notified. Stuck after the bound. */
static void mnsim_perm_never_notified_is_stuck_test(struct kunit *test)
{
	struct pm_dev d = {};
	struct pm_result r;

	pm_write(test, &d, true, false, &r);
	KUNIT_EXPECT_EQ(test, r.ret, -EACCES);
	KUNIT_EXPECT_EQ(test, r.verdict, (unsigned int)MNSIM_VERDICT_STUCK_RO);
	KUNIT_EXPECT_EQ(test, d.requests, (unsigned int)MNSIM_PERM_FAULTS_MAX);
	KUNIT_EXPECT_EQ(test, r.perm_faults, MNSIM_PERM_FAULTS_MAX + 1ULL);
	KUNIT_EXPECT_EQ(test, r.stuck, 1ULL);
	KUNIT_EXPECT_EQ(test, d.walks, 0U);
	KUNIT_EXPECT_EQ_MSG(test, d.dmas, 0U, "a stuck device wrote");
	KUNIT_EXPECT_EQ_MSG(test, r.perm, (unsigned int)SEC_TLB_R,
			    "nothing but the hook may drop the entry");
}

/* arm64 6.12: the first page request's upgrade calls the hook. */
static void mnsim_perm_notified_goes_through_test(struct kunit *test)
{
	struct pm_dev d = { .notify_at = 1 };
	struct pm_result r;

	pm_write(test, &d, true, false, &r);
	KUNIT_EXPECT_EQ(test, r.ret, 0);
	KUNIT_EXPECT_EQ(test, r.verdict, (unsigned int)MNSIM_VERDICT_NONE);
	KUNIT_EXPECT_EQ(test, d.requests, 1U);
	KUNIT_EXPECT_EQ(test, r.perm_faults, 1ULL);
	KUNIT_EXPECT_EQ(test, r.stuck, 0ULL);
	KUNIT_EXPECT_EQ(test, d.walks, 1U);
	KUNIT_EXPECT_EQ(test, d.dmas, 1U);
	KUNIT_EXPECT_EQ(test, r.perm, (unsigned int)(SEC_TLB_R | SEC_TLB_W));
}

/* The bound is exact: a hook on the last allowed request still counts. */
static void mnsim_perm_notified_on_last_request_test(struct kunit *test)
{
	struct pm_dev d = { .notify_at = MNSIM_PERM_FAULTS_MAX };
	struct pm_result r;

	pm_write(test, &d, true, false, &r);
	KUNIT_EXPECT_EQ(test, r.ret, 0);
	KUNIT_EXPECT_EQ(test, d.requests, (unsigned int)MNSIM_PERM_FAULTS_MAX);
	KUNIT_EXPECT_EQ(test, r.perm_faults, (u64)MNSIM_PERM_FAULTS_MAX);
	KUNIT_EXPECT_EQ(test, r.stuck, 0ULL);
	KUNIT_EXPECT_EQ(test, d.dmas, 1U);
}

/* A page request that cannot make the page writable: its errno, once. */
static void mnsim_perm_request_fails_test(struct kunit *test)
{
	struct pm_dev d = { .req_err = -EFAULT };
	struct pm_result r;

	pm_write(test, &d, true, false, &r);
	KUNIT_EXPECT_EQ(test, r.ret, -EFAULT);
	KUNIT_EXPECT_EQ(test, d.requests, 1U);
	KUNIT_EXPECT_EQ(test, r.perm_faults, 1ULL);
	KUNIT_EXPECT_EQ(test, r.stuck, 0ULL);
	KUNIT_EXPECT_EQ(test, d.dmas, 0U);
}

/* MNSIM_ACCESS_NOFAULT: no page request at all. */
static void mnsim_perm_nofault_test(struct kunit *test)
{
	struct pm_dev d = { .notify_at = 1 };
	struct pm_result r;

	pm_write(test, &d, true, true, &r);
	KUNIT_EXPECT_EQ(test, r.ret, -ENOENT);
	KUNIT_EXPECT_EQ(test, d.requests, 0U);
	KUNIT_EXPECT_EQ(test, r.perm_faults, 1ULL);
	KUNIT_EXPECT_EQ(test, d.dmas, 0U);
}

/*
 * The control: without PERM_CACHE (x86's IOMMUs) a read-only entry is a
 * miss, and the write walks again, with no page request and no fault.
 */
static void mnsim_perm_off_walks_again_test(struct kunit *test)
{
	struct pm_dev d = {};
	struct pm_result r;

	pm_write(test, &d, false, false, &r);
	KUNIT_EXPECT_EQ(test, r.ret, 0);
	KUNIT_EXPECT_EQ(test, d.requests, 0U);
	KUNIT_EXPECT_EQ(test, r.perm_faults, 0ULL);
	KUNIT_EXPECT_EQ(test, d.walks, 1U);
	KUNIT_EXPECT_EQ(test, d.dmas, 1U);
}

static struct kunit_case mnsim_perm_test_cases[] = {
	KUNIT_CASE(mnsim_perm_never_notified_is_stuck_test),
	KUNIT_CASE(mnsim_perm_notified_goes_through_test),
	KUNIT_CASE(mnsim_perm_notified_on_last_request_test),
	KUNIT_CASE(mnsim_perm_request_fails_test),
	KUNIT_CASE(mnsim_perm_nofault_test),
	KUNIT_CASE(mnsim_perm_off_walks_again_test),
	{}
};

static struct kunit_suite mnsim_perm_test_suite = {
	.name = "mnsim_perm",
	.test_cases = mnsim_perm_test_cases,
};

kunit_test_suite(mnsim_perm_test_suite);
