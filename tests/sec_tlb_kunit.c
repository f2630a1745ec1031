// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests for sec_tlb, the secondary TLB of mmu_notifier_sim.
 *
 * Copyright (C) 2026 The mmu_notifier_sim authors
 *
 * The TLB knows nothing of mm_struct, so every test drives it directly with
 * made-up translations. Tests are tables: each row is one parameter of a
 * KUNIT_ARRAY_PARAM case (6.1 has no KUNIT_ARRAY_PARAM_DESC, so each table
 * has a small get_desc function).
 *
 * Address layout used by the range tests (P = PAGE_SIZE, H = PMD_SIZE):
 *
 *   LO      LO+P    LO+2P   LO+3P        HI                HI+H
 *   |  p0   |  p1   |  p2   |    ...     |       huge      |   ...   | top |
 *                                                                 ^ULONG_MAX
 *
 * p0..p2 are 4 KiB entries, huge is one PMD entry, top is the 4 KiB entry of
 * the last page of the address space.
 */
#include <kunit/test.h>
#include <linux/bitmap.h>
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/module.h>

#include "../sec_tlb.h"

#define LO		(64UL << 20)		/* PMD aligned on every arch */
#define HI		(128UL << 20)
#define TOP		(ULONG_MAX & PAGE_MASK)	/* last page of the space */

enum { P0, P1, P2, HUGE, TOPP, NR_LAYOUT };

static const struct sec_tlb_xlate layout[NR_LAYOUT] = {
	[P0]	= { .va = LO,			.pfn = 0x100, .shift = PAGE_SHIFT,
		    .perm = SEC_TLB_R, .tag = 10 },
	[P1]	= { .va = LO + PAGE_SIZE,	.pfn = 0x200, .shift = PAGE_SHIFT,
		    .perm = SEC_TLB_R | SEC_TLB_W, .tag = 11 },
	[P2]	= { .va = LO + 2 * PAGE_SIZE,	.pfn = 0x300, .shift = PAGE_SHIFT,
		    .perm = SEC_TLB_R, .tag = 12 },
	[HUGE]	= { .va = HI,			.pfn = 0x4000, .shift = PMD_SHIFT,
		    .perm = SEC_TLB_R | SEC_TLB_W, .tag = 13 },
	[TOPP]	= { .va = TOP,			.pfn = 0x500, .shift = PAGE_SHIFT,
		    .perm = SEC_TLB_R, .tag = 14 },
};

#define ALL_LAYOUT	(BIT(NR_LAYOUT) - 1)

/* ---- helpers ------------------------------------------------------------ */

static struct sec_tlb *tlb_new(struct kunit *test, unsigned int capacity)
{
	struct sec_tlb *tlb = kunit_kzalloc(test, sizeof(*tlb), GFP_KERNEL);

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, tlb);
	KUNIT_ASSERT_EQ(test, sec_tlb_init(tlb, capacity), 0);
	return tlb;
}

/**
 * tlb_insert() - __sec_tlb_insert() under the TLB's lock
 * @tlb: the TLB
 * @x: the translation
 *
 * Context: Takes and releases @tlb->lock.
 */
static void tlb_insert(struct sec_tlb *tlb, const struct sec_tlb_xlate *x)
{
	spin_lock(&tlb->lock);
	__sec_tlb_insert(tlb, x);
	spin_unlock(&tlb->lock);
}

/**
 * tlb_lookup() - __sec_tlb_lookup() under the TLB's lock
 * @tlb: the TLB
 * @va: the address
 * @perm: the permissions asked for
 * @out: receives the translation on a hit; may be NULL
 *
 * Context: Takes and releases @tlb->lock.
 * Return: true on a hit.
 */
static bool tlb_lookup(struct sec_tlb *tlb, unsigned long va,
		       unsigned int perm, struct sec_tlb_xlate *out)
{
	struct sec_tlb_xlate dummy;
	bool hit;

	spin_lock(&tlb->lock);
	hit = __sec_tlb_lookup(tlb, va, perm, out ?: &dummy);
	spin_unlock(&tlb->lock);
	return hit;
}

/* Does a read lookup of page @n of the region at @base hit? */
static bool tlb_has_page(struct sec_tlb *tlb, unsigned long base,
			 unsigned long n)
{
	return tlb_lookup(tlb, base + n * PAGE_SIZE, SEC_TLB_R, NULL);
}

static unsigned int tlb_live(struct sec_tlb *tlb)
{
	struct sec_tlb_stats s;
	unsigned int nr;

	sec_tlb_get_stats(tlb, &s, &nr);
	return nr;
}

/* A 4 KiB translation of page number @n of a test region. */
static struct sec_tlb_xlate page_x(unsigned long base, unsigned long n)
{
	return (struct sec_tlb_xlate){
		.va = base + n * PAGE_SIZE, .pfn = 0x10000 + n,
		.shift = PAGE_SHIFT, .perm = SEC_TLB_R, .tag = n,
	};
}

/* Bitmap of the layout entries that a read lookup still finds. */
static unsigned long layout_alive(struct sec_tlb *tlb)
{
	unsigned long alive = 0;
	int i;

	for (i = 0; i < NR_LAYOUT; i++)
		if (tlb_lookup(tlb, layout[i].va, SEC_TLB_R, NULL))
			alive |= BIT(i);
	return alive;
}

/* ---- insert, lookup, permissions --------------------------------------- */

struct lookup_case {
	const char *name;
	int entry;		/* layout entry inserted */
	unsigned long va;	/* looked up */
	unsigned int perm;
	bool hit;
	unsigned long pfn;	/* expected on a hit */
	unsigned int miss_perm;	/* expected in out.perm on a miss */
};

static const struct lookup_case lookup_cases[] = {
	{ "4k_read_of_read_entry",  P0, LO, SEC_TLB_R, true, 0x100 },
	{ "4k_write_of_read_entry_misses", P0, LO, SEC_TLB_W, false, 0,
	  SEC_TLB_R },
	{ "4k_rw_of_read_entry_misses", P0, LO, SEC_TLB_R | SEC_TLB_W, false,
	  0, SEC_TLB_R },
	{ "4k_write_of_rw_entry",   P1, LO + PAGE_SIZE, SEC_TLB_W, true, 0x200 },
	{ "4k_rw_of_rw_entry",      P1, LO + PAGE_SIZE, SEC_TLB_R | SEC_TLB_W,
	  true, 0x200 },
	{ "4k_unaligned_va",        P0, LO + 123, SEC_TLB_R, true, 0x100 },
	{ "4k_last_byte",           P0, LO + PAGE_SIZE - 1, SEC_TLB_R, true,
	  0x100 },
	{ "4k_next_page_misses",    P0, LO + PAGE_SIZE, SEC_TLB_R, false },
	{ "4k_previous_page_misses", P0, LO - 1, SEC_TLB_R, false },
	{ "pmd_first_page",         HUGE, HI, SEC_TLB_R, true, 0x4000 },
	{ "pmd_inner_page",         HUGE, HI + 5 * PAGE_SIZE + 7, SEC_TLB_W,
	  true, 0x4005 },
	{ "pmd_last_page",          HUGE, HI + PMD_SIZE - 1, SEC_TLB_R, true,
	  0x4000 + (PMD_SIZE >> PAGE_SHIFT) - 1 },
	{ "pmd_next_page_misses",   HUGE, HI + PMD_SIZE, SEC_TLB_R, false },
	{ "pmd_previous_page_misses", HUGE, HI - 1, SEC_TLB_R, false },
	{ "top_page",               TOPP, ULONG_MAX, SEC_TLB_R, true, 0x500 },
	{ "top_page_write_misses",  TOPP, TOP, SEC_TLB_W, false, 0, SEC_TLB_R },
};

static void lookup_case_desc(const struct lookup_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(lookup, lookup_cases, lookup_case_desc);

/*
 * sec_tlb_lookup_test - a lookup hits only inside an entry, only with the
 * entry's permissions, and returns the 4 KiB translation of the page; a
 * miss says whether an entry without the permission maps the address (a
 * permission fault, for a device that caches permissions).
 */
static void sec_tlb_lookup_test(struct kunit *test)
{
	const struct lookup_case *c = test->param_value;
	struct sec_tlb *tlb = tlb_new(test, 8);
	struct sec_tlb_xlate out = {};
	struct sec_tlb_stats s;
	unsigned int nr;
	bool hit;

	tlb_insert(tlb, &layout[c->entry]);
	hit = tlb_lookup(tlb, c->va, c->perm, &out);
	KUNIT_EXPECT_EQ(test, hit, c->hit);
	if (hit) {
		KUNIT_EXPECT_EQ(test, out.va, c->va & PAGE_MASK);
		KUNIT_EXPECT_EQ(test, out.pfn, c->pfn);
		KUNIT_EXPECT_EQ(test, out.shift, (unsigned int)PAGE_SHIFT);
		KUNIT_EXPECT_EQ(test, out.perm, layout[c->entry].perm);
		KUNIT_EXPECT_EQ(test, out.tag, layout[c->entry].tag);
	} else {
		KUNIT_EXPECT_EQ(test, out.perm, c->miss_perm);
	}
	sec_tlb_get_stats(tlb, &s, &nr);
	KUNIT_EXPECT_EQ(test, s.hits, (u64)hit);
	KUNIT_EXPECT_EQ(test, s.misses, (u64)!hit);
	KUNIT_EXPECT_EQ(test, s.fills, 1ULL);
	KUNIT_EXPECT_EQ(test, nr, 1U);
	sec_tlb_destroy(tlb);
}

/* ---- range invalidation boundaries ------------------------------------- */

struct inval_case {
	const char *name;
	unsigned long start, end;
	unsigned long dropped;	/* bitmap of layout entries dropped */
	bool full;		/* takes the full-flush path */
};

static const struct inval_case inval_cases[] = {
	{ "exact_page",		LO + PAGE_SIZE, LO + 2 * PAGE_SIZE, BIT(P1) },
	{ "one_byte_inside",	LO + PAGE_SIZE + 9, LO + PAGE_SIZE + 10,
	  BIT(P1) },
	{ "partial_overlap_two_pages", LO + PAGE_SIZE - 1, LO + PAGE_SIZE + 1,
	  BIT(P0) | BIT(P1) },
	{ "end_is_exclusive",	LO, LO + PAGE_SIZE, BIT(P0) },
	{ "range_before_everything", 0, LO, 0 },
	{ "gap_between_entries", LO + 3 * PAGE_SIZE, HI, 0 },
	{ "empty_range_on_entry", LO + PAGE_SIZE, LO + PAGE_SIZE, 0 },
	{ "inverted_range",	LO + 2 * PAGE_SIZE, LO, 0 },
	{ "4k_inside_pmd_drops_pmd", HI + 5 * PAGE_SIZE, HI + 6 * PAGE_SIZE,
	  BIT(HUGE) },
	{ "last_byte_of_pmd",	HI + PMD_SIZE - 1, HI + PMD_SIZE, BIT(HUGE) },
	{ "first_byte_after_pmd", HI + PMD_SIZE, HI + PMD_SIZE + PAGE_SIZE, 0 },
	{ "byte_before_pmd",	HI - 1, HI, 0 },
	{ "last_page_of_space",	TOP, ULONG_MAX, BIT(TOPP) },
	{ "below_last_page",	TOP - PAGE_SIZE, TOP, 0 },
	{ "full_0_ulong_max",	0, ULONG_MAX, ALL_LAYOUT, true },
	{ "almost_full_1_ulong_max", 1, ULONG_MAX, ALL_LAYOUT },
	{ "everything_but_top",	0, TOP, ALL_LAYOUT & ~BIT(TOPP) },
};

static void inval_case_desc(const struct inval_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(inval, inval_cases, inval_case_desc);

/*
 * inval_range_check() - one row of inval_cases, by either invalidation: the
 * entries dropped, the sequence bumped, the counters. @queued: by
 * sec_tlb_invalidate_queue(), which must have posted a small non-empty range
 * rather than dropped it, and whose drop the next lookup completes.
 */
static void inval_range_check(struct kunit *test, const struct inval_case *c,
			      bool queued)
{
	unsigned int want = hweight_long(c->dropped), n = 0, nr, posted;
	struct sec_tlb *tlb = tlb_new(test, 8);
	struct sec_tlb_stats s;
	unsigned long seq;
	int i;

	for (i = 0; i < NR_LAYOUT; i++)
		tlb_insert(tlb, &layout[i]);
	KUNIT_ASSERT_EQ(test, layout_alive(tlb), ALL_LAYOUT);

	seq = sec_tlb_read_begin(tlb);
	if (queued) {
		sec_tlb_invalidate_queue(tlb, c->start, c->end);
		spin_lock(&tlb->lock);
		posted = tlb->nr_queued;
		spin_unlock(&tlb->lock);
		KUNIT_EXPECT_EQ(test, posted,
				(unsigned int)sec_tlb_range_small(c->start,
								  c->end));
	} else {
		n = sec_tlb_invalidate(tlb, c->start, c->end);
		KUNIT_EXPECT_EQ(test, n, want);
	}
	KUNIT_EXPECT_EQ(test, layout_alive(tlb), ALL_LAYOUT & ~c->dropped);
	spin_lock(&tlb->lock);
	KUNIT_EXPECT_TRUE(test, sec_tlb_read_retry(tlb, seq));
	KUNIT_EXPECT_EQ(test, tlb->nr_queued, 0U);
	spin_unlock(&tlb->lock);

	sec_tlb_get_stats(tlb, &s, &nr);
	KUNIT_EXPECT_EQ(test, nr, NR_LAYOUT - want);
	KUNIT_EXPECT_EQ(test, s.inval_calls, 1ULL);
	KUNIT_EXPECT_EQ(test, s.inval_entries, (u64)want);
	KUNIT_EXPECT_EQ(test, s.full_flushes, (u64)c->full);
	sec_tlb_destroy(tlb);
}

/*
 * sec_tlb_invalidate_range_test - [start, end) drops exactly the entries it
 * overlaps, a 4 KiB range drops a PMD entry around it, (0, ULONG_MAX) is a
 * full flush, and every call bumps the sequence, even an empty one.
 */
static void sec_tlb_invalidate_range_test(struct kunit *test)
{
	inval_range_check(test, test->param_value, false);
}

/*
 * sec_tlb_queue_range_test - the same through the invalidation queue, the
 * secondary-TLB hook's path: a small range is posted, not dropped, yet no
 * lookup after the call finds its entries, and the counters come out the
 * same once a reader has drained the queue.
 */
static void sec_tlb_queue_range_test(struct kunit *test)
{
	inval_range_check(test, test->param_value, true);
}

/* ---- the invalidation queue ------------------------------------------- */

#define QUEUE_PAGES	64

struct queue_case {
	const char *name;
	long first;		/* first page invalidated, of QUEUE_PAGES at LO */
	long stride;		/* pages from one invalidated page to the next */
	unsigned int count;	/* one-page invalidations */
	unsigned int queued;	/* ranges on the queue after them */
	long other;		/* if set, every other one is a run from here */
};

/* Page of the @i-th one-page invalidation of @c. */
static long queue_case_page(const struct queue_case *c, unsigned int i)
{
	if (!c->other)
		return c->first + c->stride * i;
	return i % 2 ? c->other + i / 2 : c->first + c->stride * (i / 2);
}

static const struct queue_case queue_cases[] = {
	{ "one_page", 5, 1, 1, 1 },
	{ "run_up_merges", 0, 1, 40, 1 },
	{ "run_down_merges", 39, -1, 40, 1 },
	{ "same_page_twice", 7, 0, 2, 1 },
	{ "gaps_fill_the_queue", 0, 2, SEC_TLB_QUEUE_LEN, SEC_TLB_QUEUE_LEN },
	{ "gaps_overflow_drains", 0, 2, SEC_TLB_QUEUE_LEN + 1, 0 },
	{ "gaps_after_overflow", 0, 2, SEC_TLB_QUEUE_LEN + 3, 2 },
	/* P2's pattern: a spare page, then a turn of pages, and so on. */
	{ "two_runs_interleaved", 0, 1, 40, 2, 32 },
	{ "run_bridges_two_slots", 0, 1, 3, 2, 2 },
};

static void queue_case_desc(const struct queue_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(queue, queue_cases, queue_case_desc);

/*
 * sec_tlb_queue_test - one-page invalidations through the queue: runs of
 * touching pages share one slot (merged, up or down, larger than a probe,
 * also two runs interleaved), disjoint ones take a slot each, and the
 * invalidation that finds the queue full drains it and drops its own range.
 * Whatever the queue holds, exactly the invalidated pages miss, and each
 * dropped entry is counted once.
 */
static void sec_tlb_queue_test(struct kunit *test)
{
	const struct queue_case *c = test->param_value;
	struct sec_tlb *tlb = tlb_new(test, QUEUE_PAGES);
	DECLARE_BITMAP(gone, QUEUE_PAGES);
	unsigned int i, queued, nr, dropped;
	struct sec_tlb_stats s;
	struct sec_tlb_xlate x;

	bitmap_zero(gone, QUEUE_PAGES);
	for (i = 0; i < QUEUE_PAGES; i++) {
		x = page_x(LO, i);
		tlb_insert(tlb, &x);
	}
	for (i = 0; i < c->count; i++) {
		unsigned long va = LO + queue_case_page(c, i) * PAGE_SIZE;

		sec_tlb_invalidate_queue(tlb, va, va + PAGE_SIZE);
		__set_bit((va - LO) >> PAGE_SHIFT, gone);
	}
	dropped = bitmap_weight(gone, QUEUE_PAGES);
	spin_lock(&tlb->lock);
	queued = tlb->nr_queued;
	spin_unlock(&tlb->lock);
	KUNIT_EXPECT_EQ(test, queued, c->queued);

	for (i = 0; i < QUEUE_PAGES; i++)
		KUNIT_EXPECT_EQ_MSG(test, tlb_has_page(tlb, LO, i),
				    !test_bit(i, gone), "page %u", i);
	sec_tlb_get_stats(tlb, &s, &nr);
	KUNIT_EXPECT_EQ(test, nr, QUEUE_PAGES - dropped);
	KUNIT_EXPECT_EQ(test, s.inval_calls, (u64)c->count);
	KUNIT_EXPECT_EQ(test, s.inval_entries, (u64)dropped);
	KUNIT_EXPECT_EQ(test, s.fills, (u64)QUEUE_PAGES);
	KUNIT_EXPECT_EQ(test, s.evictions, 0ULL);
	sec_tlb_destroy(tlb);
}

/*
 * sec_tlb_queue_fill_flush_test - what else may follow a posted range. A
 * walk that began before it must walk again; a fill of one of its pages
 * drains it first and keeps the new translation; a full flush empties the
 * queue and counts each entry once; a large invalidation drains it too.
 */
static void sec_tlb_queue_fill_flush_test(struct kunit *test)
{
	struct sec_tlb *tlb = tlb_new(test, 8);
	struct sec_tlb_xlate x, out;
	struct sec_tlb_stats s;
	unsigned long seq;
	unsigned int i, nr;

	for (i = 0; i < 4; i++) {
		x = page_x(LO, i);
		tlb_insert(tlb, &x);
	}

	/* A walk of page 1 races the posting of pages 0-1: it walks again. */
	seq = sec_tlb_read_begin(tlb);
	sec_tlb_invalidate_queue(tlb, LO, LO + 2 * PAGE_SIZE);
	spin_lock(&tlb->lock);
	KUNIT_EXPECT_TRUE(test, sec_tlb_read_retry(tlb, seq));
	spin_unlock(&tlb->lock);

	/* The walk again, and its fill: the new translation only. */
	x = page_x(LO, 1);
	x.pfn += 0x1000;
	tlb_insert(tlb, &x);
	KUNIT_EXPECT_TRUE(test, tlb_lookup(tlb, LO + PAGE_SIZE, SEC_TLB_R,
					   &out));
	KUNIT_EXPECT_EQ(test, out.pfn, x.pfn);
	KUNIT_EXPECT_FALSE(test, tlb_has_page(tlb, LO, 0));
	sec_tlb_get_stats(tlb, &s, &nr);
	KUNIT_EXPECT_EQ(test, nr, 3U);
	KUNIT_EXPECT_EQ(test, s.inval_entries, 2ULL);

	/* Posted, then a full flush: three live entries, each counted once. */
	sec_tlb_invalidate_queue(tlb, LO + 2 * PAGE_SIZE, LO + 3 * PAGE_SIZE);
	sec_tlb_flush_all(tlb);
	sec_tlb_get_stats(tlb, &s, &nr);
	KUNIT_EXPECT_EQ(test, nr, 0U);
	KUNIT_EXPECT_EQ(test, s.inval_entries, 5ULL);
	KUNIT_EXPECT_EQ(test, s.full_flushes, 1ULL);
	for (i = 0; i < 4; i++)
		KUNIT_EXPECT_FALSE(test, tlb_has_page(tlb, LO, i));

	/* Posted, then a large invalidation elsewhere: both dropped. */
	for (i = 0; i < 4; i++) {
		x = page_x(LO, i);
		tlb_insert(tlb, &x);
		x = page_x(HI, i);
		tlb_insert(tlb, &x);
	}
	sec_tlb_invalidate_queue(tlb, LO, LO + PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, sec_tlb_invalidate(tlb, HI, HI + PMD_SIZE), 4U);
	spin_lock(&tlb->lock);
	KUNIT_EXPECT_EQ(test, tlb->nr_queued, 0U);
	spin_unlock(&tlb->lock);
	sec_tlb_get_stats(tlb, &s, &nr);
	KUNIT_EXPECT_EQ(test, nr, 3U);
	KUNIT_EXPECT_EQ(test, s.inval_entries, 10ULL);
	KUNIT_EXPECT_FALSE(test, tlb_has_page(tlb, LO, 0));
	KUNIT_EXPECT_TRUE(test, tlb_has_page(tlb, LO, 1));
	sec_tlb_destroy(tlb);
}

/* ---- overlapping inserts ------------------------------------------------ */

struct overlap_case {
	const char *name;
	struct sec_tlb_xlate first[3];	/* inserted first (shift 0 ends) */
	struct sec_tlb_xlate second;
	unsigned int live;		/* live entries after the second */
};

#define X4K(v, p)	{ .va = (v), .pfn = (p), .shift = PAGE_SHIFT, \
			  .perm = SEC_TLB_R }
#define XPMD(v, p)	{ .va = (v), .pfn = (p), .shift = PMD_SHIFT, \
			  .perm = SEC_TLB_R }

static const struct overlap_case overlap_cases[] = {
	{ "pmd_over_4k_entries",
	  { X4K(HI, 1), X4K(HI + PMD_SIZE - PAGE_SIZE, 2),
	    X4K(HI + PMD_SIZE, 3) },
	  XPMD(HI, 0x4000), 2 },
	{ "4k_inside_pmd_entry", { XPMD(HI, 0x4000), X4K(LO, 5) },
	  X4K(HI + 3 * PAGE_SIZE, 9), 2 },
	{ "same_4k_page_again", { X4K(LO, 1), X4K(LO + PAGE_SIZE, 2) },
	  X4K(LO, 7), 2 },
	{ "same_pmd_again", { XPMD(HI, 0x4000) }, XPMD(HI, 0x8000), 1 },
};

static void overlap_case_desc(const struct overlap_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(overlap, overlap_cases, overlap_case_desc);

/*
 * sec_tlb_insert_overlap_test - entries never overlap: an insert first drops
 * whatever it covers or whatever covers it, and lookups then see only the new
 * translation.
 */
static void sec_tlb_insert_overlap_test(struct kunit *test)
{
	const struct overlap_case *c = test->param_value;
	unsigned long size = 1UL << c->second.shift, off, last;
	struct sec_tlb *tlb = tlb_new(test, 8);
	struct sec_tlb_xlate out;
	int i;

	for (i = 0; i < ARRAY_SIZE(c->first) && c->first[i].shift; i++)
		tlb_insert(tlb, &c->first[i]);
	tlb_insert(tlb, &c->second);
	KUNIT_EXPECT_EQ(test, tlb_live(tlb), c->live);

	/* Every page of the new entry translates through it. */
	for (off = 0; off < size; off += PAGE_SIZE) {
		KUNIT_ASSERT_TRUE(test, tlb_lookup(tlb, c->second.va + off,
						   SEC_TLB_R, &out));
		KUNIT_EXPECT_EQ(test, out.pfn,
				c->second.pfn + (off >> PAGE_SHIFT));
	}
	last = c->second.va + size - 1;
	/* Entries of the first batch outside it survive. */
	for (i = 0; i < ARRAY_SIZE(c->first) && c->first[i].shift; i++) {
		const struct sec_tlb_xlate *x = &c->first[i];
		bool outside = x->va + (1UL << x->shift) <= c->second.va ||
			       x->va > last;

		if (outside)
			KUNIT_EXPECT_TRUE(test, tlb_lookup(tlb, x->va,
							   SEC_TLB_R, NULL));
	}
	sec_tlb_destroy(tlb);
}

/* ---- capacity, eviction, counters -------------------------------------- */

static const unsigned int capacities[] = { 1, 2, 3, 16, 100 };

static void capacity_desc(const unsigned int *c, char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "capacity_%u", *c);
}

KUNIT_ARRAY_PARAM(capacity, capacities, capacity_desc);

/*
 * sec_tlb_capacity_eviction_test - a full TLB evicts its least recently used
 * entry (a lookup hit makes an entry recent), never holds more than its
 * capacity, and counts fills, hits, misses and evictions.
 */
static void sec_tlb_capacity_eviction_test(struct kunit *test)
{
	unsigned int cap = *(const unsigned int *)test->param_value;
	struct sec_tlb *tlb = tlb_new(test, cap);
	struct sec_tlb_xlate x;
	struct sec_tlb_stats s;
	unsigned int i, nr;

	for (i = 0; i < cap; i++) {
		x = page_x(LO, i);
		tlb_insert(tlb, &x);
	}
	KUNIT_EXPECT_EQ(test, tlb_live(tlb), cap);
	/* Touch page 0: page 1 (or 0 itself if it is alone) is now LRU. */
	KUNIT_EXPECT_TRUE(test, tlb_lookup(tlb, LO, SEC_TLB_R, NULL));

	x = page_x(LO, cap);
	tlb_insert(tlb, &x);
	KUNIT_EXPECT_EQ(test, tlb_live(tlb), cap);
	KUNIT_EXPECT_TRUE(test, tlb_lookup(tlb, x.va, SEC_TLB_R, NULL));
	if (cap == 1) {
		KUNIT_EXPECT_FALSE(test, tlb_lookup(tlb, LO, SEC_TLB_R, NULL));
	} else {
		KUNIT_EXPECT_TRUE(test, tlb_lookup(tlb, LO, SEC_TLB_R, NULL));
		KUNIT_EXPECT_FALSE(test, tlb_lookup(tlb, LO + PAGE_SIZE,
						    SEC_TLB_R, NULL));
		for (i = 2; i < cap; i++)
			KUNIT_EXPECT_TRUE(test, tlb_has_page(tlb, LO, i));
	}

	/* A second round evicts every old page: the TLB is a cache of @cap. */
	for (i = 0; i < 2 * cap; i++) {
		x = page_x(HI, i);
		tlb_insert(tlb, &x);
	}
	sec_tlb_get_stats(tlb, &s, &nr);
	KUNIT_EXPECT_EQ(test, nr, cap);
	KUNIT_EXPECT_EQ(test, s.fills, (u64)3 * cap + 1);
	KUNIT_EXPECT_EQ(test, s.evictions, (u64)2 * cap + 1);
	/* Lookups above: 1 + 1 + (cap == 1 ? 1 : 1 + 1 + cap - 2). */
	KUNIT_EXPECT_EQ(test, s.hits, (u64)(cap == 1 ? 2 : cap + 1));
	KUNIT_EXPECT_EQ(test, s.misses, 1ULL);
	KUNIT_EXPECT_EQ(test, s.inval_calls, 0ULL);
	for (i = 0; i < cap; i++)
		KUNIT_EXPECT_TRUE(test, tlb_has_page(tlb, HI, cap + i));
	sec_tlb_destroy(tlb);
}

/*
 * sec_tlb_init_capacity_test - capacities outside 1..SEC_TLB_MAX_CAPACITY are
 * refused; a refused init leaves nothing to destroy.
 */
static void sec_tlb_init_capacity_test(struct kunit *test)
{
	struct sec_tlb *tlb = kunit_kzalloc(test, sizeof(*tlb), GFP_KERNEL);

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, tlb);
	KUNIT_EXPECT_EQ(test, sec_tlb_init(tlb, 0), -EINVAL);
	KUNIT_EXPECT_EQ(test, sec_tlb_init(tlb, SEC_TLB_MAX_CAPACITY + 1),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, sec_tlb_init(tlb, 1), 0);
	KUNIT_EXPECT_EQ(test, tlb->capacity, 1U);
	sec_tlb_destroy(tlb);
}

/* ---- full flush and refill ---------------------------------------------- */

struct refill_case {
	const char *name;
	unsigned int capacity;
	unsigned int refill;	/* entries inserted after the flush */
	bool same_va;		/* refill the addresses that were flushed */
	bool by_range;		/* flush with (0, ULONG_MAX), not flush_all */
};

static const struct refill_case refill_cases[] = {
	{ "partial_refill_new_va", 8, 3, false, false },
	{ "full_refill_new_va", 8, 8, false, true },
	{ "overfull_refill_new_va", 8, 13, false, false },
	{ "full_refill_same_va", 8, 8, true, false },
	{ "overfull_refill_same_va", 8, 12, true, true },
	{ "capacity_one", 1, 3, true, false },
};

static void refill_case_desc(const struct refill_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(refill, refill_cases, refill_case_desc);

/*
 * sec_tlb_flush_refill_test - a full flush kills every entry in O(1); the
 * stale slots, still hashed under the old generation, are reused before any
 * live entry is evicted, never hit, and do not disturb later range
 * invalidations.
 */
static void sec_tlb_flush_refill_test(struct kunit *test)
{
	const struct refill_case *c = test->param_value;
	unsigned long base = c->same_va ? LO : HI;
	struct sec_tlb *tlb = tlb_new(test, c->capacity);
	unsigned int i, n, nr, live, evicted;
	struct sec_tlb_stats s;
	struct sec_tlb_xlate x;

	for (i = 0; i < c->capacity; i++) {
		x = page_x(LO, i);
		tlb_insert(tlb, &x);
	}
	if (c->by_range)
		KUNIT_EXPECT_EQ(test, sec_tlb_invalidate(tlb, 0, ULONG_MAX),
				c->capacity);
	else
		sec_tlb_flush_all(tlb);
	KUNIT_EXPECT_EQ(test, tlb_live(tlb), 0U);
	for (i = 0; i < c->capacity; i++)
		KUNIT_EXPECT_FALSE(test, tlb_has_page(tlb, LO, i));

	for (i = 0; i < c->refill; i++) {
		x = page_x(base, i);
		x.pfn += 0x1000;	/* a different translation */
		tlb_insert(tlb, &x);
	}
	live = min(c->refill, c->capacity);
	evicted = c->refill - live;
	sec_tlb_get_stats(tlb, &s, &nr);
	KUNIT_EXPECT_EQ(test, nr, live);
	KUNIT_EXPECT_EQ(test, s.evictions, (u64)evicted);
	KUNIT_EXPECT_EQ(test, s.full_flushes, 1ULL);
	KUNIT_EXPECT_EQ(test, s.inval_entries, (u64)c->capacity);

	/* Exactly the newest @live refills hit, with the new translation. */
	for (i = 0; i < c->refill; i++) {
		struct sec_tlb_xlate out;
		bool hit = tlb_lookup(tlb, base + i * PAGE_SIZE, SEC_TLB_R,
				      &out);

		KUNIT_EXPECT_EQ_MSG(test, hit, i >= evicted, "refill %u", i);
		if (hit)
			KUNIT_EXPECT_EQ(test, out.pfn, 0x11000UL + i);
	}
	/* Old addresses not refilled stay dead. */
	if (!c->same_va)
		for (i = 0; i < c->capacity; i++)
			KUNIT_EXPECT_FALSE(test, tlb_has_page(tlb, LO, i));

	/* The rbtree holds exactly the live refills. */
	n = sec_tlb_invalidate(tlb, base, base + c->refill * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, n, live);
	KUNIT_EXPECT_EQ(test, tlb_live(tlb), 0U);

	/* A second flush with nothing live, then a refill, still works. */
	sec_tlb_flush_all(tlb);
	x = page_x(base, 0);
	tlb_insert(tlb, &x);
	KUNIT_EXPECT_TRUE(test, tlb_lookup(tlb, base, SEC_TLB_R, NULL));
	KUNIT_EXPECT_EQ(test, tlb_live(tlb), 1U);
	sec_tlb_destroy(tlb);
}

/* ---- invalidation sequence ---------------------------------------------- */

/*
 * sec_tlb_read_retry_test - the sequence a fill samples changes with every
 * invalidation, including one that drops nothing, and only then.
 */
static void sec_tlb_read_retry_test(struct kunit *test)
{
	struct sec_tlb *tlb = tlb_new(test, 4);
	struct sec_tlb_xlate x = page_x(LO, 0);
	unsigned long seq;

	seq = sec_tlb_read_begin(tlb);
	tlb_insert(tlb, &x);
	tlb_lookup(tlb, LO, SEC_TLB_R, NULL);
	spin_lock(&tlb->lock);
	KUNIT_EXPECT_FALSE(test, sec_tlb_read_retry(tlb, seq));
	spin_unlock(&tlb->lock);

	sec_tlb_invalidate(tlb, HI, HI + PAGE_SIZE);	/* drops nothing */
	spin_lock(&tlb->lock);
	KUNIT_EXPECT_TRUE(test, sec_tlb_read_retry(tlb, seq));
	spin_unlock(&tlb->lock);

	seq = sec_tlb_read_begin(tlb);
	sec_tlb_flush_all(tlb);
	spin_lock(&tlb->lock);
	KUNIT_EXPECT_TRUE(test, sec_tlb_read_retry(tlb, seq));
	spin_unlock(&tlb->lock);
	sec_tlb_destroy(tlb);
}

/* ---- access windows ----------------------------------------------------- */

struct windows_of_case {
	const char *name;
	unsigned long start;
	unsigned long end;
	unsigned long must[2];	/* addresses whose window must be set (0: none) */
	unsigned int max_bits;	/* at most this many bits set */
	bool all;		/* every bit set */
};

static const struct windows_of_case windows_of_cases[] = {
	{ "empty", LO, LO, {}, 0, false },
	{ "one_page", LO, LO + PAGE_SIZE, { LO }, 1, false },
	{ "one_pmd", HI, HI + PMD_SIZE, { HI, HI + PMD_SIZE - 1 }, 1, false },
	{ "straddles_two_regions", HI - PAGE_SIZE, HI + PAGE_SIZE,
	  { HI - PAGE_SIZE, HI }, 2, false },
	{ "last_page_of_space", TOP, ULONG_MAX, { TOP }, 1, false },
	{ "windows_many_regions", LO, LO + SEC_TLB_WINDOWS * PMD_SIZE, {},
	  SEC_TLB_WINDOWS, true },
	{ "full_flush", 0, ULONG_MAX, {}, SEC_TLB_WINDOWS, true },
};

static void windows_of_case_desc(const struct windows_of_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(windows_of, windows_of_cases, windows_of_case_desc);

/*
 * sec_tlb_windows_of_test - an invalidation passes the window of every
 * region its range touches, however many entries it dropped; a range of as
 * many regions as there are windows, or the full flush, passes them all.
 */
static void sec_tlb_windows_of_test(struct kunit *test)
{
	const struct windows_of_case *c = test->param_value;
	DECLARE_BITMAP(mask, SEC_TLB_WINDOWS);
	unsigned int i, bits;

	sec_tlb_windows_of(c->start, c->end, mask);
	bits = bitmap_weight(mask, SEC_TLB_WINDOWS);
	for (i = 0; i < ARRAY_SIZE(c->must); i++)
		if (c->must[i])
			KUNIT_EXPECT_TRUE_MSG(test,
					      test_bit(sec_tlb_window_idx(c->must[i]),
						       mask),
					      "window of %#lx not passed",
					      c->must[i]);
	KUNIT_EXPECT_LE(test, bits, c->max_bits);
	if (c->all)
		KUNIT_EXPECT_EQ(test, bits, (unsigned int)SEC_TLB_WINDOWS);
	if (c->max_bits)
		KUNIT_EXPECT_GT(test, bits, 0U);
}

struct window_case {
	const char *name;
	unsigned long start;	/* the invalidated range, around page Y = LO */
	unsigned long end;
	unsigned int dropped;	/* entries the invalidation drops */
	bool evicted;		/* Y's entry was evicted while the access used it */
	bool queued;		/* posted on the queue (the hook's path) */
};

static const struct window_case window_cases[] = {
	{ "page", LO, LO + PAGE_SIZE, 1, false },
	{ "region", LO & PMD_MASK, (LO & PMD_MASK) + PMD_SIZE, 1, false },
	{ "three_regions", LO - PMD_SIZE, LO + 2 * PMD_SIZE, 1, false },
	{ "full_flush", 0, ULONG_MAX, 2, false },
	{ "page_evicted", LO, LO + PAGE_SIZE, 0, true },
	{ "page_queued", LO, LO + PAGE_SIZE, 1, false, true },
	{ "page_evicted_queued", LO, LO + PAGE_SIZE, 0, true, true },
};

static void window_case_desc(const struct window_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(window, window_cases, window_case_desc);

/*
 * A page X in a region outside [start, end) whose window the invalidation of
 * that range does not pass (unless it passes them all).
 */
static unsigned long window_other_page(unsigned long start, unsigned long end)
{
	DECLARE_BITMAP(mask, SEC_TLB_WINDOWS);
	unsigned long x = HI;

	sec_tlb_windows_of(start, end, mask);
	if (bitmap_full(mask, SEC_TLB_WINDOWS))
		return x;
	while (test_bit(sec_tlb_window_idx(x), mask) ||
	       (x >= start && x < end))
		x += PMD_SIZE;
	return x;
}

/*
 * sec_tlb_window_test - the access-window protocol, step by step, as the
 * device and the secondary-TLB hook run it (sec_tlb_invalidate() is the
 * index update, or sec_tlb_invalidate_queue() the posting of the range,
 * then sec_tlb_wait_windows()):
 *
 *   device A: open window(Y); lookup Y (tlb.lock) ............ copy ... close
 *   hook I:               drop Y (tlb.lock) | wait for window(Y) ......... |
 *   device B:                                 lock window(X); lookup X; unlock
 *
 * Once I's index update is done, I holds nothing: B looks X up and copies
 * while I waits, and I must pass the window A holds (Y's), so that it cannot
 * return before A's copy is over — even when Y's entry was evicted while A
 * used it, so that I drops nothing. These KUnit kernels have one CPU and
 * spinlocks that cannot be seen held, so the steps run in one thread and
 * the test checks what I will wait for; the bench's windows check
 * (tools/bench) runs A and I on two CPUs.
 */
static void sec_tlb_window_test(struct kunit *test)
{
	const struct window_case *c = test->param_value;
	struct sec_tlb *tlb = tlb_new(test, c->evicted ? 1 : 4);
	unsigned long x = window_other_page(c->start, c->end);
	struct sec_tlb_xlate ty = page_x(LO, 0), tx = page_x(x, 0), out;
	DECLARE_BITMAP(mask, SEC_TLB_WINDOWS);
	spinlock_t *wy = sec_tlb_window(tlb, LO), *wx;
	bool x_in_range = x >= c->start && x < c->end;
	struct sec_tlb_stats s;
	unsigned int n, nr;

	tlb_insert(tlb, &ty);
	if (!c->evicted)
		tlb_insert(tlb, &tx);

	/* A: the window of Y, then its lookup. */
	sec_tlb_window_open(tlb, wy);
	spin_lock(&tlb->lock);
	KUNIT_EXPECT_TRUE(test, __sec_tlb_lookup(tlb, LO, SEC_TLB_R, &out));
	if (c->evicted)
		__sec_tlb_insert(tlb, &tx);	/* another fill evicts Y */
	spin_unlock(&tlb->lock);

	/* I: the index update of sec_tlb_invalidate(), or its posting. */
	spin_lock(&tlb->lock);
	if (c->queued) {
		KUNIT_EXPECT_TRUE(test, __sec_tlb_queue(tlb, c->start, c->end));
	} else {
		n = __sec_tlb_invalidate(tlb, c->start, c->end);
		KUNIT_EXPECT_EQ(test, n, c->dropped);
	}
	spin_unlock(&tlb->lock);

	/* I will wait for A, and for nothing of X's unless it flushes all. */
	sec_tlb_windows_of(c->start, c->end, mask);
	KUNIT_EXPECT_TRUE(test, test_bit(sec_tlb_window_idx(LO), mask));
	if (!bitmap_full(mask, SEC_TLB_WINDOWS))
		KUNIT_EXPECT_FALSE(test, test_bit(sec_tlb_window_idx(x), mask));

	/* B, while I waits: X's window and lookup proceed. */
	wx = sec_tlb_window(tlb, x);
	/* (Not the pointers: a UP spinlock_t may be empty, all at one place.) */
	KUNIT_EXPECT_NE(test, sec_tlb_window_idx(x), sec_tlb_window_idx(LO));
	spin_lock_nested(wx, SINGLE_DEPTH_NESTING);	/* A still holds wy */
	spin_lock(&tlb->lock);
	KUNIT_EXPECT_EQ(test, __sec_tlb_lookup(tlb, x, SEC_TLB_R, &out),
			!x_in_range);
	spin_unlock(&tlb->lock);
	spin_unlock(wx);

	/* I sees A's window counted, so it will not skip the wait. */
	KUNIT_EXPECT_EQ(test, atomic_read(&tlb->nr_open), 1);

	/* A's copy is over; I's wait returns; Y is gone for good. */
	sec_tlb_window_close(tlb, wy);
	KUNIT_EXPECT_EQ(test, atomic_read(&tlb->nr_open), 0);
	sec_tlb_wait_windows(tlb, c->start, c->end);
	KUNIT_EXPECT_FALSE(test, tlb_has_page(tlb, LO, 0));
	sec_tlb_get_stats(tlb, &s, &nr);
	KUNIT_EXPECT_EQ(test, s.inval_entries, (u64)c->dropped);
	sec_tlb_destroy(tlb);
}

static struct kunit_case sec_tlb_test_cases[] = {
	KUNIT_CASE_PARAM(sec_tlb_lookup_test, lookup_gen_params),
	KUNIT_CASE_PARAM(sec_tlb_invalidate_range_test, inval_gen_params),
	KUNIT_CASE_PARAM(sec_tlb_queue_range_test, inval_gen_params),
	KUNIT_CASE_PARAM(sec_tlb_queue_test, queue_gen_params),
	KUNIT_CASE(sec_tlb_queue_fill_flush_test),
	KUNIT_CASE_PARAM(sec_tlb_insert_overlap_test, overlap_gen_params),
	KUNIT_CASE_PARAM(sec_tlb_capacity_eviction_test, capacity_gen_params),
	KUNIT_CASE(sec_tlb_init_capacity_test),
	KUNIT_CASE_PARAM(sec_tlb_flush_refill_test, refill_gen_params),
	KUNIT_CASE(sec_tlb_read_retry_test),
	KUNIT_CASE_PARAM(sec_tlb_windows_of_test, windows_of_gen_params),
	KUNIT_CASE_PARAM(sec_tlb_window_test, window_gen_params),
	{}
};

static struct kunit_suite sec_tlb_test_suite = {
	.name = "sec_tlb",
	.test_cases = sec_tlb_test_cases,
};

kunit_test_suite(sec_tlb_test_suite);

MODULE_DESCRIPTION("KUnit tests for sec_tlb");
MODULE_AUTHOR("The mmu_notifier_sim authors");
MODULE_LICENSE("GPL");
