// SPDX-License-Identifier: GPL-2.0
/*
 * mnsim_order: every interleaving of the kernel's COW, zero-page, KSM and
 * munmap notifier sequences with device accesses, checked for device-visible
 * ordering under the ATS, SOFT and DEFER protocols.
 *
 * Copyright (C) 2026 The mmu_notifier_sim authors
 *
 * This file is #included at the end of mmu_notifier_sim.c when
 * CONFIG_MMU_NOTIFIER_SIM_KUNIT_TEST is set, so that it runs the driver's
 * real static code: mnsim_secondary_tlb_hook(), mnsim_range_start(),
 * mnsim_range_end() and mnsim_access_page() with its sec_tlb lookup, walk,
 * fill re-check and access window. Only the CPU side is a model: a page
 * table with two addresses A and B in different pages, a handful of pages,
 * and the threads of Documentation/mm/mmu_notifier.rst ("seed" below):
 * CPU-thread-0..3, DEV-thread-0 and DEV-thread-2. ctx->ops points to
 * mo_dev_ops: its walk reads the model page table, its dma the model pages.
 *
 * Threads and steps. A CPU step is one action of a kernel sequence (a PTE
 * update, a notifier call, a store, a free); steps of one thread keep program
 * order, and a step may also wait for a step of another thread (a store
 * waits for the PTE that makes it possible; the seed's CPU-thread-3 stores to
 * B after CPU-thread-2's store to A). A device access is one call of
 * mnsim_access_page() by a device kthread, in two steps: the first runs the
 * lookup and, on a miss, the walk, and gives way right after the walk read
 * the PTE; the second makes the walk return, so the driver re-checks the
 * invalidation sequence, fills and accesses (or walks again, without giving
 * way a second time: a retried walk races the same invalidations as the
 * first, whose interleavings are all explored). Nothing is interleaved
 * between a lookup miss and the walk: a step there would only make the walk
 * see a later page table, as when the step runs before the lookup. Before
 * the enumerated window the device threads have populated the TLB, as at
 * the seed's "Time N".
 *
 * Enumeration. Depth-first over schedules, by replay: each interleaving is
 * run from a fresh state (a new sec_tlb and model), so every one runs the
 * real code from the start. All interleavings that keep program order are
 * explored, except that in SOFT mode a device step is not started while the
 * driver would sleep in its soft_wq wait (it would resume only later, which
 * is another interleaving). Those are counted as pruned, and
 * explored + pruned must equal the number of linear extensions of the
 * threads' step order, counted independently (mo_count()).
 *
 * The invariant, checked on each interleaving:
 *  - order: the device's reads, in the order they happened, can be placed at
 *    points of the CPU timeline, in the same order, where the address held
 *    the value read. So the device never sees a new value of B and then an
 *    old value of A that was overwritten before B was written (the seed's
 *    case B);
 *  - freed: the device never accesses a page freed (or freed and reused)
 *    since it filled its translation (the seed's case A);
 *  - lost: a device write to an address that stays mapped becomes visible
 *    through the page table (KSM must not merge over it).
 *
 * Not modelled: a device access that needs a page fault (no PTE, or a write
 * to a read-only PTE) fails as the driver's walk would if GUP failed; the
 * fault itself is one of the CPU sequences checked here. The fake dma is
 * the device's raw access, as the protocols define it: the check by which
 * the driver's DEFER access path refuses a page freed since the fill
 * (mnsim_dma_window()) is not part of it, so DEFER's case A shows here.
 */
#include <kunit/test.h>
#include <linux/completion.h>
#include <linux/kthread.h>

#define MO_VA_A		0x10000000UL
#define MO_VA_B		0x10004000UL	/* |A - B| >= PAGE_SIZE */
#define MO_PFN_BASE	0x1000UL	/* model page i is pfn MO_PFN_BASE + i */
#define MO_TLB_ENTRIES	16
#define MO_MAX_STEPS	14		/* per thread */
#define MO_MAX_DEPTH	40		/* steps of one interleaving */
#define MO_MAX_VALS	32
#define MO_LABEL	160

enum mo_addr { MO_A, MO_B, MO_NADDR };

static const unsigned long mo_va[MO_NADDR] = { MO_VA_A, MO_VA_B };
static const char * const mo_addr_name[MO_NADDR] = { "addrA", "addrB" };

enum mo_page_id { MO_PA_OLD, MO_PA_NEW, MO_PB, MO_ZERO, MO_KPAGE, MO_NPAGES };

static const char * const mo_page_name[MO_NPAGES] = {
	"old page of addrA", "new page of addrA", "page of addrB",
	"zero page", "KSM page",
};

enum mo_thread_id {
	MO_CPU0, MO_CPU1, MO_CPU2, MO_CPU3, MO_DEV0, MO_DEV2, MO_NTHREADS
};

#define MO_NDEVS	2
#define MO_FIRST_DEV	MO_DEV0

static const char * const mo_thread_name[MO_NTHREADS] = {
	"CPU-thread-0", "CPU-thread-1", "CPU-thread-2", "CPU-thread-3",
	"DEV-thread-0", "DEV-thread-2",
};

enum mo_op {
	MO_OP_COPY_START,	/* fill @page from @addr's page; range_start */
	MO_OP_START,		/* mmu_notifier_invalidate_range_start */
	MO_OP_CLEAR,		/* the PTE of @addr becomes none */
	MO_OP_HOOK,		/* the secondary-TLB hook (registered in ATS) */
	MO_OP_SET,		/* the PTE of @addr maps @page, @flag: writable */
	MO_OP_END,		/* range_end or range_only_end without the hook */
	MO_OP_END_HOOK,		/* 6.1 range_end: the hook, then end */
	MO_OP_FREE,		/* the last reference to @page is dropped */
	MO_OP_REUSE,		/* another task allocates @page, writes to it */
	MO_OP_WRITE,		/* CPU store to @addr through its PTE */
	MO_OP_COMPARE,		/* KSM pages_identical(@page, KSM page) */
	MO_OP_COMPARE_BROKEN,	/* negative control: merge whatever it holds */
	MO_OP_REPLACE_CLEAR,	/* KSM replace_page(): pte_same(), then clear */
	MO_OP_DEV_BEGIN,	/* device access: lookup, walk; @flag: write */
	MO_OP_DEV_FINISH,	/* device access: re-check, fill, access */
};

/* A step may wait for step @s of thread @t of the same interleaving. */
#define MO_AFTER(t, s)	((u16)((((t) + 1) << 8) | (s)))

/**
 * struct mo_step - one atomic action of a thread
 * @op: enum mo_op
 * @addr: enum mo_addr it acts on
 * @page: enum mo_page_id it uses
 * @flag: MO_OP_SET: writable; device steps: a write access
 * @merge: a KSM merge step, skipped once the merge was cancelled
 * @after: 0, or MO_AFTER() of a step that must have run before
 * @label: what the step does, for the timeline
 */
struct mo_step {
	u8 op;
	u8 addr;
	u8 page;
	bool flag;
	bool merge;
	u16 after;
	const char *label;
};

struct mo_pte {
	bool present;
	bool writable;
	u8 page;
};

#define MO_MAX_SEGS	3

/**
 * struct mo_case - one kernel sequence with its threads
 * @name: parameter name prefix
 * @source: where the sequence comes from
 * @pte: PTEs of A and B before the window
 * @prefill: address each device thread accessed at "Time N", or -1
 * @prefill_write: that access was a write
 * @kpage_differs: the KSM page holds other content than A (negative control)
 * @expect: violations expected, indexed by enum mnsim_mode
 * @prog: the program of each thread: segments, up to the first empty one
 */
struct mo_case {
	const char *name;
	const char *source;
	struct mo_pte pte[MO_NADDR];
	s8 prefill[MO_NDEVS];
	bool prefill_write[MO_NDEVS];
	bool kpage_differs;
	bool expect[MNSIM_MODE_DEFER + 1];
	const struct mo_step *prog[MO_NTHREADS][MO_MAX_SEGS];
};

/* ---- the sequences ------------------------------------------------------- */

/*
 * Each thread's program is a list of segments: arrays of steps, each ended
 * by an empty step, so that cases share the kernel sequences below.
 */

/* Device accesses: two steps each (see the top of this file). */
static const struct mo_step dev_read_a[] = {
	{ .op = MO_OP_DEV_BEGIN, .addr = MO_A, .label = "read addrA" },
	{ .op = MO_OP_DEV_FINISH, .addr = MO_A, .label = "read addrA" },
	{}
};

static const struct mo_step dev_read_a_again[] = {
	{ .op = MO_OP_DEV_BEGIN, .addr = MO_A, .label = "read addrA again" },
	{ .op = MO_OP_DEV_FINISH, .addr = MO_A, .label = "read addrA again" },
	{}
};

static const struct mo_step dev_read_b[] = {
	{ .op = MO_OP_DEV_BEGIN, .addr = MO_B, .label = "read addrB" },
	{ .op = MO_OP_DEV_FINISH, .addr = MO_B, .label = "read addrB" },
	{}
};

static const struct mo_step dev_write_a[] = {
	{ .op = MO_OP_DEV_BEGIN, .addr = MO_A, .flag = true,
	  .label = "write addrA" },
	{ .op = MO_OP_DEV_FINISH, .addr = MO_A, .flag = true,
	  .label = "write addrA" },
	{}
};

static const struct mo_step dev_write_a_again[] = {
	{ .op = MO_OP_DEV_BEGIN, .addr = MO_A, .flag = true,
	  .label = "write addrA again" },
	{ .op = MO_OP_DEV_FINISH, .addr = MO_A, .flag = true,
	  .label = "write addrA again" },
	{}
};

/* The seed's CPU-thread-2 and 3: a store to A once its new PTE is set, ... */
static const struct mo_step seed_store_a[] = {
	{ .op = MO_OP_WRITE, .addr = MO_A, .after = MO_AFTER(MO_CPU0, 3),
	  .label = "write to addrA which is a write to new page" },
	{}
};

/* ... and a store to B by a thread that saw the store to A. */
static const struct mo_step seed_store_b[] = {
	{ .op = MO_OP_WRITE, .addr = MO_B, .after = MO_AFTER(MO_CPU2, 0),
	  .label = "write to addrB (after seeing the write to addrA)" },
	{}
};

/*
 * COW of A after fork, the seed's case B (6.1 and 6.12 wp_page_copy(): the
 * copy is made before range start). The old page stays referenced until
 * after range end; here the COW then drops its last reference.
 */
static const struct mo_step cow61_cpu0[] = {
	{ .op = MO_OP_COPY_START, .addr = MO_A, .page = MO_PA_NEW,
	  .label = "COW_step0: {copy addrA; mmu_notifier_invalidate_range_start(addrA)}" },
	{ .op = MO_OP_CLEAR, .addr = MO_A,
	  .label = "COW_step1: {lock PTL; clear the pte of addrA, flush the CPU TLB}" },
	{ .op = MO_OP_HOOK, .addr = MO_A,
	  .label = "COW_step1: {ptep_clear_flush_notify: invalidate_range(addrA) hook}" },
	{ .op = MO_OP_SET, .addr = MO_A, .page = MO_PA_NEW, .flag = true,
	  .label = "COW_step2: {update page table to point to new page for addrA}" },
	{ .op = MO_OP_END, .addr = MO_A,
	  .label = "COW_step3: {mmu_notifier_invalidate_range_only_end(addrA): no hook}" },
	{ .op = MO_OP_FREE, .page = MO_PA_OLD,
	  .label = "COW_step4: {put_page(old page): last reference, freed}" },
	{}
};

static const struct mo_step cow612_cpu0[] = {
	{ .op = MO_OP_COPY_START, .addr = MO_A, .page = MO_PA_NEW,
	  .label = "COW_step0: {copy addrA; mmu_notifier_invalidate_range_start(addrA)}" },
	{ .op = MO_OP_CLEAR, .addr = MO_A,
	  .label = "COW_step1: {lock PTL; ptep_clear_flush: clear the pte of addrA}" },
	{ .op = MO_OP_HOOK, .addr = MO_A,
	  .label = "COW_step1: {flush_tlb_mm_range: arch_invalidate_secondary_tlbs(addrA)}" },
	{ .op = MO_OP_SET, .addr = MO_A, .page = MO_PA_NEW, .flag = true,
	  .label = "COW_step2: {update page table to point to new page for addrA}" },
	{ .op = MO_OP_END, .addr = MO_A,
	  .label = "COW_step3: {mmu_notifier_invalidate_range_end(addrA)}" },
	{ .op = MO_OP_FREE, .page = MO_PA_OLD,
	  .label = "COW_step4: {folio_put(old folio): last reference, freed}" },
	{}
};

/* A write fault on the zero page: wp_page_copy() with is_zero_pfn(). */
static const struct mo_step zero_cpu0[] = {
	{ .op = MO_OP_COPY_START, .addr = MO_A, .page = MO_PA_NEW,
	  .label = "ZERO_step0: {zeroed page; mmu_notifier_invalidate_range_start(addrA)}" },
	{ .op = MO_OP_CLEAR, .addr = MO_A,
	  .label = "ZERO_step1: {lock PTL; clear the pte of addrA (zero page)}" },
	{ .op = MO_OP_HOOK, .addr = MO_A,
	  .label = "ZERO_step1: {the clear-flush calls the secondary-TLB hook(addrA)}" },
	{ .op = MO_OP_SET, .addr = MO_A, .page = MO_PA_NEW, .flag = true,
	  .label = "ZERO_step2: {point the pte of addrA to the new zeroed page}" },
	{ .op = MO_OP_END, .addr = MO_A,
	  .label = "ZERO_step3: {mmu_notifier_invalidate_range_(only_)end(addrA)}" },
	{}
};

/*
 * KSM: write_protect_page(), pages_identical(), replace_page(), each range
 * its own, as mm/ksm.c does it. 6.1 clears with ptep_clear_flush() (no
 * notify): the hook comes from the range's end. 6.12 x86 reaches the hook
 * from the clear-flush, under the PTL.
 */
static const struct mo_step ksm_wp61[] = {
	{ .op = MO_OP_START, .addr = MO_A,
	  .label = "KSM_wp0: {write_protect_page: invalidate_range_start(addrA)}" },
	{ .op = MO_OP_CLEAR, .addr = MO_A,
	  .label = "KSM_wp1: {lock PTL; ptep_clear_flush(addrA): no notify}" },
	{ .op = MO_OP_SET, .addr = MO_A, .page = MO_PA_OLD,
	  .label = "KSM_wp2: {set_pte_at(addrA): same page, read-only}" },
	{ .op = MO_OP_END_HOOK, .addr = MO_A,
	  .label = "KSM_wp3: {mmu_notifier_invalidate_range_end(addrA): hook, then end}" },
	{}
};

/* Negative control 2: the write-protect range ends without the hook. */
static const struct mo_step ksm_wp61_nohook[] = {
	{ .op = MO_OP_START, .addr = MO_A,
	  .label = "KSM_wp0: {write_protect_page: invalidate_range_start(addrA)}" },
	{ .op = MO_OP_CLEAR, .addr = MO_A,
	  .label = "KSM_wp1: {lock PTL; ptep_clear_flush(addrA): no notify}" },
	{ .op = MO_OP_SET, .addr = MO_A, .page = MO_PA_OLD,
	  .label = "KSM_wp2: {set_pte_at(addrA): same page, read-only}" },
	{ .op = MO_OP_END, .addr = MO_A,
	  .label = "KSM_wp3: {mmu_notifier_invalidate_range_only_end(addrA): no hook}" },
	{}
};

static const struct mo_step ksm_wp612[] = {
	{ .op = MO_OP_START, .addr = MO_A,
	  .label = "KSM_wp0: {write_protect_page: invalidate_range_start(addrA)}" },
	{ .op = MO_OP_CLEAR, .addr = MO_A,
	  .label = "KSM_wp1: {lock PTL; ptep_clear_flush(addrA)}" },
	{ .op = MO_OP_HOOK, .addr = MO_A,
	  .label = "KSM_wp1: {flush_tlb_mm_range: arch_invalidate_secondary_tlbs(addrA)}" },
	{ .op = MO_OP_SET, .addr = MO_A, .page = MO_PA_OLD,
	  .label = "KSM_wp2: {set_pte_at(addrA): same page, read-only}" },
	{ .op = MO_OP_END, .addr = MO_A,
	  .label = "KSM_wp3: {mmu_notifier_invalidate_range_end(addrA)}" },
	{}
};

static const struct mo_step ksm_cmp[] = {
	{ .op = MO_OP_COMPARE, .page = MO_PA_OLD,
	  .label = "KSM_cmp: {pages_identical(old page of addrA, KSM page)?}" },
	{}
};

/* Negative control 1: merge a page whatever it holds. */
static const struct mo_step ksm_cmp_broken[] = {
	{ .op = MO_OP_COMPARE_BROKEN,
	  .label = "KSM_cmp: {skipped: merge a page with different content}" },
	{}
};

static const struct mo_step ksm_rp61[] = {
	{ .op = MO_OP_START, .addr = MO_A, .merge = true,
	  .label = "KSM_rp0: {replace_page: invalidate_range_start(addrA)}" },
	{ .op = MO_OP_REPLACE_CLEAR, .addr = MO_A, .merge = true,
	  .label = "KSM_rp1: {lock PTL; pte_same(); ptep_clear_flush(addrA): no notify}" },
	{ .op = MO_OP_SET, .addr = MO_A, .page = MO_KPAGE, .merge = true,
	  .label = "KSM_rp2: {set_pte_at_notify(addrA, KSM page, read-only)}" },
	{ .op = MO_OP_END_HOOK, .addr = MO_A, .merge = true,
	  .label = "KSM_rp3: {mmu_notifier_invalidate_range_end(addrA): hook, then end}" },
	{ .op = MO_OP_FREE, .page = MO_PA_OLD, .merge = true,
	  .label = "KSM_rp4: {ksmd drops its reference: old page freed}" },
	{}
};

static const struct mo_step ksm_rp612[] = {
	{ .op = MO_OP_START, .addr = MO_A, .merge = true,
	  .label = "KSM_rp0: {replace_page: invalidate_range_start(addrA)}" },
	{ .op = MO_OP_REPLACE_CLEAR, .addr = MO_A, .merge = true,
	  .label = "KSM_rp1: {lock PTL; pte_same(); ptep_clear_flush(addrA)}" },
	{ .op = MO_OP_HOOK, .addr = MO_A, .merge = true,
	  .label = "KSM_rp1: {flush_tlb_mm_range: arch_invalidate_secondary_tlbs(addrA)}" },
	{ .op = MO_OP_SET, .addr = MO_A, .page = MO_KPAGE, .merge = true,
	  .label = "KSM_rp2: {set_pte_at(addrA, KSM page, read-only)}" },
	{ .op = MO_OP_END, .addr = MO_A, .merge = true,
	  .label = "KSM_rp3: {mmu_notifier_invalidate_range_end(addrA)}" },
	{ .op = MO_OP_FREE, .page = MO_PA_OLD, .merge = true,
	  .label = "KSM_rp4: {ksmd drops its reference: old folio freed}" },
	{}
};

/* A CPU store to B once A is merged: steps 7 (6.1) and 9 (6.12), rp2. */
static const struct mo_step ksm61_store_b[] = {
	{ .op = MO_OP_WRITE, .addr = MO_B, .after = MO_AFTER(MO_CPU0, 7),
	  .label = "write to addrB (after reading the merged addrA)" },
	{}
};

static const struct mo_step ksm612_store_b[] = {
	{ .op = MO_OP_WRITE, .addr = MO_B, .after = MO_AFTER(MO_CPU0, 9),
	  .label = "write to addrB (after reading the merged addrA)" },
	{}
};

/*
 * munmap of A where the page is freed before range end: the seed's case A.
 * On a real kernel this happens when the mmu_gather batch overflows inside
 * zap_pte_range(): tlb_flush_mmu() then flushes (the hook) and frees.
 */
static const struct mo_step munmap61_cpu0[] = {
	{ .op = MO_OP_START, .addr = MO_A,
	  .label = "UNMAP_step0: {unmap_vmas: invalidate_range_start(addrA)}" },
	{ .op = MO_OP_CLEAR, .addr = MO_A,
	  .label = "UNMAP_step1: {zap_pte_range: clear the pte of addrA; batch full}" },
	{ .op = MO_OP_HOOK, .addr = MO_A,
	  .label = "UNMAP_step2: {tlb_flush_mmu_tlbonly: invalidate_range(addrA) hook}" },
	{ .op = MO_OP_FREE, .page = MO_PA_OLD,
	  .label = "UNMAP_step3: {tlb_batch_pages_flush: the page of addrA is freed}" },
	{ .op = MO_OP_END_HOOK, .addr = MO_A,
	  .label = "UNMAP_step4: {mmu_notifier_invalidate_range_end(addrA): hook, then end}" },
	{}
};

static const struct mo_step munmap612_cpu0[] = {
	{ .op = MO_OP_START, .addr = MO_A,
	  .label = "UNMAP_step0: {unmap_vmas: invalidate_range_start(addrA)}" },
	{ .op = MO_OP_CLEAR, .addr = MO_A,
	  .label = "UNMAP_step1: {zap_pte_range: clear the pte of addrA; batch full}" },
	{ .op = MO_OP_HOOK, .addr = MO_A,
	  .label = "UNMAP_step2: {tlb_flush_mmu_tlbonly: arch_invalidate_secondary_tlbs(addrA)}" },
	{ .op = MO_OP_FREE, .page = MO_PA_OLD,
	  .label = "UNMAP_step3: {tlb_batch_pages_flush: the page of addrA is freed}" },
	{ .op = MO_OP_END, .addr = MO_A,
	  .label = "UNMAP_step4: {mmu_notifier_invalidate_range_end(addrA)}" },
	{}
};

static const struct mo_step munmap_reuse[] = {
	{ .op = MO_OP_REUSE, .page = MO_PA_OLD, .after = MO_AFTER(MO_CPU0, 3),
	  .label = "another task allocates the freed page and writes to it" },
	{}
};

static const struct mo_step munmap_dev_write[] = {
	{ .op = MO_OP_DEV_BEGIN, .addr = MO_A, .flag = true,
	  .label = "write addrA (walks: the TLB has addrA read-only)" },
	{ .op = MO_OP_DEV_FINISH, .addr = MO_A, .flag = true,
	  .label = "write addrA" },
	{}
};

#define PTE_RO(p)	{ .present = true, .writable = false, .page = (p) }
#define PTE_RW(p)	{ .present = true, .writable = true, .page = (p) }

static const struct mo_case mo_cow61 = {
	.name = "cow61", .source = "6.1 mm/memory.c wp_page_copy()",
	.pte = { PTE_RO(MO_PA_OLD), PTE_RW(MO_PB) },
	.prefill = { MO_A, MO_B },
	.expect = { [MNSIM_MODE_DEFER] = true },
	.prog = {
		[MO_CPU0] = { cow61_cpu0 },
		[MO_CPU2] = { seed_store_a },
		[MO_CPU3] = { seed_store_b },
		[MO_DEV0] = { dev_read_a, dev_read_a_again },
		[MO_DEV2] = { dev_read_b },
	},
};

/* The same with A not in the device TLB: the first read walks in the window. */
static const struct mo_case mo_cow61_cold = {
	.name = "cow61_cold",
	.source = "6.1 mm/memory.c wp_page_copy(), addrA not cached",
	.pte = { PTE_RO(MO_PA_OLD), PTE_RW(MO_PB) },
	.prefill = { -1, MO_B },
	.expect = { [MNSIM_MODE_DEFER] = true },
	.prog = {
		[MO_CPU0] = { cow61_cpu0 },
		[MO_CPU2] = { seed_store_a },
		[MO_CPU3] = { seed_store_b },
		[MO_DEV0] = { dev_read_a, dev_read_a_again },
		[MO_DEV2] = { dev_read_b },
	},
};

static const struct mo_case mo_cow612 = {
	.name = "cow612", .source = "6.12 mm/memory.c wp_page_copy(), x86",
	.pte = { PTE_RO(MO_PA_OLD), PTE_RW(MO_PB) },
	.prefill = { MO_A, MO_B },
	.expect = { [MNSIM_MODE_DEFER] = true },
	.prog = {
		[MO_CPU0] = { cow612_cpu0 },
		[MO_CPU2] = { seed_store_a },
		[MO_CPU3] = { seed_store_b },
		[MO_DEV0] = { dev_read_a, dev_read_a_again },
		[MO_DEV2] = { dev_read_b },
	},
};

static const struct mo_case mo_zero = {
	.name = "zero_page", .source = "6.1/6.12 wp_page_copy(), is_zero_pfn()",
	.pte = { PTE_RO(MO_ZERO), PTE_RW(MO_PB) },
	.prefill = { MO_A, MO_B },
	.expect = { [MNSIM_MODE_DEFER] = true },
	.prog = {
		[MO_CPU0] = { zero_cpu0 },
		[MO_CPU2] = { seed_store_a },
		[MO_CPU3] = { seed_store_b },
		[MO_DEV0] = { dev_read_a, dev_read_a_again },
		[MO_DEV2] = { dev_read_b },
	},
};

/* Readers: the device reads A and B; a CPU writes B once A is merged. */
static const struct mo_case mo_ksm61_read = {
	.name = "ksm61_read",
	.source = "6.1 mm/ksm.c write_protect_page(), replace_page()",
	.pte = { PTE_RW(MO_PA_OLD), PTE_RW(MO_PB) },
	.prefill = { MO_A, MO_B },
	.prog = {
		[MO_CPU0] = { ksm_wp61, ksm_cmp,
			      ksm_rp61 },
		[MO_CPU3] = { ksm61_store_b },
		[MO_DEV0] = { dev_read_a },
		[MO_DEV2] = { dev_read_b },
	},
};

/* Writers: the device holds a writable translation of A, writes it twice. */
static const struct mo_case mo_ksm61_write = {
	.name = "ksm61_write",
	.source = "6.1 mm/ksm.c write_protect_page(), replace_page()",
	.pte = { PTE_RW(MO_PA_OLD), PTE_RW(MO_PB) },
	.prefill = { MO_A, MO_A }, .prefill_write = { true, false },
	.prog = {
		[MO_CPU0] = { ksm_wp61, ksm_cmp,
			      ksm_rp61 },
		[MO_DEV0] = { dev_write_a, dev_write_a_again },
		[MO_DEV2] = { dev_read_a },
	},
};

static const struct mo_case mo_ksm612_read = {
	.name = "ksm612_read",
	.source = "6.12 mm/ksm.c write_protect_page(), replace_page(), x86",
	.pte = { PTE_RW(MO_PA_OLD), PTE_RW(MO_PB) },
	.prefill = { MO_A, MO_B },
	.prog = {
		[MO_CPU0] = { ksm_wp612, ksm_cmp,
			      ksm_rp612 },
		[MO_CPU3] = { ksm612_store_b },
		[MO_DEV0] = { dev_read_a },
		[MO_DEV2] = { dev_read_b },
	},
};

static const struct mo_case mo_ksm612_write = {
	.name = "ksm612_write",
	.source = "6.12 mm/ksm.c write_protect_page(), replace_page(), x86",
	.pte = { PTE_RW(MO_PA_OLD), PTE_RW(MO_PB) },
	.prefill = { MO_A, MO_A }, .prefill_write = { true, false },
	.prog = {
		[MO_CPU0] = { ksm_wp612, ksm_cmp,
			      ksm_rp612 },
		[MO_DEV0] = { dev_write_a, dev_write_a_again },
		[MO_DEV2] = { dev_read_a },
	},
};

/*
 * Negative control 1: 6.1 KSM (hook deferred to each range's end), but the
 * page put in is NOT identical, as if pages_identical() were skipped. The
 * deferral is then the seed's case B and must be caught (order).
 */
static const struct mo_case mo_ksm61_differ = {
	.name = "ksm61_differ",
	.source = "negative control: 6.1 KSM replacing with different content",
	.pte = { PTE_RW(MO_PA_OLD), PTE_RW(MO_PB) },
	.prefill = { MO_A, MO_B },
	.kpage_differs = true,
	.expect = { [MNSIM_MODE_ATS] = true, [MNSIM_MODE_DEFER] = true },
	.prog = {
		[MO_CPU0] = { ksm_wp61, ksm_cmp_broken,
			      ksm_rp61 },
		[MO_CPU3] = { ksm61_store_b },
		[MO_DEV0] = { dev_read_a },
		[MO_DEV2] = { dev_read_b },
	},
};

/*
 * Negative control 2: 6.1 KSM whose write-protect range ends with
 * invalidate_range_only_end (no hook): in ATS the device keeps its writable
 * translation past pages_identical(), and a device write is lost (lost).
 */
static const struct mo_case mo_ksm61_wp_nohook = {
	.name = "ksm61_wp_nohook",
	.source = "negative control: 6.1 KSM write-protect without the hook",
	.pte = { PTE_RW(MO_PA_OLD), PTE_RW(MO_PB) },
	.prefill = { MO_A, MO_A }, .prefill_write = { true, false },
	.expect = { [MNSIM_MODE_ATS] = true },
	.prog = {
		[MO_CPU0] = { ksm_wp61_nohook, ksm_cmp,
			      ksm_rp61 },
		[MO_DEV0] = { dev_write_a, dev_write_a_again },
		[MO_DEV2] = { dev_read_a },
	},
};

/* munmap, case A: the device reads A twice and writes it once. */
static const struct mo_case mo_munmap61 = {
	.name = "munmap61",
	.source = "6.1 mm/memory.c zap_pte_range(), include/asm-generic/tlb.h",
	.pte = { PTE_RW(MO_PA_OLD), PTE_RW(MO_PB) },
	.prefill = { MO_A, -1 },
	.expect = { [MNSIM_MODE_DEFER] = true },
	.prog = {
		[MO_CPU0] = { munmap61_cpu0 },
		[MO_CPU1] = { munmap_reuse },
		[MO_DEV0] = { dev_read_a, dev_read_a_again },
		[MO_DEV2] = { munmap_dev_write },
	},
};

static const struct mo_case mo_munmap612 = {
	.name = "munmap612",
	.source = "6.12 mm/memory.c zap_pte_range(), mm/mmu_gather.c, x86",
	.pte = { PTE_RW(MO_PA_OLD), PTE_RW(MO_PB) },
	.prefill = { MO_A, -1 },
	.expect = { [MNSIM_MODE_DEFER] = true },
	.prog = {
		[MO_CPU0] = { munmap612_cpu0 },
		[MO_CPU1] = { munmap_reuse },
		[MO_DEV0] = { dev_read_a, dev_read_a_again },
		[MO_DEV2] = { munmap_dev_write },
	},
};

/* ---- the run ------------------------------------------------------------- */

enum { MO_CMD_NONE, MO_CMD_GO };
enum { MO_DEV_IDLE, MO_DEV_RUNNING, MO_DEV_SUSPENDED, MO_DEV_DONE };

#define MO_BAD_ORDER	BIT(0)
#define MO_BAD_FREED	BIT(1)
#define MO_BAD_LOST	BIT(2)
#define MO_NBAD		3

struct mo_run;

/**
 * struct mo_dev - a device thread: a kthread that calls mnsim_access_page()
 * @task: the kthread
 * @run: the run it belongs to
 * @wq: the kthread waits here for @cmd
 * @ack: completed when the access gave way in its walk or finished
 * @cmd: MO_CMD_GO from the controller, consumed by the kthread
 * @state: MO_DEV_*
 * @addr: address of the current access
 * @write: the current access is a write
 * @yielded: the current access already gave way once
 * @walks: walks of the current access
 * @buf: the device's buffer: the value to write or the value read
 * @ret: what mnsim_access_page() returned
 *
 * Only one of the controller and the device threads runs at a time: the
 * controller waits for @ack after every command.
 */
struct mo_dev {
	struct task_struct *task;
	struct mo_run *run;
	wait_queue_head_t wq;
	struct completion ack;
	int cmd;
	int state;
	u8 addr;
	bool write;
	bool yielded;
	u8 walks;
	unsigned int buf;
	int ret;
};

struct mo_page {
	bool free;
	unsigned int gen;
	u8 val;
};

/* A device access as it happened: at step @time, @val of @page. */
struct mo_obs {
	u8 time;
	u8 addr;
	u8 page;
	bool write;
	u8 val;
};

/* From position @pos of the timeline on, the address held @val. */
struct mo_hist {
	u8 pos;
	u8 val;
};

struct mo_run {
	struct mnsim_ctx *ctx;
	struct file file;
	struct kunit *test;
	const struct mo_case *c;
	enum mnsim_mode mode;
	struct mo_dev dev[MO_NDEVS];

	/* the model, reset for every interleaving */
	struct mo_page page[MO_NPAGES];
	struct mo_pte pte[MO_NADDR];
	bool merge_cancelled;
	u8 nvals;
	char valname[MO_MAX_VALS][8];
	u8 nwrites[MO_NADDR + 1];
	u8 time;
	u8 pc[MO_NTHREADS];
	struct mo_hist hist[MO_NADDR][MO_MAX_DEPTH + 2];
	u8 nhist[MO_NADDR];
	u8 last_page[MO_NADDR];
	unsigned int last_gen[MO_NADDR];
	struct mo_obs obs[MO_MAX_DEPTH];
	u8 nobs;
	unsigned int bad;
	char why[MO_LABEL];

	/* the schedule being explored */
	struct mo_step steps[MO_NTHREADS][MO_MAX_STEPS];
	u8 nsteps[MO_NTHREADS];
	u8 total;
	u8 sched[MO_MAX_DEPTH];
	u8 enabled[MO_MAX_DEPTH];

	/* results */
	u64 explored;
	u64 pruned;
	u64 violating;
	u64 nbad[MO_NBAD];
	u64 deadlocks;
	u64 fill_retries;
	u64 hits;
	bool have_bad;
	u8 bad_sched[MO_MAX_DEPTH];
	u8 bad_len;
	char bad_why[MO_LABEL];

	/* the timeline of one replayed interleaving */
	bool trace;
	bool noop[MO_MAX_DEPTH];
	char label[MO_MAX_DEPTH + 1][MO_LABEL];
	char prefill_label[MO_NDEVS][MO_LABEL];

	u64 *memo;
	unsigned int stride[MO_NTHREADS];
};

/* The run in progress: KUnit runs the cases of a suite one at a time. */
static struct mo_run *mo_cur;

static struct mo_run *mo_of(struct mnsim_ctx *ctx)
{
	WARN_ON_ONCE(!mo_cur || mo_cur->ctx != ctx);
	return mo_cur;
}

static __printf(2, 3) void mo_note(struct mo_run *r, const char *fmt, ...)
{
	char *l = r->label[r->time];
	size_t n = strlen(l);
	va_list ap;

	if (!r->trace || n >= MO_LABEL - 1)
		return;
	va_start(ap, fmt);
	vsnprintf(l + n, MO_LABEL - n, fmt, ap);
	va_end(ap);
}

static u8 mo_new_val(struct mo_run *r, const char *fmt, int n)
{
	u8 v = r->nvals++;

	if (WARN_ON_ONCE(v >= MO_MAX_VALS))
		v = MO_MAX_VALS - 1;
	snprintf(r->valname[v], sizeof(r->valname[v]), fmt, n);
	return v;
}

static int mo_addr_of(unsigned long va)
{
	return (va & PAGE_MASK) == MO_VA_A ? MO_A : MO_B;
}

/*
 * The value @addr holds now: that of the page its PTE maps. While the PTE is
 * none (a CPU access would wait in the fault for the PTL), that of the page
 * it mapped last, until the page is freed: then the address has no value
 * (-1) and keeps its history.
 */
static int mo_logical(struct mo_run *r, int addr)
{
	const struct mo_pte *pte = &r->pte[addr];
	const struct mo_page *last = &r->page[r->last_page[addr]];

	if (pte->present)
		return r->page[pte->page].val;
	if (last->free || last->gen != r->last_gen[addr])
		return -1;
	return last->val;
}

/* Extend the history of each address after the step at r->time. */
static void mo_update_hist(struct mo_run *r)
{
	int a, v;

	for (a = 0; a < MO_NADDR; a++) {
		const struct mo_pte *pte = &r->pte[a];

		if (pte->present) {
			r->last_page[a] = pte->page;
			r->last_gen[a] = r->page[pte->page].gen;
		}
		v = mo_logical(r, a);
		if (v < 0 || v == r->hist[a][r->nhist[a] - 1].val)
			continue;
		r->hist[a][r->nhist[a]].pos = r->time + 1;
		r->hist[a][r->nhist[a]].val = v;
		r->nhist[a]++;
	}
}

/*
 * Name of step @step in the timeline: "N+k". When a counterexample is printed
 * steps that did nothing (the second step of an access that finished in its
 * first) are left out, and the numbers follow the printed table.
 */
static int mo_time(struct mo_run *r, int step)
{
	int i, k = 0;

	if (!r->trace)
		return step + 1;
	for (i = 0; i <= step; i++)
		k += !r->noop[i];
	return k;
}

static __printf(2, 3) void mo_why(struct mo_run *r, const char *fmt, ...)
{
	va_list ap;

	if (r->why[0])
		return;		/* keep the first */
	va_start(ap, fmt);
	vsnprintf(r->why, sizeof(r->why), fmt, ap);
	va_end(ap);
}

/* ---- the fake device ops ------------------------------------------------- */

static struct mo_dev *mo_current_dev(struct mo_run *r)
{
	int i;

	for (i = 0; i < MO_NDEVS; i++)
		if (r->dev[i].task == current)
			return &r->dev[i];
	return NULL;
}

/* In the device kthread: let the controller run other threads' steps. */
static bool mo_dev_yield(struct mo_dev *d)
{
	d->state = MO_DEV_SUSPENDED;
	complete(&d->ack);
	wait_event(d->wq, READ_ONCE(d->cmd) != MO_CMD_NONE ||
		   kthread_should_stop());
	WRITE_ONCE(d->cmd, MO_CMD_NONE);
	d->state = MO_DEV_RUNNING;
	return !kthread_should_stop();
}

/*
 * The IOMMU walk: one atomic read of the model PTE. The first walk of an
 * access then gives way, so that any steps of other threads can run between
 * the walk and the driver's fill (the fill-vs-invalidate race).
 */
static int mo_walk(struct mnsim_ctx *ctx, unsigned long va, bool write,
		   struct sec_tlb_xlate *x, struct mnsim_call *call)
{
	struct mo_run *r = mo_of(ctx);
	struct mo_dev *d = mo_current_dev(r);
	struct mo_pte pte = r->pte[mo_addr_of(va)];

	if (d && d->walks++)
		mo_note(r, "; fill refused (an invalidation ran since the walk); walk again");
	if (!pte.present || (write && !pte.writable)) {
		mo_note(r, "; walk: %s -> fault, the access fails",
			pte.present ? "read-only pte" : "pte none");
		return -EFAULT;
	}
	x->va = va & PAGE_MASK;
	x->pfn = MO_PFN_BASE + pte.page;
	x->shift = PAGE_SHIFT;
	x->perm = SEC_TLB_R | (write ? SEC_TLB_W : 0);
	x->tag = r->page[pte.page].gen;
	mo_note(r, "; walk: pte -> %s", mo_page_name[pte.page]);
	if (d && !d->yielded) {
		d->yielded = true;
		if (!mo_dev_yield(d))
			return -EINTR;
	}
	return 0;
}

/*
 * The access itself, inside the driver's access window (under the window
 * lock of @va; tlb.lock is not held).
 */
static int mo_dma(struct mnsim_ctx *ctx, const struct sec_tlb_xlate *x,
		  unsigned long va, void __user *ubuf, size_t len, bool write)
{
	struct mo_run *r = mo_of(ctx);
	struct mo_dev *d = mo_current_dev(r);
	unsigned int *buf = (unsigned int __force *)ubuf;
	unsigned int p = x->pfn - MO_PFN_BASE;
	struct mo_page *pg = &r->page[p];
	struct mo_obs *o;
	int addr = mo_addr_of(va);

	if (pg->free || pg->gen != x->tag) {
		mo_why(r, "freed: at Time N+%d the device %s %s in the %s, freed%s",
		       mo_time(r, r->time), write ? "wrote" : "read",
		       mo_addr_name[addr], mo_page_name[p],
		       pg->free ? "" : " and reused");
		r->bad |= MO_BAD_FREED;
	}
	if (write)
		pg->val = *buf;
	else
		*buf = pg->val;
	o = &r->obs[r->nobs++];
	o->time = r->time;
	o->addr = addr;
	o->page = p;
	o->write = write;
	o->val = pg->val;
	mo_note(r, "; %s: %s %s %s %s", d && d->walks ? "fill" : "TLB hit",
		write ? "write" : "read",
		r->valname[pg->val], write ? "to" : "from", mo_page_name[p]);
	return 0;
}

static const struct mnsim_dev_ops mo_dev_ops = {
	.walk	= mo_walk,
	.dma	= mo_dma,
};

static int mo_dev_thread(void *data)
{
	struct mo_dev *d = data;
	struct mo_run *r = d->run;

	for (;;) {
		struct mnsim_call call = {};

		wait_event(d->wq, READ_ONCE(d->cmd) != MO_CMD_NONE ||
			   kthread_should_stop());
		if (kthread_should_stop())
			break;
		WRITE_ONCE(d->cmd, MO_CMD_NONE);
		d->yielded = false;
		d->walks = 0;
		d->ret = mnsim_access_page(r->ctx, mo_va[d->addr],
					   (void __force __user *)&d->buf,
					   sizeof(d->buf), d->write, &call);
		r->hits += call.hits;
		d->state = MO_DEV_DONE;
		complete(&d->ack);
	}
	return 0;
}

/**
 * mo_dev_go() - let a device thread run until it gives way or finishes
 * @r: the run
 * @d: the device thread
 *
 * A device that sleeps (it must not: see mo_would_sleep()) is woken by
 * marking the context dead, and the test fails.
 *
 * Context: The controller; may sleep. Takes and releases tlb.lock to mark
 * the context dead.
 */
static void mo_dev_go(struct mo_run *r, struct mo_dev *d)
{
	d->state = MO_DEV_RUNNING;
	WRITE_ONCE(d->cmd, MO_CMD_GO);
	wake_up(&d->wq);
	if (wait_for_completion_timeout(&d->ack, 20 * HZ))
		return;
	KUNIT_FAIL(r->test, "device thread stuck (slept in soft_wq?)");
	spin_lock(&r->ctx->tlb.lock);
	r->ctx->dead = true;
	spin_unlock(&r->ctx->tlb.lock);
	wake_up_all(&r->ctx->soft_wq);
	wait_for_completion(&d->ack);
}

/* One complete device access, outside the enumerated window. */
static void mo_dev_access(struct mo_run *r, struct mo_dev *d, int addr,
			  bool write)
{
	d->addr = addr;
	d->write = write;
	if (write)
		d->buf = mo_new_val(r, "D%d", ++r->nwrites[MO_NADDR]);
	mo_dev_go(r, d);
	if (d->state == MO_DEV_SUSPENDED)
		mo_dev_go(r, d);
}

/* ---- steps --------------------------------------------------------------- */

static void mo_range(int addr, struct mmu_notifier_range *range)
{
	memset(range, 0, sizeof(*range));
	range->event = MMU_NOTIFY_CLEAR;
	range->start = mo_va[addr];
	range->end = mo_va[addr] + PAGE_SIZE;
}

static void mo_hook(struct mo_run *r, int addr)
{
	/* The hook's subscription is registered in ATS mode only. */
	if (r->mode == MNSIM_MODE_ATS)
		mnsim_secondary_tlb_hook(&r->ctx->tlb_mn, NULL, mo_va[addr],
					 mo_va[addr] + PAGE_SIZE);
	else
		mo_note(r, " (no hook registered in this mode)");
}

static struct mo_dev *mo_dev_of(struct mo_run *r, int t)
{
	return &r->dev[t - MO_FIRST_DEV];
}

static void mo_exec_dev(struct mo_run *r, int t, const struct mo_step *s)
{
	struct mo_dev *d = mo_dev_of(r, t);

	if (s->op == MO_OP_DEV_BEGIN) {
		mo_note(r, "%s", s->label);
		d->addr = s->addr;
		d->write = s->flag;
		if (s->flag) {
			d->buf = mo_new_val(r, "D%d", ++r->nwrites[MO_NADDR]);
			mo_note(r, " (%s)", r->valname[d->buf]);
		}
		mo_dev_go(r, d);
	} else if (d->state == MO_DEV_SUSPENDED) {
		mo_note(r, "%s (continued): the walk returns", s->label);
		mo_dev_go(r, d);
	} else {
		r->noop[r->time] = true;	/* finished in its first step */
		return;
	}
	if (d->state == MO_DEV_DONE && d->ret)
		mo_note(r, "; returns %d", d->ret);
}

static void mo_exec(struct mo_run *r, int t)
{
	const struct mo_step *s = &r->steps[t][r->pc[t]];
	struct mnsim_ctx *ctx = r->ctx;
	struct mmu_notifier_range range;
	struct mo_pte *pte = &r->pte[s->addr];
	struct mo_page *pg = &r->page[s->page];

	r->label[r->time][0] = '\0';
	r->noop[r->time] = false;
	if (s->op == MO_OP_DEV_BEGIN || s->op == MO_OP_DEV_FINISH) {
		mo_exec_dev(r, t, s);
		goto out;
	}
	mo_note(r, "%s", s->label);
	if (s->merge && r->merge_cancelled) {
		mo_note(r, " (skipped: no merge)");
		goto out;
	}
	mo_range(s->addr, &range);
	switch (s->op) {
	case MO_OP_COPY_START:
		pg->free = false;
		pg->gen++;
		pg->val = r->page[pte->page].val;
		mnsim_range_start(&ctx->range_mn, &range);
		break;
	case MO_OP_START:
		mnsim_range_start(&ctx->range_mn, &range);
		break;
	case MO_OP_CLEAR:
		pte->present = false;
		break;
	case MO_OP_HOOK:
		mo_hook(r, s->addr);
		break;
	case MO_OP_SET:
		pte->present = true;
		pte->writable = s->flag;
		pte->page = s->page;
		break;
	case MO_OP_END:
		mnsim_range_end(&ctx->range_mn, &range);
		break;
	case MO_OP_END_HOOK:
		mo_hook(r, s->addr);
		mnsim_range_end(&ctx->range_mn, &range);
		break;
	case MO_OP_FREE:
		pg->free = true;
		break;
	case MO_OP_REUSE:
		KUNIT_EXPECT_TRUE(r->test, pg->free);
		pg->free = false;
		pg->gen++;
		pg->val = mo_new_val(r, "S%d", 1);
		break;
	case MO_OP_WRITE:
		KUNIT_EXPECT_TRUE(r->test, pte->present && pte->writable);
		r->page[pte->page].val = mo_new_val(r, s->addr == MO_A ?
						    "A%d" : "B%d",
						    ++r->nwrites[s->addr]);
		mo_note(r, " (%s)", r->valname[r->page[pte->page].val]);
		break;
	case MO_OP_COMPARE:
		if (pg->val != r->page[MO_KPAGE].val) {
			r->merge_cancelled = true;
			mo_note(r, ": differ, no merge");
		}
		break;
	case MO_OP_COMPARE_BROKEN:
		break;
	case MO_OP_REPLACE_CLEAR:
		if (!pte->present || pte->writable || pte->page != MO_PA_OLD) {
			r->merge_cancelled = true;
			mo_note(r, ": pte changed, no merge");
			break;
		}
		pte->present = false;
		break;
	}
out:
	r->pc[t]++;
	mo_update_hist(r);
	r->time++;
}

/* ---- interleavings -------------------------------------------------------- */

static bool mo_after_ok(const struct mo_run *r, const u8 *pc, int t)
{
	u16 after = r->steps[t][pc[t]].after;	/* pc[t] < nsteps[t] */

	return !after || pc[(after >> 8) - 1] > (after & 0xff);
}

/**
 * mo_tlb_would_hit() - would a lookup of a step's access hit now?
 * @r: the run
 * @s: the step
 *
 * Looks without a trace: the hit and miss counters are put back, and the
 * LRU order it may change only matters to evictions, which
 * %MO_TLB_ENTRIES never needs.
 *
 * Context: Takes and releases tlb.lock.
 * Return: true on a hit.
 */
static bool mo_tlb_would_hit(struct mo_run *r, const struct mo_step *s)
{
	struct sec_tlb *tlb = &r->ctx->tlb;
	struct sec_tlb_stats saved;
	struct sec_tlb_xlate x;
	bool hit;

	spin_lock(&tlb->lock);
	saved = tlb->stats;
	hit = __sec_tlb_lookup(tlb, mo_va[s->addr],
			       s->flag ? SEC_TLB_W : SEC_TLB_R, &x);
	tlb->stats = saved;
	spin_unlock(&tlb->lock);
	return hit;
}

/*
 * SOFT: would the driver sleep in soft_wq if the step ran now? It does when
 * an active range covers the address and the access must walk: a lookup that
 * misses, or a walk to retry. The device then waits for range end, which is
 * the same as running the step later.
 */
static bool mo_would_sleep(struct mo_run *r, int t, const struct mo_step *s)
{
	if (r->mode != MNSIM_MODE_SOFT)
		return false;
	if (s->op == MO_OP_DEV_FINISH &&
	    mo_dev_of(r, t)->state != MO_DEV_SUSPENDED)
		return false;
	if (s->op != MO_OP_DEV_BEGIN && s->op != MO_OP_DEV_FINISH)
		return false;
	if (!mnsim_soft_blocked(r->ctx, mo_va[s->addr]))
		return false;
	return s->op == MO_OP_DEV_FINISH || !mo_tlb_would_hit(r, s);
}

/*
 * Number of interleavings of the steps left after @pc, by program order and
 * MO_AFTER() alone: the full count of the model, independent of the run.
 */
static u64 mo_count(struct mo_run *r, u8 *pc)
{
	unsigned int idx = 0;
	bool done = true;
	u64 n = 0;
	int t;

	for (t = 0; t < MO_NTHREADS; t++)
		idx += pc[t] * r->stride[t];
	if (r->memo[idx])
		return r->memo[idx] - 1;
	for (t = 0; t < MO_NTHREADS; t++) {
		if (pc[t] == r->nsteps[t])
			continue;
		done = false;
		if (!mo_after_ok(r, pc, t))
			continue;
		pc[t]++;
		n += mo_count(r, pc);
		pc[t]--;
	}
	if (done)
		n = 1;
	r->memo[idx] = n + 1;
	return n;
}

/**
 * mo_reset() - a fresh driver context and model, and the TLB of "Time N"
 * @r: the run
 *
 * Context: The controller; may sleep. Takes and releases tlb.lock.
 * Return: 0, or what sec_tlb_init() returns.
 */
static int mo_reset(struct mo_run *r)
{
	const struct mo_case *c = r->c;
	struct mnsim_ctx *ctx = r->ctx;
	int i, ret;

	/* An access left half done (a deadlock) ends with -ESRCH. */
	for (i = 0; i < MO_NDEVS; i++) {
		if (r->dev[i].state != MO_DEV_SUSPENDED)
			continue;
		spin_lock(&ctx->tlb.lock);
		ctx->dead = true;
		spin_unlock(&ctx->tlb.lock);
		mo_dev_go(r, &r->dev[i]);
	}
	if (ctx->tlb.entries)
		sec_tlb_destroy(&ctx->tlb);
	ret = sec_tlb_init(&ctx->tlb, MO_TLB_ENTRIES);
	if (ret)
		return ret;
	/*
	 * A fresh binding, as BIND leaves it: mnsim_release() forgets every
	 * SOFT range (the old address space is gone), then the device lives.
	 */
	mnsim_release(&ctx->range_mn, NULL);
	ctx->dead = false;
	mnsim_reset_counters(ctx);
	ctx->mode = r->mode;

	memset(r->page, 0, sizeof(r->page));
	r->nvals = 0;
	memset(r->nwrites, 0, sizeof(r->nwrites));
	r->page[MO_PA_OLD].val = mo_new_val(r, "A%d", 0);
	r->page[MO_PB].val = mo_new_val(r, "B%d", 0);
	r->page[MO_ZERO].val = mo_new_val(r, "zero", 0);
	r->page[MO_PA_NEW].free = true;
	for (i = 0; i < MO_NPAGES; i++)
		r->page[i].gen = 1;
	memcpy(r->pte, c->pte, sizeof(r->pte));
	r->merge_cancelled = false;
	memset(r->pc, 0, sizeof(r->pc));
	r->time = 0;

	r->why[0] = '\0';
	/* "Time N": the device threads populate the TLB. */
	for (i = 0; i < MO_NDEVS; i++) {
		r->label[0][0] = '\0';
		r->prefill_label[i][0] = '\0';
		if (c->prefill[i] < 0)
			continue;
		mo_note(r, "%s %s and populate device TLB",
			c->prefill_write[i] ? "write" : "read",
			mo_addr_name[c->prefill[i]]);
		mo_dev_access(r, &r->dev[i], c->prefill[i], c->prefill_write[i]);
		if (r->trace)
			strscpy(r->prefill_label[i], r->label[0], MO_LABEL);
	}
	/* KSM found A identical to its stable page, as A is now. */
	r->page[MO_KPAGE].val = c->kpage_differs ? mo_new_val(r, "K", 0) :
				r->page[MO_PA_OLD].val;

	for (i = 0; i < MO_NADDR; i++) {
		r->last_page[i] = r->pte[i].page;
		r->last_gen[i] = r->page[r->pte[i].page].gen;
		r->hist[i][0].pos = 0;
		r->hist[i][0].val = mo_logical(r, i);
		r->nhist[i] = 1;
	}
	r->nobs = 0;
	r->bad = 0;
	r->why[0] = '\0';
	r->label[0][0] = '\0';
	return 0;
}

/* Index of the first history entry of @addr holding @val, or -1. */
static int mo_hist_find(struct mo_run *r, int addr, u8 val)
{
	int i;

	for (i = 0; i < r->nhist[addr]; i++)
		if (r->hist[addr][i].val == val)
			return i;
	return -1;
}

/* Position where entry @i of the history of @addr stops holding. */
static int mo_hist_end(struct mo_run *r, int addr, int i)
{
	return i + 1 < r->nhist[addr] ? r->hist[addr][i + 1].pos : 255;
}

/*
 * Order: place each device read, in the order they happened, at the earliest
 * position of the timeline not before the previous read's, and not after the
 * read itself, where the address held the value read. (Values are unique, so
 * each is held over one interval; the earliest choice leaves the most room to
 * the reads after it.)
 */
static void mo_check_order(struct mo_run *r)
{
	const struct mo_obs *prev = NULL;
	int low = 0, i, h, p;

	for (i = 0; i < r->nobs; i++) {
		const struct mo_obs *o = &r->obs[i];

		if (o->write)
			continue;
		h = mo_hist_find(r, o->addr, o->val);
		if (h < 0) {
			mo_why(r, "order: N+%d read %s = %s, a value it never held",
			       mo_time(r, o->time), mo_addr_name[o->addr],
			       r->valname[o->val]);
			r->bad |= MO_BAD_ORDER;
			return;
		}
		p = max_t(int, low, r->hist[o->addr][h].pos);
		if (p >= mo_hist_end(r, o->addr, h) && prev) {
			const struct mo_hist *next = &r->hist[o->addr][h + 1];

			/* The seed's case B: newer B seen, then older A. */
			mo_why(r,
			       "order: N+%d %s = %s (stale: %s since N+%d) after N+%d %s = %s",
			       mo_time(r, o->time), mo_addr_name[o->addr],
			       r->valname[o->val], r->valname[next->val],
			       mo_time(r, next->pos - 1), mo_time(r, prev->time),
			       mo_addr_name[prev->addr], r->valname[prev->val]);
			r->bad |= MO_BAD_ORDER;
			return;
		}
		if (p >= mo_hist_end(r, o->addr, h) || p > o->time) {
			mo_why(r, "order: N+%d read %s = %s, not held then",
			       mo_time(r, o->time), mo_addr_name[o->addr],
			       r->valname[o->val]);
			r->bad |= MO_BAD_ORDER;
			return;
		}
		if (p > low)
			prev = o;
		low = p;
	}
}

/*
 * Lost: values are numbered as they are created, so an address whose value
 * goes back to an older one lost a write; so did a device write into a page
 * that is never mapped again at an address still mapped.
 */
static void mo_check_lost(struct mo_run *r)
{
	int a, i;

	for (a = 0; a < MO_NADDR; a++) {
		for (i = 1; i < r->nhist[a]; i++) {
			const struct mo_hist *h = &r->hist[a][i];

			if (h->val > h[-1].val)
				continue;
			mo_why(r, "lost: at N+%d %s went back from %s to the older %s",
			       mo_time(r, h->pos - 1), mo_addr_name[a],
			       r->valname[h[-1].val], r->valname[h->val]);
			r->bad |= MO_BAD_LOST;
		}
	}
	for (i = 0; i < r->nobs; i++) {
		const struct mo_obs *o = &r->obs[i];

		if (!o->write || !r->pte[o->addr].present ||
		    mo_hist_find(r, o->addr, o->val) >= 0)
			continue;
		mo_why(r, "lost: N+%d device write %s to %s went to the %s",
		       mo_time(r, o->time), r->valname[o->val],
		       mo_addr_name[o->addr], mo_page_name[o->page]);
		r->bad |= MO_BAD_LOST;
	}
}

static void mo_check(struct mo_run *r)
{
	mo_check_order(r);
	mo_check_lost(r);
}

static void mo_leaf(struct mo_run *r)
{
	struct mnsim_counters sum;
	int i;

	r->explored++;
	mnsim_sum_counters(r->ctx, &sum);
	r->fill_retries += sum.fill_retries;
	mo_check(r);
	if (!r->bad)
		return;
	r->violating++;
	for (i = 0; i < MO_NBAD; i++)
		if (r->bad & BIT(i))
			r->nbad[i]++;
	if (!r->have_bad) {
		r->have_bad = true;
		r->bad_len = r->time;
		memcpy(r->bad_sched, r->sched, r->time);
		strscpy(r->bad_why, r->why, sizeof(r->bad_why));
	}
}

/*
 * Visit a node for the first time: note which threads may run, and count
 * the interleavings behind the ones SOFT makes wait as pruned.
 */
static u8 mo_expand(struct mo_run *r)
{
	u8 mask = 0;
	int t;

	for (t = 0; t < MO_NTHREADS; t++) {
		const struct mo_step *s = &r->steps[t][r->pc[t]];

		if (r->pc[t] == r->nsteps[t] || !mo_after_ok(r, r->pc, t))
			continue;
		if (mo_would_sleep(r, t, s)) {
			r->pc[t]++;
			r->pruned += mo_count(r, r->pc);
			r->pc[t]--;
			continue;
		}
		mask |= BIT(t);
	}
	r->enabled[r->time] = mask;
	return mask;
}

/* Depth-first over all interleavings, each replayed from a fresh state. */
static int mo_enumerate(struct mo_run *r)
{
	int d, t, ret;
	u8 mask;

	ret = mo_reset(r);
	if (ret)
		return ret;
	for (;;) {
		/* Extend the current prefix with the lowest runnable thread. */
		while (r->time < r->total) {
			mask = mo_expand(r);
			if (!mask) {
				r->deadlocks++;
				break;
			}
			t = __ffs(mask);
			r->sched[r->time] = t;
			mo_exec(r, t);
		}
		if (r->time == r->total)
			mo_leaf(r);
		cond_resched();

		/* Backtrack to the deepest node with a sibling left. */
		for (d = r->time - 1; d >= 0; d--)
			if (r->enabled[d] & ~GENMASK(r->sched[d], 0))
				break;
		if (d < 0)
			return 0;
		ret = mo_reset(r);
		if (ret)
			return ret;
		for (t = 0; t < d; t++)
			mo_exec(r, r->sched[t]);
		t = __ffs(r->enabled[d] & ~GENMASK(r->sched[d], 0));
		r->sched[d] = t;
		mo_exec(r, t);
	}
}

/* ---- the timeline of a counterexample ------------------------------------ */

static void mo_print_block(struct kunit *test, const char *time,
			   int thread, const char *label,
			   const char (*dev_labels)[MO_LABEL])
{
	char dashes[80];
	int t;

	/* "[Time N] ----", 80 columns, as in the seed. */
	memset(dashes, '-', sizeof(dashes));
	dashes[max_t(int, 77 - (int)strlen(time), 3)] = '\0';
	kunit_info(test, "[%s] %s", time, dashes);
	for (t = 0; t < MO_NTHREADS; t++) {
		const char *l = "";

		if (dev_labels && t >= MO_FIRST_DEV)
			l = dev_labels[t - MO_FIRST_DEV];
		else if (t == thread)
			l = label;
		kunit_info(test, "%-13s {%s}", mo_thread_name[t], l);
	}
}

/* Replay the first violating interleaving with notes, as the seed's table. */
static void mo_print_counterexample(struct mo_run *r)
{
	struct kunit *test = r->test;
	char time[16];
	int i;

	r->trace = true;
	if (mo_reset(r))
		return;
	for (i = 0; i < r->bad_len; i++)
		mo_exec(r, r->bad_sched[i]);
	mo_check(r);

	kunit_info(test, "first violating interleaving of %s, %s mode:",
		   r->c->name, r->mode == MNSIM_MODE_ATS ? "ATS" :
		   r->mode == MNSIM_MODE_SOFT ? "SOFT" : "DEFER");
	mo_print_block(test, "Time N", -1, NULL, r->prefill_label);
	for (i = 0; i < r->bad_len; i++) {
		if (r->noop[i])
			continue;
		snprintf(time, sizeof(time), "Time N+%d", mo_time(r, i));
		mo_print_block(test, time, r->bad_sched[i], r->label[i], NULL);
	}
	kunit_info(test, "=> %s", r->why);
	r->trace = false;
}

/* ---- the test -------------------------------------------------------------- */

/* Flatten the threads' segments into r->steps; false if they do not fit. */
static bool mo_load(struct mo_run *r)
{
	int t, g, i;

	for (t = 0; t < MO_NTHREADS; t++) {
		for (g = 0; g < MO_MAX_SEGS && r->c->prog[t][g]; g++) {
			const struct mo_step *seg = r->c->prog[t][g];

			for (i = 0; seg[i].label; i++) {
				if (r->nsteps[t] == MO_MAX_STEPS)
					return false;
				r->steps[t][r->nsteps[t]++] = seg[i];
			}
		}
		r->total += r->nsteps[t];
	}
	return r->total <= MO_MAX_DEPTH;
}

struct mo_param {
	const struct mo_case *c;
	enum mnsim_mode mode;
};

static const struct mo_param mo_params[] = {
	{ &mo_cow61, MNSIM_MODE_ATS },
	{ &mo_cow61, MNSIM_MODE_SOFT },
	{ &mo_cow61, MNSIM_MODE_DEFER },
	{ &mo_cow61_cold, MNSIM_MODE_ATS },
	{ &mo_cow61_cold, MNSIM_MODE_SOFT },
	{ &mo_cow61_cold, MNSIM_MODE_DEFER },
	{ &mo_cow612, MNSIM_MODE_ATS },
	{ &mo_cow612, MNSIM_MODE_SOFT },
	{ &mo_cow612, MNSIM_MODE_DEFER },
	{ &mo_zero, MNSIM_MODE_ATS },
	{ &mo_zero, MNSIM_MODE_SOFT },
	{ &mo_zero, MNSIM_MODE_DEFER },
	{ &mo_ksm61_read, MNSIM_MODE_ATS },
	{ &mo_ksm61_read, MNSIM_MODE_SOFT },
	{ &mo_ksm61_read, MNSIM_MODE_DEFER },
	{ &mo_ksm61_write, MNSIM_MODE_ATS },
	{ &mo_ksm61_write, MNSIM_MODE_SOFT },
	{ &mo_ksm61_write, MNSIM_MODE_DEFER },
	{ &mo_ksm612_read, MNSIM_MODE_ATS },
	{ &mo_ksm612_read, MNSIM_MODE_SOFT },
	{ &mo_ksm612_read, MNSIM_MODE_DEFER },
	{ &mo_ksm612_write, MNSIM_MODE_ATS },
	{ &mo_ksm612_write, MNSIM_MODE_SOFT },
	{ &mo_ksm612_write, MNSIM_MODE_DEFER },
	{ &mo_munmap61, MNSIM_MODE_ATS },
	{ &mo_munmap61, MNSIM_MODE_SOFT },
	{ &mo_munmap61, MNSIM_MODE_DEFER },
	{ &mo_munmap612, MNSIM_MODE_ATS },
	{ &mo_munmap612, MNSIM_MODE_SOFT },
	{ &mo_munmap612, MNSIM_MODE_DEFER },
	{ &mo_ksm61_differ, MNSIM_MODE_ATS },
	{ &mo_ksm61_differ, MNSIM_MODE_SOFT },
	{ &mo_ksm61_differ, MNSIM_MODE_DEFER },
	{ &mo_ksm61_wp_nohook, MNSIM_MODE_ATS },
	{ &mo_ksm61_wp_nohook, MNSIM_MODE_SOFT },
	{ &mo_ksm61_wp_nohook, MNSIM_MODE_DEFER },
};

static const char *mo_mode_name(enum mnsim_mode mode)
{
	return mode == MNSIM_MODE_ATS ? "ats" :
	       mode == MNSIM_MODE_SOFT ? "soft" : "defer";
}

static void mo_param_desc(const struct mo_param *p, char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "%s_%s", p->c->name,
		 mo_mode_name(p->mode));
}

KUNIT_ARRAY_PARAM(mo, mo_params, mo_param_desc);

static int mo_start_devs(struct mo_run *r)
{
	int i;

	for (i = 0; i < MO_NDEVS; i++) {
		struct mo_dev *d = &r->dev[i];
		struct task_struct *task;

		d->run = r;
		init_waitqueue_head(&d->wq);
		init_completion(&d->ack);
		task = kthread_run(mo_dev_thread, d, "mnsim_order/%d", i);
		if (IS_ERR(task))
			return PTR_ERR(task);
		d->task = task;
	}
	return 0;
}

static void mo_stop_devs(struct mo_run *r)
{
	int i;

	for (i = 0; i < MO_NDEVS; i++)
		if (r->dev[i].task)
			kthread_stop(r->dev[i].task);
}

/*
 * mnsim_order_test - enumerate every interleaving of one kernel sequence
 * with the device threads, in one protocol, and check the ordering
 * invariant. ATS and SOFT must never violate it; DEFER must, for COW, the
 * zero page and munmap; the negative controls must.
 */
static void mnsim_order_test(struct kunit *test)
{
	const struct mo_param *p = test->param_value;
	const struct mo_case *c = p->c;
	unsigned int states = 1;
	struct mo_run *r;
	bool ok;
	u8 pc[MO_NTHREADS] = {};
	u64 total;
	int t, ret;

	r = kzalloc(sizeof(*r), GFP_KERNEL);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, r);
	/* The device of an open file, as the driver sets it up; never bound. */
	ret = mnsim_open(NULL, &r->file);
	if (ret) {
		kfree(r);
		KUNIT_ASSERT_EQ(test, ret, 0);
	}
	r->ctx = r->file.private_data;
	r->ctx->ops = &mo_dev_ops;
	r->test = test;
	r->c = c;
	r->mode = p->mode;
	mo_cur = r;
	ok = mo_load(r);
	for (t = 0; t < MO_NTHREADS; t++) {
		r->stride[t] = states;
		states *= r->nsteps[t] + 1;
	}
	r->memo = kcalloc(states, sizeof(*r->memo), GFP_KERNEL);
	if (!r->memo || !ok) {
		KUNIT_FAIL(test, "model too large or out of memory");
		mnsim_release_file(NULL, &r->file);
		mo_cur = NULL;
		kfree(r->memo);
		kfree(r);
		return;
	}
	total = mo_count(r, pc);

	ret = mo_start_devs(r);
	if (!ret)
		ret = mo_enumerate(r);
	KUNIT_EXPECT_EQ(test, ret, 0);

	kunit_info(test, "%s: %s", c->name, c->source);
	kunit_info(test,
		   "%s %s: %llu interleavings explored + %llu pruned (SOFT wait) = %llu of %llu",
		   c->name, mo_mode_name(p->mode), r->explored, r->pruned,
		   r->explored + r->pruned, total);
	kunit_info(test,
		   "%s %s: %llu violating (order %llu freed %llu lost %llu), %llu retries",
		   c->name, mo_mode_name(p->mode), r->violating, r->nbad[0],
		   r->nbad[1], r->nbad[2], r->fill_retries);
	KUNIT_EXPECT_EQ(test, r->explored + r->pruned, total);
	KUNIT_EXPECT_EQ(test, r->deadlocks, 0ULL);
	if (c->expect[p->mode])
		KUNIT_EXPECT_GT(test, r->violating, 0ULL);
	else
		KUNIT_EXPECT_EQ(test, r->violating, 0ULL);
	if (r->have_bad && !ret)
		mo_print_counterexample(r);

	mo_stop_devs(r);
	if (r->ctx->tlb.entries)
		sec_tlb_destroy(&r->ctx->tlb);
	mnsim_release_file(NULL, &r->file);
	mo_cur = NULL;
	kfree(r->memo);
	kfree(r);
}

static struct kunit_case mnsim_order_test_cases[] = {
	KUNIT_CASE_PARAM(mnsim_order_test, mo_gen_params),
	{}
};

static struct kunit_suite mnsim_order_test_suite = {
	.name = "mnsim_order",
	.test_cases = mnsim_order_test_cases,
};

kunit_test_suite(mnsim_order_test_suite);
