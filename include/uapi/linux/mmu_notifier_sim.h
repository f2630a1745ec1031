/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * mmu_notifier_sim: an emulated ATS/PASID device with a secondary TLB.
 *
 * Copyright (C) 2026 The mmu_notifier_sim authors
 */
#ifndef _UAPI_LINUX_MMU_NOTIFIER_SIM_H
#define _UAPI_LINUX_MMU_NOTIFIER_SIM_H

#include <linux/types.h>
#include <linux/ioctl.h>

/**
 * DOC: General ioctl format
 *
 * Every open of ``/dev/mmu_notifier_sim`` is one emulated device. The device
 * is driven by the ioctls below; each takes exactly one structure, passed with
 * ``_IOWR`` so that the structure size is encoded in the command.
 *
 * Extensibility follows the DRM rule: the kernel dispatches on the command
 * number and reads ``_IOC_SIZE(cmd)`` bytes. Structures only grow at the end.
 * A size below the structure's first release is refused; once a structure
 * has grown, a caller built against an older (shorter) release is
 * zero-extended. A caller built against a newer (longer) structure is
 * accepted only when every byte the kernel does not know is zero. Every
 * structure carries a ``flags`` word (unknown bits are refused) and
 * ``__reserved`` fields that must be zero. Output fields are always fully
 * written, including padding. BIND, UNBIND and FLUSH have no output fields
 * and never write their structure. The other commands write it back
 * unchanged before they act, so EFAULT for the structure itself means the
 * command did nothing; should another thread unmap or write-protect it
 * during the call, the outputs are lost but the return value stands.
 *
 * A command checks its arguments (EOPNOTSUPP, EINVAL, E2BIG) before the
 * state of the device (ENXIO, EBUSY) or of the bound address space (ESRCH).
 *
 * After the bound process has exited, only device accesses fail, with
 * ESRCH: FLUSH, STATS, PARK, PARK_CTL and READ_EVENTS succeed, UNBIND
 * unbinds, and BIND is EBUSY until UNBIND.
 *
 * Addresses are user virtual addresses of the bound process. ``va`` and
 * ``len`` of a device access need no alignment; the range must not wrap and
 * must lie below the top of the user address space.
 *
 * Errors, common to all commands:
 *
 * ========== ===========================================================
 * ENOTTY     unknown ioctl command
 * EINVAL     structure shorter than its first release; a reserved field
 *            is not zero; an invalid value in a known field (mode,
 *            capacity above the hard cap, a wrapping or kernel-half range,
 *            %MNSIM_BIND_PERM_CACHE with a mode other than ATS)
 * E2BIG      structure longer than the kernel knows and a trailing byte
 *            is not zero; ``len`` above %MNSIM_MAX_ACCESS_LEN; more than
 *            %MNSIM_MAX_VEC ranges in one vector
 * EOPNOTSUPP an unknown bit in ``flags``; a mode this kernel cannot
 *            emulate (ATS where the kernel never calls the secondary-TLB
 *            hook, e.g. UML from 6.6); %MNSIM_BIND_PERM_CACHE on an
 *            architecture whose IOMMUs it does not model (all but arm64:
 *            see &mnsim_info.bind_flags)
 * EFAULT     the structure cannot be read, or (a command with output
 *            fields) cannot be written: the kernel writes it back
 *            unchanged before acting, so the command did nothing; a user
 *            buffer cannot be accessed; a device access hits an address
 *            that is not mapped, not permitted (a write to a read-only
 *            mapping), VM_IO/VM_PFNMAP or ZONE_DEVICE memory
 * ENXIO      the command needs a bound device and this one is not bound
 * EBUSY      BIND on a device that is already bound; PARK with every park
 *            slot in use
 * ESRCH      BIND: no such process, or it has no address space;
 *            device access (DEV_READ, DEV_WRITE, DEV_RWV): the bound
 *            address space has exited; no other command fails so
 * EPERM      BIND to another process without CAP_SYS_PTRACE over it;
 *            DEFER mode or %MNSIM_BIND_NO_FLUSH without CAP_SYS_ADMIN
 * ENOMEM     open() or BIND could not allocate the device or preallocate
 *            its secondary TLB, or all bound devices together would
 *            exceed max_total_entries; the first PARK of an ATS binding
 *            could not register its range callbacks
 * EAGAIN     a device access kept racing invalidations and gave up
 * EACCES     %MNSIM_BIND_PERM_CACHE: a device write kept finding the page
 *            read-only in the device's TLB after each page request had
 *            made it writable for the CPU: the kernel upgraded the PTE
 *            without calling the secondary-TLB hook (verdict
 *            %MNSIM_VERDICT_STUCK_RO); the write did not happen
 * EIO        a device access through a translation whose page the kernel
 *            freed was refused (the seed's case A: DEFER mode, a kernel
 *            that frees before it notifies, or %MNSIM_BIND_NO_FLUSH); the
 *            access did not happen, in any mode
 * EINTR      a device access was interrupted by a fatal signal
 * ENOENT     %MNSIM_ACCESS_NOFAULT and the page is not present, or the
 *            address is not mapped or not accessible (PROT_NONE), or the
 *            page is not writable, for a write
 * ========== ===========================================================
 */

/* Bumped on any incompatible change; additions keep it. */
#define MNSIM_ABI_VERSION	1

#define MNSIM_IOC_MAGIC		0xB9

/* Largest device access in one range, in bytes. */
#define MNSIM_MAX_ACCESS_LEN	(64ULL << 20)
/* Most ranges in one MNSIM_IOC_DEV_RWV vector. */
#define MNSIM_MAX_VEC		1024
/* %MNSIM_BIND_PERM_CACHE: page requests of one device write before EACCES. */
#define MNSIM_PERM_FAULTS_MAX	8

/**
 * enum mnsim_hook - the secondary-TLB hook of the running kernel
 * @MNSIM_HOOK_NONE: the kernel never calls a secondary-TLB hook on this
 *	architecture (UML from 6.6); ATS mode is unavailable
 * @MNSIM_HOOK_INVALIDATE_RANGE: ``mmu_notifier_ops.invalidate_range``
 *	(Linux up to 6.5), called from generic mm code
 * @MNSIM_HOOK_ARCH_INVALIDATE_SECONDARY_TLBS:
 *	``mmu_notifier_ops.arch_invalidate_secondary_tlbs`` (Linux 6.6 on),
 *	called from the architecture's TLB flush
 */
enum mnsim_hook {
	MNSIM_HOOK_NONE = 1,
	MNSIM_HOOK_INVALIDATE_RANGE = 2,
	MNSIM_HOOK_ARCH_INVALIDATE_SECONDARY_TLBS = 3,
};

/**
 * enum mnsim_mode - how the emulated device keeps its TLB coherent
 * @MNSIM_MODE_ATS: hardware model. The device refills at any time, even
 *	between invalidate_range_start() and _end(); its TLB is flushed only
 *	by the secondary-TLB hook, which the kernel calls after clearing a PTE
 *	and before freeing the page.
 * @MNSIM_MODE_SOFT: KVM/HMM model. Flush at invalidate_range_start(); refills
 *	wait for the matching _end(), checked with a sequence count.
 * @MNSIM_MODE_DEFER: the broken protocol of the seed: flush only at
 *	invalidate_range_end(). Needs CAP_SYS_ADMIN. Accesses to pages the
 *	kernel already freed are detected and refused with EIO.
 *
 * Value 0 is reserved to catch an uninitialised field.
 */
enum mnsim_mode {
	MNSIM_MODE_ATS = 1,
	MNSIM_MODE_SOFT = 2,
	MNSIM_MODE_DEFER = 3,
};

/**
 * struct mnsim_info - ioctl(MNSIM_IOC_INFO)
 * @flags: must be 0
 * @abi_version: (out) %MNSIM_ABI_VERSION
 * @hook: (out) an &enum mnsim_hook value
 * @modes: (out) bit (1 << mode) set for each &enum mnsim_mode usable here
 * @page_size: (out) PAGE_SIZE of the kernel
 * @default_capacity: (out) TLB entries used when BIND passes capacity 0
 * @max_capacity: (out) largest capacity BIND accepts from this caller: the
 *	module parameter max_capacity (default 65536), or 1048576 with
 *	CAP_SYS_ADMIN
 * @bind_flags: (out) the &mnsim_bind.flags bits this kernel accepts (some
 *	need CAP_SYS_ADMIN all the same); %MNSIM_BIND_PERM_CACHE only on
 *	arm64
 */
struct mnsim_info {
	__u32 flags;
	__u32 abi_version;
	__u32 hook;
	__u32 modes;
	__u32 page_size;
	__u32 default_capacity;
	__u32 max_capacity;
	__u32 bind_flags;
};

/* BIND target: the caller's own address space. */
#define MNSIM_TARGET_SELF	0

/* mnsim_bind.flags */
#define MNSIM_BIND_RECORD	(1U << 0)	/* record events in the ring */
#define MNSIM_BIND_ORACLE	(1U << 1)	/* check every TLB hit */
#define MNSIM_BIND_NO_FLUSH	(1U << 2)	/* test only: ignore invalidations */
#define MNSIM_BIND_PERM_CACHE	(1U << 3)	/* ATS: TLB caches permissions */

/**
 * enum mnsim_verdict - the coherence oracle's judgement of a device access
 * @MNSIM_VERDICT_NONE: not judged (oracle off)
 * @MNSIM_VERDICT_COHERENT: the translation matches the CPU page table
 * @MNSIM_VERDICT_STALE_ALLOWED: stale in a window the kernel's rules allow
 *	(Documentation/mm/mmu_notifier.rst): a write-protect downgrade or a KSM
 *	replacement with the same content, notified at range end; an unmap whose
 *	page is not yet freed
 * @MNSIM_VERDICT_VIOLATION_B: the CPU page table maps a new page the CPU can
 *	write, or a new page of different content: the seed's case B
 * @MNSIM_VERDICT_VIOLATION_A: the page the device used was freed: case A
 * @MNSIM_VERDICT_STUCK_RO: %MNSIM_BIND_PERM_CACHE: a device write found the
 *	page read-only in its TLB after every page request had made it
 *	writable: the kernel made the PTE writable and never called the
 *	secondary-TLB hook (the bug of an SMMU without broadcast TLB
 *	maintenance that the 6.6 hook move fixed). The device itself sees
 *	it: given with or without the oracle; the access fails with EACCES.
 */
enum mnsim_verdict {
	MNSIM_VERDICT_NONE = 0,
	MNSIM_VERDICT_COHERENT = 1,
	MNSIM_VERDICT_STALE_ALLOWED = 2,
	MNSIM_VERDICT_VIOLATION_B = 3,
	MNSIM_VERDICT_VIOLATION_A = 4,
	MNSIM_VERDICT_STUCK_RO = 5,
};

/**
 * struct mnsim_bind - ioctl(MNSIM_IOC_BIND)
 * @flags: %MNSIM_BIND_RECORD keeps a ring of &struct mnsim_event, read
 *	with MNSIM_IOC_READ_EVENTS (trace events fire either way);
 *	%MNSIM_BIND_ORACLE translates the address on the CPU page table before
 *	every access through a cached translation and judges it (an
 *	&enum mnsim_verdict in the ACCESS event and the STATS counters). The
 *	oracle's walk never faults, but it may set the accessed and dirty bits
 *	of the PTE it inspects. %MNSIM_BIND_NO_FLUSH is fault injection, for
 *	testing the tool and not the kernel, and needs CAP_SYS_ADMIN: the
 *	kernel's invalidations drop none of the device's translations (the
 *	hook in ATS mode, range start and end in SOFT and DEFER: they are
 *	still counted and recorded), as if the kernel never notified it. Only
 *	FLUSH, UNBIND, the address space's exit, eviction, and the device's
 *	refusal of a freed page drop one. The device still never touches a
 *	page the kernel freed: such an access fails with EIO.
 *	%MNSIM_BIND_PERM_CACHE (ATS mode, arm64 only) makes the TLB cache
 *	permissions as an SMMU without broadcast TLB maintenance does: see
 *	below.
 * @mode: an &enum mnsim_mode value
 * @target: pid (in the caller's pid namespace) whose address space the device
 *	binds to; %MNSIM_TARGET_SELF or the caller's own pid binds the caller.
 *	Another process needs CAP_SYS_PTRACE in the user namespaces of both its
 *	credentials and its address space, even for a caller of the same uid
 *	(ptrace would let that one through without it). LSMs are not asked.
 * @capacity: number of secondary-TLB entries, preallocated now; 0 selects
 *	the default. Above &mnsim_info.max_capacity: EINVAL.
 * @__reserved: must be 0
 *
 * Binding does not pin the address space: the device holds only a reference
 * to the mm structure, and an exit of the process ends the binding (device
 * accesses then fail with ESRCH until UNBIND).
 *
 * %MNSIM_BIND_PERM_CACHE. Without it, a device write that finds its page
 * cached read-only walks the page table again, as x86's IOMMUs (VT-d,
 * AMD-Vi) do: they never cache a translation whose permission faulted, so
 * x86 needs no notification of a PTE that becomes writable (and does not
 * send one: arch/x86/mm/pgtable.c ptep_set_access_flags()), and the flag is
 * refused there (EOPNOTSUPP). An SMMU without broadcast TLB maintenance
 * caches the PTE's permission and keeps it until the kernel invalidates
 * it. With the flag, every walk caches the permission the CPU page table
 * grants (a device read of a writable page caches it writable), and a
 * device write through a read-only entry is a permission fault: a page
 * request (PRI) faults the page in for write, as the CPU would (a COW break
 * or a write-fault reuse), and the write goes through the TLB again, which
 * still holds the read-only entry unless the secondary-TLB hook dropped
 * it. After %MNSIM_PERM_FAULTS_MAX page requests that each made the page
 * writable the device is stuck: the write fails with EACCES, verdict
 * %MNSIM_VERDICT_STUCK_RO, counted in &mnsim_stats.perm_stuck. A page
 * request that cannot make the page writable (a read-only mapping) fails
 * the write with EFAULT; with %MNSIM_ACCESS_NOFAULT there is no page
 * request and the write fails with ENOENT.
 */
struct mnsim_bind {
	__u32 flags;
	__u32 mode;
	__s32 target;
	__u32 capacity;
	__aligned_u64 __reserved[2];
};

/* mnsim_access.flags and mnsim_vec_range.flags */
#define MNSIM_ACCESS_WRITE	(1U << 0)	/* device write; else read */
/*
 * Translation requests only, no page requests: a page that is not present
 * (or, for a write, not writable) fails with ENOENT instead of being
 * faulted in. For scanning another process without populating its memory.
 */
#define MNSIM_ACCESS_NOFAULT	(1U << 1)

/**
 * struct mnsim_access - ioctl(MNSIM_IOC_DEV_READ) and ioctl(MNSIM_IOC_DEV_WRITE)
 * @flags: 0 or %MNSIM_ACCESS_NOFAULT (the command says read or write)
 * @__pad: must be 0
 * @va: first byte of the device access in the bound address space
 * @len: bytes to access, at most %MNSIM_MAX_ACCESS_LEN; 0 is a no-op on a
 *	bound device, checked before @va and before whether the address space
 *	has exited
 * @buf: caller's buffer that receives (read) or supplies (write) the data
 * @hits: (out) pages served from the secondary TLB
 * @misses: (out) pages that needed a page-table walk
 * @faults: (out) page requests (the PRI path): walks that had to fault the
 *	page in, and %MNSIM_BIND_PERM_CACHE's answers to permission faults
 * @__reserved: must be 0
 *
 * The device accesses the range page by page through its TLB, exactly as
 * DMA through an ATS device would. On error nothing is reported of partial
 * progress except in the counters.
 */
struct mnsim_access {
	__u32 flags;
	__u32 __pad;
	__aligned_u64 va;
	__aligned_u64 len;
	__aligned_u64 buf;
	__aligned_u64 hits;
	__aligned_u64 misses;
	__aligned_u64 faults;
	__aligned_u64 __reserved;
};

/**
 * struct mnsim_vec_range - one element of a MNSIM_IOC_DEV_RWV vector
 * @flags: %MNSIM_ACCESS_WRITE (else a read), %MNSIM_ACCESS_NOFAULT
 * @__pad: must be 0
 * @va: first byte in the bound address space
 * @len: bytes, at most %MNSIM_MAX_ACCESS_LEN; 0 as in &mnsim_access.len
 * @buf: caller's buffer
 */
struct mnsim_vec_range {
	__u32 flags;
	__u32 __pad;
	__aligned_u64 va;
	__aligned_u64 len;
	__aligned_u64 buf;
};

/**
 * struct mnsim_access_vec - ioctl(MNSIM_IOC_DEV_RWV), batched device access
 * @flags: must be 0
 * @nr_ranges: number of &struct mnsim_vec_range at @ranges, at most
 *	%MNSIM_MAX_VEC
 * @ranges: user pointer to the array
 * @done: (out) ranges completed. Every range's arguments (the array
 *	readable, flags, padding, length, address) are checked before any
 *	range runs: such an error leaves @done 0. On an error of an access
 *	itself the failing range is @done.
 * @hits: (out) as &mnsim_access.hits, summed over the vector
 * @misses: (out) as &mnsim_access.misses
 * @faults: (out) as &mnsim_access.faults
 * @__reserved: must be 0
 */
struct mnsim_access_vec {
	__u32 flags;
	__u32 nr_ranges;
	__aligned_u64 ranges;
	__aligned_u64 done;
	__aligned_u64 hits;
	__aligned_u64 misses;
	__aligned_u64 faults;
	__aligned_u64 __reserved;
};

/**
 * struct mnsim_flush - ioctl(MNSIM_IOC_FLUSH), device-side full invalidation
 * @flags: must be 0
 * @__pad: must be 0
 * @__reserved: must be 0
 */
struct mnsim_flush {
	__u32 flags;
	__u32 __pad;
	__aligned_u64 __reserved;
};

/**
 * struct mnsim_stats - ioctl(MNSIM_IOC_STATS)
 * @flags: must be 0
 * @mode: (out) bound &enum mnsim_mode, 0 when unbound
 * @capacity: (out) TLB entries
 * @entries: (out) live TLB entries now
 * @hits: (out) TLB lookups that found a usable entry
 * @misses: (out) TLB lookups that did not
 * @fills: (out) entries inserted after a page-table walk
 * @evictions: (out) live entries dropped to make room
 * @inval_calls: (out) range invalidations of the TLB, from any source
 * @inval_entries: (out) live entries dropped by invalidations and flushes
 * @full_flushes: (out) whole-TLB flushes (generation bumps)
 * @hook_calls: (out) calls of the secondary-TLB hook
 * @start_calls: (out) calls of invalidate_range_start() (ATS: see below)
 * @end_calls: (out) calls of invalidate_range_end() (ATS: see below)
 * @release_calls: (out) calls of release()
 * @walks: (out) page-table walks
 * @faults: (out) page requests, as &mnsim_access.faults
 * @fill_retries: (out) walks repeated because an invalidation raced them
 * @freed_refused: (out) accesses refused because the page was freed (EIO)
 * @oracle_coherent: (out) oracle verdicts %MNSIM_VERDICT_COHERENT
 * @oracle_stale_allowed: (out) oracle verdicts %MNSIM_VERDICT_STALE_ALLOWED
 * @oracle_violation_b: (out) oracle verdicts %MNSIM_VERDICT_VIOLATION_B
 * @oracle_violation_a: (out) oracle verdicts %MNSIM_VERDICT_VIOLATION_A
 * @hook_empty: (out) of @hook_calls, those with an empty range (start at or
 *	after end), each taken as a flush of the whole TLB (see below)
 * @perm_faults: (out) %MNSIM_BIND_PERM_CACHE: device writes that found
 *	their page cached read-only, each answered by a page request
 * @perm_stuck: (out) %MNSIM_BIND_PERM_CACHE: device writes that gave up
 *	with EACCES, verdict %MNSIM_VERDICT_STUCK_RO
 * @__reserved: must be 0 on input, 0 on output
 *
 * The hook's contract says nothing of an empty range, and the kernel's SVA
 * drivers differ: SMMUv3 takes a size of 0 for "invalidate the whole ASID"
 * (6.12 drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3-sva.c:141-151), VT-d
 * passes [start, end - 1] on, an inverted range (drivers/iommu/intel/svm.c:67).
 * A device cannot know what the kernel meant, and flushing more than asked
 * is always safe, so this one does as SMMUv3: it flushes everything, counts
 * the call and marks its HOOK event %MNSIM_EVF_EMPTY. One is a sign of a
 * kernel bug such as arm64's of 2025 (__flush_tlb_range_op() passing
 * start == end).
 *
 * Counters are cumulative since BIND and survive UNBIND until the next BIND.
 * Compare deltas: the number of callbacks differs between kernels.
 *
 * An ATS device needs only the secondary-TLB hook (and release), and a
 * binding registers invalidate_range_start()/end() only when someone
 * watches them: BIND with %MNSIM_BIND_RECORD, or with the trace event
 * enabled at that time, or the first MNSIM_IOC_PARK. Until then
 * @start_calls and @end_calls stay 0 in ATS mode and no START or END event
 * is emitted. (Each registered callback costs every page-table change of
 * the address space: see Documentation/benchmarks.rst, P2.)
 */
struct mnsim_stats {
	__u32 flags;
	__u32 mode;
	__u32 capacity;
	__u32 entries;
	__aligned_u64 hits;
	__aligned_u64 misses;
	__aligned_u64 fills;
	__aligned_u64 evictions;
	__aligned_u64 inval_calls;
	__aligned_u64 inval_entries;
	__aligned_u64 full_flushes;
	__aligned_u64 hook_calls;
	__aligned_u64 start_calls;
	__aligned_u64 end_calls;
	__aligned_u64 release_calls;
	__aligned_u64 walks;
	__aligned_u64 faults;
	__aligned_u64 fill_retries;
	__aligned_u64 freed_refused;
	__aligned_u64 oracle_coherent;
	__aligned_u64 oracle_stale_allowed;
	__aligned_u64 oracle_violation_b;
	__aligned_u64 oracle_violation_a;
	__aligned_u64 hook_empty;
	__aligned_u64 perm_faults;
	__aligned_u64 perm_stuck;
	__aligned_u64 __reserved;
};

/**
 * struct mnsim_unbind - ioctl(MNSIM_IOC_UNBIND)
 * @flags: must be 0
 * @__pad: must be 0
 * @__reserved: must be 0
 *
 * Unregisters from the address space and frees the TLB. ENXIO when unbound.
 */
struct mnsim_unbind {
	__u32 flags;
	__u32 __pad;
	__aligned_u64 __reserved;
};

/* mnsim_park.flags */
#define MNSIM_PARK_START	(1U << 0)	/* in invalidate_range_start() */
#define MNSIM_PARK_END		(1U << 1)	/* in invalidate_range_end() */
#define MNSIM_PARK_DELAY	(1U << 2)	/* sleep, don't wait for release */

/* Most parks armed at once on one device. */
#define MNSIM_MAX_PARKS		8
/* Longest a callback stays parked, in milliseconds. */
#define MNSIM_MAX_PARK_MS	30000

/**
 * struct mnsim_park - ioctl(MNSIM_IOC_PARK), fault injection: arm a park
 * @flags: exactly one of %MNSIM_PARK_START and %MNSIM_PARK_END, optionally
 *	%MNSIM_PARK_DELAY
 * @timeout_ms: longest the callback stays parked; 0 selects
 *	%MNSIM_MAX_PARK_MS, above it is EINVAL. With %MNSIM_PARK_DELAY the
 *	callback sleeps this long unless released earlier (a timed delay
 *	rather than a park; a timeout is then not counted).
 * @va: the park fires on the first matching callback whose range contains
 *	@va, once
 * @id: (out) the park's slot, 0 to %MNSIM_MAX_PARKS - 1
 * @__pad: must be 0
 * @__reserved: must be 0
 *
 * The thread that runs the bound device's invalidate_range_start() or _end()
 * for @va is held there — before the device does anything for that callback,
 * in particular before DEFER's flush at end — until MNSIM_IOC_PARK_CTL
 * releases it, the timeout passes, or it gets a fatal signal. Only ranges
 * for which mmu_notifier_range_blockable() holds are parked; others pass
 * and the park stays armed. UNBIND and close release and disarm every park.
 * EBUSY: %MNSIM_MAX_PARKS parks are armed or parked already. In ATS mode
 * the first PARK registers the range callbacks (see &struct mnsim_stats),
 * which takes the bound address space's mmap_lock for write; ENOMEM or
 * EINTR if that fails.
 */
struct mnsim_park {
	__u32 flags;
	__u32 timeout_ms;
	__aligned_u64 va;
	__u32 id;
	__u32 __pad;
	__aligned_u64 __reserved;
};

/* mnsim_park_ctl.flags */
#define MNSIM_PARK_CTL_RELEASE	(1U << 0)	/* let parked callbacks go */
#define MNSIM_PARK_CTL_DISARM	(1U << 1)	/* drop parks not yet fired */

/**
 * struct mnsim_park_ctl - ioctl(MNSIM_IOC_PARK_CTL), query or release parks
 * @flags: 0 (query only) or a combination of %MNSIM_PARK_CTL_RELEASE and
 *	%MNSIM_PARK_CTL_DISARM
 * @armed: (out) parks armed and not yet fired, after the command
 * @parked: (out) callbacks parked now, after the command
 * @fired: (out) parks fired since BIND
 * @timeouts: (out) parked callbacks that left on timeout since BIND
 * @__reserved: must be 0
 *
 * RELEASE returns only after every released callback has returned. The
 * command takes no lock of the bound address space, so it works while the
 * parked thread holds its mmap_lock.
 */
struct mnsim_park_ctl {
	__u32 flags;
	__u32 armed;
	__u32 parked;
	__u32 fired;
	__u32 timeouts;
	__u32 __reserved;
};

/**
 * enum mnsim_event_type - what a &struct mnsim_event records
 * @MNSIM_EV_HOOK: the secondary-TLB hook ran for [start, end)
 * @MNSIM_EV_START: invalidate_range_start() for [start, end)
 * @MNSIM_EV_END: invalidate_range_end() for [start, end)
 * @MNSIM_EV_RELEASE: release(): the address space is going away
 * @MNSIM_EV_FILL: the device walked va = start and cached it
 * @MNSIM_EV_HIT: the device found va = start in its TLB
 * @MNSIM_EV_ACCESS: a device access of [start, end) finished (or was refused)
 * @MNSIM_EV_FLUSH: the device flushed its whole TLB (MNSIM_IOC_FLUSH)
 * @MNSIM_EV_PARK: a callback was parked for va = start
 * @MNSIM_EV_UNPARK: a parked callback went on
 * @MNSIM_EV_PERM_FAULT: %MNSIM_BIND_PERM_CACHE: a device write found va =
 *	start cached read-only; @value is the number of this fault in the
 *	access (1 for the first); a page request follows unless the access
 *	gives up (EACCES after %MNSIM_PERM_FAULTS_MAX)
 */
enum mnsim_event_type {
	MNSIM_EV_HOOK = 1,
	MNSIM_EV_START = 2,
	MNSIM_EV_END = 3,
	MNSIM_EV_RELEASE = 4,
	MNSIM_EV_FILL = 5,
	MNSIM_EV_HIT = 6,
	MNSIM_EV_ACCESS = 7,
	MNSIM_EV_FLUSH = 8,
	MNSIM_EV_PARK = 9,
	MNSIM_EV_UNPARK = 10,
	MNSIM_EV_PERM_FAULT = 11,
};

/* mnsim_event.flags */
#define MNSIM_EVF_WRITE		(1U << 0)	/* FILL/HIT/ACCESS: a write */
#define MNSIM_EVF_BLOCKABLE	(1U << 1)	/* START/END: range blockable */
#define MNSIM_EVF_REFUSED	(1U << 2)	/* ACCESS: failed, see @value */
#define MNSIM_EVF_EMPTY		(1U << 3)	/* HOOK: empty range, all flushed */
/* ACCESS: the oracle's &enum mnsim_verdict, worst over the pages */
#define MNSIM_EVF_VERDICT_SHIFT	8
#define MNSIM_EVF_VERDICT(flags)	(((flags) >> MNSIM_EVF_VERDICT_SHIFT) & 0xf)

/**
 * struct mnsim_event - one record of the device's event ring
 * @seq: position in the device's event stream, from 0 at BIND
 * @time_ns: CLOCK_MONOTONIC time of the event
 * @start: first byte of the range or access
 * @end: one past the last byte
 * @value: ACCESS: the first (up to) 8 bytes the device moved, or the
 *	negative errno when %MNSIM_EVF_REFUSED; START/END: the kernel's
 *	``enum mmu_notifier_event``; PERM_FAULT: the fault's number
 * @type: an &enum mnsim_event_type value
 * @tid: the thread that ran it, as seen from the initial pid namespace;
 *	kernel threads (ksmd, kswapd) have their own
 * @flags: %MNSIM_EVF_WRITE, %MNSIM_EVF_BLOCKABLE, %MNSIM_EVF_REFUSED,
 *	%MNSIM_EVF_EMPTY (HOOK: @start and @end as the kernel passed them)
 * @count: HOOK/START/END/FLUSH/RELEASE: TLB entries dropped
 */
struct mnsim_event {
	__aligned_u64 seq;
	__aligned_u64 time_ns;
	__aligned_u64 start;
	__aligned_u64 end;
	__aligned_u64 value;
	__u32 type;
	__u32 tid;
	__u32 flags;
	__u32 count;
};

/* Events the device keeps; the oldest are overwritten (and counted lost). */
#define MNSIM_EVENT_RING	4096

/**
 * struct mnsim_read_events - ioctl(MNSIM_IOC_READ_EVENTS), drain the ring
 * @flags: must be 0
 * @max: room at @events, in records; at most %MNSIM_EVENT_RING
 * @events: user pointer to an array of &struct mnsim_event
 * @nr: (out) records copied, oldest first; they leave the ring
 * @__pad: must be 0
 * @lost: (out) records overwritten before being read, since BIND
 * @__reserved: must be 0
 *
 * Works bound and after UNBIND (the ring is reset by the next BIND). The
 * same events are also trace events: ``mmu_notifier_sim:mnsim_event``.
 * A record leaves the ring only once copied to @events: if @events cannot
 * be written part way, the read ends short with the records copied so far
 * in @nr, and fails with EFAULT only if it copied none.
 */
struct mnsim_read_events {
	__u32 flags;
	__u32 max;
	__aligned_u64 events;
	__u32 nr;
	__u32 __pad;
	__aligned_u64 lost;
	__aligned_u64 __reserved;
};

#define MNSIM_IOC_INFO		_IOWR(MNSIM_IOC_MAGIC, 0x00, struct mnsim_info)
#define MNSIM_IOC_BIND		_IOWR(MNSIM_IOC_MAGIC, 0x01, struct mnsim_bind)
#define MNSIM_IOC_UNBIND	_IOWR(MNSIM_IOC_MAGIC, 0x02, struct mnsim_unbind)
#define MNSIM_IOC_DEV_READ	_IOWR(MNSIM_IOC_MAGIC, 0x03, struct mnsim_access)
#define MNSIM_IOC_DEV_WRITE	_IOWR(MNSIM_IOC_MAGIC, 0x04, struct mnsim_access)
#define MNSIM_IOC_DEV_RWV	_IOWR(MNSIM_IOC_MAGIC, 0x05, struct mnsim_access_vec)
#define MNSIM_IOC_FLUSH		_IOWR(MNSIM_IOC_MAGIC, 0x06, struct mnsim_flush)
#define MNSIM_IOC_STATS		_IOWR(MNSIM_IOC_MAGIC, 0x07, struct mnsim_stats)
#define MNSIM_IOC_PARK		_IOWR(MNSIM_IOC_MAGIC, 0x08, struct mnsim_park)
#define MNSIM_IOC_PARK_CTL	_IOWR(MNSIM_IOC_MAGIC, 0x09, struct mnsim_park_ctl)
#define MNSIM_IOC_READ_EVENTS	_IOWR(MNSIM_IOC_MAGIC, 0x0a, struct mnsim_read_events)

#endif /* _UAPI_LINUX_MMU_NOTIFIER_SIM_H */
