// SPDX-License-Identifier: GPL-2.0
/*
 * Events of the emulated device: the ring (MNSIM_BIND_RECORD,
 * MNSIM_IOC_READ_EVENTS) and the trace event mmu_notifier_sim:mnsim_event.
 *
 * Copyright (C) 2026 The mmu_notifier_sim authors
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "mnsim_utils.h"

#define TRACEFS		"/sys/kernel/tracing"
#define MNSIM_EVENT_DIR	TRACEFS "/events/mmu_notifier_sim/mnsim_event"
#define MAX_EV		MNSIM_EVENT_RING

/* Drain the ring into @ev; returns the number of records or -errno. */
static int read_events(int fd, struct mnsim_event *ev, __u64 *lost)
{
	struct mnsim_read_events cmd = {
		.max = MAX_EV,
		.events = MNSIM_PTR(ev),
	};
	int ret = mnsim_ioctl(fd, MNSIM_IOC_READ_EVENTS, &cmd);

	if (ret)
		return ret;
	if (lost)
		*lost = cmd.lost;
	return cmd.nr;
}

/* Index of the first record at or after @from of @type covering @va. */
static int find_event(const struct mnsim_event *ev, int nr, int from,
		      __u32 type, __u64 va)
{
	int i;

	for (i = from; i < nr; i++)
		if (ev[i].type == type && ev[i].start <= va && va < ev[i].end)
			return i;
	return -1;
}

FIXTURE(events)
{
	int fd;
	long ps;
	struct mnsim_event *ev;
};

FIXTURE_VARIANT(events)
{
	__u32 mode;
	/* Which callback drops the translation on a COW in this mode. */
	__u32 inval_type;
};

FIXTURE_VARIANT_ADD(events, ats)
{
	.mode = MNSIM_MODE_ATS,
	.inval_type = MNSIM_EV_HOOK,
};

FIXTURE_VARIANT_ADD(events, soft)
{
	.mode = MNSIM_MODE_SOFT,
	.inval_type = MNSIM_EV_START,
};

FIXTURE_VARIANT_ADD(events, defer)
{
	.mode = MNSIM_MODE_DEFER,
	.inval_type = MNSIM_EV_END,
};

FIXTURE_SETUP(events)
{
	struct mnsim_info info;

	self->ps = sysconf(_SC_PAGESIZE);
	self->fd = mnsim_open();
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, _test_cmd_info(self->fd, &info));
	if (!(info.modes & MNSIM_MODE_BIT(variant->mode)))
		SKIP(MNSIM_SETUP_SKIP, "mode %u not offered", variant->mode);
	self->ev = calloc(MAX_EV, sizeof(*self->ev));
	ASSERT_NE(NULL, self->ev);
	test_cmd_bind_flags(MNSIM_BIND_RECORD, variant->mode, MNSIM_TARGET_SELF,
			    0);
}

FIXTURE_TEARDOWN(events)
{
	free(self->ev);
	close(self->fd);
}

/*
 * A fill, a hit and a COW are recorded in order, with the values the device
 * moved, and the callback that drops the translation covers the page and
 * names the faulting thread.
 */
TEST_F(events, cow_is_recorded_in_order)
{
	__u64 *page, v = 0, lost = ~0ULL;
	int nr, fill, hit, acc, inval, pipefd[2];
	pid_t child;
	char c;

	page = mmap(NULL, self->ps, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, page);
	ASSERT_EQ(0, madvise(page, self->ps, MADV_NOHUGEPAGE));
	*page = 7;
	ASSERT_EQ(0, pipe(pipefd));
	child = fork();
	ASSERT_LE(0, child);
	if (!child) {
		if (read(pipefd[0], &c, 1) < 0)
			_exit(2);
		_exit(*page == 7 ? 0 : 1);
	}
	/* Everything fork did is drained: the window starts now. */
	ASSERT_LE(0, read_events(self->fd, self->ev, NULL));

	ASSERT_EQ(0, _test_cmd_dev_read(self->fd, page, sizeof(v), &v, NULL));
	ASSERT_EQ(0, _test_cmd_dev_read(self->fd, page, sizeof(v), &v, NULL));
	*page = 8;		/* COW */

	nr = read_events(self->fd, self->ev, &lost);
	ASSERT_LT(0, nr);
	EXPECT_EQ(0ULL, lost);

	fill = find_event(self->ev, nr, 0, MNSIM_EV_FILL, MNSIM_PTR(page));
	ASSERT_LE(0, fill);
	acc = find_event(self->ev, nr, fill, MNSIM_EV_ACCESS, MNSIM_PTR(page));
	ASSERT_LE(0, acc);
	EXPECT_EQ(7ULL, self->ev[acc].value);
	EXPECT_EQ(0U, self->ev[acc].flags & MNSIM_EVF_REFUSED);
	hit = find_event(self->ev, nr, acc, MNSIM_EV_HIT, MNSIM_PTR(page));
	ASSERT_LE(0, hit);
	inval = find_event(self->ev, nr, hit, variant->inval_type,
			   MNSIM_PTR(page));
	ASSERT_LE(0, inval);
	EXPECT_EQ((__u32)syscall(SYS_gettid), self->ev[inval].tid);
	EXPECT_LE(1U, self->ev[inval].count);
	EXPECT_LT(self->ev[fill].seq, self->ev[inval].seq);
	EXPECT_LE(self->ev[fill].time_ns, self->ev[inval].time_ns);

	/* Drained: a second read finds nothing new. */
	EXPECT_EQ(0, read_events(self->fd, self->ev, NULL));

	ASSERT_EQ(1, write(pipefd[1], "x", 1));
	ASSERT_EQ(child, waitpid(child, NULL, 0));
}

/* The ring refuses bad arguments with the documented errnos. */
TEST_F(events, read_events_invalid_args)
{
	struct mnsim_read_events cmd = { .max = MAX_EV + 1 };
	__u64 v = 1, w;

	EXPECT_ERRNO(EINVAL, mnsim_ioctl(self->fd, MNSIM_IOC_READ_EVENTS, &cmd));
	cmd.max = 1;
	cmd.flags = 1U << 31;
	EXPECT_ERRNO(EOPNOTSUPP,
		     mnsim_ioctl(self->fd, MNSIM_IOC_READ_EVENTS, &cmd));
	cmd.flags = 0;
	cmd.__reserved = 1;
	EXPECT_ERRNO(EINVAL, mnsim_ioctl(self->fd, MNSIM_IOC_READ_EVENTS, &cmd));
	cmd.__reserved = 0;

	/* A record to copy out, then an unmapped destination for it. */
	ASSERT_EQ(0, _test_cmd_dev_read(self->fd, &v, sizeof(v), &w, NULL));
	cmd.events = 8;
	EXPECT_ERRNO(EFAULT, mnsim_ioctl(self->fd, MNSIM_IOC_READ_EVENTS, &cmd));
}

/*
 * A destination that faults part way: the read ends short, and the record
 * it could not copy stays in the ring for the next read.
 */
TEST_F(events, read_events_short_on_fault)
{
	struct mnsim_read_events cmd = { .max = 2 };
	struct mnsim_event *first;
	__u64 v = 1, w, seq;
	char *buf;

	buf = mmap(NULL, 2 * self->ps, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, buf);
	ASSERT_EQ(0, mprotect(buf + self->ps, self->ps, PROT_NONE));
	/* Record 0 ends at the page boundary, record 1 is in the hole. */
	first = (struct mnsim_event *)(buf + self->ps - sizeof(*first));
	cmd.events = (__u64)(uintptr_t)first;

	/* A device read records more than one event (fill, access). */
	ASSERT_EQ(0, _test_cmd_dev_read(self->fd, &v, sizeof(v), &w, NULL));
	ASSERT_EQ(0, mnsim_ioctl(self->fd, MNSIM_IOC_READ_EVENTS, &cmd));
	ASSERT_EQ(1U, cmd.nr);
	seq = first->seq;

	/* The next read starts with the record that did not fit. */
	cmd.max = 1;
	cmd.events = (__u64)(uintptr_t)self->ev;
	ASSERT_EQ(0, mnsim_ioctl(self->fd, MNSIM_IOC_READ_EVENTS, &cmd));
	ASSERT_EQ(1U, cmd.nr);
	EXPECT_EQ(seq + 1, self->ev[0].seq);
	EXPECT_EQ(0ULL, cmd.lost);
	munmap(buf, 2 * self->ps);
}

/* The trace event exists in tracefs and fires for a device fill. */
TEST_F(events, tracepoint_fires)
{
	char buf[4096], *mem;
	ssize_t n;
	__u64 v;
	int fd;

	ASSERT_EQ(0, access(MNSIM_EVENT_DIR "/enable", W_OK))
		TH_LOG("%s missing: tracefs not mounted or no trace events",
		       MNSIM_EVENT_DIR);
	ASSERT_EQ(0, mnsim_write_file(TRACEFS "/trace", ""));
	ASSERT_EQ(0, mnsim_write_file(MNSIM_EVENT_DIR "/enable", "1"));

	mem = mmap(NULL, self->ps, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, mem);
	memset(mem, 1, self->ps);
	EXPECT_EQ(0, _test_cmd_dev_read(self->fd, mem, sizeof(v), &v, NULL));

	ASSERT_EQ(0, mnsim_write_file(MNSIM_EVENT_DIR "/enable", "0"));
	fd = open(TRACEFS "/trace", O_RDONLY);
	ASSERT_LE(0, fd);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	ASSERT_LT(0, n);
	buf[n] = 0;
	EXPECT_NE(NULL, strstr(buf, "mnsim_event"));
	EXPECT_NE(NULL, strstr(buf, " fill "));
	EXPECT_NE(NULL, strstr(buf, " access "));
}

TEST_HARNESS_MAIN
