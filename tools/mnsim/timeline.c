// SPDX-License-Identifier: GPL-2.0
/*
 * Draw a recorded run of the seed scenario as the seed's timeline table:
 * the same rows (CPU-thread-0..3, DEV-thread-0/2) and [Time N+k] steps as
 * Documentation/mm/mmu_notifier.rst, one step per recorded event.
 *
 * Copyright (C) 2026 The mmu_notifier_sim authors
 */
#include <stdlib.h>
#include <string.h>

#include "mnsim.h"
#include "seed.h"

static const char * const row_name[NR_ROWS] = {
	"CPU-thread-0", "CPU-thread-1", "CPU-thread-2", "CPU-thread-3",
	"DEV-thread-0", "DEV-thread-2",
};

static const char * const verdict_name[] = {
	"", ", oracle: coherent", ", oracle: stale but allowed",
	", oracle: VIOLATION case B", ", oracle: VIOLATION case A",
	", device stuck on a read-only translation",
};

struct step {
	__u64 time_ns;
	enum seed_row row;
	char what[112];
};

static bool covers(const struct mnsim_event *ev, unsigned long va)
{
	return ev->start <= va && va < ev->end;
}

/* "addrA", "addrB", "all" or NULL for a range the scenario does not watch. */
static const char *which(const struct seed_result *res,
			 const struct mnsim_event *ev)
{
	if (ev->start == 0 && ev->end == ~0ULL)
		return "all";
	if (covers(ev, res->a))
		return covers(ev, res->b) ? "addrA+addrB" : "addrA";
	if (covers(ev, res->b))
		return "addrB";
	return NULL;
}

/*
 * A CPU-side event belongs to the thread whose fault runs it: CPU-thread-0
 * COWs addrA, the scenario's main thread plays CPU-thread-1 (COW of addrB).
 */
static enum seed_row cpu_row(const struct seed_result *res,
			     const struct mnsim_event *ev)
{
	return (pid_t)ev->tid == res->tid_cpu0 ? ROW_CPU0 : ROW_CPU1;
}

/*
 * Where the hook of event @i ran, as far as the device can observe it: the
 * latest range callback of the same thread that covers the same address
 * (the ring is in the order the events happened). Whether the kernel held
 * the page-table lock is not observable here: a hook inside its range's
 * start and end is what a correct COW or zap gives, one after the end is
 * the seed document's late notification.
 */
static const char *hook_place(const struct seed_result *res, int i)
{
	const struct mnsim_event *hook = &res->ev[i];
	const struct mnsim_event *ev;

	while (--i >= 0) {
		ev = &res->ev[i];
		if (ev->tid != hook->tid ||
		    (ev->type != MNSIM_EV_START && ev->type != MNSIM_EV_END) ||
		    ev->end <= hook->start || ev->start >= hook->end)
			continue;
		return ev->type == MNSIM_EV_START ? "inside its range start/end" :
						    "after its range_end";
	}
	return "outside any range of its thread";
}

/* Turn event @i into a step; false if the timeline does not show it. */
static bool event_step(const struct seed_result *res, int i, struct step *st)
{
	const struct mnsim_event *ev = &res->ev[i];
	const struct mnsim_event *prev = i ? &res->ev[i - 1] : NULL;
	const char *addr = which(res, ev);
	unsigned int v;

	if (!addr)
		return false;
	st->time_ns = ev->time_ns;
	switch (ev->type) {
	case MNSIM_EV_START:
		st->row = cpu_row(res, ev);
		snprintf(st->what, sizeof(st->what),
			 "mmu_notifier_invalidate_range_start(%s)", addr);
		return true;
	case MNSIM_EV_END:
		st->row = cpu_row(res, ev);
		snprintf(st->what, sizeof(st->what),
			 "mmu_notifier_invalidate_range_end(%s)%s", addr,
			 ev->count ? ": device TLB flushed" : "");
		return true;
	case MNSIM_EV_HOOK:
		st->row = cpu_row(res, ev);
		snprintf(st->what, sizeof(st->what),
			 "secondary-TLB hook(%s) %s: %u entr%s dropped",
			 addr, hook_place(res, i), ev->count,
			 ev->count == 1 ? "y" : "ies");
		return true;
	case MNSIM_EV_PARK:
		st->row = cpu_row(res, ev);
		snprintf(st->what, sizeof(st->what),
			 "preempted (parked before range_end(%s))", addr);
		return true;
	case MNSIM_EV_UNPARK:
		st->row = cpu_row(res, ev);
		snprintf(st->what, sizeof(st->what), "resumes");
		return true;
	case MNSIM_EV_ACCESS:
		if (strcmp(addr, "addrA") && strcmp(addr, "addrB"))
			return false;
		/* As in the seed, DEV-thread-0 reads addrA, DEV-thread-2 addrB. */
		st->row = strcmp(addr, "addrA") ? ROW_DEV2 : ROW_DEV0;
		v = MNSIM_EVF_VERDICT(ev->flags);
		if (ev->flags & MNSIM_EVF_REFUSED) {
			snprintf(st->what, sizeof(st->what),
				 "%s %s refused: error %lld", ev->flags &
				 MNSIM_EVF_WRITE ? "write" : "read", addr,
				 (long long)ev->value);
			return true;
		}
		snprintf(st->what, sizeof(st->what), "%s %s = %llu (%s%s)",
			 ev->flags & MNSIM_EVF_WRITE ? "write" : "read", addr,
			 (unsigned long long)ev->value,
			 prev && prev->type == MNSIM_EV_FILL ?
			 "walk, populate device TLB" : "device TLB hit",
			 v < ARRAY_SIZE(verdict_name) ? verdict_name[v] : "");
		return true;
	default:
		return false;	/* fills and hits are folded into the access */
	}
}

static int by_time(const void *x, const void *y)
{
	const struct step *a = x, *b = y;

	return a->time_ns < b->time_ns ? -1 : a->time_ns > b->time_ns;
}

/**
 * seed_print_timeline() - the seed's table, drawn from a recorded run
 * @f: where to print
 * @prefix: printed before every line ("# " for TAP diagnostics)
 * @res: a run of seed_run()
 */
void seed_print_timeline(FILE *f, const char *prefix,
			 const struct seed_result *res)
{
	int nr = 0, i, r, max = res->nr_ev + res->nr_notes;
	struct step *st = calloc(max ? max : 1, sizeof(*st));

	if (!st)
		return;
	for (i = 0; i < res->nr_notes; i++) {
		st[nr].time_ns = res->notes[i].time_ns;
		st[nr].row = res->notes[i].row;
		snprintf(st[nr].what, sizeof(st[nr].what), "%s",
			 res->notes[i].what);
		nr++;
	}
	for (i = 0; i < res->nr_ev; i++)
		nr += event_step(res, i, &st[nr]);
	qsort(st, nr, sizeof(*st), by_time);

	fprintf(f, "%sseed timeline, mode %s, drawn from %d recorded events:\n",
		prefix, mnsim_mode_name(res->mode), res->nr_ev);
	for (i = 0; i < nr; i++) {
		fprintf(f, "%s[Time N%s%.0d] %s\n", prefix, i ? "+" : "", i,
			"-------------------------------------------------------");
		for (r = 0; r < NR_ROWS; r++)
			fprintf(f, "%s%-13s {%s}\n", prefix, row_name[r],
				st[i].row == (enum seed_row)r ? st[i].what : "");
	}
	if (seed_order_violated(res))
		fprintf(f, "%s%s: violation: the device saw addrB new and addrA old\n",
			prefix, mnsim_mode_name(res->mode));
	else if (seed_write_missed(res))
		fprintf(f,
			"%s%s: violation: the device read addrB old after the CPU's write to it returned\n",
			prefix, mnsim_mode_name(res->mode));
	else if (seed_oracle_violations(res))
		fprintf(f,
			"%s%s: violation: the oracle judged %llu device access(es) case A or B (the values kept the order): a translation the kernel did not flush in time\n",
			prefix, mnsim_mode_name(res->mode),
			seed_oracle_violations(res));
	else
		fprintf(f, "%s%s: ordering kept: the device never saw addrB new with addrA old\n",
			prefix, mnsim_mode_name(res->mode));
	free(st);
}
