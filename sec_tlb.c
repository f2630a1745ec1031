// SPDX-License-Identifier: GPL-2.0
/*
 * sec_tlb: the secondary TLB of the emulated ATS device.
 *
 * Copyright (C) 2026 The mmu_notifier_sim authors
 *
 * See sec_tlb.h for the data structure. Functions named __sec_tlb_*() run
 * with &sec_tlb.lock held; they never sleep and never allocate, so that the
 * secondary-TLB hook can call them under the page-table lock.
 */
#include <linux/bitmap.h>
#include <linux/hash.h>
#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/slab.h>

#include "sec_tlb.h"

static unsigned long sec_tlb_entry_end(const struct sec_tlb_entry *e)
{
	return e->x.va + (1UL << e->x.shift);
}

/* Buckets of consecutive pages that share a cache line (8-byte heads). */
#define SEC_TLB_BUCKET_GROUP	8

/*
 * The bucket of the entry of size 1 << @shift at @va. The 8 pages of an
 * aligned group of 8 hash together, and the page's place in its group is
 * XORed into the low bits: consecutive pages fall in the 8 buckets of one
 * cache line (a COW or unmap of consecutive pages, and its probes, miss the
 * bucket array once per 8 pages, not once per page), while a stride of any
 * size still spreads over every bucket (the low bits XORed are constant,
 * the group's hash is not). Bit 0 of the key tells the two sizes apart.
 */
static __always_inline struct hlist_head *sec_tlb_bucket(struct sec_tlb *tlb,
							 unsigned long va,
							 unsigned int shift)
{
	unsigned long pg = va >> PAGE_SHIFT;
	unsigned long key = (pg / SEC_TLB_BUCKET_GROUP) << 1 |
			    (shift != PAGE_SHIFT);

	return &tlb->hash[hash_long(key, tlb->hash_bits) ^
			  (pg % SEC_TLB_BUCKET_GROUP)];
}

/**
 * sec_tlb_init() - preallocate a TLB
 * @tlb: the TLB to set up
 * @capacity: number of entries, 1 to %SEC_TLB_MAX_CAPACITY
 *
 * Context: Process context; may sleep (GFP_KERNEL_ACCOUNT allocations, charged
 * to the caller's memory cgroup).
 * Return: 0, -EINVAL for a bad capacity, or -ENOMEM.
 */
int sec_tlb_init(struct sec_tlb *tlb, unsigned int capacity)
{
	unsigned int i;

	/* What the hook touches in an entry shares one cache line. */
	BUILD_BUG_ON(offsetofend(struct sec_tlb_entry, x.perm) > 64);
	/* sec_tlb_bucket() XORs a page's place in its group into the index. */
	BUILD_BUG_ON(SEC_TLB_BUCKET_GROUP > 16);
	if (!capacity || capacity > SEC_TLB_MAX_CAPACITY)
		return -EINVAL;

	memset(tlb, 0, sizeof(*tlb));
	spin_lock_init(&tlb->lock);
	atomic_set(&tlb->nr_open, 0);
	for (i = 0; i < SEC_TLB_WINDOWS; i++)
		spin_lock_init(&tlb->windows[i]);
	tlb->capacity = capacity;
	tlb->hash_bits = max_t(unsigned int, 4, order_base_2(capacity));
	tlb->root = RB_ROOT;
	INIT_LIST_HEAD(&tlb->lru);
	INIT_LIST_HEAD(&tlb->stale);
	INIT_HLIST_HEAD(&tlb->tombs);
	INIT_LIST_HEAD(&tlb->free);

	tlb->hash = kvcalloc(1UL << tlb->hash_bits, sizeof(*tlb->hash),
			     GFP_KERNEL_ACCOUNT);
	if (!tlb->hash)
		return -ENOMEM;
	tlb->entries = kvcalloc(capacity, sizeof(*tlb->entries),
				GFP_KERNEL_ACCOUNT);
	if (!tlb->entries) {
		kvfree(tlb->hash);
		tlb->hash = NULL;
		return -ENOMEM;
	}
	for (i = 0; i < capacity; i++) {
		INIT_HLIST_NODE(&tlb->entries[i].hnode);
		list_add_tail(&tlb->entries[i].lru, &tlb->free);
	}
	return 0;
}
EXPORT_SYMBOL_GPL(sec_tlb_init);

/**
 * sec_tlb_destroy() - free a TLB set up by sec_tlb_init()
 * @tlb: the TLB; no other user may be left
 *
 * Context: Process context.
 */
void sec_tlb_destroy(struct sec_tlb *tlb)
{
	kvfree(tlb->entries);
	kvfree(tlb->hash);
	tlb->entries = NULL;
	tlb->hash = NULL;
}
EXPORT_SYMBOL_GPL(sec_tlb_destroy);

/* Bump the invalidation sequence before dropping entries. */
static __always_inline void __sec_tlb_bump_seq(struct sec_tlb *tlb)
{
	/*
	 * Order the page-table update the kernel made before calling the hook
	 * before the new value. Pairs with the smp_rmb() in
	 * sec_tlb_read_begin().
	 */
	smp_wmb();
	WRITE_ONCE(tlb->seq, tlb->seq + 1);
}

/*
 * Unlink a live entry of the current generation or a tombstone from every
 * index; free the slot.
 */
static void __sec_tlb_kill(struct sec_tlb *tlb, struct sec_tlb_entry *e)
{
	/* A tombstone of an older generation left with the tree it was in. */
	if (e->gen == tlb->gen)
		rb_erase(&e->rb, &tlb->root);
	hlist_del_init(&e->hnode);		/* the hash or &tlb->tombs */
	if (e->state == SEC_TLB_LIVE) {
		tlb->nr_live--;
		tlb->nr_pmd -= e->x.shift != PAGE_SHIFT;
	}
	list_move(&e->lru, &tlb->free);
	e->state = SEC_TLB_FREE;
}

/*
 * Drop a live entry in O(1): out of the hash onto &tlb->tombs, but left in
 * the tree and in its place on the LRU list, so that a small invalidation
 * never walks the tree nor touches the entry's LRU neighbours. The fill
 * path finishes the job when it reuses the slot (__sec_tlb_get_slot()).
 */
static __always_inline void __sec_tlb_bury(struct sec_tlb *tlb,
					   struct sec_tlb_entry *e)
{
	hlist_del(&e->hnode);
	hlist_add_head(&e->hnode, &tlb->tombs);
	e->state = SEC_TLB_TOMB;
	tlb->nr_live--;
	tlb->nr_pmd -= e->x.shift != PAGE_SHIFT;
}

/* The live entry of size 1 << @shift at @base, or NULL: one hash probe. */
static __always_inline struct sec_tlb_entry *
__sec_tlb_find(struct sec_tlb *tlb, unsigned long base, unsigned int shift)
{
	struct sec_tlb_entry *e;

	hlist_for_each_entry(e, sec_tlb_bucket(tlb, base, shift), hnode)
		if (e->gen == tlb->gen && e->x.va == base &&
		    e->x.shift == shift)
			return e;
	return NULL;
}

/*
 * First live entry that ends after @start. Entries do not overlap, so their
 * end addresses are ordered like their start addresses and one descent finds
 * it: O(log n).
 */
static struct sec_tlb_entry *__sec_tlb_first_after(struct sec_tlb *tlb,
						   unsigned long start)
{
	struct rb_node *node = tlb->root.rb_node;
	struct sec_tlb_entry *found = NULL;

	while (node) {
		struct sec_tlb_entry *e = rb_entry(node, struct sec_tlb_entry, rb);

		if (sec_tlb_entry_end(e) - 1 >= start) {
			found = e;
			node = node->rb_left;
		} else {
			node = node->rb_right;
		}
	}
	return found;
}

/*
 * Drop every live entry and tombstone overlapping [start, last]; return the
 * number of live ones. @last is inclusive so that a range ending at the top
 * of the address space cannot overflow.
 */
static unsigned int __sec_tlb_drop(struct sec_tlb *tlb, unsigned long start,
				   unsigned long last)
{
	struct sec_tlb_entry *e = __sec_tlb_first_after(tlb, start);
	unsigned int n = 0;

	while (e && e->x.va <= last) {
		struct rb_node *next = rb_next(&e->rb);

		n += e->state == SEC_TLB_LIVE;
		__sec_tlb_kill(tlb, e);
		e = next ? rb_entry(next, struct sec_tlb_entry, rb) : NULL;
	}
	return n;
}

/*
 * A small range: probe the hash for each 4 KiB page and each PMD region it
 * touches, and bury what is found. O(pages), independent of the TLB's size.
 */
static __always_inline unsigned int
__sec_tlb_drop_probe(struct sec_tlb *tlb, unsigned long start,
		     unsigned long last)
{
	unsigned long va, pmd_last = last & PMD_MASK;
	struct sec_tlb_entry *e;
	unsigned int n = 0;

	for (va = start & PAGE_MASK; va <= last; va += PAGE_SIZE) {
		e = __sec_tlb_find(tlb, va, PAGE_SHIFT);
		if (e) {
			__sec_tlb_bury(tlb, e);
			n++;
		}
		if (va + PAGE_SIZE < va)
			break;			/* the last page of the space */
	}
	for (va = start & PMD_MASK; tlb->nr_pmd && va <= pmd_last;
	     va += PMD_SIZE) {
		e = __sec_tlb_find(tlb, va, PMD_SHIFT);
		if (e) {
			__sec_tlb_bury(tlb, e);
			n++;
		}
		if (va + PMD_SIZE < va)
			break;
	}
	return n;
}

/**
 * __sec_tlb_lookup() - translate one address
 * @tlb: the TLB
 * @va: any byte address
 * @perm: permissions the access needs (SEC_TLB_R and/or SEC_TLB_W)
 * @out: the 4 KiB translation of the page holding @va, on a hit
 *
 * O(1): one probe for a 4 KiB entry, one for a PMD entry. An entry without
 * @perm is a miss, so that a device write to a read-only entry walks again
 * (write-fault reuse of a page never reaches the secondary-TLB hook).
 *
 * Context: Caller holds @tlb->lock.
 * Return: true on a hit.
 */
bool __sec_tlb_lookup(struct sec_tlb *tlb, unsigned long va,
		      unsigned int perm, struct sec_tlb_xlate *out)
{
	static const unsigned int shifts[] = { PAGE_SHIFT, PMD_SHIFT };
	struct sec_tlb_entry *e;
	unsigned long base;
	unsigned int i;

	lockdep_assert_held(&tlb->lock);

	for (i = 0; i < ARRAY_SIZE(shifts); i++) {
		if (shifts[i] != PAGE_SHIFT && !tlb->nr_pmd)
			break;
		base = va & ~((1UL << shifts[i]) - 1);
		e = __sec_tlb_find(tlb, base, shifts[i]);
		if (!e)
			continue;
		if ((e->x.perm & perm) != perm)
			break;
		list_move_tail(&e->lru, &tlb->lru);
		*out = e->x;
		out->va = va & PAGE_MASK;
		out->pfn += (out->va - base) >> PAGE_SHIFT;
		out->shift = PAGE_SHIFT;
		tlb->stats.hits++;
		return true;
	}
	tlb->stats.misses++;
	return false;
}
EXPORT_SYMBOL_GPL(__sec_tlb_lookup);

/*
 * Take a slot: a free one, else a tombstone (erased from the tree and taken
 * off the LRU list here, on the fill path, not in the hook), else one a full
 * flush killed, else evict the least recently used. Every tombstone is on
 * &tlb->tombs, so the LRU list holds none when it comes to evicting.
 */
static struct sec_tlb_entry *__sec_tlb_get_slot(struct sec_tlb *tlb)
{
	struct sec_tlb_entry *e;

	e = list_first_entry_or_null(&tlb->free, struct sec_tlb_entry, lru);
	if (e)
		return e;
	e = hlist_entry_safe(tlb->tombs.first, struct sec_tlb_entry, hnode);
	if (e) {
		__sec_tlb_kill(tlb, e);
		return e;
	}
	e = list_first_entry_or_null(&tlb->stale, struct sec_tlb_entry, lru);
	if (e) {
		/*
		 * Still hashed under a dead generation (or, a tombstone of
		 * one, on &tlb->tombs); the rbtree was reset.
		 */
		hlist_del_init(&e->hnode);
		return e;
	}
	e = list_first_entry(&tlb->lru, struct sec_tlb_entry, lru);
	__sec_tlb_kill(tlb, e);
	tlb->stats.evictions++;
	return e;
}

static void __sec_tlb_rb_insert(struct sec_tlb *tlb, struct sec_tlb_entry *new)
{
	struct rb_node **link = &tlb->root.rb_node, *parent = NULL;

	while (*link) {
		struct sec_tlb_entry *e = rb_entry(*link, struct sec_tlb_entry, rb);

		parent = *link;
		link = new->x.va < e->x.va ? &parent->rb_left : &parent->rb_right;
	}
	rb_link_node(&new->rb, parent, link);
	rb_insert_color(&new->rb, &tlb->root);
}

/**
 * __sec_tlb_insert() - insert a translation the walker just produced
 * @tlb: the TLB
 * @x: the translation; @x->va must be aligned to 1 << @x->shift
 *
 * Whatever the new entry overlaps is dropped first, so entries never overlap.
 * A full TLB evicts its least recently used entry.
 *
 * Context: Caller holds @tlb->lock and has checked sec_tlb_read_retry() under
 * it, so no invalidation of @x ran since the walk began.
 */
void __sec_tlb_insert(struct sec_tlb *tlb, const struct sec_tlb_xlate *x)
{
	unsigned long last = x->va + (1UL << x->shift) - 1;
	struct sec_tlb_entry *e;

	lockdep_assert_held(&tlb->lock);

	__sec_tlb_drop(tlb, x->va, last);
	e = __sec_tlb_get_slot(tlb);
	e->x = *x;
	e->gen = tlb->gen;
	e->state = SEC_TLB_LIVE;
	hlist_add_head(&e->hnode, sec_tlb_bucket(tlb, x->va, x->shift));
	__sec_tlb_rb_insert(tlb, e);
	list_move_tail(&e->lru, &tlb->lru);
	tlb->nr_live++;
	tlb->nr_pmd += x->shift != PAGE_SHIFT;
	tlb->stats.fills++;
}
EXPORT_SYMBOL_GPL(__sec_tlb_insert);

/**
 * __sec_tlb_flush_all() - drop every entry in O(1)
 * @tlb: the TLB
 *
 * Bumps the generation: hashed entries of the old one stop matching, the
 * rbtree is reset, and the LRU list (live entries and tombstones) becomes
 * the stale list, reused before any live entry is evicted. Tombstones stay
 * on &sec_tlb.tombs, out of the reset tree: __sec_tlb_kill() tells them by
 * their generation.
 *
 * Context: Caller holds @tlb->lock. Does not sleep or allocate.
 */
void __sec_tlb_flush_all(struct sec_tlb *tlb)
{
	lockdep_assert_held(&tlb->lock);

	__sec_tlb_bump_seq(tlb);
	tlb->gen++;
	tlb->root = RB_ROOT;
	list_splice_tail_init(&tlb->lru, &tlb->stale);
	tlb->stats.inval_calls++;
	tlb->stats.full_flushes++;
	tlb->stats.inval_entries += tlb->nr_live;
	tlb->nr_live = 0;
	tlb->nr_pmd = 0;
}
EXPORT_SYMBOL_GPL(__sec_tlb_flush_all);

/* The body of __sec_tlb_invalidate(), inlined into sec_tlb_invalidate(). */
static __always_inline unsigned int sec_tlb_do_invalidate(struct sec_tlb *tlb,
							  unsigned long start,
							  unsigned long end)
{
	unsigned int n = 0;

	if (start == 0 && end == ULONG_MAX) {
		n = tlb->nr_live;
		__sec_tlb_flush_all(tlb);
		return n;
	}
	__sec_tlb_bump_seq(tlb);
	if (start < end && end - start <= SEC_TLB_PROBE_PAGES * PAGE_SIZE)
		n = __sec_tlb_drop_probe(tlb, start, end - 1);
	else if (start < end)
		n = __sec_tlb_drop(tlb, start, end - 1);
	tlb->stats.inval_calls++;
	tlb->stats.inval_entries += n;
	return n;
}

/**
 * __sec_tlb_invalidate() - drop every entry overlapping [start, end)
 * @tlb: the TLB
 * @start: first byte
 * @end: one past the last byte, as the mmu_notifier callbacks pass it
 *
 * O(pages) hash probes for a range of at most %SEC_TLB_PROBE_PAGES pages,
 * else O(log n + k) for k entries in the range. (0, ULONG_MAX) — what 6.6+
 * x86 sends for any large flush — is a full flush. An empty range still bumps the
 * sequence: a walk that raced it may have seen a page table in flux.
 *
 * Context: Caller holds @tlb->lock. Does not sleep or allocate.
 * Return: the number of entries dropped.
 */
unsigned int __sec_tlb_invalidate(struct sec_tlb *tlb, unsigned long start,
				  unsigned long end)
{
	lockdep_assert_held(&tlb->lock);
	return sec_tlb_do_invalidate(tlb, start, end);
}
EXPORT_SYMBOL_GPL(__sec_tlb_invalidate);

/**
 * sec_tlb_windows_of() - the windows of a range
 * @start: first byte
 * @end: one past the last byte
 * @mask: receives a bitmap of %SEC_TLB_WINDOWS bits, the indices in
 *	&sec_tlb.windows of the windows of every region [start, end) touches
 *
 * O(min(regions, %SEC_TLB_WINDOWS)): a range of %SEC_TLB_WINDOWS regions or
 * more, (0, ULONG_MAX) included, sets every bit. An empty range sets none:
 * no translation lies in it.
 *
 * Context: Any context. Takes no lock.
 */
void sec_tlb_windows_of(unsigned long start, unsigned long end,
			unsigned long *mask)
{
	unsigned long first, last, r;

	bitmap_zero(mask, SEC_TLB_WINDOWS);
	if (start >= end)
		return;
	first = start >> PMD_SHIFT;
	last = (end - 1) >> PMD_SHIFT;
	if (last - first >= SEC_TLB_WINDOWS - 1) {
		bitmap_fill(mask, SEC_TLB_WINDOWS);
		return;
	}
	for (r = first; r <= last; r++)
		__set_bit(sec_tlb_window_idx(r << PMD_SHIFT), mask);
}
EXPORT_SYMBOL_GPL(sec_tlb_windows_of);

/*
 * No access window is open: an invalidation that has made its index update
 * has none to wait for. See the third pair in sec_tlb_invalidate().
 */
static __always_inline bool sec_tlb_windows_idle(struct sec_tlb *tlb)
{
	/* Pairs with the RELEASE in sec_tlb_window_close(). */
	return !atomic_read_acquire(&tlb->nr_open);
}

/*
 * The body of sec_tlb_wait_windows(), inlined into sec_tlb_invalidate():
 * nothing when no window is open (the device is idle between its
 * accesses), one lock for a range in one region (a page, a PMD).
 */
static __always_inline void sec_tlb_do_wait_windows(struct sec_tlb *tlb,
						    unsigned long start,
						    unsigned long end)
{
	DECLARE_BITMAP(mask, SEC_TLB_WINDOWS);
	unsigned int i;

	if (likely(sec_tlb_windows_idle(tlb)))
		return;
	if (start < end && (start ^ (end - 1)) < PMD_SIZE) {
		spinlock_t *w = sec_tlb_window(tlb, start);

		spin_lock(w);
		spin_unlock(w);
		return;
	}
	sec_tlb_windows_of(start, end, mask);
	for_each_set_bit(i, mask, SEC_TLB_WINDOWS) {
		spin_lock(&tlb->windows[i]);
		spin_unlock(&tlb->windows[i]);
	}
}

/**
 * sec_tlb_wait_windows() - wait for the access windows of a range to end
 * @tlb: the TLB
 * @start: first byte
 * @end: one past the last byte
 *
 * Passes through (takes and releases) the window lock of every region of
 * [start, end): each access window open on one of them when this is called
 * has ended when it returns. A window opened since may be running, but its
 * lookup came after the caller's index update. Windows of other regions
 * are not waited for, unless they share a lock by hash. One lock for a
 * range in one region (a page, a PMD); at most %SEC_TLB_WINDOWS; none when
 * no access window is open at all.
 *
 * Call it after the index update (under @tlb->lock) it completes.
 *
 * Context: Any context, including under a page-table lock. Caller holds no
 * window lock and not @tlb->lock. Spins while a device access of the range
 * copies (at most a page, with page faults disabled).
 */
void sec_tlb_wait_windows(struct sec_tlb *tlb, unsigned long start,
			  unsigned long end)
{
	sec_tlb_do_wait_windows(tlb, start, end);
}
EXPORT_SYMBOL_GPL(sec_tlb_wait_windows);

/**
 * sec_tlb_invalidate() - drop [start, end) and wait for its access windows
 * @tlb: the TLB
 * @start: first byte
 * @end: one past the last byte
 *
 * What the secondary-TLB hook does. When it returns, no device access uses
 * a translation it dropped, so the kernel may free the pages right after.
 * The ordering pairs, for an invalidation I and an access A to an address
 * of region R through an entry E that I drops (A holds window(R) from
 * before its lookup to the end of its copy; lock order window -> lock):
 *
 *  1. Index: A looks E up, I drops E, each in a @tlb->lock section. If A's
 *     section comes second, A misses E; a fill of A re-checks, in its
 *     section, the sequence I bumped in its own (sec_tlb_read_retry()),
 *     and walks again.
 *  2. Window: if A's section comes first, A took window(R) before it, and
 *     I takes window(R) after its own (sec_tlb_wait_windows()). I's
 *     spin_lock(window(R)) cannot come before A's: A's spin_lock(&tlb->lock)
 *     is ordered after its ACQUIRE of window(R), I's spin_lock(window(R))
 *     after its ACQUIRE of @tlb->lock, and I's section follows A's; so I gets
 *     window(R) only after A's spin_unlock(window(R)). A's copy
 *     happens-before that RELEASE, which happens-before I's ACQUIRE of
 *     window(R), which happens-before I's return.
 *  3. Idle: I skips the windows when it reads @tlb->nr_open as 0 after its
 *     section. A counted itself (sec_tlb_window_open()) before its own
 *     section, which I's follows, so I reads A's increment or a later
 *     value. Every window uncounts only after it counted, so 0 means A's
 *     decrement came before the value read: A's copy happens-before that
 *     RELEASE (sec_tlb_window_close()), which heads a release sequence (the
 *     counter changes only by atomic RMW) that I's ACQUIRE reads from.
 *
 * The windows passed are those of every region of the range, not only of
 * the entries dropped: A may be using a translation whose entry another
 * fill evicted meanwhile (the eviction's section lies between A's and I's,
 * so 2 still holds). I never waits with @tlb->lock held: a lookup of
 * another region waits at most for I's O(entries in the range) index
 * update, an access of another region never waits for I, and I waits only
 * for accesses of its own regions (or of one sharing a window lock by hash).
 *
 * Context: Any context, including under a page-table lock. Takes and releases
 * @tlb->lock, then the window locks of the range when an access window is
 * open. Caller holds none of them.
 * Return: the number of entries dropped.
 */
unsigned int sec_tlb_invalidate(struct sec_tlb *tlb, unsigned long start,
				unsigned long end)
{
	unsigned int n;

	spin_lock(&tlb->lock);
	n = sec_tlb_do_invalidate(tlb, start, end);
	spin_unlock(&tlb->lock);
	sec_tlb_do_wait_windows(tlb, start, end);
	return n;
}
EXPORT_SYMBOL_GPL(sec_tlb_invalidate);

/**
 * sec_tlb_flush_all() - drop every entry and wait for every access window
 * @tlb: the TLB
 *
 * Context: Any context. Takes and releases @tlb->lock, then every window
 * lock when an access window is open. Caller holds none of them.
 */
void sec_tlb_flush_all(struct sec_tlb *tlb)
{
	spin_lock(&tlb->lock);
	__sec_tlb_flush_all(tlb);
	spin_unlock(&tlb->lock);
	sec_tlb_wait_windows(tlb, 0, ULONG_MAX);
}
EXPORT_SYMBOL_GPL(sec_tlb_flush_all);

/**
 * sec_tlb_get_stats() - snapshot the counters
 * @tlb: the TLB
 * @stats: receives the counters
 * @nr_live: receives the number of live entries
 *
 * Context: Any context. Takes and releases @tlb->lock.
 */
void sec_tlb_get_stats(struct sec_tlb *tlb, struct sec_tlb_stats *stats,
		       unsigned int *nr_live)
{
	spin_lock(&tlb->lock);
	*stats = tlb->stats;
	*nr_live = tlb->nr_live;
	spin_unlock(&tlb->lock);
}
EXPORT_SYMBOL_GPL(sec_tlb_get_stats);

MODULE_DESCRIPTION("Secondary TLB model for mmu_notifier_sim");
MODULE_AUTHOR("The mmu_notifier_sim authors");
MODULE_LICENSE("GPL");
