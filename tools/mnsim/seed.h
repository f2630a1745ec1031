/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The seed's COW scenario, shared by the mnsim tool and the kselftest.
 *
 * Copyright (C) 2026 The mmu_notifier_sim authors
 */
#ifndef _MNSIM_SEED_H
#define _MNSIM_SEED_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>
#include <linux/mmu_notifier_sim.h>

/* The rows of the seed's table, in its order. */
enum seed_row {
	ROW_CPU0, ROW_CPU1, ROW_CPU2, ROW_CPU3, ROW_DEV0, ROW_DEV2, NR_ROWS
};

#define SEED_MAX_EVENTS		MNSIM_EVENT_RING
#define SEED_MAX_NOTES		16

/* Something the scenario's userspace did, for the timeline. */
struct seed_note {
	__u64 time_ns;
	enum seed_row row;
	char what[80];
};

/**
 * struct seed_result - what one run of the scenario saw
 * @mode: the device's &enum mnsim_mode
 * @a: addrA; @b: addrB (different pages)
 * @dev_a: the device's read of addrA at [Time N+5]
 * @dev_b: the device's read of addrB at [Time N+5]
 * @read_a_waited: the read of addrA waited for addrA's range end (SOFT)
 * @before: STATS before the CPU writes; @after: after the release
 * @tid_cpu0: CPU-thread-0 (the COW of addrA); @tid_dev0: DEV-thread-0
 * @tid_main: the thread that plays CPU-thread-1/2/3 and DEV-thread-2
 * @ev: the device's recorded events; @nr_ev: their number
 * @notes: userspace steps; @nr_notes: their number
 * @park: the park control after the release
 */
struct seed_result {
	__u32 mode;
	unsigned long a, b;
	__u64 dev_a, dev_b;
	bool read_a_waited;
	struct mnsim_stats before, after;
	pid_t tid_cpu0, tid_dev0, tid_main;
	struct mnsim_event *ev;
	int nr_ev;
	struct seed_note notes[SEED_MAX_NOTES];
	int nr_notes;
	struct mnsim_park_ctl park;
};

int seed_run(__u32 mode, __u32 bind_flags, struct seed_result *res,
	     char *err, size_t errlen);
void seed_result_free(struct seed_result *res);
bool seed_order_violated(const struct seed_result *res);
bool seed_write_missed(const struct seed_result *res);
unsigned long long seed_oracle_violations(const struct seed_result *res);
bool seed_violation(const struct seed_result *res);
void seed_print_timeline(FILE *f, const char *prefix,
			 const struct seed_result *res);

#endif /* _MNSIM_SEED_H */
