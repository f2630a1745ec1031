// SPDX-License-Identifier: GPL-2.0
/*
 * The seed's COW timeline, reproduced deterministically.
 *
 * Copyright (C) 2026 The mmu_notifier_sim authors
 *
 * tools/mnsim/seed.c runs Documentation/mm/mmu_notifier.rst's scenario: the
 * COW of addrA is parked in invalidate_range_end() after COW_step1
 * (MNSIM_IOC_PARK), the CPU writes A, then B (a whole COW), and the device
 * reads B, then A. The table the seed draws is printed as TAP diagnostics,
 * drawn from the device's recorded events.
 *
 * ATS (flushed by the secondary-TLB hook under the PTL) and SOFT (flushed at
 * start, refills wait for end) must never show B new with A old; DEFER
 * (flushed only at end) must show it on every run, and the coherence oracle
 * must call exactly that read a case-B violation.
 */
#define _GNU_SOURCE
/* mnsim.h first: its ARRAY_SIZE() is the one kselftest.h then keeps. */
#include "mnsim.h"
#include "seed.h"
#include "mnsim_utils.h"

FIXTURE(seed)
{
	struct seed_result res;
};

FIXTURE_VARIANT(seed)
{
	__u32 mode;
	bool violation;
	/*
	 * Fault injection (MNSIM_BIND_NO_FLUSH): the kernel's hook drops
	 * nothing, as on a kernel that never notifies. Both reads hit stale
	 * entries and return the old values, which look ordered: only the
	 * oracle sees the violation, and the verdict must say so.
	 */
	bool no_flush;
};

FIXTURE_VARIANT_ADD(seed, ats)
{
	.mode = MNSIM_MODE_ATS,
	.violation = false,
};

FIXTURE_VARIANT_ADD(seed, ats_no_flush)
{
	.mode = MNSIM_MODE_ATS,
	.violation = true,
	.no_flush = true,
};

FIXTURE_VARIANT_ADD(seed, soft)
{
	.mode = MNSIM_MODE_SOFT,
	.violation = false,
};

FIXTURE_VARIANT_ADD(seed, defer)
{
	.mode = MNSIM_MODE_DEFER,
	.violation = true,
};

FIXTURE_SETUP(seed)
{
	struct mnsim_info info;
	int fd = mnsim_open();

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, _test_cmd_info(fd, &info));
	close(fd);
	if (!(info.modes & MNSIM_MODE_BIT(variant->mode)))
		SKIP(MNSIM_SETUP_SKIP, "mode %s not supported here",
		     mnsim_mode_name(variant->mode));
}

FIXTURE_TEARDOWN(seed)
{
	struct mnsim_stats d = mnsim_stats_delta(&self->res.after,
						 &self->res.before);

	/* After is taken bound (mode set) once seed_run() got that far. */
	if (self->res.after.mode)
		mnsim_stats_line(&d, seed_order_violated(&self->res) +
				     seed_write_missed(&self->res));
	seed_result_free(&self->res);
}

/*
 * The CPU writes A, then B; with A's COW parked before its range end, the
 * device reads B, then A. Only DEFER sees B new with A old, and every time.
 */
TEST_F_TIMEOUT(seed, cow_timeline, 60)
{
	struct seed_result *res = &self->res;
	struct mnsim_stats d;
	char err[160] = "";

	ASSERT_EQ(0, seed_run(variant->mode,
			      variant->no_flush ? MNSIM_BIND_NO_FLUSH : 0,
			      res, err, sizeof(err)))
		TH_LOG("%s", err);
	seed_print_timeline(stdout, "# ", res);
	fflush(stdout);
	d = mnsim_stats_delta(&res->after, &res->before);

	/* The park held CPU-thread-0 until released, never until timeout. */
	EXPECT_EQ(1U, res->park.fired);
	EXPECT_EQ(0U, res->park.parked);
	EXPECT_EQ(0U, res->park.timeouts);
	/* SOFT: the refill of addrA waited for addrA's range end. */
	EXPECT_EQ(variant->mode == MNSIM_MODE_SOFT, res->read_a_waited);

	EXPECT_EQ(variant->no_flush ? 0ULL : 1ULL, res->dev_b);
	EXPECT_EQ(variant->violation ? 0ULL : 1ULL, res->dev_a);
	EXPECT_EQ(variant->violation && !variant->no_flush,
		  seed_order_violated(res));
	EXPECT_EQ(variant->violation, seed_violation(res))
		TH_LOG("the verdict must come from the oracle too");

	/*
	 * The oracle sees what the values show, and the stale hits the values
	 * cannot show; no freed page is used.
	 */
	EXPECT_EQ(variant->no_flush ? 2ULL : variant->violation ? 1ULL : 0ULL,
		  d.oracle_violation_b);
	EXPECT_EQ(0ULL, d.oracle_violation_a);
	EXPECT_EQ(0ULL, d.freed_refused);
	/* ATS flushed from the hook; the others never call it. */
	EXPECT_EQ(variant->mode == MNSIM_MODE_ATS, !!d.hook_calls);
	EXPECT_LT(0, res->nr_ev);
}

TEST_HARNESS_MAIN
