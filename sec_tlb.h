/* SPDX-License-Identifier: GPL-2.0 */
/*
 * sec_tlb: the secondary TLB of the emulated ATS device.
 *
 * Copyright (C) 2026 The mmu_notifier_sim authors
 *
 * A software model of a device TLB: it maps virtual pages to pfns with R/W
 * permission, at 4 KiB or PMD size. It knows nothing of mm_struct, pages or
 * files, so that KUnit can drive it with a fake page-table walker.
 *
 * Entries are preallocated when the TLB is created: the invalidation path runs
 * from the secondary-TLB hook, under the page-table lock and possibly in other
 * atomic contexts, where nothing may sleep or allocate.
 *
 * Index: every live entry sits in a hash table (O(1) lookup by page) and in an
 * rbtree ordered by address (range invalidation in O(log n + k) for k entries
 * in the range, never O(pages in the range)). Entries never overlap: inserting
 * an entry first drops whatever it covers. A full flush is a generation bump.
 *
 * A small invalidation (at most %SEC_TLB_PROBE_PAGES pages: a COW, a KSM
 * merge, one unmapped page) probes the hash per page instead of descending
 * the tree, and leaves the dropped entry in the tree as a tombstone that the
 * fill path erases when it reuses the slot. The hook's cost then does not
 * grow with the number of cached entries.
 *
 * Invalidation queue: the secondary-TLB hook does not even do that probe.
 * Like the invalidation queue of an IOMMU, it posts the range on
 * &sec_tlb.queue (sec_tlb_invalidate_queue()), in O(1), merged with a posted
 * range it touches. A posted range is dead for every lookup from
 * then on: whoever reads the index next (a lookup, a fill, an invalidation,
 * a stats read) first drains the queue, that is drops the posted ranges'
 * entries, under the same lock. The hook then touches no entry: under TCG
 * a COW fault's probe found the entry cold in the host's caches, and that
 * touch was most of the device's cost on P2 (Documentation/benchmarks.rst).
 * A hook that finds the queue full drains it itself.
 *
 * Locking: two levels, so that a device access never waits for an
 * invalidation of an unrelated range.
 *
 *  - &sec_tlb.lock protects the index (hash, tree, lists, counters, the
 *    invalidation queue). Its holders do O(1) work, or O(entries in the
 *    range) for an invalidation, plus O(entries of the queued ranges) for
 *    the one that drains the queue, and never wait for anything else while
 *    holding it.
 *  - An access window: a device access through a translation runs, from the
 *    lookup (or fill) that yields the translation to the end of the DMA,
 *    under the window lock of the 2 MiB region of its address, one of
 *    %SEC_TLB_WINDOWS spinlocks chosen by a hash of the region
 *    (sec_tlb_window()), between sec_tlb_window_open() and
 *    sec_tlb_window_close(). Lock order: window -> &sec_tlb.lock.
 *
 * An invalidation drops its entries under &sec_tlb.lock, releases it, and
 * then passes through (takes and releases) the window lock of every region
 * of its range (sec_tlb_wait_windows()), unless no access window is open
 * at all (&sec_tlb.nr_open). It returns only after each access window that
 * could have looked up one of its entries has ended; accesses in other
 * regions, and their lookups, never wait for it. See sec_tlb_invalidate()
 * for the argument.
 */
#ifndef _SEC_TLB_H
#define _SEC_TLB_H

#include <linux/types.h>
#include <linux/hash.h>
#include <linux/list.h>
#include <linux/pgtable.h>
#include <linux/rbtree.h>
#include <linux/spinlock.h>

#define SEC_TLB_R		BIT(0)	/* device may read through the entry */
#define SEC_TLB_W		BIT(1)	/* device may write through the entry */

/* Invalidations up to this many pages probe the hash, larger ones the tree. */
#define SEC_TLB_PROBE_PAGES		16

/* Ranges the invalidation queue holds before a hook drains it. */
#define SEC_TLB_QUEUE_LEN		16

/* Access windows: 2 MiB regions hashed onto this many window locks. */
#define SEC_TLB_WINDOW_BITS		6
#define SEC_TLB_WINDOWS			BIT(SEC_TLB_WINDOW_BITS)

#define SEC_TLB_DEFAULT_CAPACITY	1024U
#define SEC_TLB_MAX_CAPACITY		(1024U * 1024)	/* hard cap, any caller */

/**
 * struct sec_tlb_xlate - a translation, as filled in or looked up
 * @va: first byte the translation maps; aligned to 1 << @shift
 * @shift: PAGE_SHIFT or PMD_SHIFT; PMD only where the walker really saw a
 *	PMD mapping
 * @perm: SEC_TLB_R and/or SEC_TLB_W
 * @pfn: first page frame number
 * @tag: opaque to the TLB; the device stores the identity of the page here
 * @filled: set by the TLB at insertion, returned by a lookup: the value of
 *	&sec_tlb.fills before this entry's insertion (see sec_tlb_fills());
 *	ignored in a translation to insert
 */
struct sec_tlb_xlate {
	unsigned long va;
	unsigned int shift;
	unsigned int perm;
	unsigned long pfn;
	unsigned long tag;
	unsigned long filled;
};

/* Where a slot is; see struct sec_tlb_entry. */
enum sec_tlb_state {
	SEC_TLB_FREE,		/* on &sec_tlb.free, in no index */
	SEC_TLB_LIVE,		/* hashed, in the tree, on &sec_tlb.lru */
	/*
	 * dropped by a small invalidation: in the tree, on &sec_tlb.tombs,
	 * and still in its place on the LRU list
	 */
	SEC_TLB_TOMB,
};

/**
 * struct sec_tlb_entry - one preallocated TLB slot
 * @hnode: in &sec_tlb.hash when live (or stale and not yet reused), in
 *	&sec_tlb.tombs when a tombstone
 * @lru: on &sec_tlb.lru when live or a tombstone, &sec_tlb.stale after a
 *	full flush (until reused), &sec_tlb.free otherwise
 * @gen: &sec_tlb.gen when inserted; the entry is live only while they match
 * @state: &enum sec_tlb_state (a stale entry is LIVE of an old @gen)
 * @x: the translation
 * @rb: in &sec_tlb.root, ordered by @x.va, while live or a tombstone of
 *	the current generation
 *
 * Everything a hash probe reads and a small invalidation writes (@hnode,
 * @lru, @gen, @state, @x.va, @x.shift) lies in the first 64 bytes: the
 * secondary-TLB hook touches one cache line of the entry it drops.
 */
struct sec_tlb_entry {
	struct hlist_node hnode;
	struct list_head lru;
	unsigned long gen;
	unsigned int state;
	struct sec_tlb_xlate x;
	struct rb_node rb;
};

/**
 * struct sec_tlb_range - a range on the invalidation queue
 * @start: first byte
 * @end: one past the last byte
 */
struct sec_tlb_range {
	unsigned long start;
	unsigned long end;
};

/**
 * struct sec_tlb_stats - counters, cumulative since sec_tlb_init()
 * @hits: lookups that found a live entry with the permission asked for
 * @misses: lookups that did not
 * @fills: entries inserted
 * @evictions: live entries dropped to make room for a fill
 * @inval_calls: range invalidations and full flushes, queued ones included
 * @inval_entries: live entries dropped by them; a queued range's when the
 *	queue is drained (or a full flush drops them)
 * @full_flushes: generation bumps
 */
struct sec_tlb_stats {
	u64 hits;
	u64 misses;
	u64 fills;
	u64 evictions;
	u64 inval_calls;
	u64 inval_entries;
	u64 full_flushes;
};

/**
 * struct sec_tlb - a secondary TLB
 * @lock: protects every field below but @nr_open and @windows, and the
 *	entries. Taken
 *	from the secondary-TLB hook under the page-table lock: the lock order
 *	is PTL -> @windows -> @lock, and nothing that sleeps, allocates or
 *	takes a page-table lock may run under it.
 * @nr_open: access windows open: sec_tlb_window_open() counts one before
 *	its lookup section, sec_tlb_window_close() uncounts it (RELEASE) after
 *	the access. Atomic, not under @lock. An invalidation that reads 0 after
 *	its index update (ACQUIRE) has no window to wait for: see
 *	sec_tlb_invalidate().
 * @seq: invalidation sequence; bumped by every invalidation, before any entry
 *	is dropped. A fill samples it with sec_tlb_read_begin() before walking
 *	the page table and re-checks it under @lock with sec_tlb_read_retry().
 * @gen: generation; entries of an older generation are dead
 * @fills: insertions since sec_tlb_init(); under @lock, read without it by
 *	sec_tlb_fills()
 * @nr_live: live entries
 * @nr_pmd: live PMD-size entries; lookups and small invalidations probe
 *	for a PMD entry only when there is one
 * @capacity: number of preallocated entries
 * @hash_bits: log2 of the number of hash buckets
 * @hash: buckets, keyed by (va, shift)
 * @tombs: tombstones, by &sec_tlb_entry.hnode: reused (erased from the
 *	tree, taken off the LRU list) before @stale. A bury is then two
 *	hlist operations, none of the list_head ones that CONFIG_DEBUG_LIST
 *	checks out of line.
 * @nr_queued: ranges on @queue
 * @queue: the invalidation queue: ranges invalidated but whose entries may
 *	still be in the index, where no lookup may find them. Drained (the
 *	entries dropped, @nr_queued reset) by __sec_tlb_drain() before any
 *	other use of the index.
 * @stats: counters
 * @root: live entries ordered by address
 * @lru: live entries, least recently used first, and tombstones in the
 *	place they had when they were dropped
 * @stale: entries killed by a full flush (still hashed, or still on
 *	@tombs); reused before @lru
 * @free: entries in no index
 * @entries: the preallocated array
 * @windows: window locks; each protects the access windows of the 2 MiB
 *	regions that hash to it (see above): held from the lookup or fill
 *	that yields a translation to the end of the access through it. Taken
 *	before @lock, never while holding it.
 *
 * What the secondary-TLB hook reads and writes for a small invalidation
 * comes first: @lock to @nr_queued in one cache line (without lock
 * debugging), then @queue and @stats.
 */
struct sec_tlb {
	spinlock_t lock;	/* see above */
	atomic_t nr_open;
	unsigned long seq;
	unsigned long gen;
	unsigned long fills;
	unsigned int nr_live;
	unsigned int nr_pmd;
	unsigned int capacity;
	unsigned int hash_bits;
	struct hlist_head *hash;
	struct hlist_head tombs;
	unsigned int nr_queued;
	struct sec_tlb_range queue[SEC_TLB_QUEUE_LEN];
	struct sec_tlb_stats stats;
	struct rb_root root;
	struct list_head lru;
	struct list_head stale;
	struct list_head free;
	struct sec_tlb_entry *entries;
	spinlock_t windows[SEC_TLB_WINDOWS];	/* see above */
};

#ifdef CONFIG_FAULT_INJECTION
bool sec_tlb_fail_alloc(void);
#else
static inline bool sec_tlb_fail_alloc(void)
{
	return false;
}
#endif

int sec_tlb_init(struct sec_tlb *tlb, unsigned int capacity);
void sec_tlb_destroy(struct sec_tlb *tlb);

bool __sec_tlb_lookup(struct sec_tlb *tlb, unsigned long va,
		      unsigned int perm, struct sec_tlb_xlate *out);
void __sec_tlb_insert(struct sec_tlb *tlb, const struct sec_tlb_xlate *x);
unsigned int __sec_tlb_invalidate(struct sec_tlb *tlb, unsigned long start,
				  unsigned long end);
void __sec_tlb_flush_all(struct sec_tlb *tlb);

void sec_tlb_flush_all(struct sec_tlb *tlb);
void sec_tlb_get_stats(struct sec_tlb *tlb, struct sec_tlb_stats *stats,
		       unsigned int *nr_live);

void sec_tlb_windows_of(unsigned long start, unsigned long end,
			unsigned long *mask);
void sec_tlb_wait_windows(struct sec_tlb *tlb, unsigned long start,
			  unsigned long end);

/* Index in &sec_tlb.windows of the window of @va's 2 MiB region. */
static inline unsigned int sec_tlb_window_idx(unsigned long va)
{
	return hash_long(va >> PMD_SHIFT, SEC_TLB_WINDOW_BITS);
}

/**
 * sec_tlb_window() - the window lock of an address
 * @tlb: the TLB
 * @va: any byte of the region
 *
 * A device access holds it from the lookup (or fill) that yields its
 * translation to the end of the access: see sec_tlb_invalidate(). Regions
 * are PMD-size, so a PMD entry lies in exactly one.
 *
 * Context: Any context. Takes no lock.
 * Return: the lock to hold; take it before @tlb->lock.
 */
static inline spinlock_t *sec_tlb_window(struct sec_tlb *tlb, unsigned long va)
{
	return &tlb->windows[sec_tlb_window_idx(va)];
}

/**
 * sec_tlb_window_open() - open the access window of an address
 * @tlb: the TLB
 * @w: sec_tlb_window() of the address
 *
 * Call before the lookup or fill that yields the translation to access
 * through, and keep the window open until the access through it has ended.
 * The count is taken before the caller's &sec_tlb.lock section, so an
 * invalidation whose own section comes after it sees it (see
 * sec_tlb_invalidate()).
 *
 * Context: Any context; caller holds no window lock of @tlb and not
 * @tlb->lock. Takes @w, held on return.
 */
static inline void sec_tlb_window_open(struct sec_tlb *tlb, spinlock_t *w)
	__acquires(w)
{
	spin_lock(w);
	atomic_inc(&tlb->nr_open);
}

/**
 * sec_tlb_window_close() - close an access window
 * @tlb: the TLB
 * @w: the lock sec_tlb_window_open() took
 *
 * Context: Caller holds @w (from sec_tlb_window_open()), not @tlb->lock.
 * Releases @w.
 */
static inline void sec_tlb_window_close(struct sec_tlb *tlb, spinlock_t *w)
	__releases(w)
{
	/*
	 * The access is over: a RELEASE, read by the ACQUIRE in
	 * sec_tlb_windows_idle() of an invalidation that then does not wait.
	 */
	atomic_dec_return_release(&tlb->nr_open);
	spin_unlock(w);
}

/**
 * sec_tlb_read_begin() - sample the invalidation sequence before a walk
 * @tlb: the TLB
 *
 * Context: Any context. Takes no lock.
 * Return: the sequence to pass to sec_tlb_read_retry() after the walk.
 */
static inline unsigned long sec_tlb_read_begin(struct sec_tlb *tlb)
{
	unsigned long seq = READ_ONCE(tlb->seq);

	/*
	 * Order the sample before the page-table reads of the walk. Pairs with
	 * the smp_wmb() in __sec_tlb_bump_seq(): an invalidation whose PTE
	 * change the walk may have missed has bumped the sequence we re-check.
	 */
	smp_rmb();
	return seq;
}

/**
 * sec_tlb_fills() - sample the insertion count
 * @tlb: the TLB
 *
 * An entry a later lookup returns with &sec_tlb_xlate.filled below the
 * sample was inserted before it. Sample before sec_tlb_read_begin(), whose
 * smp_rmb() orders this read too before the page-table reads that follow;
 * a stale sample only makes more entries look newer than it.
 *
 * Context: Any context. Takes no lock.
 * Return: the value to compare &sec_tlb_xlate.filled with.
 */
static inline unsigned long sec_tlb_fills(const struct sec_tlb *tlb)
{
	return READ_ONCE(tlb->fills);
}

/**
 * sec_tlb_read_retry() - did an invalidation run since sec_tlb_read_begin()?
 * @tlb: the TLB
 * @seq: the value sec_tlb_read_begin() returned
 *
 * Context: Caller holds @tlb->lock, the same lock the invalidation held when
 * it bumped the sequence, so the answer stays true until the caller unlocks.
 * Return: true if the walk may have seen a stale page table and must redo.
 */
static inline bool sec_tlb_read_retry(struct sec_tlb *tlb, unsigned long seq)
{
	lockdep_assert_held(&tlb->lock);
	return tlb->seq != seq;
}

/*
 * The invalidation paths of a small range, inline in the caller's module, so
 * that a COW fault calls nothing in sec_tlb.ko unless the range is large, the
 * queue full or an access window open. Under TCG a call into another module
 * and its return each end a translation block: P1's one-page invalidation
 * took 90-102 ns out of line, 60 ns inline (Documentation/benchmarks.rst).
 */

/* Buckets of consecutive pages that share a cache line (8-byte heads). */
#define SEC_TLB_BUCKET_GROUP	8

/**
 * sec_tlb_bucket() - the hash bucket of an entry
 * @tlb: the TLB
 * @va: first byte of the entry, aligned to 1 << @shift
 * @shift: PAGE_SHIFT or PMD_SHIFT
 *
 * The 8 pages of an aligned group of 8 hash together, and the page's place
 * in its group is XORed into the low bits: consecutive pages fall in the 8
 * buckets of one cache line (a COW or unmap of consecutive pages, and its
 * probes, miss the bucket array once per 8 pages, not once per page), while
 * a stride of any size still spreads over every bucket (the low bits XORed
 * are constant, the group's hash is not). Bit 0 of the key tells the two
 * sizes apart.
 *
 * Context: Any context: reads only what sec_tlb_init() set. The bucket's
 * chain is under @tlb->lock.
 * Return: the bucket's head.
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
 * __sec_tlb_bump_seq() - bump the invalidation sequence
 * @tlb: the TLB
 *
 * Every invalidation does it before it drops entries, even an empty one:
 * a fill whose walk raced it then walks again (sec_tlb_read_retry()).
 *
 * Context: Caller holds @tlb->lock.
 */
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

/**
 * __sec_tlb_find() - one hash probe
 * @tlb: the TLB
 * @base: first byte of the entry, aligned to 1 << @shift
 * @shift: PAGE_SHIFT or PMD_SHIFT
 *
 * Context: Caller holds @tlb->lock.
 * Return: the live entry of size 1 << @shift at @base, or NULL.
 */
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

/**
 * __sec_tlb_bury() - drop a live entry in O(1)
 * @tlb: the TLB
 * @e: a live entry of the current generation
 *
 * Out of the hash onto &sec_tlb.tombs, but left in the tree and in its
 * place on the LRU list, so that a small invalidation never walks the tree
 * nor touches the entry's LRU neighbours. The fill path finishes the job
 * when it reuses the slot (__sec_tlb_get_slot()).
 *
 * Context: Caller holds @tlb->lock.
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

/**
 * __sec_tlb_drop_probe() - drop the entries of a small range by hash probes
 * @tlb: the TLB
 * @start: first byte
 * @last: last byte, inclusive, so that a range ending at the top of the
 *	space cannot overflow
 *
 * Probes the hash for each 4 KiB page and each PMD region the range
 * touches, and buries what it finds. O(pages), independent of the TLB's
 * size.
 *
 * Context: Caller holds @tlb->lock. Does not sleep or allocate.
 * Return: the number of entries dropped.
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
 * sec_tlb_range_small() - is a range probed rather than walked?
 * @start: first byte
 * @end: one past the last byte
 *
 * Context: Any context.
 * Return: true for a range of 1 to %SEC_TLB_PROBE_PAGES pages.
 */
static __always_inline bool sec_tlb_range_small(unsigned long start,
						unsigned long end)
{
	return start < end && end - start <= SEC_TLB_PROBE_PAGES * PAGE_SIZE;
}

/**
 * __sec_tlb_invalidate_small() - __sec_tlb_invalidate() of a small range
 * @tlb: the TLB
 * @start: first byte
 * @end: one past the last byte; sec_tlb_range_small(@start, @end)
 *
 * Context: Caller holds @tlb->lock. Does not sleep or allocate.
 * Return: the number of entries dropped.
 */
static __always_inline unsigned int
__sec_tlb_invalidate_small(struct sec_tlb *tlb, unsigned long start,
			   unsigned long end)
{
	unsigned int n;

	__sec_tlb_bump_seq(tlb);
	n = __sec_tlb_drop_probe(tlb, start, end - 1);
	tlb->stats.inval_calls++;
	tlb->stats.inval_entries += n;
	return n;
}

/**
 * sec_tlb_windows_idle() - is no access window open?
 * @tlb: the TLB
 *
 * An invalidation that has made its index update and then finds no window
 * open has none to wait for: the third pair in sec_tlb_invalidate().
 *
 * Context: Any context. Takes no lock.
 * Return: true when no access window is open.
 */
static __always_inline bool sec_tlb_windows_idle(struct sec_tlb *tlb)
{
	/* Pairs with the RELEASE in sec_tlb_window_close(). */
	return !atomic_read_acquire(&tlb->nr_open);
}

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
 *  1. Index: A looks E up, I drops E (or posts a range holding E on the
 *     invalidation queue, sec_tlb_invalidate_queue()), each in a @tlb->lock
 *     section. If A's section comes second, A misses E: a lookup drains
 *     the queue before it probes. A fill of A re-checks, in its section,
 *     the sequence I bumped in its own (sec_tlb_read_retry()), and walks
 *     again.
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
 *     Checked with herd7 against the kernel's memory model:
 *     tools/memory-model/sec_tlb-idle-skip.litmus (Never), and its
 *     negative control with A's lookup moved out of the @tlb->lock section,
 *     sec_tlb-idle-skip-lookup-outside-lock.litmus (Sometimes); make
 *     litmus, part of make check.
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
static __always_inline unsigned int
sec_tlb_invalidate(struct sec_tlb *tlb, unsigned long start, unsigned long end)
{
	unsigned int n;

	spin_lock(&tlb->lock);
	if (likely(sec_tlb_range_small(start, end)))
		n = __sec_tlb_invalidate_small(tlb, start, end);
	else
		n = __sec_tlb_invalidate(tlb, start, end);
	spin_unlock(&tlb->lock);
	if (unlikely(!sec_tlb_windows_idle(tlb)))
		sec_tlb_wait_windows(tlb, start, end);
	return n;
}

/**
 * __sec_tlb_queue_merge() - merge a range into a posted one it touches
 * @tlb: the TLB
 * @start: first byte
 * @end: one past the last byte
 *
 * Context: Caller holds @tlb->lock.
 * Return: true if a posted range, the most recent first, overlapped or
 * touched [@start, @end) and now covers it too.
 */
static __always_inline bool __sec_tlb_queue_merge(struct sec_tlb *tlb,
						  unsigned long start,
						  unsigned long end)
{
	unsigned int i = tlb->nr_queued;

	while (i--) {
		struct sec_tlb_range *q = &tlb->queue[i];

		if (start <= q->end && end >= q->start) {
			q->start = min(q->start, start);
			q->end = max(q->end, end);
			return true;
		}
	}
	return false;
}

/**
 * __sec_tlb_queue() - post a small range on the invalidation queue
 * @tlb: the TLB
 * @start: first byte
 * @end: one past the last byte
 *
 * Merges the range into a posted one that it overlaps or touches, the most
 * recent first, else takes the next slot: a run of COW faults on consecutive
 * pages takes one slot, and so do two such runs interleaved (O(slots)
 * compares, on the cache lines the hook has just written). A merged range
 * may come to touch another slot's; draining both drops each entry once.
 * Bumps the sequence as any invalidation, so that a fill that walked before
 * it walks again.
 *
 * Context: Caller holds @tlb->lock. Does not sleep or allocate.
 * Return: false, having done nothing, for a range that is not
 * sec_tlb_range_small() or when the queue is full.
 */
static __always_inline bool __sec_tlb_queue(struct sec_tlb *tlb,
					    unsigned long start,
					    unsigned long end)
{
	if (!sec_tlb_range_small(start, end))
		return false;
	if (!__sec_tlb_queue_merge(tlb, start, end)) {
		if (tlb->nr_queued == SEC_TLB_QUEUE_LEN)
			return false;
		tlb->queue[tlb->nr_queued].start = start;
		tlb->queue[tlb->nr_queued].end = end;
		tlb->nr_queued++;
	}
	__sec_tlb_bump_seq(tlb);
	tlb->stats.inval_calls++;
	return true;
}

/**
 * sec_tlb_invalidate_queue() - sec_tlb_invalidate() by the invalidation queue
 * @tlb: the TLB
 * @start: first byte
 * @end: one past the last byte
 *
 * The secondary-TLB hook's call. The same guarantee as sec_tlb_invalidate(),
 * by the same three pairs, but a small range is posted on the queue, O(1),
 * instead of being dropped from the index: no entry is touched here (the
 * next reader of the index drops them). A large range, or a full queue, is
 * dropped here, the queue drained with it.
 *
 * Context: Any context, including under a page-table lock. Takes and releases
 * @tlb->lock, then the window locks of the range when an access window is
 * open. Caller holds none of them.
 */
static __always_inline void
sec_tlb_invalidate_queue(struct sec_tlb *tlb, unsigned long start,
			 unsigned long end)
{
	spin_lock(&tlb->lock);
	if (unlikely(!__sec_tlb_queue(tlb, start, end)))
		__sec_tlb_invalidate(tlb, start, end);
	spin_unlock(&tlb->lock);
	if (unlikely(!sec_tlb_windows_idle(tlb)))
		sec_tlb_wait_windows(tlb, start, end);
}

#endif /* _SEC_TLB_H */
