/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The only place that knows kernel versions.
 *
 * Copyright (C) 2026 The mmu_notifier_sim authors
 *
 * The driver is written against the newest supported kernel; each block below
 * supplies that API on older kernels and names the upstream change. Include it
 * after the kernel headers it patches.
 */
#ifndef _MNSIM_COMPAT_H
#define _MNSIM_COMPAT_H

#include <linux/version.h>
#include <linux/mm.h>
#include <linux/mmu_notifier.h>

#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 1, 0)
#error "mmu_notifier_sim supports Linux 6.1 and newer"
#endif

/*
 * 6.6, commit 1af5a8109904 ("mmu_notifiers: rename invalidate_range
 * notifier"): ->invalidate_range became ->arch_invalidate_secondary_tlbs,
 * called from the architecture's TLB flush instead of generic mm, and an ops
 * table may no longer combine it with invalidate_range_start/end. Both hooks
 * take the same arguments.
 *
 * MNSIM_HOOK_CALLED says whether the running kernel ever calls the hook: up to
 * 6.5 generic code does; from 6.6 only these architectures' TLB flushes do
 * (grep mmu_notifier_arch_invalidate_secondary_tlbs arch/), so on UML the hook
 * is dead and ATS mode cannot be emulated. On powerpc only the book3s64 radix
 * MMU's flushes call it (arch/powerpc/mm/book3s64/radix_tlb.c), not the hash
 * MMU's, and which of the two runs is decided at boot: radix_enabled().
 *
 * MNSIM_HOOK_FROM_RANGE_END: up to 6.5, mn_hlist_invalidate_end() calls the
 * hook of every range that is not only_end, right before each subscription's
 * ->invalidate_range_end(); from 6.6 no range end calls it.
 */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 6, 0)
#define arch_invalidate_secondary_tlbs	invalidate_range
#define MNSIM_HOOK_KIND		MNSIM_HOOK_INVALIDATE_RANGE
#define MNSIM_HOOK_CALLED	true
#define MNSIM_HOOK_FROM_RANGE_END	true
#else
#define MNSIM_HOOK_FROM_RANGE_END	false
#ifdef CONFIG_PPC
#include <asm/mmu.h>
#define MNSIM_PPC_HOOK_CALLED	radix_enabled()
#else
#define MNSIM_PPC_HOOK_CALLED	false
#endif
#define MNSIM_HOOK_KIND		MNSIM_HOOK_ARCH_INVALIDATE_SECONDARY_TLBS
#define MNSIM_HOOK_CALLED	(IS_ENABLED(CONFIG_X86) ||		\
				 IS_ENABLED(CONFIG_ARM64) ||		\
				 MNSIM_PPC_HOOK_CALLED ||		\
				 IS_ENABLED(CONFIG_RISCV))
#endif

/*
 * 6.5, "mm/gup: retire follow_hugetlb_page()" (Peter Xu): before it, GUP of
 * a hugetlb VMA went through follow_hugetlb_page(), which faults the page in
 * (and breaks COW for FOLL_WRITE) even with FOLL_NOFAULT (6.1 mm/hugetlb.c);
 * from 6.5 hugetlb takes follow_page_mask(), which honours it.
 */
#define MNSIM_GUP_HUGETLB_FAULTS \
	(LINUX_VERSION_CODE < KERNEL_VERSION(6, 5, 0))

/*
 * 6.5, commit ca5e863233e8 ("mm/gup: remove vmas parameter from
 * get_user_pages_remote()").
 */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 5, 0)
#define get_user_pages_remote(mm, start, nr_pages, gup_flags, pages, locked) \
	get_user_pages_remote(mm, start, nr_pages, gup_flags, pages, NULL, locked)
#endif

/*
 * 7.x, the exec_state series (Christian Brauner, 2026;
 * include/linux/sched/exec_state.h): the user namespace an execve grants
 * its address space moved, with dumpability, from the mm (mm->user_ns and
 * MMF_DUMPABLE_MASK of mm->flags) to the task's RCU-protected ->exec_state.
 * Its accessor task_exec_state_rcu() is not exported, so
 * mnsim_exec_user_ns() dereferences the pointer as the accessor does. The
 * packaged source has no history and no commit id was reachable to date the
 * merge by, so the block tests what the series removed: MMF_DUMPABLE_MASK
 * (sparse 0.6.4 cannot parse __has_include).
 *
 * Context: rcu_read_lock() held; @task and @mm pinned. The namespace lives
 * as long as the exec_state (7.x) or the mm (older): take a reference before
 * leaving the RCU section.
 */
#include <linux/sched/coredump.h>
#ifdef MMF_DUMPABLE_MASK
static inline struct user_namespace *
mnsim_exec_user_ns(struct task_struct *task, struct mm_struct *mm)
{
	return mm->user_ns;
}
#else
#include <linux/sched/exec_state.h>

static inline struct user_namespace *
mnsim_exec_user_ns(struct task_struct *task, struct mm_struct *mm)
{
	return rcu_dereference(task->exec_state)->user_ns;
}
#endif

#endif /* _MNSIM_COMPAT_H */
