// SPDX-License-Identifier: GPL-2.0
/*
 * mmu_notifier_sim: an emulated ATS/PASID device whose secondary TLB caches
 * CPU page-table walks and is kept coherent by an mmu_notifier.
 *
 * Copyright (C) 2026 The mmu_notifier_sim authors
 *
 * Each open of /dev/mmu_notifier_sim is one device. BIND attaches it to an
 * address space; DEV_READ/DEV_WRITE are device DMA through its TLB. See
 * Documentation/mmu_notifier_sim.rst for the design and the ordering
 * arguments, and include/uapi/linux/mmu_notifier_sim.h for the uAPI.
 *
 * Lock order:
 *   mnsim_ctxs_lock -> mnsim_ctx.bind_rwsem -> mmap_lock of the bound mm
 *     -> (PTL) -> sec_tlb window lock -> sec_tlb.lock -> mnsim_ctx.ev_lock
 *   mnsim_ctx.bind_rwsem -> mnsim_ctx.walker_lock (creating the walker)
 * The secondary-TLB hook runs under the page-table lock and takes the TLB's
 * locks, so nothing that sleeps, faults or allocates runs under them. A
 * device access holds the window lock of its address's 2 MiB region from
 * the lookup to the end of its copy; sec_tlb.lock only around the lookup or
 * fill. The hook takes sec_tlb.lock to drop entries, releases it, then passes
 * the window locks of its range (sec_tlb_invalidate()): a lookup never
 * waits for an invalidation of another region, nor for an access window.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/hash.h>
#include <linux/highmem.h>
#include <linux/kthread.h>
#include <linux/memory_hotplug.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/mmu_notifier.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pagemap.h>
#include <linux/percpu.h>
#include <linux/pid.h>
#include <linux/rwsem.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/user_namespace.h>
#include <linux/wait.h>
#include <linux/mmu_notifier_sim.h>

#include "compat.h"
#include "sec_tlb.h"

#define CREATE_TRACE_POINTS
#include "mnsim_trace.h"

/*
 * A one-page device access gives up with -EAGAIN after this many walks raced
 * by invalidations or faults of the caller's buffer.
 */
#define MNSIM_MAX_TRIES		1000

/*
 * MNSIM_BIND_PERM_CACHE models an SMMU without broadcast TLB maintenance
 * (BTM): its TLB keeps a read-only translation until the kernel invalidates
 * it, however often a page request has made the page writable since. That
 * is arm64's IOMMU, and why the secondary-TLB hook moved into the
 * architecture's TLB flush in 6.6: arm64's write-fault reuse flushes the
 * CPU's TLB (__ptep_set_access_flags()), and from 6.6 the secondary TLBs
 * with it. x86's IOMMUs (VT-d, AMD-Vi) do not cache a translation that
 * faulted on permission, and x86 flushes nothing when a PTE becomes
 * writable: there the model would report a bug the hardware cannot have,
 * so BIND refuses the flag (EOPNOTSUPP).
 */
#define MNSIM_PERM_CACHE_ARCH	IS_ENABLED(CONFIG_ARM64)

/* The BIND flags this kernel accepts (&mnsim_info.bind_flags). */
#define MNSIM_BIND_FLAGS	(MNSIM_BIND_RECORD | MNSIM_BIND_ORACLE |	\
				 MNSIM_BIND_NO_FLUSH |			\
				 (MNSIM_PERM_CACHE_ARCH ?		\
				  MNSIM_BIND_PERM_CACHE : 0))

static unsigned int default_capacity = SEC_TLB_DEFAULT_CAPACITY;
module_param(default_capacity, uint, 0444);
MODULE_PARM_DESC(default_capacity, "TLB entries when BIND asks for 0");

/*
 * Memory bounds. Every TLB entry is preallocated at BIND and charged to the
 * caller's memory cgroup (GFP_KERNEL_ACCOUNT); these caps also bound what
 * the device can pin in kernel memory overall.
 */
static unsigned int max_capacity = 65536;
module_param(max_capacity, uint, 0644);
MODULE_PARM_DESC(max_capacity,
		 "Largest TLB a BIND without CAP_SYS_ADMIN may preallocate");

static unsigned long max_total_entries = 4UL * SEC_TLB_MAX_CAPACITY;
module_param(max_total_entries, ulong, 0644);
MODULE_PARM_DESC(max_total_entries,
		 "TLB entries all bound devices together may preallocate");

/* Entries preallocated by all bound devices; bounded by max_total_entries. */
static atomic_long_t mnsim_total_entries = ATOMIC_LONG_INIT(0);

/* The largest capacity the caller may ask for. */
static unsigned int mnsim_capacity_cap(void)
{
	if (capable(CAP_SYS_ADMIN))
		return SEC_TLB_MAX_CAPACITY;
	return min(max_capacity, SEC_TLB_MAX_CAPACITY);
}

/* Reserve @n entries of the global budget; false when it is exhausted. */
static bool mnsim_reserve_entries(unsigned int n)
{
	if (atomic_long_add_return(n, &mnsim_total_entries) <=
	    READ_ONCE(max_total_entries))
		return true;
	atomic_long_sub(n, &mnsim_total_entries);
	return false;
}

struct mnsim_dev_ops;

/*
 * SOFT tracks each active invalidation, not their union, so that a fill of
 * addrB is not held up by a parked range end of addrA. More concurrent
 * invalidations than this (threads x nesting) block every fill until they end.
 */
#define MNSIM_SOFT_RANGES	32

struct mnsim_range {
	unsigned long start;
	unsigned long end;
};

/*
 * The oracle's invalidation windows (see __mnsim_oracle_judge()). Each
 * invalidation of the bound mm is one window, open from its range start until
 * both its range end and a secondary-TLB hook covering its range after its
 * start have come: a zap calls the hook from the TLB flush of its mmu_gather,
 * which on 6.6+ runs in tlb_finish_mmu(), after the range end. A window whose
 * end came first waits for that hook at most MNSIM_ORACLE_PENDING, so that a
 * kernel that never calls it is not granted staleness forever, and up to 6.5
 * only until its task calls back again (__mnsim_owin_next()). More
 * concurrent invalidations than MNSIM_ORACLE_WINDOWS make every address
 * count as inside an unflushed window until they end: the oracle then
 * allows more, never less.
 */
#define MNSIM_ORACLE_WINDOWS	32
#define MNSIM_ORACLE_PENDING	(2 * HZ)

/**
 * struct mnsim_owin - one invalidation, as the oracle tracks it
 * @start: first byte of its range
 * @end: one past the last byte
 * @task: the task that runs it, only compared (an end matches its start)
 * @expires: once @ended, the jiffies at which it closes without a hook
 * @hstart: first byte of the hull of the hooks that overlapped it since
 *	its start
 * @hend: one past the hull's last byte; 0 while no hook came
 * @ended: its range end came before a hook covered all of it
 */
struct mnsim_owin {
	unsigned long start;
	unsigned long end;
	const struct task_struct *task;
	unsigned long expires;
	unsigned long hstart;
	unsigned long hend;
	bool ended;
};

/**
 * enum mnsim_owin_state - what the windows say about an address
 * @MNSIM_OWIN_NONE: no invalidation covers it: nothing may be stale
 * @MNSIM_OWIN_FLUSHED: one is in progress, and its hook came: the kernel
 *	flushed the TLBs for it, the CPU's among them
 * @MNSIM_OWIN_UNFLUSHED: one is in progress and no hook came since it began:
 *	the CPU's own TLBs may still hold the old translation too
 */
enum mnsim_owin_state {
	MNSIM_OWIN_NONE,
	MNSIM_OWIN_FLUSHED,
	MNSIM_OWIN_UNFLUSHED,
};

/* The life of a park: FREE -> ARMED -> PARKED -> RELEASED -> FREE. */
enum mnsim_park_state {
	MNSIM_PARK_FREE,
	MNSIM_PARK_ARMED,	/* waiting for a matching callback */
	MNSIM_PARK_PARKED,	/* a callback is held */
	MNSIM_PARK_RELEASED,	/* told to go; FREE once the callback returns */
};

/**
 * struct mnsim_park_slot - one armed or fired park
 * @state: &enum mnsim_park_state
 * @flags: MNSIM_PARK_START or _END, and MNSIM_PARK_DELAY
 * @va: fires on a range containing it
 * @timeout: longest stay, in jiffies
 */
struct mnsim_park_slot {
	enum mnsim_park_state state;
	unsigned int flags;
	unsigned long va;
	unsigned long timeout;
};

/*
 * Callback and walk counters, per CPU: the COW path increments two of them on
 * every fault, and a locked add there showed in the P2 benchmark. STATS sums
 * them; a sum taken while they move is as good as any snapshot.
 */
struct mnsim_counters {
	u64 hook_calls;
	u64 hook_empty;
	u64 start_calls;
	u64 end_calls;
	u64 release_calls;
	u64 walks;
	u64 faults;
	u64 fill_retries;
	u64 freed_refused;
	u64 perm_faults;
	u64 verdicts[MNSIM_VERDICT_STUCK_RO + 1];
};

/**
 * struct mnsim_ctx - one emulated device, one open file
 * @ops: how the device walks and accesses memory (&mnsim_gup_ops)
 * @bind_rwsem: held for write by BIND and UNBIND, for read by every other
 *	command; protects @bound, @mode, @mm and the life of @tlb
 * @bound: a BIND succeeded and no UNBIND followed
 * @mode: the &enum mnsim_mode of the binding; constant while the notifiers
 *	are registered, so the callbacks read it without a lock
 * @mm: the bound address space; grabbed (mm_count), never pinned (mm_users)
 * @tgid: thread group id (initial pid namespace) of the process BIND
 *	attached to, 0 when unknown (KUnit) or unbound; under @bind_rwsem
 * @walker_lock: serializes the creation of @walker
 * @walker: the kthread that walks @mm without its mmap_lock for callers in
 *	another address space (mnsim_walk_lockless()); created at the first
 *	such walk, published with smp_store_release() under @walker_lock,
 *	destroyed by UNBIND (under @bind_rwsem for write: no walk in flight)
 * @tlb_mn: ATS only: the subscription with the secondary-TLB hook and
 *	release. From 6.6 an ops table with the hook may not also have
 *	start/end.
 * @range_mn: the subscription with invalidate_range_start/end (and release
 *	in SOFT and DEFER)
 * @range_registered: @range_mn is registered: always in SOFT and DEFER; in
 *	ATS only once someone watches the range callbacks (a recording BIND,
 *	the trace event enabled at BIND, or the first PARK), since an ATS
 *	device needs nothing from them. Under @bind_rwsem.
 * @tlb: the secondary TLB; tlb.lock also protects @dead and the @soft_*
 *	and @owin* fields
 * @tlb_registered: @tlb_mn is registered: in ATS, and with the oracle in
 *	every mode (there with &mnsim_observe_ops: the hook only tells the
 *	oracle's windows). Constant while bound.
 * @dead: release() ran: the address space is gone
 * @soft_ranges: SOFT: ranges between invalidate_range_start() and _end()
 * @soft_nr: SOFT: entries used in @soft_ranges
 * @soft_overflow: SOFT: active ranges that found no free entry; while there
 *	are any, every fill waits
 * @soft_wq: SOFT: fills of an address in an active range wait here
 * @owin: oracle: the invalidations in progress (&struct mnsim_owin)
 * @owin_nr: oracle: entries used in @owin
 * @owin_overflow: oracle: invalidations in progress that found no free entry
 * @saved: TLB counters kept across UNBIND for STATS; under @bind_rwsem
 * @cnt: callback and walk counters, per CPU
 * @park_lock: protects @parks, @park_fired and @park_timeouts
 * @parks_armed: parks in state ARMED; read without the lock by the callbacks'
 *	fast path, written under it
 * @parks: fault injection: callbacks to hold (MNSIM_IOC_PARK)
 * @park_fired: parks fired since BIND
 * @park_timeouts: parked callbacks that left on timeout since BIND
 * @park_wq: parked callbacks wait here for release; releasers wait here for
 *	released callbacks to return
 * @id: device number, for trace events
 * @record: BIND asked for MNSIM_BIND_RECORD; constant while bound
 * @oracle: BIND asked for MNSIM_BIND_ORACLE; constant while bound
 * @no_flush: BIND asked for MNSIM_BIND_NO_FLUSH (fault injection): the
 *	kernel's invalidations drop nothing; constant while bound
 * @perm_cache: BIND asked for MNSIM_BIND_PERM_CACHE: walks cache the
 *	permission the PTE grants, a write through a read-only entry is a
 *	permission fault (mnsim_perm_fault()); constant while bound
 * @ev_lock: protects @ev_ring, @ev_head, @ev_tail and @ev_lost. Innermost:
 *	taken under tlb.lock and from the secondary-TLB hook
 * @ev_ring: %MNSIM_EVENT_RING records, allocated at the first recording BIND
 * @ev_head: sequence number of the next record written
 * @ev_tail: sequence number of the next record read
 * @ev_lost: records overwritten unread since BIND
 * @ev_gen: bumped by every BIND's reset of the ring, so that a READ_EVENTS
 *	that raced UNBIND and BIND neither hands out records of two bindings
 *	nor consumes one of the new binding in place of an old one
 * @node: in mnsim_ctxs, under mnsim_ctxs_lock
 */
struct mnsim_ctx {
	const struct mnsim_dev_ops *ops;
	struct rw_semaphore bind_rwsem;	/* see above */
	bool bound;
	enum mnsim_mode mode;
	struct mm_struct *mm;
	pid_t tgid;
	struct mutex walker_lock;	/* see above */
	struct kthread_worker *walker;
	struct mmu_notifier tlb_mn;
	struct mmu_notifier range_mn;
	bool tlb_registered;
	bool range_registered;
	struct sec_tlb tlb;
	bool dead;
	struct mnsim_range soft_ranges[MNSIM_SOFT_RANGES];
	unsigned int soft_nr;
	unsigned int soft_overflow;
	wait_queue_head_t soft_wq;
	struct mnsim_owin owin[MNSIM_ORACLE_WINDOWS];
	unsigned int owin_nr;
	unsigned int owin_overflow;
	struct sec_tlb_stats saved;
	struct mnsim_counters __percpu *cnt;
	spinlock_t park_lock;		/* see above */
	unsigned int parks_armed;
	struct mnsim_park_slot parks[MNSIM_MAX_PARKS];
	u32 park_fired;
	u32 park_timeouts;
	wait_queue_head_t park_wq;
	unsigned int id;
	bool record;
	bool oracle;
	bool no_flush;
	bool perm_cache;
	spinlock_t ev_lock;		/* see above */
	struct mnsim_event *ev_ring;
	u64 ev_head;
	u64 ev_tail;
	u64 ev_lost;
	u64 ev_gen;
	struct list_head node;
};

static atomic_t mnsim_next_id = ATOMIC_INIT(0);

/* Every open device, for the debugfs contexts file. */
static LIST_HEAD(mnsim_ctxs);
static DEFINE_MUTEX(mnsim_ctxs_lock);	/* protects mnsim_ctxs, mnsim_nr_ctxs */
static unsigned int mnsim_nr_ctxs;

/**
 * __mnsim_ev() - record an event in the ring and as a trace event
 * @ctx: the device
 * @type: &enum mnsim_event_type
 * @start: first byte
 * @end: one past the last byte
 * @value: type-specific, see &struct mnsim_event
 * @flags: MNSIM_EVF_*
 * @count: TLB entries dropped
 *
 * Never allocates or sleeps: the ring is preallocated at BIND, so the hook can
 * record under the page-table lock.
 *
 * Context: Any context. Takes and releases ev_lock.
 */
static void __mnsim_ev(struct mnsim_ctx *ctx, unsigned int type,
		       unsigned long start, unsigned long end, u64 value,
		       unsigned int flags, unsigned int count)
{
	struct mnsim_event ev;

	ev = (struct mnsim_event) {
		.time_ns = ktime_get_ns(),
		.start = start,
		.end = end,
		.value = value,
		.type = type,
		.tid = task_pid_nr(current),
		.flags = flags,
		.count = count,
	};
	if (READ_ONCE(ctx->record)) {
		spin_lock(&ctx->ev_lock);
		ev.seq = ctx->ev_head;
		if (ctx->ev_head - ctx->ev_tail == MNSIM_EVENT_RING) {
			ctx->ev_tail++;
			ctx->ev_lost++;
		}
		ctx->ev_ring[ctx->ev_head++ % MNSIM_EVENT_RING] = ev;
		spin_unlock(&ctx->ev_lock);
	}
	trace_mnsim_event(ctx->id, &ev);
}

/**
 * mnsim_ev_on() - does anyone listen to the device's events?
 * @ctx: the device
 *
 * Context: Any context. Takes no lock.
 * Return: true when events are recorded in the ring or traced.
 */
static inline bool mnsim_ev_on(struct mnsim_ctx *ctx)
{
	return READ_ONCE(ctx->record) || trace_mnsim_event_enabled();
}

/**
 * mnsim_ev() - __mnsim_ev() when someone listens
 * @ctx: the device
 * @type: &enum mnsim_event_type
 * @start: first byte
 * @end: one past the last byte
 * @value: type-specific, see &struct mnsim_event
 * @flags: MNSIM_EVF_*
 * @count: TLB entries dropped
 *
 * Inline: the hot paths (the hook of a COW fault, a TLB hit) pay only these
 * two tests when nobody does.
 *
 * Context: as __mnsim_ev().
 */
static inline void mnsim_ev(struct mnsim_ctx *ctx, unsigned int type,
			    unsigned long start, unsigned long end, u64 value,
			    unsigned int flags, unsigned int count)
{
	if (mnsim_ev_on(ctx))
		__mnsim_ev(ctx, type, start, end, value, flags, count);
}

/**
 * mnsim_ev_range() - mnsim_ev() of a start or end callback
 * @ctx: the device
 * @type: &enum mnsim_event_type
 * @range: the callback's range; its event and blockability are recorded
 * @count: TLB entries dropped
 *
 * Context: as __mnsim_ev().
 */
static void mnsim_ev_range(struct mnsim_ctx *ctx, unsigned int type,
			   const struct mmu_notifier_range *range,
			   unsigned int count)
{
	unsigned int flags = mmu_notifier_range_blockable(range) ?
			     MNSIM_EVF_BLOCKABLE : 0;

	mnsim_ev(ctx, type, range->start, range->end, range->event, flags,
		 count);
}

/*
 * Per-call counters, returned by DEV_READ/DEV_WRITE/DEV_RWV, and the oracle's
 * worst verdict for the page being accessed.
 */
struct mnsim_call {
	u64 hits;
	u64 misses;
	u64 faults;
	unsigned int verdict;
	enum mnsim_owin_state owin;	/* oracle: @va's windows at the lookup */
	bool nofault;		/* MNSIM_ACCESS_NOFAULT: never fault pages in */
};

/**
 * struct mnsim_cpu_view - the CPU page table's translation of one address
 * @pfn: the page frame mapped there, when @mapped; the view holds no
 *	reference on it (see mnsim_oracle_view())
 * @mapped: a page is mapped there
 * @writable: the CPU may write it without a fault
 * @unknown: the page table could not be read without faulting (a hugetlb
 *	page that GUP-fast did not map, on 6.1: mnsim_gup_nofault()); the
 *	oracle gives no verdict
 */
struct mnsim_cpu_view {
	unsigned long pfn;
	bool mapped;
	bool writable;
	bool unknown;
};

/**
 * struct mnsim_dev_ops - how the device reaches memory
 * @walk: translate one page, as the IOMMU walks the CPU page table; process
 *	context, without tlb.lock
 * @dma: access memory through a live translation, inside the access window
 *	(under the window lock of the address, not tlb.lock)
 * @page_request: %MNSIM_BIND_PERM_CACHE's PRI: fault one page in for
 *	write, as a CPU write would; process context, without tlb.lock.
 *	0 once the CPU may write the page, else a negative errno
 *
 * The driver walks with GUP and accesses through kmap; KUnit's ordering model
 * plugs in a fake page table and fake memory and so runs the same fill,
 * access-window and invalidation code as the driver.
 */
struct mnsim_dev_ops {
	int (*walk)(struct mnsim_ctx *ctx, unsigned long va, bool write,
		    struct sec_tlb_xlate *x, struct mnsim_call *call);
	int (*dma)(struct mnsim_ctx *ctx, const struct sec_tlb_xlate *x,
		   unsigned long va, void __user *ubuf, size_t len,
		   bool write);
	int (*page_request)(struct mnsim_ctx *ctx, unsigned long va,
			    struct mnsim_call *call);
};

/* ---- fault injection: parking invalidate_range_start/end -------------- */

/**
 * mnsim_park_is() - is a park slot in a state?
 * @ctx: the device
 * @slot: one of @ctx->parks
 * @state: the state to test for
 *
 * The wait condition of a parked callback (mnsim_park_enter()).
 *
 * Context: Any context. Takes and releases park_lock.
 * Return: true if @slot is in @state.
 */
static bool mnsim_park_is(struct mnsim_ctx *ctx, struct mnsim_park_slot *slot,
			  enum mnsim_park_state state)
{
	bool ret;

	spin_lock(&ctx->park_lock);
	ret = slot->state == state;
	spin_unlock(&ctx->park_lock);
	return ret;
}

/**
 * mnsim_park_enter() - hold a callback if a park is armed for it
 * @ctx: the device
 * @event: MNSIM_PARK_START or MNSIM_PARK_END
 * @range: the callback's range
 *
 * A park lets a test place the CPU threads of the seed's timeline exactly: the
 * thread running the COW of addrA is "preempted" here until the test releases
 * it. Never parks a non-blockable range (the OOM reaper's), and never longer
 * than the park's timeout (at most 30 s, below the hung-task watchdog).
 *
 * Context: Process context. Sleeps only when @range is blockable. Takes and
 * releases park_lock.
 * Return: the slot to pass to mnsim_park_leave(), or -1.
 */
static int mnsim_park_enter(struct mnsim_ctx *ctx, unsigned int event,
			    const struct mmu_notifier_range *range)
{
	struct mnsim_park_slot *slot = NULL;
	long left;
	int id;

	/*
	 * Fast path for every invalidation when no park is armed. A park armed
	 * concurrently with this callback may miss it, as it may miss a
	 * callback that ran a moment earlier: tests arm before they act.
	 */
	if (!READ_ONCE(ctx->parks_armed) || !mmu_notifier_range_blockable(range))
		return -1;

	spin_lock(&ctx->park_lock);
	for (id = 0; id < MNSIM_MAX_PARKS; id++) {
		struct mnsim_park_slot *p = &ctx->parks[id];

		if (p->state == MNSIM_PARK_ARMED && (p->flags & event) &&
		    p->va >= range->start && p->va < range->end) {
			p->state = MNSIM_PARK_PARKED;
			WRITE_ONCE(ctx->parks_armed, ctx->parks_armed - 1);
			ctx->park_fired++;
			slot = p;
			break;
		}
	}
	spin_unlock(&ctx->park_lock);
	if (!slot)
		return -1;

	mnsim_ev(ctx, MNSIM_EV_PARK, range->start, range->end, event, 0, 0);
	wake_up_all(&ctx->park_wq);
	left = wait_event_killable_timeout(ctx->park_wq,
					   mnsim_park_is(ctx, slot,
							 MNSIM_PARK_RELEASED),
					   slot->timeout);
	if (!left && !(slot->flags & MNSIM_PARK_DELAY)) {
		spin_lock(&ctx->park_lock);
		ctx->park_timeouts++;
		spin_unlock(&ctx->park_lock);
	}
	mnsim_ev(ctx, MNSIM_EV_UNPARK, range->start, range->end, event, 0, 0);
	return id;
}

/**
 * mnsim_park_leave() - the parked callback is about to return
 * @ctx: the device
 * @id: what mnsim_park_enter() returned
 *
 * Context: Takes and releases park_lock.
 */
static void mnsim_park_leave(struct mnsim_ctx *ctx, int id)
{
	if (id < 0)
		return;
	spin_lock(&ctx->park_lock);
	ctx->parks[id].state = MNSIM_PARK_FREE;
	spin_unlock(&ctx->park_lock);
	/* Pairs with the wait in mnsim_park_release(). */
	wake_up_all(&ctx->park_wq);
}

/**
 * mnsim_park_count() - count the park slots in a state
 * @ctx: the device
 * @state: the state to count
 * @count: receives the count, if not NULL
 *
 * Also the wait condition of mnsim_park_release() (no slot RELEASED).
 *
 * Context: Any context. Takes and releases park_lock.
 * Return: true if any slot is in @state.
 */
static bool mnsim_park_count(struct mnsim_ctx *ctx,
			     enum mnsim_park_state state, u32 *count)
{
	u32 n = 0;
	int id;

	spin_lock(&ctx->park_lock);
	for (id = 0; id < MNSIM_MAX_PARKS; id++)
		n += ctx->parks[id].state == state;
	spin_unlock(&ctx->park_lock);
	if (count)
		*count = n;
	return n;
}

/**
 * mnsim_park_release() - release parked callbacks and/or disarm parks
 * @ctx: the device
 * @release: let every parked callback go, and wait until each has returned
 * @disarm: drop parks that have not fired
 *
 * Takes no lock of the bound address space: the parked thread may hold its
 * mmap_lock (a fault, munmap, mprotect, ksmd) or its per-VMA lock.
 *
 * Context: Process context; sleeps until released callbacks return. Takes
 * and releases park_lock.
 */
static void mnsim_park_release(struct mnsim_ctx *ctx, bool release,
			       bool disarm)
{
	int id;

	spin_lock(&ctx->park_lock);
	for (id = 0; id < MNSIM_MAX_PARKS; id++) {
		struct mnsim_park_slot *p = &ctx->parks[id];

		if (disarm && p->state == MNSIM_PARK_ARMED) {
			p->state = MNSIM_PARK_FREE;
			WRITE_ONCE(ctx->parks_armed, ctx->parks_armed - 1);
		}
		if (release && p->state == MNSIM_PARK_PARKED)
			p->state = MNSIM_PARK_RELEASED;
	}
	spin_unlock(&ctx->park_lock);
	if (!release)
		return;
	wake_up_all(&ctx->park_wq);
	wait_event(ctx->park_wq,
		   !mnsim_park_count(ctx, MNSIM_PARK_RELEASED, NULL));
}

/* ---- the oracle's invalidation windows ------------------------------- */

/* Forget window @i. Context: Caller holds tlb.lock. */
static void __mnsim_owin_del(struct mnsim_ctx *ctx, unsigned int i)
{
	ctx->owin[i] = ctx->owin[--ctx->owin_nr];
}

/* Has ended window @w waited for its hook long enough? */
static bool mnsim_owin_expired(const struct mnsim_owin *w)
{
	return w->ended && time_after_eq(jiffies, w->expires);
}

/* Did the hooks since its start cover [@start, @end) of window @w? */
static bool mnsim_owin_hooked(const struct mnsim_owin *w, unsigned long start,
			      unsigned long end)
{
	return w->hend && w->hstart <= start && w->hend >= end;
}

/**
 * __mnsim_owin_next() - the task that ran an invalidation calls back again
 * @ctx: the device, oracle on
 *
 * Up to 6.5 the hook of an invalidation that is not only_end comes from its
 * own range end, in the same walk: after this device's range end, since
 * tlb_mn is the older subscription (see __mnsim_bind_mm()), and before that
 * task's next callback. So when the task calls back again, a window of
 * its that ended and still waits for a hook was only_end (its hook came
 * before the end, if it needed one: a THP split needs none) and closes. From
 * 6.6 the hook comes from a TLB flush that may follow several other
 * callbacks (fork: every VMA's range, then dup_mmap()'s flush_tlb_mm()), so
 * there only the hook or the time limit close it.
 *
 * Context: Caller holds tlb.lock.
 */
static void __mnsim_owin_next(struct mnsim_ctx *ctx)
{
	unsigned int i;

	if (!MNSIM_HOOK_FROM_RANGE_END)
		return;
	for (i = 0; i < ctx->owin_nr;) {
		if (ctx->owin[i].ended && ctx->owin[i].task == current)
			__mnsim_owin_del(ctx, i);
		else
			i++;
	}
}

/**
 * __mnsim_owin_make_room() - free an entry of a full window table
 * @ctx: the device, oracle on
 *
 * Drops the expired windows; if none had, one that ended and waits for its
 * hook (it closes early: the oracle judges its range strictly a little
 * sooner). Windows in progress stay.
 *
 * Context: Caller holds tlb.lock.
 */
static void __mnsim_owin_make_room(struct mnsim_ctx *ctx)
{
	unsigned int i;

	for (i = 0; i < ctx->owin_nr;) {
		if (mnsim_owin_expired(&ctx->owin[i]))
			__mnsim_owin_del(ctx, i);
		else
			i++;
	}
	if (ctx->owin_nr < MNSIM_ORACLE_WINDOWS)
		return;
	for (i = 0; i < ctx->owin_nr; i++) {
		if (ctx->owin[i].ended) {
			__mnsim_owin_del(ctx, i);
			return;
		}
	}
}

/**
 * mnsim_owin_start() - an invalidation begins: open its window
 * @ctx: the device, oracle on
 * @range: the range of the invalidation
 *
 * Before its start park, so that a test parked there is inside the window.
 * A full table makes room (__mnsim_owin_make_room()), else counts an
 * overflow.
 *
 * Context: Any context, may be atomic. Takes and releases tlb.lock.
 */
static void mnsim_owin_start(struct mnsim_ctx *ctx,
			     const struct mmu_notifier_range *range)
{
	spin_lock(&ctx->tlb.lock);
	__mnsim_owin_next(ctx);
	if (ctx->owin_nr == MNSIM_ORACLE_WINDOWS)
		__mnsim_owin_make_room(ctx);
	if (ctx->owin_nr < MNSIM_ORACLE_WINDOWS)
		ctx->owin[ctx->owin_nr++] = (struct mnsim_owin) {
			.start = range->start,
			.end = range->end,
			.task = current,
		};
	else
		ctx->owin_overflow++;
	spin_unlock(&ctx->tlb.lock);
}

/**
 * mnsim_owin_end() - an invalidation's range end: close or hold its window
 * @ctx: the device, oracle on
 * @range: the range of the invalidation
 *
 * Closes the window whose hook came already (a COW's, under the PTL).
 * Otherwise the window waits for the hook: on 6.1 the one that
 * mn_hlist_invalidate_end() calls right after this subscription's end
 * (tlb_mn is older than range_mn, see __mnsim_bind_mm()), on 6.6+ a zap's
 * from tlb_finish_mmu(), a fork's from dup_mmap()'s flush_tlb_mm(). On a
 * kernel that never calls the hook (UML from 6.6), the end closes it.
 * After the end park, so that a test parked there is inside the window.
 *
 * Context: Any context, may be atomic. Takes and releases tlb.lock.
 */
static void mnsim_owin_end(struct mnsim_ctx *ctx,
			   const struct mmu_notifier_range *range)
{
	struct mnsim_owin *w;
	int found = -1;
	unsigned int i;

	spin_lock(&ctx->tlb.lock);
	__mnsim_owin_next(ctx);
	for (i = 0; i < ctx->owin_nr; i++) {
		w = &ctx->owin[i];
		if (w->ended || w->start != range->start ||
		    w->end != range->end)
			continue;
		found = i;
		if (w->task == current)
			break;
	}
	if (found < 0) {
		if (ctx->owin_overflow)
			ctx->owin_overflow--;
	} else if (mnsim_owin_hooked(&ctx->owin[found], range->start,
				     range->end) || !MNSIM_HOOK_CALLED) {
		__mnsim_owin_del(ctx, found);
	} else {
		ctx->owin[found].ended = true;
		ctx->owin[found].expires = jiffies + MNSIM_ORACLE_PENDING;
	}
	spin_unlock(&ctx->tlb.lock);
}

/**
 * mnsim_owin_hook() - the hook flushed [@start, @end): tell the windows
 * @ctx: the device, oracle on
 * @start: first byte
 * @end: one past the last byte
 *
 * The part of each window the hook overlaps is flushed now (kept as the
 * hull of the hooks so far); a window whose end came and that is flushed
 * all over closes. Called after the hook dropped the entries, so that a
 * lookup that finds an address flushed also finds them gone.
 *
 * Context: Atomic context possible (the hook's). Takes and releases tlb.lock.
 */
static void mnsim_owin_hook(struct mnsim_ctx *ctx, unsigned long start,
			    unsigned long end)
{
	struct mnsim_owin *w;
	unsigned int i;

	spin_lock(&ctx->tlb.lock);
	for (i = 0; i < ctx->owin_nr;) {
		w = &ctx->owin[i];
		if (start >= w->end || end <= w->start) {
			i++;
			continue;
		}
		w->hstart = w->hend ? min(w->hstart, start) : start;
		w->hend = max(w->hend, end);
		if (w->ended && mnsim_owin_hooked(w, w->start, w->end))
			__mnsim_owin_del(ctx, i);
		else
			i++;
	}
	__mnsim_owin_next(ctx);
	spin_unlock(&ctx->tlb.lock);
}

/**
 * __mnsim_owin_state() - the windows of an address, for the oracle's judge
 * @ctx: the device, oracle on
 * @va: the address a lookup hit
 *
 * Context: Caller holds tlb.lock.
 * Return: an &enum mnsim_owin_state.
 */
static enum mnsim_owin_state __mnsim_owin_state(struct mnsim_ctx *ctx,
						unsigned long va)
{
	enum mnsim_owin_state state = MNSIM_OWIN_NONE;
	const struct mnsim_owin *w;
	unsigned int i;

	lockdep_assert_held(&ctx->tlb.lock);
	if (ctx->owin_overflow)
		return MNSIM_OWIN_UNFLUSHED;
	for (i = 0; i < ctx->owin_nr; i++) {
		w = &ctx->owin[i];
		if (va < w->start || va >= w->end || mnsim_owin_expired(w))
			continue;
		/* Without hook calls there is nothing to wait for. */
		if (!mnsim_owin_hooked(w, va, va + 1) && MNSIM_HOOK_CALLED)
			return MNSIM_OWIN_UNFLUSHED;
		state = MNSIM_OWIN_FLUSHED;
	}
	return state;
}

/* ---- mmu_notifier callbacks ------------------------------------------ */

/**
 * mnsim_secondary_tlb_hook() - the kernel flushes secondary TLBs
 * @mn: &mnsim_ctx.tlb_mn
 * @mm: the bound address space
 * @start: first byte
 * @end: one past the last byte; (0, ULONG_MAX) flushes everything
 *
 * This is the only flush of ATS mode, as for a real ATS device behind an
 * IOMMU. The kernel calls it after clearing the PTEs and before freeing the
 * pages they mapped (seed 003); on COW and on the *_clear_flush paths it does
 * so under the page-table lock, before the new PTE is set (seed 000, case B).
 * Device accesses through a translation run in the access window of its
 * region (see mnsim_dma_window()), which sec_tlb_invalidate_queue() waits
 * for after invalidating the range, so when this returns no access through
 * a dropped translation is still in flight: the ATS invalidation has
 * completed. Accesses and lookups of other regions do not wait for it.
 *
 * A small range goes on the TLB's invalidation queue: dead for every lookup
 * from then on, its entries dropped by the device's next use of its TLB.
 * The hook's event tells how many entries it dropped, so while events are
 * recorded or traced the hook drops them itself (sec_tlb_invalidate()): the
 * same guarantee, at the cost of touching the entries.
 *
 * A %MNSIM_BIND_NO_FLUSH binding (fault injection) counts and records the
 * call and drops nothing, as on a kernel that never calls the hook.
 *
 * Context: Atomic context possible (page-table lock held). Takes and releases
 * tlb.lock, then the window locks of the range; does not sleep or allocate.
 */
static void mnsim_secondary_tlb_hook(struct mmu_notifier *mn,
				     struct mm_struct *mm,
				     unsigned long start, unsigned long end)
{
	struct mnsim_ctx *ctx = container_of(mn, struct mnsim_ctx, tlb_mn);
	unsigned long first = start, last = end;
	unsigned int n, flags = 0;

	this_cpu_inc(ctx->cnt->hook_calls);
	/*
	 * An empty range: flush everything, as SMMUv3 does (see
	 * &struct mnsim_stats.hook_empty); the event keeps what the kernel
	 * passed.
	 */
	if (unlikely(start >= end)) {
		this_cpu_inc(ctx->cnt->hook_empty);
		first = 0;
		last = ULONG_MAX;
		flags = MNSIM_EVF_EMPTY;
	}
	if (likely(!mnsim_ev_on(ctx))) {
		if (likely(!ctx->no_flush))
			sec_tlb_invalidate_queue(&ctx->tlb, first, last);
	} else {
		n = ctx->no_flush ? 0 :
				    sec_tlb_invalidate(&ctx->tlb, first, last);
		__mnsim_ev(ctx, MNSIM_EV_HOOK, start, end, 0, flags, n);
	}
	if (ctx->oracle)
		mnsim_owin_hook(ctx, first, last);
}

/**
 * mnsim_observe_hook() - the hook of a SOFT or DEFER device with the oracle
 * @mn: &mnsim_ctx.tlb_mn
 * @mm: the bound address space
 * @start: first byte
 * @end: one past the last byte
 *
 * These devices do not flush here, by their protocols; the oracle only
 * learns that the kernel flushed the range (mnsim_owin_hook()). Not counted
 * in hook_calls, which are an ATS device's flushes.
 *
 * Context: Atomic context possible (page-table lock held). Takes and releases
 * tlb.lock.
 */
static void mnsim_observe_hook(struct mmu_notifier *mn, struct mm_struct *mm,
			       unsigned long start, unsigned long end)
{
	mnsim_owin_hook(container_of(mn, struct mnsim_ctx, tlb_mn), start, end);
}

/**
 * mnsim_range_start() - an invalidation of a range begins
 * @mn: &mnsim_ctx.range_mn
 * @range: the range
 *
 * SOFT flushes here, waits for the access windows of the range, and blocks
 * refills of the range until the matching mnsim_range_end(). ATS and DEFER
 * only count: an ATS device may refill between start and end, which is why
 * ATS needs the hook (and registers this callback only to be watched).
 *
 * Context: May be called with !mmu_notifier_range_blockable(). Takes and
 * releases tlb.lock, then window locks; sleeps only in an armed park of a
 * blockable range. Never fails.
 * Return: 0.
 */
static int mnsim_range_start(struct mmu_notifier *mn,
			     const struct mmu_notifier_range *range)
{
	struct mnsim_ctx *ctx = container_of(mn, struct mnsim_ctx, range_mn);
	struct sec_tlb *tlb = &ctx->tlb;
	unsigned int n = 0;
	int park;

	this_cpu_inc(ctx->cnt->start_calls);
	if (ctx->oracle)
		mnsim_owin_start(ctx, range);
	park = mnsim_park_enter(ctx, MNSIM_PARK_START, range);
	if (ctx->mode != MNSIM_MODE_SOFT) {
		mnsim_ev_range(ctx, MNSIM_EV_START, range, 0);
		mnsim_park_leave(ctx, park);
		return 0;
	}

	spin_lock(&tlb->lock);
	if (ctx->soft_nr < MNSIM_SOFT_RANGES) {
		ctx->soft_ranges[ctx->soft_nr].start = range->start;
		ctx->soft_ranges[ctx->soft_nr].end = range->end;
		ctx->soft_nr++;
	} else {
		ctx->soft_overflow++;
	}
	/*
	 * The flush bumps tlb.seq, so a walk that began before this start fails
	 * its sec_tlb_read_retry(); one that begins after it finds the range
	 * active under tlb.lock in __mnsim_fill_ok(). Pairs with
	 * __mnsim_soft_end().
	 */
	if (likely(!ctx->no_flush))
		n = __sec_tlb_invalidate(tlb, range->start, range->end);
	spin_unlock(&tlb->lock);
	if (likely(!ctx->no_flush))
		sec_tlb_wait_windows(tlb, range->start, range->end);
	mnsim_ev_range(ctx, MNSIM_EV_START, range, n);
	mnsim_park_leave(ctx, park);
	return 0;
}

/**
 * __mnsim_soft_end() - SOFT: forget an active range
 * @ctx: the device
 * @range: the range whose invalidate_range_end() runs
 *
 * Pairs with the recording in mnsim_range_start().
 *
 * Context: Caller holds tlb.lock.
 * Return: true if fills may be waiting for @range.
 */
static bool __mnsim_soft_end(struct mnsim_ctx *ctx,
			     const struct mmu_notifier_range *range)
{
	unsigned int i;

	for (i = 0; i < ctx->soft_nr; i++) {
		if (ctx->soft_ranges[i].start == range->start &&
		    ctx->soft_ranges[i].end == range->end) {
			ctx->soft_ranges[i] = ctx->soft_ranges[--ctx->soft_nr];
			return true;
		}
	}
	if (ctx->soft_overflow) {
		ctx->soft_overflow--;
		return true;
	}
	return false;
}

/**
 * mnsim_range_end() - an invalidation of a range is over
 * @mn: &mnsim_ctx.range_mn
 * @range: the range
 *
 * DEFER flushes only here: the seed's broken protocol, which lets the device
 * read a page the CPU already replaced (case B) or freed (case A).
 *
 * SOFT flushes again and unblocks refills when the last active range ends.
 * An end without a recorded start would need a range in flight across
 * mmu_notifier_register(), which holds the mmap_lock for write and
 * mm_take_all_locks() (the rmap locks that invalidations outside the mmap_lock
 * hold from start to end). Defensively, such an end only flushes: the flush
 * drops anything filled during that range.
 *
 * Both modes wait for the access windows of the range after dropping it.
 *
 * Context: Takes and releases tlb.lock, then window locks; sleeps only in an
 * armed park of a blockable range.
 */
static void mnsim_range_end(struct mmu_notifier *mn,
			    const struct mmu_notifier_range *range)
{
	struct mnsim_ctx *ctx = container_of(mn, struct mnsim_ctx, range_mn);
	struct sec_tlb *tlb = &ctx->tlb;
	unsigned int n = 0;
	bool wake = false;
	int park;

	this_cpu_inc(ctx->cnt->end_calls);
	/* Before DEFER's flush: the seed's thread is preempted before its end. */
	park = mnsim_park_enter(ctx, MNSIM_PARK_END, range);
	if (ctx->mode != MNSIM_MODE_ATS) {
		spin_lock(&tlb->lock);
		if (likely(!ctx->no_flush))
			n = __sec_tlb_invalidate(tlb, range->start, range->end);
		if (ctx->mode == MNSIM_MODE_SOFT)
			wake = __mnsim_soft_end(ctx, range);
		spin_unlock(&tlb->lock);
		if (likely(!ctx->no_flush))
			sec_tlb_wait_windows(tlb, range->start, range->end);
	}
	if (wake)
		wake_up_all(&ctx->soft_wq);
	if (ctx->oracle)
		mnsim_owin_end(ctx, range);
	mnsim_ev_range(ctx, MNSIM_EV_END, range, n);
	mnsim_park_leave(ctx, park);
}

/**
 * __mnsim_release() - the address space is being torn down
 * @ctx: the device
 *
 * Called from exit_mmap() before any page is unmapped, or from UNBIND. Drops
 * every translation, waits for every access window, and fails later
 * accesses with -ESRCH (they check @ctx->dead under tlb.lock).
 *
 * Context: Process context. Takes and releases tlb.lock, then every window
 * lock.
 */
static void __mnsim_release(struct mnsim_ctx *ctx)
{
	struct sec_tlb *tlb = &ctx->tlb;
	unsigned int n;

	this_cpu_inc(ctx->cnt->release_calls);
	spin_lock(&tlb->lock);
	ctx->dead = true;
	ctx->soft_nr = 0;
	ctx->soft_overflow = 0;
	ctx->owin_nr = 0;
	ctx->owin_overflow = 0;
	n = tlb->nr_live;
	__sec_tlb_flush_all(tlb);
	spin_unlock(&tlb->lock);
	sec_tlb_wait_windows(tlb, 0, ULONG_MAX);
	wake_up_all(&ctx->soft_wq);
	mnsim_ev(ctx, MNSIM_EV_RELEASE, 0, ULONG_MAX, 0, 0, n);
}

/**
 * mnsim_release() - release() of &mnsim_ctx.range_mn (SOFT, DEFER)
 * @mn: the subscription
 * @mm: the address space that exits
 *
 * Context: as __mnsim_release().
 */
static void mnsim_release(struct mmu_notifier *mn, struct mm_struct *mm)
{
	__mnsim_release(container_of(mn, struct mnsim_ctx, range_mn));
}

/**
 * mnsim_tlb_release() - release() of &mnsim_ctx.tlb_mn (ATS)
 * @mn: the subscription
 * @mm: the address space that exits
 *
 * Context: as __mnsim_release().
 */
static void mnsim_tlb_release(struct mmu_notifier *mn, struct mm_struct *mm)
{
	__mnsim_release(container_of(mn, struct mnsim_ctx, tlb_mn));
}

/*
 * ATS: the hook and release, in one subscription (6.6+ allows release next
 * to the hook, not start/end). This is all an ATS binding registers unless
 * someone watches start/end: a COW then walks one subscription, not two.
 */
static const struct mmu_notifier_ops mnsim_tlb_ops = {
	.release			= mnsim_tlb_release,
	.arch_invalidate_secondary_tlbs	= mnsim_secondary_tlb_hook,
};

/* SOFT and DEFER with the oracle: the hook only tells its windows. */
static const struct mmu_notifier_ops mnsim_observe_ops = {
	.arch_invalidate_secondary_tlbs	= mnsim_observe_hook,
};

/* SOFT and DEFER. */
static const struct mmu_notifier_ops mnsim_range_ops = {
	.release		= mnsim_release,
	.invalidate_range_start	= mnsim_range_start,
	.invalidate_range_end	= mnsim_range_end,
};

/* ATS, watched: start/end only count, record and park. */
static const struct mmu_notifier_ops mnsim_ats_range_ops = {
	.invalidate_range_start	= mnsim_range_start,
	.invalidate_range_end	= mnsim_range_end,
};

/* ---- translation: walk, fill, access window --------------------------- */

/*
 * Identity of a page as the device saw it at fill time. Every access compares
 * it before the DMA, so that a page freed and reused since is refused. A
 * hugetlb folio is one translation (mnsim_walk()): every page of it has the
 * folio's identity.
 */
static unsigned long mnsim_folio_tag(struct folio *folio, struct page *page)
{
	unsigned long idx = folio->index;

	if (!folio_test_hugetlb(folio))
		idx += page_to_pfn(page) - folio_pfn(folio);
	return (unsigned long)READ_ONCE(folio->mapping) ^ hash_long(idx, 32);
}

/**
 * struct mnsim_lockless_req - one GUP-fast walk run by &mnsim_ctx.walker
 * @work: queued on the walker
 * @done: completed by the walker
 * @mm: the address space to walk; the device's binding keeps it allocated
 *	(mmgrab)
 * @va: address to translate
 * @gup_flags: FOLL_WRITE or 0
 * @page: the page, referenced, when @ok
 * @want_writable: try for write first, then for read (the oracle's view)
 * @writable: with @want_writable, the write attempt mapped @va
 * @ok: GUP-fast mapped @va
 */
struct mnsim_lockless_req {
	struct kthread_work work;
	struct completion done;
	struct mm_struct *mm;
	unsigned long va;
	unsigned int gup_flags;
	struct page *page;
	bool want_writable;
	bool writable;
	bool ok;
};

/*
 * GUP-fast of one page of the current address space: for @gup_flags, or,
 * with @writable, for write and, failing that, for read (*@writable says
 * which), so that the oracle's view costs one trip to the walker.
 */
static bool mnsim_gup_fast(unsigned long va, unsigned int gup_flags,
			   struct page **page, bool *writable)
{
	if (writable) {
		*writable = get_user_pages_fast_only(va, 1, FOLL_WRITE,
						     page) == 1;
		if (*writable)
			return true;
		gup_flags = 0;
	}
	return get_user_pages_fast_only(va, 1, gup_flags, page) == 1;
}

/*
 * The walker's side of mnsim_walk_lockless(). kthread_use_mm() makes @mm
 * this kthread's address space, for the walk only and with a reference on
 * its users, taken here: had each requester held one while it waited in the
 * queue, overlapping requests could keep a dying process's mm from ever
 * reaching exit_mmap() (stress.binder_exits_under_load caught that). Its
 * CPU is then in the mm's cpumask, so the TLB shootdown that precedes the
 * freeing of a page table (or the RCU grace period of
 * MMU_GATHER_RCU_TABLE_FREE) waits for GUP-fast's interrupts-off section
 * here exactly as for a thread of that process.
 *
 * Context: the walker kthread; process context. Takes no lock.
 */
static void mnsim_lockless_fn(struct kthread_work *work)
{
	struct mnsim_lockless_req *req =
		container_of(work, struct mnsim_lockless_req, work);

	req->ok = false;
	if (mmget_not_zero(req->mm)) {
		kthread_use_mm(req->mm);
		req->ok = mnsim_gup_fast(req->va, req->gup_flags, &req->page,
					 req->want_writable ? &req->writable :
							      NULL);
		kthread_unuse_mm(req->mm);
		/* The last user: the teardown runs elsewhere. */
		mmput_async(req->mm);
	}
	complete(&req->done);
}

/**
 * mnsim_walker() - the walker kthread of a device, created on first use
 * @ctx: the device, bound
 *
 * Context: Process context; may sleep. Caller holds bind_rwsem for read.
 * Takes and releases walker_lock when the walker does not exist yet.
 * Return: the walker, or NULL if it cannot be created (the caller then
 * walks with the mmap_lock).
 */
static struct kthread_worker *mnsim_walker(struct mnsim_ctx *ctx)
{
	/* Pairs with the smp_store_release() below. */
	struct kthread_worker *w = smp_load_acquire(&ctx->walker);

	if (w)
		return w;
	mutex_lock(&ctx->walker_lock);
	w = ctx->walker;
	if (!w) {
		w = kthread_create_worker(0, "mnsim_walk/%u", ctx->id);
		if (IS_ERR(w))
			w = NULL;
		else	/* Pairs with the smp_load_acquire() above. */
			smp_store_release(&ctx->walker, w);
	}
	mutex_unlock(&ctx->walker_lock);
	return w;
}

static long mnsim_gup_nofault(struct mm_struct *mm, unsigned long va,
			      unsigned int gup_flags, struct page **page,
			      int *locked);
static long mnsim_gup_nofault_rw(struct mm_struct *mm, unsigned long va,
				 struct page **page, int *locked,
				 bool *writable);

/**
 * mnsim_walk_locked() - another process's page table, under its mmap_lock
 * @mm: the bound address space
 * @va: address to translate
 * @gup_flags: FOLL_WRITE or 0; ignored with @writable
 * @page: receives the page, referenced
 * @writable: as for mnsim_walk_lockless()
 * @wait: wait for the lock (killable); else take it only with a trylock
 *
 * A locked GUP that never faults (mnsim_gup_nofault()). The device's
 * translation requests call it with a trylock, which never waits: when no
 * writer holds or waits for the lock this costs no trip to the walker
 * kthread (on the 6.12 debug kernel, the walker for every walk and view
 * made mnsim attach scan 6 times fewer pages, and its DEFER control
 * missed every window); when one does (a parked mprotect, mremap, fork),
 * the walker translates instead. The oracle's view waits, where GUP-fast
 * gave up. The locked GUP sets the accessed bit, and for a write the dirty
 * bit (FOLL_TOUCH), as GUP-fast does not.
 *
 * Context: Process context. Takes the mmap_lock of @mm for read: with
 * @wait killable, else only if free.
 * Return: 1 if @page is set, 0 if nothing is mapped that GUP could take
 * without a fault, -EAGAIN if the trylock failed or a fatal signal came
 * while waiting, -EOPNOTSUPP if GUP cannot look the page up without
 * faulting (6.1 hugetlb).
 */
static int mnsim_walk_locked(struct mm_struct *mm, unsigned long va,
			     unsigned int gup_flags, struct page **page,
			     bool *writable, bool wait)
{
	int locked = 1, ret = -EAGAIN;
	long got;

	if (!mmget_not_zero(mm))
		return 0;
	if (wait ? mmap_read_lock_killable(mm) : !mmap_read_trylock(mm))
		goto out;
	if (writable)
		got = mnsim_gup_nofault_rw(mm, va, page, &locked, writable);
	else
		got = mnsim_gup_nofault(mm, va, gup_flags, page, &locked);
	if (locked)
		mmap_read_unlock(mm);
	ret = got == -EOPNOTSUPP ? got : got == 1;
out:
	mmput(mm);
	return ret;
}

/**
 * mnsim_walk_lockless() - a translation request that takes no mmap_lock
 * @ctx: the device, bound
 * @va: address to translate
 * @gup_flags: FOLL_WRITE or 0; ignored with @writable
 * @page: receives the page, referenced
 * @writable: if not NULL, try for write, then for read, and say which
 *	mapped (mnsim_gup_fast())
 *
 * An IOMMU walks the page table without the mmap_lock, so it translates
 * also while an invalidation that holds the lock for write (mprotect,
 * mremap, fork, a MAP_FIXED replacement) is in progress. GUP-fast does the
 * same: with interrupts off, never faulting, and giving up (0) on whatever
 * it cannot map without the VMA (not present, not writable for a write, the
 * zero page, special or device mappings). GUP-fast walks the current
 * task's address space: when the caller's is the bound one (a device bound
 * to itself, KUnit's kthread_use_mm()) it runs here. For a caller in
 * another address space (a device bound to another process, or passed to
 * one): GUP under that mm's mmap_lock if a trylock gets it
 * (mnsim_walk_locked()), else the device's walker kthread adopts the
 * bound mm and runs GUP-fast (mnsim_lockless_fn()), as the IOMMU's walker
 * is not a thread of the process either. Neither waits for a writer of the
 * lock.
 *
 * Context: Process context; may take the bound mm's mmap_lock for read
 * with a trylock, and sleep waiting for the walker, which takes no lock.
 * Caller holds bind_rwsem for read and must not hold tlb.lock.
 * Return: true if @page is set.
 */
static bool mnsim_walk_lockless(struct mnsim_ctx *ctx, unsigned long va,
				unsigned int gup_flags, struct page **page,
				bool *writable)
{
	struct mnsim_lockless_req req = {
		.mm = ctx->mm,
		.va = va,
		.gup_flags = gup_flags,
		.want_writable = !!writable,
	};
	struct kthread_worker *w;
	int ret;

	if (ctx->mm == current->mm)
		return mnsim_gup_fast(va, gup_flags, page, writable);
	ret = mnsim_walk_locked(ctx->mm, va, gup_flags, page, writable, false);
	if (ret >= 0)
		return ret;
	w = mnsim_walker(ctx);
	if (!w)
		return false;
	kthread_init_work(&req.work, mnsim_lockless_fn);
	init_completion(&req.done);
	kthread_queue_work(w, &req.work);
	/* Bounded: GUP-fast neither faults nor waits for a lock. */
	wait_for_completion(&req.done);
	*page = req.page;
	if (writable)
		*writable = req.writable;
	return req.ok;
}

/**
 * mnsim_gup_nofault() - a locked GUP of one page that never faults
 * @mm: the bound address space
 * @va: address to translate
 * @gup_flags: FOLL_WRITE or 0
 * @page: receives the page, referenced
 * @locked: as get_user_pages_remote()'s
 *
 * FOLL_NOFAULT, except on a hugetlb VMA of a kernel whose hugetlb GUP faults
 * regardless (MNSIM_GUP_HUGETLB_FAULTS, 6.1): there it does not call GUP at
 * all, since a translation request must not change what it translates.
 * GUP-fast (mnsim_walk_lockless()) maps a present hugetlb page of the
 * caller's own address space on every kernel.
 *
 * Context: Caller holds @mm's mmap_lock for read.
 * Return: 1, what get_user_pages_remote() returns, or -EOPNOTSUPP when the
 * page cannot be looked up without faulting.
 */
static long mnsim_gup_nofault(struct mm_struct *mm, unsigned long va,
			      unsigned int gup_flags, struct page **page,
			      int *locked)
{
	struct vm_area_struct *vma;

	if (MNSIM_GUP_HUGETLB_FAULTS) {
		vma = vma_lookup(mm, va);
		if (vma && is_vm_hugetlb_page(vma))
			return -EOPNOTSUPP;
	}
	return get_user_pages_remote(mm, va, 1, gup_flags | FOLL_NOFAULT, page,
				     locked);
}

/**
 * mnsim_gup_nofault_rw() - mnsim_gup_nofault(), for write if the PTE allows
 * @mm: the bound address space
 * @va: address to translate
 * @page: receives the page, referenced
 * @locked: as get_user_pages_remote()'s
 * @writable: receives whether the page is mapped writable
 *
 * What the CPU page table grants, as an IOMMU's walk reads it: for write
 * first, then for read.
 *
 * Context: Caller holds @mm's mmap_lock for read.
 * Return: as mnsim_gup_nofault().
 */
static long mnsim_gup_nofault_rw(struct mm_struct *mm, unsigned long va,
				 struct page **page, int *locked,
				 bool *writable)
{
	long got = mnsim_gup_nofault(mm, va, FOLL_WRITE, page, locked);

	*writable = got == 1;
	if (got != 1 && got != -EOPNOTSUPP && *locked)
		got = mnsim_gup_nofault(mm, va, 0, page, locked);
	return got;
}

/* Internal results of an access attempt, never returned to userspace. */
#define MNSIM_NEED_WALK		1	/* no usable entry: walk the page table */
#define MNSIM_NEED_VERIFY	2	/* the page's identity changed */
#define MNSIM_HIT		3	/* a cached translation: access through it */
#define MNSIM_FILLED		4	/* a walk was filled: access through it */
#define MNSIM_NEED_VIEW		5	/* oracle: invalidated since the view */
#define MNSIM_NEED_PRI		6	/* PERM_CACHE: cached read-only, a write */

/**
 * mnsim_walk() - translate one page the way an IOMMU walks the CPU page table
 * @ctx: the device
 * @va: address to translate
 * @write: the access is a write
 * @x: receives a 4 KiB translation
 * @call: per-call counters
 *
 * A translation request first: without the mmap_lock where GUP-fast can
 * (mnsim_walk_lockless()), else under it with FOLL_NOFAULT; when the page is
 * not there or not writable, a page request (PRI): fault it in the way a CPU
 * access would, which for a write breaks COW and never writes into a shared,
 * zero or huge zero page. No FOLL_FORCE: permissions hold. GUP refuses
 * VM_IO/VM_PFNMAP.
 *
 * GUP cannot tell the mapping level, so a translation is 4 KiB, except a
 * PMD-sized hugetlb page, which is always mapped whole and so cached as one
 * PMD entry, as an IOMMU caches the block it walked. That matters for
 * correctness, not only size: from 6.6 x86's hugetlb unmap and migration
 * flush with flush_tlb_page() (huge_ptep_clear_flush()), so the hook gets
 * the huge page's first 4 KiB only, which drops a block entry but would
 * leave 4 KiB entries of its other pages stale. The page reference GUP
 * takes is dropped before returning: the TLB holds no references, as in
 * hardware, and relies on the notifier instead.
 *
 * A translation's permission is the access's (a read caches read-only),
 * except with %MNSIM_BIND_PERM_CACHE, whose TLB must cache what the PTE
 * grants: a read that found the page writable and cached it read-only would
 * take the device's next write for a permission fault that no invalidation
 * owed it. Its read walks ask for write first (mnsim_gup_nofault_rw()),
 * and one that had to fault the page in returns MNSIM_NEED_WALK: the page
 * request is answered, and the next translation request reads the PTE the
 * fault made. Where no lookup can be made without a fault (a hugetlb page
 * of another address space on 6.1, mnsim_gup_nofault()) the read caches
 * the page read-only: a later write may then be reported stuck without
 * cause, the one case where the model is wrong (see the users' guide).
 *
 * Context: Process context; unless the lockless walk succeeds, takes the
 * bound mm's mmap_lock for read and may fault. Caller holds bind_rwsem for
 * read and must not hold tlb.lock.
 * Return: 0, MNSIM_NEED_WALK (see above), -ESRCH if the address space
 * exited, -EINTR on a fatal signal, -EFAULT if the address cannot be
 * accessed this way.
 */
static int mnsim_walk(struct mnsim_ctx *ctx, unsigned long va, bool write,
		      struct sec_tlb_xlate *x, struct mnsim_call *call)
{
	unsigned int gup_flags = write ? FOLL_WRITE : 0;
	bool probe = ctx->perm_cache && !write;
	struct mm_struct *mm = ctx->mm;
	bool writable = write;
	bool faulted = false;
	struct folio *folio;
	struct page *page;
	int locked = 1;
	long got;

	this_cpu_inc(ctx->cnt->walks);
	if (mnsim_walk_lockless(ctx, va, gup_flags, &page,
				probe ? &writable : NULL))
		goto translated;
	if (!mmget_not_zero(mm))
		return -ESRCH;
	if (mmap_read_lock_killable(mm)) {
		mmput(mm);
		return -EINTR;
	}
	if (probe)
		got = mnsim_gup_nofault_rw(mm, va, &page, &locked, &writable);
	else
		got = mnsim_gup_nofault(mm, va, gup_flags, &page, &locked);
	if (got != 1 && locked && !call->nofault) {
		/* No lookup without a fault (6.1 hugetlb): the next one fails too. */
		faulted = got != -EOPNOTSUPP;
		call->faults++;
		this_cpu_inc(ctx->cnt->faults);
		got = get_user_pages_remote(mm, va, 1, gup_flags, &page,
					    &locked);
	}
	if (locked)
		mmap_read_unlock(mm);
	mmput(mm);

	if (got != 1) {
		if (fatal_signal_pending(current))
			return -EINTR;
		return call->nofault ? -ENOENT : -EFAULT;
	}
	if (probe && faulted) {
		put_page(page);
		return MNSIM_NEED_WALK;
	}
translated:
	if (is_zone_device_page(page)) {
		put_page(page);
		return -EFAULT;
	}
	folio = page_folio(page);
	if (folio_test_hugetlb(folio) && folio_size(folio) == PMD_SIZE) {
		x->va = va & PMD_MASK;
		x->pfn = folio_pfn(folio);
		x->shift = PMD_SHIFT;
	} else {
		x->va = va & PAGE_MASK;
		x->pfn = page_to_pfn(page);
		x->shift = PAGE_SHIFT;
	}
	x->perm = SEC_TLB_R | (writable ? SEC_TLB_W : 0);
	x->tag = mnsim_folio_tag(folio, page);
	put_page(page);
	return 0;
}

/**
 * __mnsim_soft_blocked() - SOFT: does an active invalidation cover an address?
 * @ctx: the device
 * @va: the address a fill is for
 *
 * Fills of a covered address wait for the invalidation's end.
 *
 * Context: Caller holds tlb.lock.
 * Return: true if a fill of @va must wait.
 */
static bool __mnsim_soft_blocked(struct mnsim_ctx *ctx, unsigned long va)
{
	unsigned int i;

	if (ctx->mode != MNSIM_MODE_SOFT || ctx->dead)
		return false;
	if (ctx->soft_overflow)
		return true;
	for (i = 0; i < ctx->soft_nr; i++)
		if (va >= ctx->soft_ranges[i].start &&
		    va < ctx->soft_ranges[i].end)
			return true;
	return false;
}

/**
 * mnsim_soft_blocked() - __mnsim_soft_blocked() for a waiter
 * @ctx: the device
 * @va: the address a fill is for
 *
 * Context: Any context. Takes and releases tlb.lock.
 * Return: true if a fill of @va must still wait.
 */
static bool mnsim_soft_blocked(struct mnsim_ctx *ctx, unsigned long va)
{
	bool blocked;

	spin_lock(&ctx->tlb.lock);
	blocked = __mnsim_soft_blocked(ctx, va);
	spin_unlock(&ctx->tlb.lock);
	return blocked;
}

/**
 * mnsim_dma() - the device access itself
 * @page: the page the translation points to
 * @va: the device address, for the offset in the page
 * @ubuf: the caller's buffer
 * @len: bytes, not crossing the page
 * @write: device write (from @ubuf into the page), else device read
 *
 * Non-faulting and non-allocating, so that it can run inside the access
 * window, under a window lock (see mnsim_dma_window()).
 *
 * Context: Atomic. Caller holds the window lock of @va.
 * Return: 0, or -EFAULT if @ubuf is not resident (fault it in and retry).
 */
static int mnsim_dma(struct page *page, unsigned long va, void __user *ubuf,
		     size_t len, bool write)
{
	void *kaddr = kmap_local_page(page);
	long ret;

	if (write)
		ret = copy_from_user_nofault(kaddr + offset_in_page(va), ubuf,
					     len);
	else
		ret = copy_to_user_nofault(ubuf, kaddr + offset_in_page(va),
					   len);
	kunmap_local(kaddr);
	return ret ? -EFAULT : 0;
}

/**
 * mnsim_dma_window() - access a page through a TLB translation
 * @ctx: the device
 * @x: the translation, live in the TLB
 * @va: the device address
 * @ubuf: the caller's buffer
 * @len: bytes, not crossing the page
 * @write: device write
 *
 * The access window. It runs under the window lock of @va's region, which
 * the caller took before looking @x up, and which every invalidation of @x
 * passes through after dropping it (sec_tlb_invalidate()), so an
 * invalidation completes only after this access has finished — as an ATS
 * invalidation completion waits for the DMA in flight. tlb.lock is not held:
 * lookups and invalidations of other regions proceed meanwhile. On a correct
 * kernel a live ATS or SOFT translation therefore points to a page that is
 * not freed: ATS drops it in the hook, which the kernel calls before
 * freeing; SOFT drops it at range start, before anything is unmapped, and
 * refills only walk the page table as it is after the change.
 *
 * But the device exists to test kernels that may break that rule, and
 * DEFER drops translations only at range end, after the kernel may have
 * freed the page (seed case A, an mmu_gather batch that overflowed). So in
 * every mode the device touches only memory it still owns: it takes a
 * reference only if the folio is still allocated (the reference keeps it so
 * for the DMA) and checks the page is the one it translated (its fill-time
 * identity, or else the CPU still mapping it at @va, checked by
 * mnsim_reverify() outside the window), else refuses with -EIO and drops
 * the translation. The tool never writes into, or reads out of, a page the
 * kernel freed, however broken the kernel under test.
 *
 * Context: Atomic. Caller holds the window lock of @va, not tlb.lock; takes
 * and releases tlb.lock to drop a refused translation.
 * Return: 0, -EFAULT (fault in @ubuf and retry), -EIO (the page was freed)
 * or MNSIM_NEED_VERIFY (identity changed: verify outside the window).
 */
static int mnsim_dma_window(struct mnsim_ctx *ctx,
			    const struct sec_tlb_xlate *x, unsigned long va,
			    void __user *ubuf, size_t len, bool write)
{
	struct folio *folio;
	struct page *page;
	int ret;

	lockdep_assert_held(sec_tlb_window(&ctx->tlb, va));

	page = pfn_to_online_page(x->pfn);
	if (!page)
		goto refuse;
	folio = page_folio(page);
	if (!folio_try_get(folio))
		goto refuse;
	if (page_folio(page) != folio) {
		folio_put(folio);
		goto refuse;
	}
	if (mnsim_folio_tag(folio, page) != x->tag) {
		/*
		 * Reused, or only re-labelled while mapped: a COW fault that
		 * reuses the page moves its anon rmap, KSM turns it into a
		 * KSM page in place. mnsim_reverify() tells them apart.
		 */
		folio_put(folio);
		return MNSIM_NEED_VERIFY;
	}
	ret = mnsim_dma(page, va, ubuf, len, write);
	folio_put(folio);
	return ret;

refuse:
	/* Our own window is held: drop the entry without waiting for it. */
	spin_lock(&ctx->tlb.lock);
	__sec_tlb_invalidate(&ctx->tlb, x->va, x->va + PAGE_SIZE);
	spin_unlock(&ctx->tlb.lock);
	this_cpu_inc(ctx->cnt->freed_refused);
	return -EIO;
}

/**
 * mnsim_page_request() - the PRI of %MNSIM_BIND_PERM_CACHE: fault in for write
 * @ctx: the device
 * @va: the device address
 * @call: per-call counters; the page request counts as a fault
 *
 * What the kernel's SVA fault handler does for a page request: the CPU's
 * write fault (handle_mm_fault() through GUP), which breaks COW or reuses
 * the page, and does nothing when the PTE is writable already. Always
 * under the mmap_lock, and through GUP's locked walk, which reads the PTE
 * under its page-table lock: see mnsim_perm_fault() for why.
 *
 * Context: Process context; takes the bound mm's mmap_lock for read and
 * may fault. Caller holds bind_rwsem for read, not tlb.lock.
 * Return: 0 once the CPU may write the page, -ESRCH if the address space
 * exited, -EINTR on a fatal signal, -EFAULT if it may not be written.
 */
static int mnsim_page_request(struct mnsim_ctx *ctx, unsigned long va,
			      struct mnsim_call *call)
{
	struct mm_struct *mm = ctx->mm;
	struct page *page;
	int locked = 1;
	long got;

	if (!mmget_not_zero(mm))
		return -ESRCH;
	if (mmap_read_lock_killable(mm)) {
		mmput(mm);
		return -EINTR;
	}
	call->faults++;
	this_cpu_inc(ctx->cnt->faults);
	got = get_user_pages_remote(mm, va, 1, FOLL_WRITE, &page, &locked);
	if (locked)
		mmap_read_unlock(mm);
	mmput(mm);
	if (got != 1)
		return fatal_signal_pending(current) ? -EINTR : -EFAULT;
	put_page(page);
	return 0;
}

static const struct mnsim_dev_ops mnsim_gup_ops = {
	.walk		= mnsim_walk,
	.dma		= mnsim_dma_window,
	.page_request	= mnsim_page_request,
};

/**
 * __mnsim_fill_ok() - may a walk become a TLB entry?
 * @ctx: the device
 * @va: the address walked
 * @seq: what sec_tlb_read_begin() returned before the walk
 *
 * Not if an invalidation ran since (it may have changed the PTE the walk
 * read), nor in SOFT mode while an invalidation of @va is between start
 * and end.
 *
 * Context: Caller holds tlb.lock, the lock every invalidation holds when it
 * bumps the sequence, so the answer holds until the entry is inserted and
 * the lock released.
 * Return: true if the translation may be inserted.
 */
static bool __mnsim_fill_ok(struct mnsim_ctx *ctx, unsigned long va,
			    unsigned long seq)
{
	return !sec_tlb_read_retry(&ctx->tlb, seq) &&
	       !__mnsim_soft_blocked(ctx, va);
}

/* ---- the coherence oracle ------------------------------------------- */

/* The view maps @page (referenced by GUP): keep its pfn, drop the reference. */
static void mnsim_view_set(struct mnsim_cpu_view *cpu, struct page *page,
			   bool writable)
{
	cpu->pfn = page_to_pfn(page);
	cpu->mapped = true;
	cpu->writable = writable;
	put_page(page);
}

/**
 * mnsim_oracle_view() - translate @va on the CPU page table, before an access
 * @ctx: the device
 * @va: the device address
 * @cpu: receives the translation
 *
 * The translation is taken *before* the access: an access that raced an
 * invalidation was legal, since the invalidation waited for it (the access
 * window). Never faults (mnsim_gup_nofault()), so it does not change what
 * it checks. Without the mmap_lock where GUP-fast can
 * (mnsim_walk_lockless()), so that the oracle does not keep the device from
 * translating while a writer of the lock is parked.
 *
 * The view keeps the pfn and drops GUP's reference at once, so that the
 * oracle does not change what it observes for longer than GUP takes: a page
 * reference makes KSM's write_protect_page() refuse to merge and migration
 * retry. The pfn stays meaningful until the lookup without a reference: a
 * page the view saw is freed only after an invalidation of it, which bumps
 * the sequence the lookup re-checks (the device's flush: SOFT at range
 * start, DEFER at range end, ATS in the hook, each before the free), and a
 * kernel that frees a page without it is what the DMA's identity check
 * refuses (case A). What remains: GUP's transient reference, and the locked
 * path's FOLL_TOUCH (the accessed bit; the dirty bit for the write view),
 * taken only where GUP-fast gives up.
 *
 * Context: Process context; unless the lockless walk succeeds, takes the
 * bound mm's mmap_lock for read (mnsim_walk_locked()). Caller must not hold
 * tlb.lock.
 */
static void mnsim_oracle_view(struct mnsim_ctx *ctx, unsigned long va,
			      struct mnsim_cpu_view *cpu)
{
	struct page *page;
	bool writable;
	int ret;

	*cpu = (struct mnsim_cpu_view){};
	if (mnsim_walk_lockless(ctx, va, 0, &page, &writable)) {
		mnsim_view_set(cpu, page, writable);
		return;
	}
	ret = mnsim_walk_locked(ctx->mm, va, 0, &page, &writable, true);
	if (ret == 1)
		mnsim_view_set(cpu, page, writable);
	else if (ret == -EOPNOTSUPP)
		cpu->unknown = true;
}

/*
 * Same content as the page at @pfn? @a is referenced by the caller; the page
 * at @pfn is referenced here, and differs if it was freed.
 */
static bool mnsim_pages_identical(struct page *a, unsigned long pfn)
{
	struct page *b = pfn_to_online_page(pfn);
	struct folio *folio;
	void *ka, *kb;
	bool same;

	if (!b)
		return false;
	folio = page_folio(b);
	if (!folio_try_get(folio))
		return false;
	same = page_folio(b) == folio;
	if (same) {
		ka = kmap_local_page(a);
		kb = kmap_local_page(b);
		same = !memcmp(ka, kb, PAGE_SIZE);
		kunmap_local(kb);
		kunmap_local(ka);
	}
	folio_put(folio);
	return same;
}

/**
 * __mnsim_oracle_judge() - classify an access through a cached translation
 * @x: the device's translation (4 KiB)
 * @cpu: the CPU's, from mnsim_oracle_view()
 * @write: the access is a device write
 * @owin: the invalidation windows of the address at the lookup
 *
 * The hook carries no event type, and KSM's replace reports the same event as
 * a COW, so the verdict comes from page state, content and the invalidation
 * windows (&struct mnsim_owin), never from the event. A translation the CPU
 * no longer has is stale; staleness is allowed only inside a window, where
 * the seed's rules allow it (Documentation/mm/mmu_notifier.rst):
 *
 *  - the CPU maps the same page read-only and the device writes: a
 *    write-protect downgrade (fork, mprotect, KSM's write_protect_page())
 *    may be notified at range end, or at the flush after it;
 *  - the CPU maps nothing and the page is allocated: an unmap needs its
 *    notification only before the page is freed (case A is the free, not
 *    the unmap);
 *  - the CPU maps another page and no hook came since the window opened: an
 *    unmap whose flush is still pending, refaulted by another thread
 *    (MADV_DONTNEED racing an access). The CPU's own TLBs may hold the old
 *    page as long, so the kernel allows it of every TLB, and a write there
 *    is lost as a CPU's would be. A COW that sets the new PTE without its
 *    hook (case B) leaves the same state, but only on 6.1, where the hook
 *    is not the CPU's TLB flush: there the oracle cannot tell the two apart
 *    and allows both, and the seed's data check is what catches such a COW
 *    (mnsim_seed_test.c). From 6.6 the hook is the CPU's flush, which a COW
 *    issues before it sets the new PTE, so after a COW the window is
 *    flushed, or closed;
 *  - in a flushed window, the CPU maps another read-only page of the same
 *    content and the device reads: KSM's replacement may be notified at
 *    range end. Never for a device write, which KSM's page would lose.
 *
 * Everything else the CPU does not map is case B; a page freed, or freed
 * and reused, is case A, in or out of a window.
 *
 * Context: Atomic. Caller holds the window lock of the address.
 * Return: an &enum mnsim_verdict.
 */
static unsigned int __mnsim_oracle_judge(const struct sec_tlb_xlate *x,
					 const struct mnsim_cpu_view *cpu,
					 bool write,
					 enum mnsim_owin_state owin)
{
	unsigned int allowed = owin == MNSIM_OWIN_NONE ?
			       MNSIM_VERDICT_VIOLATION_B :
			       MNSIM_VERDICT_STALE_ALLOWED;
	unsigned int verdict = MNSIM_VERDICT_VIOLATION_B;
	struct folio *folio;
	struct page *old;

	if (cpu->mapped && cpu->pfn == x->pfn)
		return write && !cpu->writable ? allowed :
						 MNSIM_VERDICT_COHERENT;
	if (cpu->unknown)
		return MNSIM_VERDICT_NONE;
	old = pfn_to_online_page(x->pfn);
	if (!old)
		return MNSIM_VERDICT_VIOLATION_A;
	folio = page_folio(old);
	if (!folio_try_get(folio))
		return MNSIM_VERDICT_VIOLATION_A;	/* freed */
	if (page_folio(old) != folio || mnsim_folio_tag(folio, old) != x->tag)
		verdict = MNSIM_VERDICT_VIOLATION_A;	/* freed and reused */
	else if (!cpu->mapped)
		verdict = allowed;			/* unmapped, not freed */
	else if (owin == MNSIM_OWIN_UNFLUSHED)
		verdict = MNSIM_VERDICT_STALE_ALLOWED;	/* refault, unflushed */
	else if (!write && !cpu->writable &&
		 mnsim_pages_identical(old, cpu->pfn))
		verdict = allowed;			/* KSM */
	folio_put(folio);
	return verdict;
}

/**
 * mnsim_reverify() - is a translation whose page changed identity still the
 *	CPU's?
 * @ctx: the device
 * @va: the device address
 * @x: the translation
 *
 * The page is allocated but no longer carries the identity the device saw at
 * fill time. If the CPU still maps it at @va, only its label changed (COW
 * reuse, KSM in place): drop the translation so that the next walk refreshes
 * it. Otherwise the kernel freed the page and reused it: the seed's case A,
 * which the device refuses.
 *
 * Context: Process context; takes the bound mm's mmap_lock for read, then
 * tlb.lock and the window lock of @va (not held by the caller).
 * Return: 0 (walk again) or -EIO.
 */
static int mnsim_reverify(struct mnsim_ctx *ctx, unsigned long va,
			  const struct sec_tlb_xlate *x)
{
	struct mnsim_cpu_view cpu;
	bool same;

	mnsim_oracle_view(ctx, va, &cpu);
	/* Unknown (6.1 hugetlb): drop it and walk again, as for a relabel. */
	same = cpu.unknown || (cpu.mapped && cpu.pfn == x->pfn);
	sec_tlb_invalidate(&ctx->tlb, x->va, x->va + PAGE_SIZE);
	if (same)
		return 0;
	this_cpu_inc(ctx->cnt->freed_refused);
	return -EIO;
}

/**
 * __mnsim_translate() - the index half of a device access
 * @ctx: the device
 * @va: device address
 * @write: the access is a write
 * @walked: a walk's translation to fill, or NULL to look @va up
 * @seq: what sec_tlb_read_begin() returned before that walk or, for a
 *	lookup by an oracle device, before the oracle's view
 * @fills: oracle: what sec_tlb_fills() returned before the view
 * @x: receives the translation to access through
 * @call: per-call counters
 *
 * Fills @walked only if no invalidation raced its walk (the
 * fill-vs-invalidate argument of __mnsim_fill_ok()). An oracle device looks
 * up only if no invalidation ran since its view was taken, and judges a hit
 * only on an entry inserted before the view (see __mnsim_access_page()).
 *
 * Context: Atomic. Caller holds the window lock of @va, then tlb.lock.
 * Return: MNSIM_HIT or MNSIM_FILLED (access through *@x before leaving the
 * window), MNSIM_NEED_WALK, MNSIM_NEED_VIEW (take a new view),
 * MNSIM_NEED_PRI (%MNSIM_BIND_PERM_CACHE: a write found @va cached
 * read-only), or -ESRCH if the address space exited.
 */
static int __mnsim_translate(struct mnsim_ctx *ctx, unsigned long va,
			     bool write, const struct sec_tlb_xlate *walked,
			     unsigned long seq, unsigned long fills,
			     struct sec_tlb_xlate *x, struct mnsim_call *call)
{
	struct sec_tlb *tlb = &ctx->tlb;

	lockdep_assert_held(&tlb->lock);
	if (ctx->dead)
		return -ESRCH;
	if (walked) {
		if (!__mnsim_fill_ok(ctx, va, seq))
			return MNSIM_NEED_WALK;
		__sec_tlb_insert(tlb, walked);
		/* Access through the 4 KiB of @va, as a lookup returns it. */
		*x = *walked;
		x->va = va & PAGE_MASK;
		x->pfn += (x->va - walked->va) >> PAGE_SHIFT;
		x->shift = PAGE_SHIFT;
		return MNSIM_FILLED;
	}
	if (ctx->oracle && sec_tlb_read_retry(tlb, seq))
		return MNSIM_NEED_VIEW;
	if (__sec_tlb_lookup(tlb, va, write ? SEC_TLB_W : SEC_TLB_R, x)) {
		/*
		 * Inserted after the view was taken: another thread's walk
		 * saw a PTE the view may not have, one a fault set where the
		 * view found none (a zap's refault), which needs no
		 * invalidation and so bumps no sequence. The entry is what
		 * the CPU maps now (no invalidation ran since its walk);
		 * take a new view that sees it too.
		 */
		if (ctx->oracle && x->filled >= fills)
			return MNSIM_NEED_VIEW;
		call->hits++;
		/* The access window is open: no hook of @va completes now. */
		if (ctx->oracle)
			call->owin = __mnsim_owin_state(ctx, va);
		return MNSIM_HIT;
	}
	/*
	 * An SMMU's TLB answers a write to a page it holds read-only with a
	 * permission fault, without walking: mnsim_perm_fault().
	 */
	if (ctx->perm_cache && write && x->perm)
		return MNSIM_NEED_PRI;
	call->misses++;
	return MNSIM_NEED_WALK;
}

/**
 * __mnsim_window_access() - the access half of a device access
 * @ctx: the device
 * @x: the translation __mnsim_translate() just gave
 * @how: MNSIM_HIT or MNSIM_FILLED
 * @va: device address
 * @ubuf: caller's buffer
 * @len: bytes, not crossing the page
 * @write: device write
 * @cpu: the oracle's CPU view, from before the lookup
 * @call: per-call counters
 *
 * The event, the oracle's verdict and the DMA through @x.
 *
 * Context: Atomic. Caller holds the window lock of @va, not tlb.lock.
 * Return: as mnsim_dma_window().
 */
static int __mnsim_window_access(struct mnsim_ctx *ctx,
				 const struct sec_tlb_xlate *x, int how,
				 unsigned long va, void __user *ubuf,
				 size_t len, bool write,
				 const struct mnsim_cpu_view *cpu,
				 struct mnsim_call *call)
{
	unsigned int evf = write ? MNSIM_EVF_WRITE : 0;
	unsigned int verdict;

	/* The window, and only it: lookups of other regions go on. */
	lockdep_assert_held(sec_tlb_window(&ctx->tlb, va));
	lockdep_assert_not_held(&ctx->tlb.lock);
	mnsim_ev(ctx, how == MNSIM_FILLED ? MNSIM_EV_FILL : MNSIM_EV_HIT,
		 x->va, x->va + PAGE_SIZE, 0, evf, 0);
	if (ctx->oracle) {
		/* Just walked: the CPU's own translation. */
		verdict = how == MNSIM_FILLED ? MNSIM_VERDICT_COHERENT :
			  __mnsim_oracle_judge(x, cpu, write, call->owin);
		call->verdict = max(call->verdict, verdict);
	}
	return ctx->ops->dma(ctx, x, va, ubuf, len, write);
}

/**
 * mnsim_perm_fault() - a write found its page cached read-only
 * @ctx: the device, bound with %MNSIM_BIND_PERM_CACHE
 * @va: the device address
 * @nr: the number of this permission fault in the access, from 1
 * @call: per-call counters; receives %MNSIM_VERDICT_STUCK_RO
 *
 * An SMMU without BTM answers the write from its TLB with a permission
 * fault and does not walk: the device sends a page request, the kernel
 * faults the page in for write, and the device tries again, through the
 * TLB, which still holds the read-only entry unless the secondary-TLB hook
 * dropped it meanwhile. The caller retries the lookup after a 0.
 *
 * The entry was filled from a walk that found the PTE read-only (a walk of
 * this device caches what the PTE grants, mnsim_walk()), and a page request
 * that returns 0 found it writable. In between the kernel made the PTE
 * writable: a COW break replaces it (ptep_clear_flush(), which calls the
 * hook on every kernel), a write-fault reuse sets it in place under the
 * page-table lock (ptep_set_access_flags(), which calls the hook on arm64
 * from 6.6 only), an mprotect() upgrade under the mmap_lock held for write
 * (the hook at range end up to 6.5, in the mmu_gather's flush from 6.6).
 * The page request reads the PTE under the mmap_lock and the page-table
 * lock (mnsim_page_request()), so it returns only after any hook that the
 * kernel calls while holding either for the change it found: if the entry
 * survives it, that hook never came. One page request is then enough on a
 * correct kernel; the device tries %MNSIM_PERM_FAULTS_MAX before it calls
 * itself stuck, in case the PTE changed again in between.
 *
 * Context: Process context; may fault (mnsim_page_request()). Caller holds
 * bind_rwsem for read, not tlb.lock nor a window lock.
 * Return: 0 (page request answered: look up again), -EACCES (stuck, the
 * %MNSIM_PERM_FAULTS_MAX + 1st fault), -ENOENT (%MNSIM_ACCESS_NOFAULT: no
 * page request) or mnsim_page_request()'s errno.
 */
static int mnsim_perm_fault(struct mnsim_ctx *ctx, unsigned long va,
			    unsigned int nr, struct mnsim_call *call)
{
	this_cpu_inc(ctx->cnt->perm_faults);
	mnsim_ev(ctx, MNSIM_EV_PERM_FAULT, va & PAGE_MASK,
		 (va & PAGE_MASK) + PAGE_SIZE, nr, MNSIM_EVF_WRITE, 0);
	if (nr > MNSIM_PERM_FAULTS_MAX) {
		call->verdict = MNSIM_VERDICT_STUCK_RO;
		return -EACCES;
	}
	if (call->nofault)
		return -ENOENT;
	return ctx->ops->page_request(ctx, va, call);
}

/**
 * __mnsim_access_page() - one device access that does not cross a page
 * @ctx: the device
 * @va: device address
 * @ubuf: caller's buffer
 * @len: bytes
 * @write: device write
 * @call: per-call counters
 *
 * Lookup; on a miss walk without any TLB lock, then fill only if no
 * invalidation ran since the walk began. The lookup or fill and the access
 * happen in one access window (the window lock of @va's region, held
 * throughout; tlb.lock only around the index): an invalidation of @va
 * cannot slip between them, and returns only after the access (see
 * sec_tlb_invalidate()).
 *
 * The oracle judges a hit against a view of the CPU page table taken before
 * the lookup, and only if no invalidation ran in between: see the comment
 * at the view below.
 *
 * Context: Process context; may sleep outside the window. Caller holds
 * bind_rwsem for read. Takes and releases the window lock of @va and,
 * inside it, tlb.lock.
 * Return: 0 or a negative errno of the uAPI table.
 */
static int __mnsim_access_page(struct mnsim_ctx *ctx, unsigned long va,
			       void __user *ubuf, size_t len, bool write,
			       struct mnsim_call *call)
{
	spinlock_t *win = sec_tlb_window(&ctx->tlb, va);
	struct sec_tlb *tlb = &ctx->tlb;
	struct mnsim_cpu_view cpu = {};
	struct sec_tlb_xlate x, walked;
	unsigned int tries = 0, perm_faults = 0;
	unsigned long seq = 0, fills = 0;
	bool have_walk = false;
	int ret;

	for (;;) {
		if (ctx->oracle && !have_walk) {
			/*
			 * Sample the sequence before the view; re-check it
			 * under tlb.lock before the lookup, in
			 * __mnsim_translate(). Pairs with the bump in every
			 * invalidation (__sec_tlb_bump_seq()), made under
			 * tlb.lock, and orders like a fill's walk: the
			 * smp_rmb() in sec_tlb_read_begin() against its
			 * smp_wmb().
			 *
			 * A hit returns an entry E whose fill passed the same
			 * check for its own walk W. If the PTE changed between
			 * W and our view, the change was invalidated before
			 * the view saw the new PTE: SOFT invalidates at range
			 * start; for ATS, a COW, KSM or migration clears and
			 * flushes (ptep_clear_flush()) before it sets the new
			 * PTE, and a zap leaves it none until its flush, a
			 * view the judge allows to be stale (unless a CPU
			 * fault refills it before the flush, a window the
			 * CPU's own TLBs have too and that the oracle cannot
			 * tell from case B; a device fault instead replaces
			 * E, see __sec_tlb_insert()). That bump came
			 * after W's sample, so either E's fill failed or the
			 * bump dropped E; or it came after our sample, and the
			 * re-check fails: take a new view and look up again.
			 * Evictions need no bump: an eviction turns a hit into
			 * a miss (a miss is filled from a walk, judged
			 * coherent). Nor do fills, but the view must be older
			 * than E: a PTE that goes from none to present (a
			 * fault) is no invalidation, so an E inserted after
			 * our view may map a page our view found none of, a
			 * zap's refault by another thread: judged against
			 * that view it would be case B. E's stamp
			 * (sec_tlb_xlate.filled) against the insertion count
			 * sampled here, before the sequence: E newer than the
			 * view takes a new view (__mnsim_translate()). Seen
			 * on 6.1 in oracle.ats.shared_device_no_violation.
			 */
			fills = sec_tlb_fills(tlb);
			seq = sec_tlb_read_begin(tlb);
			mnsim_oracle_view(ctx, va, &cpu);
		}
		sec_tlb_window_open(tlb, win);
		spin_lock(&tlb->lock);
		ret = __mnsim_translate(ctx, va, write,
					have_walk ? &walked : NULL, seq, fills,
					&x, call);
		spin_unlock(&tlb->lock);
		if (ret == MNSIM_HIT || ret == MNSIM_FILLED)
			ret = __mnsim_window_access(ctx, &x, ret, va, ubuf,
						    len, write, &cpu, call);
		sec_tlb_window_close(tlb, win);

		if (ret == MNSIM_NEED_PRI) {
			ret = mnsim_perm_fault(ctx, va, ++perm_faults, call);
			if (ret)
				return ret;
			continue;	/* have_walk is false: look up again */
		}
		if (ret != -EFAULT && ret != MNSIM_NEED_WALK &&
		    ret != MNSIM_NEED_VERIFY && ret != MNSIM_NEED_VIEW)
			return ret;
		if (++tries > MNSIM_MAX_TRIES)
			return -EAGAIN;
		if (ret == MNSIM_NEED_VIEW)
			continue;	/* have_walk is false: a new view */
		if (ret == MNSIM_NEED_VERIFY) {
			ret = mnsim_reverify(ctx, va, &x);
			if (ret)
				return ret;
			have_walk = false;
			continue;
		}
		if (ret == -EFAULT) {
			/* The caller's buffer: fault it in outside the window. */
			if (write ? fault_in_readable(ubuf, len) :
				    fault_in_writeable(ubuf, len))
				return -EFAULT;
			have_walk = false;
			continue;
		}

		if (have_walk)
			this_cpu_inc(ctx->cnt->fill_retries);
		if (ctx->mode == MNSIM_MODE_SOFT &&
		    wait_event_killable(ctx->soft_wq,
					!mnsim_soft_blocked(ctx, va)))
			return -EINTR;
		seq = sec_tlb_read_begin(tlb);
		ret = ctx->ops->walk(ctx, va, write, &walked, call);
		if (ret == MNSIM_NEED_WALK)
			continue;	/* PERM_CACHE's page request answered */
		if (ret)
			return ret;
		have_walk = true;
	}
}

/**
 * mnsim_access_page() - __mnsim_access_page() and its ACCESS event
 * @ctx: the device, bound
 * @va: the device address
 * @ubuf: the caller's buffer
 * @len: bytes, not crossing a page of @va
 * @write: device write
 * @call: the call's counters; receives the oracle's verdict
 *
 * The event carries the first bytes moved, or the errno of a refused
 * access, for the timeline.
 *
 * Context: as __mnsim_access_page(); the event takes ev_lock after the
 * access window has closed.
 * Return: as __mnsim_access_page().
 */
static int mnsim_access_page(struct mnsim_ctx *ctx, unsigned long va,
			     void __user *ubuf, size_t len, bool write,
			     struct mnsim_call *call)
{
	unsigned int flags = write ? MNSIM_EVF_WRITE : 0;
	u64 value = 0;
	int ret;

	call->verdict = MNSIM_VERDICT_NONE;
	call->owin = MNSIM_OWIN_NONE;
	ret = __mnsim_access_page(ctx, va, ubuf, len, write, call);
	/* Refused because the kernel freed the page: the seed's case A. */
	if (ret == -EIO && ctx->oracle)
		call->verdict = MNSIM_VERDICT_VIOLATION_A;
	if (call->verdict)
		this_cpu_inc(ctx->cnt->verdicts[call->verdict]);
	flags |= call->verdict << MNSIM_EVF_VERDICT_SHIFT;

	if (!mnsim_ev_on(ctx))
		return ret;
	if (ret) {
		flags |= MNSIM_EVF_REFUSED;
		value = (s64)ret;
	} else if (copy_from_user(&value, ubuf, min(len, sizeof(value)))) {
		value = 0;
	}
	mnsim_ev(ctx, MNSIM_EV_ACCESS, va, va + len, value, flags, 0);
	return ret;
}

/**
 * mnsim_check_range() - the argument checks of one device access range
 * @va: first byte
 * @len: bytes; 0 is a valid, empty access
 *
 * Arguments are checked before the device's state (the uAPI's rule: E2BIG
 * and EINVAL before ENXIO), so the commands call this before they look at
 * the binding; mnsim_access() checks again for the ranges it is given.
 *
 * Context: Any context.
 * Return: 0, -E2BIG (above %MNSIM_MAX_ACCESS_LEN) or -EINVAL (the range
 * wraps or reaches the kernel half).
 */
static int mnsim_check_range(u64 va, u64 len)
{
	u64 last;

	if (!len)
		return 0;
	if (len > MNSIM_MAX_ACCESS_LEN)
		return -E2BIG;
	if (check_add_overflow(va, len - 1, &last) || last >= TASK_SIZE_MAX)
		return -EINVAL;
	return 0;
}

/**
 * mnsim_access() - device DMA over a byte range, page by page
 * @ctx: the device
 * @va: first byte
 * @len: bytes, already checked against %MNSIM_MAX_ACCESS_LEN
 * @ubuf: caller's buffer
 * @write: device write
 * @call: per-call counters
 *
 * Context: Process context. Caller holds bind_rwsem for read.
 * Return: 0 or a negative errno of the uAPI table.
 */
static int mnsim_access(struct mnsim_ctx *ctx, u64 va, u64 len, u64 ubuf,
			bool write, struct mnsim_call *call)
{
	int ret;

	ret = mnsim_check_range(va, len);
	if (ret)
		return ret;
	while (len) {
		size_t chunk = min_t(u64, len, PAGE_SIZE - offset_in_page(va));

		ret = mnsim_access_page(ctx, va, u64_to_user_ptr(ubuf), chunk,
					write, call);
		if (ret)
			return ret;
		va += chunk;
		ubuf += chunk;
		len -= chunk;
		if (fatal_signal_pending(current))
			return -EINTR;
		cond_resched();
	}
	return 0;
}

/* ---- bind / unbind ---------------------------------------------------- */

/*
 * Binding another process. A module cannot call ptrace_may_access(), so we
 * ask for the capability with which it lets any tracer through its own
 * checks: CAP_SYS_PTRACE over the target's credentials and over the user
 * namespace its exec granted its address space (mnsim_exec_user_ns()), which
 * covers a non-dumpable target. Same-uid callers without the capability are
 * refused, which ptrace would allow. LSM hooks (Yama's ptrace_scope=3 refuses
 * even CAP_SYS_PTRACE) are not consulted; the device node is 0600, so only
 * its owner (root) can reach this at all.
 *
 * Context: Process context; @task and @mm pinned. Takes rcu_read_lock() to
 * take a reference on the exec namespace.
 */
static bool mnsim_may_attach(struct task_struct *task, struct mm_struct *mm)
{
	const struct cred *tcred = get_task_cred(task);
	struct user_namespace *exec_ns;
	bool ok;

	rcu_read_lock();
	exec_ns = get_user_ns(mnsim_exec_user_ns(task, mm));
	rcu_read_unlock();
	ok = ns_capable(tcred->user_ns, CAP_SYS_PTRACE) &&
	     ns_capable(exec_ns, CAP_SYS_PTRACE);
	put_user_ns(exec_ns);
	put_cred(tcred);
	return ok;
}

/**
 * mnsim_target_mm() - the address space BIND attaches to
 * @target: a pid in the caller's namespace, 0 for self
 * @tgid: receives its process's tgid in the initial pid namespace
 *
 * Context: Process context. Takes rcu_read_lock() to find the task.
 * Return: the mm with mm_users held (the caller drops it once registered),
 * or ERR_PTR(-EINVAL), ERR_PTR(-ESRCH) or ERR_PTR(-EPERM).
 */
static struct mm_struct *mnsim_target_mm(s32 target, pid_t *tgid)
{
	struct task_struct *task;
	struct mm_struct *mm;

	if (target < 0)
		return ERR_PTR(-EINVAL);
	if (target == MNSIM_TARGET_SELF || target == task_tgid_vnr(current)) {
		*tgid = task_tgid_nr(current);
		return get_task_mm(current) ?: ERR_PTR(-ESRCH);
	}

	rcu_read_lock();
	task = pid_task(find_vpid(target), PIDTYPE_TGID);
	if (task)
		get_task_struct(task);
	rcu_read_unlock();
	if (!task)
		return ERR_PTR(-ESRCH);

	*tgid = task_tgid_nr(task);
	mm = get_task_mm(task);
	if (!mm) {
		mm = ERR_PTR(-ESRCH);
	} else if (!mnsim_may_attach(task, mm)) {
		mmput(mm);
		mm = ERR_PTR(-EPERM);
	}
	put_task_struct(task);
	return mm;
}

/**
 * mnsim_check_bind() - check a BIND command before anything is allocated
 * @arg: the command
 *
 * Context: Process context. Takes no lock.
 * Return: 0, -EOPNOTSUPP (also %MNSIM_BIND_PERM_CACHE off arm64), -EINVAL
 * (also %MNSIM_BIND_PERM_CACHE outside ATS) or -EPERM (DEFER and
 * %MNSIM_BIND_NO_FLUSH need CAP_SYS_ADMIN).
 */
static int mnsim_check_bind(const struct mnsim_bind *arg)
{
	if (arg->flags & ~MNSIM_BIND_FLAGS)
		return -EOPNOTSUPP;
	if (arg->__reserved[0] || arg->__reserved[1])
		return -EINVAL;
	/* An SMMU's TLB: ATS is the only mode with a hardware TLB. */
	if ((arg->flags & MNSIM_BIND_PERM_CACHE) &&
	    arg->mode != MNSIM_MODE_ATS)
		return -EINVAL;
	switch (arg->mode) {
	case MNSIM_MODE_ATS:
		if (!MNSIM_HOOK_CALLED) {
			pr_info_once("ATS mode unavailable: this architecture never calls the secondary-TLB hook\n");
			return -EOPNOTSUPP;
		}
		break;
	case MNSIM_MODE_SOFT:
		break;
	case MNSIM_MODE_DEFER:
		if (!capable(CAP_SYS_ADMIN))
			return -EPERM;
		break;
	default:
		return -EINVAL;
	}
	/* Fault injection: a device that keeps stale translations. */
	if ((arg->flags & MNSIM_BIND_NO_FLUSH) && !capable(CAP_SYS_ADMIN))
		return -EPERM;
	return 0;
}

/**
 * mnsim_ev_init() - reset the event ring for a new binding
 * @ctx: the device
 * @record: the binding records events; the ring is allocated the first
 *	time one does
 *
 * Context: Process context; may sleep (GFP_KERNEL_ACCOUNT). Caller holds
 * bind_rwsem for write, before the notifiers are registered. Takes and
 * releases ev_lock.
 * Return: 0 or -ENOMEM.
 */
static int mnsim_ev_init(struct mnsim_ctx *ctx, bool record)
{
	if (record && !ctx->ev_ring) {
		if (!sec_tlb_fail_alloc())
			ctx->ev_ring = kvcalloc(MNSIM_EVENT_RING,
						sizeof(*ctx->ev_ring),
						GFP_KERNEL_ACCOUNT);
		if (!ctx->ev_ring)
			return -ENOMEM;
	}
	spin_lock(&ctx->ev_lock);
	ctx->ev_head = 0;
	ctx->ev_tail = 0;
	ctx->ev_lost = 0;
	ctx->ev_gen++;
	spin_unlock(&ctx->ev_lock);
	WRITE_ONCE(ctx->record, record);
	return 0;
}

/**
 * mnsim_reset_counters() - zero the counters for a new binding
 * @ctx: the device
 *
 * Context: Process context. Caller holds bind_rwsem for write, before the
 * notifiers are registered. Takes and releases park_lock.
 */
static void mnsim_reset_counters(struct mnsim_ctx *ctx)
{
	int cpu;

	for_each_possible_cpu(cpu)
		memset(per_cpu_ptr(ctx->cnt, cpu), 0, sizeof(*ctx->cnt));
	spin_lock(&ctx->park_lock);
	ctx->park_fired = 0;
	ctx->park_timeouts = 0;
	spin_unlock(&ctx->park_lock);
}

/**
 * mnsim_prime_lockdep() - teach lockdep that reclaim takes our locks
 * @ctx: the device
 *
 * Once per BIND: reclaim takes the window locks, tlb.lock (inside a window,
 * as an access does) and ev_lock, because the kernel calls the
 * secondary-TLB hook from reclaim's TLB flush batches. An allocation that
 * may reclaim under any of them is then reported as a deadlock even in a
 * test where reclaim never runs. (The mmu_notifier core primes
 * __mmu_notifier_invalidate_range_start_map the same way.) The window
 * locks share one lock class.
 *
 * Context: Process context. Caller holds bind_rwsem for write. Takes and
 * releases a window lock, tlb.lock inside it, then ev_lock, all inside
 * fs_reclaim_acquire().
 */
static void mnsim_prime_lockdep(struct mnsim_ctx *ctx)
{
	spinlock_t *win = &ctx->tlb.windows[0];

	fs_reclaim_acquire(GFP_KERNEL);
	spin_lock(win);
	spin_lock(&ctx->tlb.lock);
	spin_unlock(&ctx->tlb.lock);
	spin_unlock(win);
	spin_lock(&ctx->ev_lock);
	spin_unlock(&ctx->ev_lock);
	fs_reclaim_release(GFP_KERNEL);
}

/*
 * Who watches the range callbacks of an ATS binding: they only count,
 * record and park there, and a COW fault costs less without them.
 */
static bool mnsim_ats_watched(const struct mnsim_bind *arg)
{
	return (arg->flags & MNSIM_BIND_RECORD) || trace_mnsim_event_enabled();
}

/**
 * __mnsim_bind_mm() - bind a device to an address space
 * @ctx: the device
 * @mm: the address space; the caller holds its mm_users
 * @arg: a command mnsim_check_bind() accepted
 * @tgid: reported by the debugfs contexts file
 *
 * KUnit's real-mm suite binds this way: a kthread has no task mm for
 * mnsim_target_mm() to find.
 *
 * Context: Process context; may sleep. Takes bind_rwsem for write;
 * mmu_notifier_register() takes @mm's mmap_lock for write.
 * Return: 0, -EBUSY (bound already), -ENOMEM (the global entry budget), or
 * what sec_tlb_init() or mmu_notifier_register() returns.
 */
static int __mnsim_bind_mm(struct mnsim_ctx *ctx, struct mm_struct *mm,
			   const struct mnsim_bind *arg, pid_t tgid)
{
	unsigned int capacity = arg->capacity ?: default_capacity;
	int ret;

	down_write(&ctx->bind_rwsem);
	ret = -EBUSY;
	if (ctx->bound)
		goto out_unlock;
	ret = mnsim_ev_init(ctx, arg->flags & MNSIM_BIND_RECORD);
	if (ret)
		goto out_unlock;
	ret = -ENOMEM;
	if (!mnsim_reserve_entries(capacity))
		goto out_unlock;
	ret = sec_tlb_init(&ctx->tlb, capacity);
	if (ret)
		goto out_unreserve;
	mnsim_reset_counters(ctx);
	ctx->oracle = arg->flags & MNSIM_BIND_ORACLE;
	ctx->no_flush = arg->flags & MNSIM_BIND_NO_FLUSH;
	ctx->perm_cache = arg->flags & MNSIM_BIND_PERM_CACHE;
	ctx->mode = arg->mode;
	ctx->dead = false;
	ctx->soft_nr = 0;
	ctx->soft_overflow = 0;
	ctx->owin_nr = 0;
	ctx->owin_overflow = 0;

	mnsim_prime_lockdep(ctx);

	/*
	 * ATS: tlb_mn first, range_mn after it, so that an END park stops the
	 * thread before this device's hook of the same walk runs.
	 *
	 * Every walk of the subscriptions runs newest first:
	 * __mmu_notifier_register() adds a subscription with
	 * hlist_add_head_rcu(), and the walks are hlist_for_each_entry_rcu()
	 * from the head. 6.1's mn_hlist_invalidate_end() calls, for each
	 * subscription in turn, ->invalidate_range() (unless the path is
	 * only_end) and then ->invalidate_range_end(). With range_mn the
	 * older of the two, tlb_mn's hook would flush the device TLB before
	 * range_mn's END park stopped the thread, and a device access in the
	 * park window would find a TLB the kernel had already flushed: a
	 * kernel that defers the hook to range_end (the seed document's
	 * protocol) would look correct. __mnsim_watch_ranges() registers
	 * range_mn at the first PARK, later still, so the order holds for
	 * every bind, watched or not.
	 *
	 * 6.12's mn_hlist_invalidate_end() calls no hook: the hook runs from
	 * the architecture's TLB flush, in a walk of its own
	 * (__mmu_notifier_arch_invalidate_secondary_tlbs()), so there the
	 * order does not matter; it is the same on both.
	 *
	 * A park orders only against the hooks of subscriptions older than
	 * its range_mn: another device bound to the same mm later has its
	 * hook walked first.
	 *
	 * The oracle needs both in every mode: the range callbacks open and
	 * close its windows, the hook tells them the kernel flushed
	 * (mnsim_owin_end()); the same order puts a 6.1 range end's hook
	 * after the window's end.
	 */
	ctx->range_registered = false;
	ctx->tlb_registered = ctx->mode == MNSIM_MODE_ATS || ctx->oracle;
	if (ctx->tlb_registered) {
		ctx->tlb_mn.ops = ctx->mode == MNSIM_MODE_ATS ?
				  &mnsim_tlb_ops : &mnsim_observe_ops;
		ret = sec_tlb_fail_alloc() ? -ENOMEM :
					   mmu_notifier_register(&ctx->tlb_mn, mm);
		if (ret)
			goto out_free_tlb;
	}
	if (ctx->mode != MNSIM_MODE_ATS || ctx->oracle ||
	    mnsim_ats_watched(arg)) {
		ctx->range_mn.ops = ctx->mode == MNSIM_MODE_ATS ?
				    &mnsim_ats_range_ops : &mnsim_range_ops;
		ret = sec_tlb_fail_alloc() ? -ENOMEM :
					   mmu_notifier_register(&ctx->range_mn, mm);
		if (ret)
			goto out_unregister_tlb;
		ctx->range_registered = true;
	}
	mmgrab(mm);
	ctx->mm = mm;
	ctx->tgid = tgid;
	ctx->bound = true;
	up_write(&ctx->bind_rwsem);
	return 0;

out_unregister_tlb:
	if (ctx->tlb_registered)
		mmu_notifier_unregister(&ctx->tlb_mn, mm);
out_free_tlb:
	ctx->tlb_registered = false;
	sec_tlb_destroy(&ctx->tlb);
out_unreserve:
	atomic_long_sub(capacity, &mnsim_total_entries);
out_unlock:
	up_write(&ctx->bind_rwsem);
	return ret;
}

/**
 * mnsim_bind() - ioctl(MNSIM_IOC_BIND)
 * @ctx: the device
 * @arg: the command
 *
 * Context: Process context. Takes bind_rwsem for write; mmu_notifier_register()
 * takes the target's mmap_lock for write.
 * Return: 0 or a negative errno of the uAPI table.
 */
static int mnsim_bind(struct mnsim_ctx *ctx, struct mnsim_bind *arg)
{
	unsigned int capacity = arg->capacity ?: default_capacity;
	struct mm_struct *mm;
	pid_t tgid = 0;
	int ret;

	ret = mnsim_check_bind(arg);
	if (ret)
		return ret;
	if (capacity > mnsim_capacity_cap())
		return -EINVAL;
	mm = mnsim_target_mm(arg->target, &tgid);
	if (IS_ERR(mm))
		return PTR_ERR(mm);
	ret = __mnsim_bind_mm(ctx, mm, arg, tgid);
	mmput(mm);
	return ret;
}

/**
 * __mnsim_unbind() - undo mnsim_bind()
 * @ctx: the device, bound
 *
 * mmu_notifier_unregister() waits (SRCU) for callbacks in flight, so
 * nothing touches the TLB once it returns.
 *
 * Context: Process context; may sleep. Caller holds bind_rwsem for write.
 */
static void __mnsim_unbind(struct mnsim_ctx *ctx)
{
	unsigned int nr_live;

	lockdep_assert_held_write(&ctx->bind_rwsem);

	/* unregister waits for callbacks in flight: none may stay parked. */
	mnsim_park_release(ctx, true, true);
	if (ctx->tlb_registered)
		mmu_notifier_unregister(&ctx->tlb_mn, ctx->mm);
	ctx->tlb_registered = false;
	if (ctx->range_registered)
		mmu_notifier_unregister(&ctx->range_mn, ctx->mm);
	ctx->range_registered = false;
	sec_tlb_get_stats(&ctx->tlb, &ctx->saved, &nr_live);
	atomic_long_sub(ctx->tlb.capacity, &mnsim_total_entries);
	sec_tlb_destroy(&ctx->tlb);
	if (ctx->walker) {
		kthread_destroy_worker(ctx->walker);
		ctx->walker = NULL;
	}
	mmdrop(ctx->mm);
	ctx->mm = NULL;
	ctx->tgid = 0;
	ctx->bound = false;
}

/**
 * __mnsim_watch_ranges() - ATS: register the range callbacks on first use
 * @ctx: the device, bound in ATS mode
 *
 * The first time someone wants them (a PARK). mmu_notifier_register()
 * takes the mmap_lock for write and mm_take_all_locks(): heavy, but parks
 * are fault injection for tests. No park can be parked yet (parks fire in
 * those callbacks), so nothing of ours holds that mmap_lock. An address
 * space that exited gets no more callbacks: nothing to register.
 *
 * Context: Process context; may sleep. Caller holds bind_rwsem for write.
 * Return: 0, or what mmu_notifier_register() returns.
 */
static int __mnsim_watch_ranges(struct mnsim_ctx *ctx)
{
	int ret;

	lockdep_assert_held_write(&ctx->bind_rwsem);
	if (ctx->range_registered || !mmget_not_zero(ctx->mm))
		return 0;
	ctx->range_mn.ops = &mnsim_ats_range_ops;
	ret = sec_tlb_fail_alloc() ? -ENOMEM :
				   mmu_notifier_register(&ctx->range_mn, ctx->mm);
	mmput(ctx->mm);
	if (!ret)
		ctx->range_registered = true;
	return ret;
}

/* ---- ioctls ----------------------------------------------------------- */

/**
 * mnsim_ioctl_info() - ioctl(MNSIM_IOC_INFO)
 * @ctx: the device
 * @data: &struct mnsim_info, copied in by mnsim_ioctl()
 *
 * Context: Process context. Takes no lock.
 *
 * Return: 0, or a negative errno of the table in the uAPI header's DOC.
 */
static int mnsim_ioctl_info(struct mnsim_ctx *ctx, void *data)
{
	struct mnsim_info *arg = data;

	if (arg->flags)
		return -EOPNOTSUPP;
	memset(arg, 0, sizeof(*arg));
	arg->abi_version = MNSIM_ABI_VERSION;
	arg->hook = MNSIM_HOOK_CALLED ? MNSIM_HOOK_KIND : MNSIM_HOOK_NONE;
	arg->modes = BIT(MNSIM_MODE_SOFT) | BIT(MNSIM_MODE_DEFER);
	if (MNSIM_HOOK_CALLED)
		arg->modes |= BIT(MNSIM_MODE_ATS);
	arg->page_size = PAGE_SIZE;
	arg->default_capacity = default_capacity;
	arg->max_capacity = mnsim_capacity_cap();
	arg->bind_flags = MNSIM_BIND_FLAGS;
	return 0;
}

/**
 * mnsim_ioctl_bind() - ioctl(MNSIM_IOC_BIND)
 * @ctx: the device
 * @data: &struct mnsim_bind, copied in by mnsim_ioctl()
 *
 * Context: as mnsim_bind().
 *
 * Return: 0, or a negative errno of the table in the uAPI header's DOC.
 */
static int mnsim_ioctl_bind(struct mnsim_ctx *ctx, void *data)
{
	return mnsim_bind(ctx, data);
}

/**
 * mnsim_ioctl_unbind() - ioctl(MNSIM_IOC_UNBIND)
 * @ctx: the device
 * @data: &struct mnsim_unbind, copied in by mnsim_ioctl()
 *
 * Context: Process context; may sleep. Releases the parks, then takes
 * bind_rwsem for write.
 *
 * Return: 0, or a negative errno of the table in the uAPI header's DOC.
 */
static int mnsim_ioctl_unbind(struct mnsim_ctx *ctx, void *data)
{
	struct mnsim_unbind *arg = data;
	int ret = -ENXIO;

	if (arg->flags)
		return -EOPNOTSUPP;
	if (arg->__pad || arg->__reserved)
		return -EINVAL;
	/*
	 * A device access waiting for a parked range end holds bind_rwsem for
	 * read: release the park before queueing for write.
	 */
	mnsim_park_release(ctx, true, true);
	down_write(&ctx->bind_rwsem);
	if (ctx->bound) {
		__mnsim_unbind(ctx);
		ret = 0;
	}
	up_write(&ctx->bind_rwsem);
	return ret;
}

/**
 * mnsim_rw() - ioctl(MNSIM_IOC_DEV_READ) and ioctl(MNSIM_IOC_DEV_WRITE)
 * @ctx: the device
 * @arg: the command; its counters are filled in
 * @write: DEV_WRITE
 *
 * Context: Process context; may sleep and fault. Takes bind_rwsem for read,
 * then as mnsim_access().
 * Return: 0, or a negative errno of the table in the uAPI header's DOC.
 */
static int mnsim_rw(struct mnsim_ctx *ctx, struct mnsim_access *arg,
		    bool write)
{
	struct mnsim_call call = {
		.nofault = arg->flags & MNSIM_ACCESS_NOFAULT,
	};
	int ret;

	if (arg->flags & ~MNSIM_ACCESS_NOFAULT)
		return -EOPNOTSUPP;
	if (arg->__pad || arg->__reserved)
		return -EINVAL;
	ret = mnsim_check_range(arg->va, arg->len);
	if (ret)
		return ret;

	down_read(&ctx->bind_rwsem);
	ret = ctx->bound ? mnsim_access(ctx, arg->va, arg->len, arg->buf,
					write, &call) : -ENXIO;
	up_read(&ctx->bind_rwsem);
	arg->hits = call.hits;
	arg->misses = call.misses;
	arg->faults = call.faults;
	return ret;
}

/**
 * mnsim_ioctl_read() - ioctl(MNSIM_IOC_DEV_READ)
 * @ctx: the device
 * @data: &struct mnsim_access, copied in by mnsim_ioctl()
 *
 * Context: as mnsim_rw().
 *
 * Return: 0, or a negative errno of the table in the uAPI header's DOC.
 */
static int mnsim_ioctl_read(struct mnsim_ctx *ctx, void *data)
{
	return mnsim_rw(ctx, data, false);
}

/**
 * mnsim_ioctl_write() - ioctl(MNSIM_IOC_DEV_WRITE)
 * @ctx: the device
 * @data: &struct mnsim_access, copied in by mnsim_ioctl()
 *
 * Context: as mnsim_rw().
 *
 * Return: 0, or a negative errno of the table in the uAPI header's DOC.
 */
static int mnsim_ioctl_write(struct mnsim_ctx *ctx, void *data)
{
	return mnsim_rw(ctx, data, true);
}

/**
 * mnsim_rwv_get() - read and check one range of a DEV_RWV
 * @uptr: user address of the &struct mnsim_vec_range
 * @r: receives it
 *
 * Context: Process context; may fault.
 * Return: 0, -EFAULT, or the errno of an invalid range.
 */
static int mnsim_rwv_get(u64 uptr, struct mnsim_vec_range *r)
{
	if (copy_from_user(r, u64_to_user_ptr(uptr), sizeof(*r)))
		return -EFAULT;
	if (r->flags & ~(MNSIM_ACCESS_WRITE | MNSIM_ACCESS_NOFAULT))
		return -EOPNOTSUPP;
	if (r->__pad)
		return -EINVAL;
	return mnsim_check_range(r->va, r->len);
}

/**
 * mnsim_rwv_one() - one range of a DEV_RWV
 * @ctx: the device, bound
 * @uptr: user address of the &struct mnsim_vec_range
 * @call: the call's counters
 *
 * The range is read again: the caller may have changed it since
 * mnsim_ioctl_rwv() checked it, and is checked again.
 *
 * Context: Process context; may sleep and fault. Caller holds bind_rwsem
 * for read; then as mnsim_access().
 * Return: 0, or a negative errno of the table in the uAPI header's DOC.
 */
static int mnsim_rwv_one(struct mnsim_ctx *ctx, u64 uptr,
			 struct mnsim_call *call)
{
	struct mnsim_vec_range r;
	int ret;

	ret = mnsim_rwv_get(uptr, &r);
	if (ret)
		return ret;
	call->nofault = r.flags & MNSIM_ACCESS_NOFAULT;
	return mnsim_access(ctx, r.va, r.len, r.buf,
			    r.flags & MNSIM_ACCESS_WRITE, call);
}

/**
 * mnsim_ioctl_rwv() - ioctl(MNSIM_IOC_DEV_RWV)
 * @ctx: the device
 * @data: &struct mnsim_access_vec, copied in by mnsim_ioctl()
 *
 * Context: Process context; may sleep and fault. Takes bind_rwsem for read,
 * then as mnsim_access() for each range.
 *
 * Return: 0, or a negative errno of the table in the uAPI header's DOC.
 */
static int mnsim_ioctl_rwv(struct mnsim_ctx *ctx, void *data)
{
	struct mnsim_access_vec *arg = data;
	struct mnsim_call call = {};
	u32 i;
	int ret = 0;

	if (arg->flags)
		return -EOPNOTSUPP;
	if (arg->__reserved)
		return -EINVAL;
	if (arg->nr_ranges > MNSIM_MAX_VEC)
		return -E2BIG;
	arg->done = 0;
	/* Every range's arguments before the device's state. */
	for (i = 0; i < arg->nr_ranges; i++) {
		struct mnsim_vec_range r;

		ret = mnsim_rwv_get(arg->ranges +
				    i * sizeof(struct mnsim_vec_range), &r);
		if (ret)
			return ret;
	}

	down_read(&ctx->bind_rwsem);
	if (!ctx->bound)
		ret = -ENXIO;
	for (i = 0; !ret && i < arg->nr_ranges; i++) {
		ret = mnsim_rwv_one(ctx, arg->ranges +
				    i * sizeof(struct mnsim_vec_range), &call);
		if (!ret)
			arg->done = i + 1;
	}
	up_read(&ctx->bind_rwsem);
	arg->hits = call.hits;
	arg->misses = call.misses;
	arg->faults = call.faults;
	return ret;
}

/**
 * mnsim_ioctl_flush() - ioctl(MNSIM_IOC_FLUSH)
 * @ctx: the device
 * @data: &struct mnsim_flush, copied in by mnsim_ioctl()
 *
 * Context: Process context. Takes bind_rwsem for read, then as
 * sec_tlb_flush_all().
 *
 * Return: 0, or a negative errno of the table in the uAPI header's DOC.
 */
static int mnsim_ioctl_flush(struct mnsim_ctx *ctx, void *data)
{
	struct mnsim_flush *arg = data;
	int ret = -ENXIO;

	if (arg->flags)
		return -EOPNOTSUPP;
	if (arg->__pad || arg->__reserved)
		return -EINVAL;
	down_read(&ctx->bind_rwsem);
	if (ctx->bound) {
		sec_tlb_flush_all(&ctx->tlb);
		mnsim_ev(ctx, MNSIM_EV_FLUSH, 0, ULONG_MAX, 0, 0, 0);
		ret = 0;
	}
	up_read(&ctx->bind_rwsem);
	return ret;
}

/**
 * mnsim_sum_counters() - add up the per-CPU counters
 * @ctx: the device
 * @sum: receives the sums
 *
 * Context: Any context. Takes no lock: each counter is read once, and a
 * counter that moves meanwhile is counted or not.
 */
static void mnsim_sum_counters(struct mnsim_ctx *ctx, struct mnsim_counters *sum)
{
	const u64 *src;
	u64 *dst = (u64 *)sum;
	unsigned int i;
	int cpu;

	memset(sum, 0, sizeof(*sum));
	for_each_possible_cpu(cpu) {
		src = (const u64 *)per_cpu_ptr(ctx->cnt, cpu);
		for (i = 0; i < sizeof(*sum) / sizeof(u64); i++)
			dst[i] += READ_ONCE(src[i]);
	}
}

/**
 * mnsim_get_stats() - every counter of a device, as STATS reports them
 * @ctx: the device
 * @arg: receives the (out) fields of &struct mnsim_stats; the caller zeroed it
 * @tgid: receives &mnsim_ctx.tgid, or NULL
 *
 * One function for MNSIM_IOC_STATS and the debugfs contexts file, so that
 * both sum the same counters the same way.
 *
 * Context: Process context. Caller holds @ctx->bind_rwsem for read. Takes
 * and releases tlb.lock.
 */
static void mnsim_get_stats(struct mnsim_ctx *ctx, struct mnsim_stats *arg,
			    pid_t *tgid)
{
	struct sec_tlb_stats s = {};
	struct mnsim_counters c;
	unsigned int nr_live = 0;

	lockdep_assert_held(&ctx->bind_rwsem);
	if (ctx->bound) {
		sec_tlb_get_stats(&ctx->tlb, &s, &nr_live);
		arg->mode = ctx->mode;
		arg->capacity = ctx->tlb.capacity;
	} else {
		/* Unbound: no notifier can run, the counters are still. */
		s = ctx->saved;
	}
	if (tgid)
		*tgid = ctx->tgid;

	arg->entries = nr_live;
	arg->hits = s.hits;
	arg->misses = s.misses;
	arg->fills = s.fills;
	arg->evictions = s.evictions;
	arg->inval_calls = s.inval_calls;
	arg->inval_entries = s.inval_entries;
	arg->full_flushes = s.full_flushes;
	mnsim_sum_counters(ctx, &c);
	arg->hook_calls = c.hook_calls;
	arg->hook_empty = c.hook_empty;
	arg->start_calls = c.start_calls;
	arg->end_calls = c.end_calls;
	arg->release_calls = c.release_calls;
	arg->walks = c.walks;
	arg->faults = c.faults;
	arg->fill_retries = c.fill_retries;
	arg->freed_refused = c.freed_refused;
	arg->perm_faults = c.perm_faults;
	arg->perm_stuck = c.verdicts[MNSIM_VERDICT_STUCK_RO];
	arg->oracle_coherent = c.verdicts[MNSIM_VERDICT_COHERENT];
	arg->oracle_stale_allowed = c.verdicts[MNSIM_VERDICT_STALE_ALLOWED];
	arg->oracle_violation_b = c.verdicts[MNSIM_VERDICT_VIOLATION_B];
	arg->oracle_violation_a = c.verdicts[MNSIM_VERDICT_VIOLATION_A];
}

/**
 * mnsim_ioctl_stats() - ioctl(MNSIM_IOC_STATS)
 * @ctx: the device
 * @data: &struct mnsim_stats, copied in by mnsim_ioctl()
 *
 * Context: Process context. Takes bind_rwsem for read, then tlb.lock.
 *
 * Return: 0, or a negative errno of the table in the uAPI header's DOC.
 */
static int mnsim_ioctl_stats(struct mnsim_ctx *ctx, void *data)
{
	struct mnsim_stats *arg = data;

	if (arg->flags)
		return -EOPNOTSUPP;
	if (arg->__reserved)
		return -EINVAL;

	memset(arg, 0, sizeof(*arg));
	down_read(&ctx->bind_rwsem);
	mnsim_get_stats(ctx, arg, NULL);
	up_read(&ctx->bind_rwsem);
	return 0;
}

/**
 * mnsim_ioctl_park() - ioctl(MNSIM_IOC_PARK): arm a park
 * @ctx: the device
 * @data: &struct mnsim_park
 *
 * An ATS binding that nobody watched has no range callbacks registered;
 * the first PARK registers them (__mnsim_watch_ranges()).
 *
 * Context: Process context. Takes bind_rwsem for read (for write, then
 * downgraded, to register), and park_lock.
 * Return: 0 or a negative errno of the uAPI table.
 */
static int mnsim_ioctl_park(struct mnsim_ctx *ctx, void *data)
{
	struct mnsim_park *arg = data;
	unsigned int event = arg->flags & (MNSIM_PARK_START | MNSIM_PARK_END);
	int id, ret = -EBUSY;

	if (arg->flags & ~(MNSIM_PARK_START | MNSIM_PARK_END | MNSIM_PARK_DELAY))
		return -EOPNOTSUPP;
	if (arg->__pad || arg->__reserved || !event ||
	    event == (MNSIM_PARK_START | MNSIM_PARK_END) ||
	    arg->timeout_ms > MNSIM_MAX_PARK_MS || arg->va >= TASK_SIZE_MAX)
		return -EINVAL;

	down_read(&ctx->bind_rwsem);
	if (ctx->bound && !ctx->range_registered) {
		/* ATS: parks fire in the range callbacks; register them. */
		up_read(&ctx->bind_rwsem);
		down_write(&ctx->bind_rwsem);
		ret = ctx->bound ? __mnsim_watch_ranges(ctx) : 0;
		downgrade_write(&ctx->bind_rwsem);
		if (ret) {
			up_read(&ctx->bind_rwsem);
			return ret;
		}
		ret = -EBUSY;
	}
	if (!ctx->bound) {
		up_read(&ctx->bind_rwsem);
		return -ENXIO;
	}
	spin_lock(&ctx->park_lock);
	for (id = 0; id < MNSIM_MAX_PARKS; id++) {
		struct mnsim_park_slot *p = &ctx->parks[id];

		if (p->state != MNSIM_PARK_FREE)
			continue;
		p->state = MNSIM_PARK_ARMED;
		WRITE_ONCE(ctx->parks_armed, ctx->parks_armed + 1);
		p->flags = arg->flags;
		p->va = arg->va;
		p->timeout = msecs_to_jiffies(arg->timeout_ms ?:
					      MNSIM_MAX_PARK_MS);
		arg->id = id;
		ret = 0;
		break;
	}
	spin_unlock(&ctx->park_lock);
	up_read(&ctx->bind_rwsem);
	return ret;
}

/**
 * mnsim_ioctl_park_ctl() - ioctl(MNSIM_IOC_PARK_CTL)
 * @ctx: the device
 * @data: &struct mnsim_park_ctl, copied in by mnsim_ioctl()
 *
 * Context: Process context; may sleep (waits for released callbacks to
 * leave). Takes and releases park_lock.
 *
 * Return: 0, or a negative errno of the table in the uAPI header's DOC.
 */
static int mnsim_ioctl_park_ctl(struct mnsim_ctx *ctx, void *data)
{
	struct mnsim_park_ctl *arg = data;

	if (arg->flags & ~(MNSIM_PARK_CTL_RELEASE | MNSIM_PARK_CTL_DISARM))
		return -EOPNOTSUPP;
	if (arg->__reserved)
		return -EINVAL;

	mnsim_park_release(ctx, arg->flags & MNSIM_PARK_CTL_RELEASE,
			   arg->flags & MNSIM_PARK_CTL_DISARM);
	mnsim_park_count(ctx, MNSIM_PARK_ARMED, &arg->armed);
	mnsim_park_count(ctx, MNSIM_PARK_PARKED, &arg->parked);
	spin_lock(&ctx->park_lock);
	arg->fired = ctx->park_fired;
	arg->timeouts = ctx->park_timeouts;
	spin_unlock(&ctx->park_lock);
	return 0;
}

/**
 * mnsim_ioctl_read_events() - ioctl(MNSIM_IOC_READ_EVENTS)
 * @ctx: the device
 * @data: &struct mnsim_read_events, copied in by mnsim_ioctl()
 *
 * Takes no bind_rwsem, so UNBIND and BIND may run meanwhile: the ring's
 * generation (@ev_gen), sampled with the first record and checked under
 * ev_lock with each one, ends the read at the first record of another
 * binding, and a record copied before BIND reset the ring is not delivered
 * (nr excludes it) nor consumed from the new ring. A record the writer
 * overwrote while it was being copied was delivered: it does not count as
 * lost (exactly so with one reader at a time; see below).
 *
 * Context: Process context; may fault. Takes and releases ev_lock around
 * each record, never across a copy to user space.
 *
 * Return: 0, or a negative errno of the table in the uAPI header's DOC.
 */
static int mnsim_ioctl_read_events(struct mnsim_ctx *ctx, void *data)
{
	struct mnsim_read_events *arg = data;
	struct mnsim_event ev;
	u64 gen = 0;
	u32 i;

	if (arg->flags)
		return -EOPNOTSUPP;
	if (arg->__pad || arg->__reserved || arg->max > MNSIM_EVENT_RING)
		return -EINVAL;

	for (i = 0; i < arg->max; i++) {
		void __user *dst = u64_to_user_ptr(arg->events +
						   (u64)i * sizeof(ev));
		bool same;
		u64 seq;

		spin_lock(&ctx->ev_lock);
		if (!i)
			gen = ctx->ev_gen;
		if (!ctx->ev_ring || ctx->ev_tail == ctx->ev_head ||
		    ctx->ev_gen != gen) {
			spin_unlock(&ctx->ev_lock);
			break;
		}
		seq = ctx->ev_tail;
		ev = ctx->ev_ring[seq % MNSIM_EVENT_RING];
		spin_unlock(&ctx->ev_lock);

		/*
		 * A record leaves the ring only once copied: a destination
		 * that faults part way ends the read short (EFAULT only when
		 * nothing was copied), and the record stays for the next read.
		 */
		if (copy_to_user(dst, &ev, sizeof(ev))) {
			if (!i)
				return -EFAULT;
			break;
		}
		/*
		 * Consume it, unless BIND reset the ring (the record is of
		 * the old binding: not delivered) or the tail moved on. The
		 * writer moves it when it overwrites the record (head went
		 * past seq + MNSIM_EVENT_RING) and counts it lost, but we
		 * have it. Another READ_EVENTS of the same device moves it
		 * when it consumed the record itself: both hand it out, and
		 * if the writer then overwrote it too, the count is one short
		 * (never below zero).
		 */
		spin_lock(&ctx->ev_lock);
		same = ctx->ev_gen == gen;
		if (same && ctx->ev_tail == seq)
			ctx->ev_tail++;
		else if (same && ctx->ev_head - seq > MNSIM_EVENT_RING &&
			 ctx->ev_lost)
			ctx->ev_lost--;
		spin_unlock(&ctx->ev_lock);
		if (!same)
			break;
	}
	arg->nr = i;
	spin_lock(&ctx->ev_lock);
	arg->lost = ctx->ev_lost;
	spin_unlock(&ctx->ev_lock);
	return 0;
}

union mnsim_ucmd {
	struct mnsim_info info;
	struct mnsim_bind bind;
	struct mnsim_unbind unbind;
	struct mnsim_access access;
	struct mnsim_access_vec vec;
	struct mnsim_flush flush;
	struct mnsim_stats stats;
	struct mnsim_park park;
	struct mnsim_park_ctl park_ctl;
	struct mnsim_read_events read_events;
};

/*
 * @size: the structure as this kernel knows it; @min_size: its first release
 * (equal until a structure grows at its end); @out: it has output fields.
 */
struct mnsim_ioctl_op {
	unsigned int size;
	unsigned int min_size;
	bool out;
	int (*fn)(struct mnsim_ctx *ctx, void *data);
};

#define __MNSIM_OP(_cmd, _fn, _struct, _out)				\
	[_IOC_NR(_cmd)] = {						\
		.size = sizeof(_struct) +				\
			BUILD_BUG_ON_ZERO(sizeof(union mnsim_ucmd) <	\
					  sizeof(_struct)),		\
		.min_size = sizeof(_struct),				\
		.out = _out,						\
		.fn = _fn,						\
	}
/* A command whose structure has output fields, and one with none. */
#define MNSIM_OP(_cmd, _fn, _struct) \
	__MNSIM_OP(_cmd, _fn, _struct, true)
#define MNSIM_OP_IN(_cmd, _fn, _struct) \
	__MNSIM_OP(_cmd, _fn, _struct, false)

static const struct mnsim_ioctl_op mnsim_ioctl_ops[] = {
	MNSIM_OP(MNSIM_IOC_INFO, mnsim_ioctl_info, struct mnsim_info),
	MNSIM_OP_IN(MNSIM_IOC_BIND, mnsim_ioctl_bind, struct mnsim_bind),
	MNSIM_OP_IN(MNSIM_IOC_UNBIND, mnsim_ioctl_unbind, struct mnsim_unbind),
	MNSIM_OP(MNSIM_IOC_DEV_READ, mnsim_ioctl_read, struct mnsim_access),
	MNSIM_OP(MNSIM_IOC_DEV_WRITE, mnsim_ioctl_write, struct mnsim_access),
	MNSIM_OP(MNSIM_IOC_DEV_RWV, mnsim_ioctl_rwv, struct mnsim_access_vec),
	MNSIM_OP_IN(MNSIM_IOC_FLUSH, mnsim_ioctl_flush, struct mnsim_flush),
	MNSIM_OP(MNSIM_IOC_STATS, mnsim_ioctl_stats, struct mnsim_stats),
	MNSIM_OP(MNSIM_IOC_PARK, mnsim_ioctl_park, struct mnsim_park),
	MNSIM_OP(MNSIM_IOC_PARK_CTL, mnsim_ioctl_park_ctl, struct mnsim_park_ctl),
	MNSIM_OP(MNSIM_IOC_READ_EVENTS, mnsim_ioctl_read_events,
		 struct mnsim_read_events),
};

/*
 * Dispatch on the command number; the size comes from the command (DRM's
 * rule). Shorter than the first release: -EINVAL. Longer: accepted only if the
 * tail is zero (copy_struct_from_user() gives -E2BIG). The result is copied
 * back even on error, so the per-call counters report partial progress.
 *
 * A structure that cannot be copied never turns a command that took effect
 * into -EFAULT: many have effects a caller cannot see otherwise (BIND,
 * UNBIND, PARK, PARK_CTL's release). A structure without output fields is
 * never written. One with outputs is written before the command runs, with
 * the caller's own bytes: if that fails, nothing has happened yet. A copy
 * back that fails afterwards (another thread unmapped or protected the
 * structure meanwhile) loses the outputs, not the command's own result.
 */
/**
 * mnsim_ioctl() - copy a command in, run its handler, copy it out
 * @file: the device's file
 * @cmd: the ioctl number
 * @arg: user address of the command's struct
 *
 * Context: Process context; as the command's handler.
 * Return: the handler's result; -ENOTTY for an unknown @cmd, -EINVAL for a
 * struct shorter than the command's first version, -EFAULT or -E2BIG from
 * copying it.
 */
static long mnsim_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct mnsim_ctx *ctx = file->private_data;
	void __user *uptr = (void __user *)arg;
	const struct mnsim_ioctl_op *op;
	unsigned int nr = _IOC_NR(cmd);
	unsigned int usize = _IOC_SIZE(cmd);
	union mnsim_ucmd buf;
	long ret;

	if (_IOC_TYPE(cmd) != MNSIM_IOC_MAGIC ||
	    _IOC_DIR(cmd) != (_IOC_READ | _IOC_WRITE) ||
	    nr >= ARRAY_SIZE(mnsim_ioctl_ops) || !mnsim_ioctl_ops[nr].fn)
		return -ENOTTY;
	op = &mnsim_ioctl_ops[nr];
	if (usize < op->min_size)
		return -EINVAL;
	ret = copy_struct_from_user(&buf, op->size, uptr, usize);
	if (ret)
		return ret;

	if (op->out && copy_to_user(uptr, &buf, min(usize, op->size)))
		return -EFAULT;

	ret = op->fn(ctx, &buf);
	if (op->out && copy_to_user(uptr, &buf, min(usize, op->size)))
		pr_debug_ratelimited("ioctl %#x: output lost\n", cmd);
	return ret;
}

/**
 * mnsim_open() - a new, unbound device per open
 * @inode: the misc device's inode
 * @file: the file
 *
 * Context: Process context; may sleep (GFP_KERNEL_ACCOUNT). Takes
 * mnsim_ctxs_lock.
 * Return: 0 or -ENOMEM.
 */
static int mnsim_open(struct inode *inode, struct file *file)
{
	struct mnsim_ctx *ctx = NULL;

	if (!sec_tlb_fail_alloc())
		ctx = kzalloc(sizeof(*ctx), GFP_KERNEL_ACCOUNT);
	if (!ctx)
		return -ENOMEM;
	if (!sec_tlb_fail_alloc())
		ctx->cnt = alloc_percpu_gfp(struct mnsim_counters,
					    GFP_KERNEL_ACCOUNT);
	if (!ctx->cnt) {
		kfree(ctx);
		return -ENOMEM;
	}
	ctx->ops = &mnsim_gup_ops;
	init_rwsem(&ctx->bind_rwsem);
	mutex_init(&ctx->walker_lock);
	init_waitqueue_head(&ctx->soft_wq);
	spin_lock_init(&ctx->park_lock);
	init_waitqueue_head(&ctx->park_wq);
	spin_lock_init(&ctx->ev_lock);
	ctx->id = atomic_inc_return(&mnsim_next_id);
	file->private_data = ctx;
	mutex_lock(&mnsim_ctxs_lock);
	list_add_tail(&ctx->node, &mnsim_ctxs);
	mnsim_nr_ctxs++;
	mutex_unlock(&mnsim_ctxs_lock);
	return 0;
}

/**
 * mnsim_release_file() - the last close of a device
 * @inode: the misc device's inode
 * @file: the file
 *
 * Context: Process context; may sleep. Takes mnsim_ctxs_lock, releases the
 * parks, then takes bind_rwsem for write to unbind.
 * Return: 0.
 */
static int mnsim_release_file(struct inode *inode, struct file *file)
{
	struct mnsim_ctx *ctx = file->private_data;

	/* Out of the contexts file first: a reader holds mnsim_ctxs_lock. */
	mutex_lock(&mnsim_ctxs_lock);
	list_del(&ctx->node);
	mnsim_nr_ctxs--;
	mutex_unlock(&mnsim_ctxs_lock);
	mnsim_park_release(ctx, true, true);
	down_write(&ctx->bind_rwsem);
	if (ctx->bound)
		__mnsim_unbind(ctx);
	up_write(&ctx->bind_rwsem);
	kvfree(ctx->ev_ring);
	free_percpu(ctx->cnt);
	kfree(ctx);
	return 0;
}

static const struct file_operations mnsim_fops = {
	.owner		= THIS_MODULE,
	.open		= mnsim_open,
	.release	= mnsim_release_file,
	.unlocked_ioctl	= mnsim_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.llseek		= noop_llseek,
};

static struct miscdevice mnsim_misc = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= "mmu_notifier_sim",
	.fops	= &mnsim_fops,
	.mode	= 0600,
};

/* ---- debugfs ----------------------------------------------------------- */

/**
 * DOC: debugfs contexts file
 *
 * ``/sys/kernel/debug/mmu_notifier_sim/contexts`` (mode 0400: root only)
 * lists every open device. The first line is::
 *
 *   contexts=<n> entries=<n> max_total_entries=<n>
 *
 * with the number of open devices, the TLB entries all bound devices have
 * preallocated together (the budget the max_total_entries module parameter
 * bounds) and that parameter. Then one line per device, in the order they
 * were opened::
 *
 *   ctx=<id> tgid=<tgid> mode=<ats|soft|defer|-> capacity=<n> entries=<n>
 *   hits=<n> misses=<n> fills=<n> evictions=<n> inval_calls=<n>
 *   inval_entries=<n> full_flushes=<n> hook_calls=<n> hook_empty=<n> start_calls=<n>
 *   end_calls=<n> release_calls=<n> walks=<n> faults=<n> oracle_coherent=<n>
 *   oracle_stale_allowed=<n> oracle_violation_b=<n> oracle_violation_a=<n>
 *
 * all on one line, fields separated by one space, every value a decimal
 * integer but mode. ``ctx`` is the device's number (1, 2, ... in the order
 * of opens since the module was loaded, never reused; the same number the
 * trace event prints as ``dev``). ``tgid`` is the thread group id, in the
 * initial pid namespace, of the process the device is bound to, 0 when it
 * is unbound. ``mode`` is ``-`` when unbound; ``capacity`` and ``entries``
 * are then 0. The counters are those of ioctl(MNSIM_IOC_STATS), computed by
 * the same function (see &struct mnsim_stats): cumulative since the last
 * BIND, and kept after UNBIND until the next BIND. A device that was never
 * bound shows zeros.
 */

/**
 * mnsim_contexts_start() - seq_file start of the debugfs contexts file
 * @m: the seq_file
 * @pos: the position
 *
 * Context: Process context. Takes mnsim_ctxs_lock, held until
 * mnsim_contexts_stop(): the list cannot change in between.
 * Return: the list position.
 */
static void *mnsim_contexts_start(struct seq_file *m, loff_t *pos)
{
	mutex_lock(&mnsim_ctxs_lock);
	return seq_list_start_head(&mnsim_ctxs, *pos);
}

/**
 * mnsim_contexts_next() - seq_file next of the debugfs contexts file
 * @m: the seq_file
 * @v: the current position
 * @pos: the position
 *
 * Context: Process context. Caller holds mnsim_ctxs_lock (from
 * mnsim_contexts_start()).
 * Return: the next position, or NULL at the end.
 */
static void *mnsim_contexts_next(struct seq_file *m, void *v, loff_t *pos)
{
	return seq_list_next(v, &mnsim_ctxs, pos);
}

/**
 * mnsim_contexts_stop() - seq_file stop of the debugfs contexts file
 * @m: the seq_file
 * @v: the last position
 *
 * Context: Process context. Releases mnsim_ctxs_lock.
 */
static void mnsim_contexts_stop(struct seq_file *m, void *v)
{
	mutex_unlock(&mnsim_ctxs_lock);
}

static const char *mnsim_mode_name(const struct mnsim_stats *st)
{
	switch (st->mode) {
	case MNSIM_MODE_ATS:
		return "ats";
	case MNSIM_MODE_SOFT:
		return "soft";
	case MNSIM_MODE_DEFER:
		return "defer";
	default:
		return "-";
	}
}

/**
 * mnsim_contexts_show() - one line of the debugfs contexts file
 * @m: the seq_file
 * @v: &mnsim_ctxs (the header line) or the &mnsim_ctx.node of a device
 *
 * See "debugfs contexts file" above for the format. A device stays on the
 * list, and so allocated, while mnsim_ctxs_lock is held: close takes it to
 * unlink the device before unbinding and freeing it.
 *
 * Context: Process context. Caller holds mnsim_ctxs_lock. Takes the
 * device's bind_rwsem for read (waits for a BIND or UNBIND in progress).
 * Return: 0, or -EINTR on a fatal signal.
 */
static int mnsim_contexts_show(struct seq_file *m, void *v)
{
	struct mnsim_ctx *ctx = list_entry(v, struct mnsim_ctx, node);
	struct mnsim_stats st = {};
	pid_t tgid;

	if (v == &mnsim_ctxs) {
		seq_printf(m, "contexts=%u entries=%ld max_total_entries=%lu\n",
			   mnsim_nr_ctxs, atomic_long_read(&mnsim_total_entries),
			   READ_ONCE(max_total_entries));
		return 0;
	}
	if (down_read_killable(&ctx->bind_rwsem))
		return -EINTR;
	mnsim_get_stats(ctx, &st, &tgid);
	up_read(&ctx->bind_rwsem);

	seq_printf(m, "ctx=%u tgid=%d mode=%s capacity=%u entries=%u",
		   ctx->id, tgid, mnsim_mode_name(&st), st.capacity,
		   st.entries);
	seq_printf(m, " hits=%llu misses=%llu fills=%llu evictions=%llu",
		   st.hits, st.misses, st.fills, st.evictions);
	seq_printf(m, " inval_calls=%llu inval_entries=%llu full_flushes=%llu",
		   st.inval_calls, st.inval_entries, st.full_flushes);
	seq_printf(m, " hook_calls=%llu hook_empty=%llu start_calls=%llu end_calls=%llu release_calls=%llu",
		   st.hook_calls, st.hook_empty, st.start_calls, st.end_calls,
		   st.release_calls);
	seq_printf(m, " walks=%llu faults=%llu perm_faults=%llu perm_stuck=%llu",
		   st.walks, st.faults, st.perm_faults, st.perm_stuck);
	seq_printf(m, " oracle_coherent=%llu oracle_stale_allowed=%llu oracle_violation_b=%llu oracle_violation_a=%llu\n",
		   st.oracle_coherent, st.oracle_stale_allowed,
		   st.oracle_violation_b, st.oracle_violation_a);
	return 0;
}

static const struct seq_operations mnsim_contexts_sops = {
	.start	= mnsim_contexts_start,
	.next	= mnsim_contexts_next,
	.stop	= mnsim_contexts_stop,
	.show	= mnsim_contexts_show,
};
DEFINE_SEQ_ATTRIBUTE(mnsim_contexts);

static struct dentry *mnsim_debugfs;

static int __init mnsim_init(void)
{
	int ret;

	if (!default_capacity || default_capacity > SEC_TLB_MAX_CAPACITY) {
		pr_err("default_capacity must be 1 to %u\n",
		       SEC_TLB_MAX_CAPACITY);
		return -EINVAL;
	}
	/* debugfs errors are not ours to handle: the device works without. */
	mnsim_debugfs = debugfs_create_dir("mmu_notifier_sim", NULL);
	debugfs_create_file("contexts", 0400, mnsim_debugfs, NULL,
			    &mnsim_contexts_fops);
	ret = misc_register(&mnsim_misc);
	if (ret)
		debugfs_remove_recursive(mnsim_debugfs);
	return ret;
}

static void __exit mnsim_exit(void)
{
	misc_deregister(&mnsim_misc);
	/* No device is open (each holds a module reference): the list is empty. */
	debugfs_remove_recursive(mnsim_debugfs);
	/*
	 * Every subscription was unregistered synchronously at close; this
	 * keeps unload safe should one ever be dropped with mmu_notifier_put().
	 */
	mmu_notifier_synchronize();
}

module_init(mnsim_init);
module_exit(mnsim_exit);

MODULE_DESCRIPTION("Emulated ATS device with an mmu_notifier-coherent secondary TLB");
MODULE_AUTHOR("The mmu_notifier_sim authors");
MODULE_LICENSE("GPL");

#ifdef CONFIG_MMU_NOTIFIER_SIM_KUNIT_TEST
#include "tests/mnsim_order_kunit.c"
#include "tests/mnsim_real_mm_kunit.c"
#include "tests/mnsim_owin_kunit.c"
#include "tests/mnsim_retry_kunit.c"
#include "tests/mnsim_perm_kunit.c"
#include "tests/mnsim_hook_kunit.c"
#endif
