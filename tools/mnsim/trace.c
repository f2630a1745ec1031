// SPDX-License-Identifier: GPL-2.0
/*
 * mnsim trace: stream the device's trace events (mmu_notifier_sim:mnsim_event)
 * live from tracefs until Ctrl-C.
 *
 * Copyright (C) 2026 The mmu_notifier_sim authors
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "mnsim.h"

#define EVENT_ENABLE \
	"/sys/kernel/tracing/events/mmu_notifier_sim/mnsim_event/enable"
#define TRACE_PIPE	"/sys/kernel/tracing/trace_pipe"

static int set_enable(const char *v)
{
	int fd = open(EVENT_ENABLE, O_WRONLY);
	int ok;

	if (fd < 0)
		return -errno;
	ok = write(fd, v, 1) == 1;
	close(fd);
	return ok ? 0 : -EIO;
}

int cmd_trace(int argc, char **argv)
{
	char buf[4096];
	ssize_t n;
	int fd, ret;

	(void)argv;
	if (argc != 1)
		return mnsim_usage_error("trace takes no arguments");
	ret = set_enable("1");
	if (ret)
		return mnsim_error(ret, "enable %s (tracefs mounted? module loaded?)",
				   EVENT_ENABLE);
	fd = open(TRACE_PIPE, O_RDONLY);
	if (fd < 0) {
		ret = -errno;
		set_enable("0");
		return mnsim_error(ret, "open %s", TRACE_PIPE);
	}
	mnsim_catch_stop();
	while (!mnsim_stopped() && (n = read(fd, buf, sizeof(buf))) > 0)
		fwrite(buf, 1, n, stdout);
	close(fd);
	set_enable("0");
	return 0;
}
