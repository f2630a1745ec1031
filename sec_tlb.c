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
#include <linux/fault-inject.h>
#include <linux/hash.h>
#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/slab.h>

#include "sec_tlb.h"

/*
 * Fault injection, with CONFIG_FAULT_INJECTION: one attribute for the
 * allocations of both modules (sec_tlb_fail_alloc(), sec_tlb.h).
 */
#ifdef CONFIG_FAULT_INJECTION
static struct fault_attr sec_tlb_fail_attr = FAULT_ATTR_INITIALIZER;

/**
 * sec_tlb_fail_alloc() - should this allocation fail, as a test asked?
 *
 * The kernel's fail_nth (/proc/<pid>/task/<tid>/fail-nth) fails a task's
 * Nth should_fail() call whatever the attribute's probability, so a test
 * fails each allocation of a command in turn (mnsim_dev.fail_nth_* in the
 * kselftests, as iommufd's selftest does). mmu_notifier_sim.c asks before
 * each of its allocations too, and before mmu_notifier_register(), whose
 * own allocation it fails as the error register returns.
 *
 * Context: Process context (fail_nth counts the task's calls).
 * Return: true when the allocation must fail.
 */
bool sec_tlb_fail_alloc(void)
{
	return should_fail(&sec_tlb_fail_attr, 1);
}
EXPORT_SYMBOL_GPL(sec_tlb_fail_alloc);

static int __init sec_tlb_module_init(void)
{
	/* A failure a test forced is no news: no stack dump in the log. */
	sec_tlb_fail_attr.verbose = 0;
	return 0;
}

static void __exit sec_tlb_module_exit(void)
{
}

module_init(sec_tlb_module_init);
module_exit(sec_tlb_module_exit);
#endif

/* kvcalloc() charged to the caller's memory cgroup, or an injected failure. */
static void *sec_tlb_kvcalloc(size_t n, size_t size)
{
	return sec_tlb_fail_alloc() ? NULL :
				      kvcalloc(n, size, GFP_KERNEL_ACCOUNT);
}

static unsigned long sec_tlb_entry_end(const struct sec_tlb_entry *e)
{
	return e->x.va + (1UL << e->x.shift);
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

	tlb->hash = sec_tlb_kvcalloc(1UL << tlb->hash_bits, sizeof(*tlb->hash));
	if (!tlb->hash)
		return -ENOMEM;
	tlb->entries = sec_tlb_kvcalloc(capacity, sizeof(*tlb->entries));
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

/**
 * __sec_tlb_kill() - unlink an entry from every index and free its slot
 * @tlb: the TLB
 * @e: a live entry of the current generation, or a tombstone
 *
 * Context: Caller holds @tlb->lock.
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

/**
 * __sec_tlb_first_after() - the first entry of the tree that ends after a byte
 * @tlb: the TLB
 * @start: the byte
 *
 * Entries do not overlap, so their end addresses are ordered like their
 * start addresses and one descent finds it: O(log n).
 *
 * Context: Caller holds @tlb->lock.
 * Return: the entry (live or a tombstone), or NULL.
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

/**
 * __sec_tlb_drop() - drop what overlaps a range, by the tree
 * @tlb: the TLB
 * @start: first byte
 * @last: last byte, inclusive, so that a range ending at the top of the
 *	address space cannot overflow
 *
 * Kills every live entry and tombstone overlapping [@start, @last]:
 * O(log n + k) for k of them.
 *
 * Context: Caller holds @tlb->lock. Does not sleep or allocate.
 * Return: the number of live entries dropped.
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

/**
 * __sec_tlb_drop_range() - drop what overlaps [start, end), the cheaper way
 * @tlb: the TLB
 * @start: first byte
 * @end: one past the last byte
 *
 * O(pages) hash probes for a range of at most %SEC_TLB_PROBE_PAGES pages,
 * else O(log n + k) by the tree for k entries in the range.
 *
 * Context: Caller holds @tlb->lock. Does not sleep or allocate.
 * Return: the number of live entries dropped.
 */
static unsigned int __sec_tlb_drop_range(struct sec_tlb *tlb,
					 unsigned long start, unsigned long end)
{
	if (sec_tlb_range_small(start, end))
		return __sec_tlb_drop_probe(tlb, start, end - 1);
	if (start >= end)
		return 0;
	return __sec_tlb_drop(tlb, start, end - 1);
}

/**
 * __sec_tlb_drain() - drop the entries of the ranges on the invalidation queue
 * @tlb: the TLB
 *
 * Every use of the index but the hook's posting calls it first, so that a
 * posted range is dead for every lookup from the moment it was posted (the
 * first ordering pair at sec_tlb_invalidate()). Drops commute, so the ranges
 * may be dropped in any order, and together with a later invalidation's.
 * Returns at once when the queue is empty, writing nothing.
 *
 * Context: Caller holds @tlb->lock. Does not sleep or allocate.
 */
static void __sec_tlb_drain(struct sec_tlb *tlb)
{
	unsigned int i, n = 0;

	if (!tlb->nr_queued)
		return;
	for (i = 0; i < tlb->nr_queued; i++)
		n += __sec_tlb_drop_range(tlb, tlb->queue[i].start,
					  tlb->queue[i].end);
	tlb->nr_queued = 0;
	tlb->stats.inval_entries += n;
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
 * (on x86, write-fault reuse of a page never reaches the secondary-TLB
 * hook), but the miss tells it: @out->perm is then that entry's permission,
 * which a device that caches permissions (an SMMU's TLB, in the driver's
 * %MNSIM_BIND_PERM_CACHE) takes for a permission fault, not a miss.
 *
 * Context: Caller holds @tlb->lock.
 * Return: true on a hit. On a miss, @out->perm is 0 if no entry maps @va,
 * else the permission of the one that does, without @perm; the rest of
 * @out is then undefined.
 */
bool __sec_tlb_lookup(struct sec_tlb *tlb, unsigned long va,
		      unsigned int perm, struct sec_tlb_xlate *out)
{
	static const unsigned int shifts[] = { PAGE_SHIFT, PMD_SHIFT };
	struct sec_tlb_entry *e;
	unsigned long base;
	unsigned int i;

	lockdep_assert_held(&tlb->lock);

	__sec_tlb_drain(tlb);
	out->perm = 0;
	for (i = 0; i < ARRAY_SIZE(shifts); i++) {
		if (shifts[i] != PAGE_SHIFT && !tlb->nr_pmd)
			break;
		base = va & ~((1UL << shifts[i]) - 1);
		e = __sec_tlb_find(tlb, base, shifts[i]);
		if (!e)
			continue;
		if ((e->x.perm & perm) != perm) {
			out->perm = e->x.perm;
			break;
		}
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

/**
 * __sec_tlb_get_slot() - take a slot for a fill
 * @tlb: the TLB
 *
 * A free one, else a tombstone (erased from the tree and taken off the LRU
 * list here, on the fill path, not in the hook), else one a full flush
 * killed, else evict the least recently used. Every tombstone is on
 * &sec_tlb.tombs, so the LRU list holds none when it comes to evicting.
 *
 * Context: Caller holds @tlb->lock.
 * Return: the slot, in no hash chain and not in the tree.
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

/**
 * __sec_tlb_rb_insert() - link an entry into the tree by address
 * @tlb: the TLB
 * @new: the entry; it overlaps none in the tree
 *
 * Context: Caller holds @tlb->lock.
 */
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

	__sec_tlb_drain(tlb);
	__sec_tlb_drop(tlb, x->va, last);
	e = __sec_tlb_get_slot(tlb);
	e->x = *x;
	/* sec_tlb_fills() reads it without the lock. */
	e->x.filled = tlb->fills;
	WRITE_ONCE(tlb->fills, tlb->fills + 1);
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
 * their generation. The invalidation queue is emptied without a drain: its
 * entries die with the rest, and are counted with them.
 *
 * Context: Caller holds @tlb->lock. Does not sleep or allocate.
 */
void __sec_tlb_flush_all(struct sec_tlb *tlb)
{
	lockdep_assert_held(&tlb->lock);

	__sec_tlb_bump_seq(tlb);
	tlb->gen++;
	tlb->nr_queued = 0;
	tlb->root = RB_ROOT;
	list_splice_tail_init(&tlb->lru, &tlb->stale);
	tlb->stats.inval_calls++;
	tlb->stats.full_flushes++;
	tlb->stats.inval_entries += tlb->nr_live;
	tlb->nr_live = 0;
	tlb->nr_pmd = 0;
}
EXPORT_SYMBOL_GPL(__sec_tlb_flush_all);

/**
 * __sec_tlb_invalidate() - drop every entry overlapping [start, end)
 * @tlb: the TLB
 * @start: first byte
 * @end: one past the last byte, as the mmu_notifier callbacks pass it
 *
 * O(pages) hash probes for a range of at most %SEC_TLB_PROBE_PAGES pages,
 * else O(log n + k) for k entries in the range. (0, ULONG_MAX) — what 6.6+
 * x86 sends for any large flush — is a full flush. An empty range still bumps the
 * sequence: a walk that raced it may have seen a page table in flux. The
 * invalidation queue is drained first.
 *
 * Context: Caller holds @tlb->lock. Does not sleep or allocate.
 * Return: the number of entries dropped: in [start, end), not counting those
 * of the drained queue; every live one for a full flush.
 */
unsigned int __sec_tlb_invalidate(struct sec_tlb *tlb, unsigned long start,
				  unsigned long end)
{
	unsigned int n;

	lockdep_assert_held(&tlb->lock);
	if (start == 0 && end == ULONG_MAX) {
		n = tlb->nr_live;
		__sec_tlb_flush_all(tlb);
		return n;
	}
	__sec_tlb_drain(tlb);
	__sec_tlb_bump_seq(tlb);
	n = __sec_tlb_drop_range(tlb, start, end);
	tlb->stats.inval_calls++;
	tlb->stats.inval_entries += n;
	return n;
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
	DECLARE_BITMAP(mask, SEC_TLB_WINDOWS);
	unsigned int i;

	if (sec_tlb_windows_idle(tlb))
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
EXPORT_SYMBOL_GPL(sec_tlb_wait_windows);

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
 * Drains the invalidation queue first, so that @stats->inval_entries and
 * @nr_live count what was invalidated before the call.
 *
 * Context: Any context. Takes and releases @tlb->lock.
 */
void sec_tlb_get_stats(struct sec_tlb *tlb, struct sec_tlb_stats *stats,
		       unsigned int *nr_live)
{
	spin_lock(&tlb->lock);
	__sec_tlb_drain(tlb);
	*stats = tlb->stats;
	*nr_live = tlb->nr_live;
	spin_unlock(&tlb->lock);
}
EXPORT_SYMBOL_GPL(sec_tlb_get_stats);

MODULE_DESCRIPTION("Secondary TLB model for mmu_notifier_sim");
MODULE_AUTHOR("The mmu_notifier_sim authors");
MODULE_LICENSE("GPL");
