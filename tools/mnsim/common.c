// SPDX-License-Identifier: GPL-2.0
/*
 * Shared helpers of the mnsim command.
 *
 * Copyright (C) 2026 The mmu_notifier_sim authors
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>

#include "mnsim.h"

/* ioctl() that retries EINTR. Return: 0 or -errno. */
int mnsim_xioctl(int fd, unsigned long cmd, void *arg)
{
	int ret;

	do {
		ret = ioctl(fd, cmd, arg);
	} while (ret == -1 && errno == EINTR);
	return ret == -1 ? -errno : 0;
}

static void verror(int err, const char *fmt, va_list ap)
{
	fputs("mnsim: ", stderr);
	vfprintf(stderr, fmt, ap);
	if (err)
		fprintf(stderr, ": %s", strerror(-err));
	fputc('\n', stderr);
}

/* One line on stderr: what failed and the errno's meaning. Return: 2. */
int mnsim_error(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verror(err, fmt, ap);
	va_end(ap);
	return 2;
}

int mnsim_usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verror(0, fmt, ap);
	va_end(ap);
	fputs("mnsim: see mnsim --help\n", stderr);
	return 2;
}

/* The device, or -1 after saying why (module not loaded, not root...). */
int mnsim_open_dev(void)
{
	int fd = open("/dev/mmu_notifier_sim", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		mnsim_error(-errno, "open /dev/mmu_notifier_sim%s",
			    errno == ENOENT ? " (is mmu_notifier_sim.ko loaded?)" :
			    "");
	return fd;
}

int mnsim_parse_mode(const char *s, __u32 *mode)
{
	if (!strcmp(s, "ats"))
		*mode = MNSIM_MODE_ATS;
	else if (!strcmp(s, "soft"))
		*mode = MNSIM_MODE_SOFT;
	else if (!strcmp(s, "defer"))
		*mode = MNSIM_MODE_DEFER;
	else
		return -EINVAL;
	return 0;
}

const char *mnsim_mode_name(__u32 mode)
{
	switch (mode) {
	case MNSIM_MODE_ATS:
		return "ATS";
	case MNSIM_MODE_SOFT:
		return "SOFT";
	case MNSIM_MODE_DEFER:
		return "DEFER";
	}
	return "?";
}

/* Set by SIGINT/SIGTERM; an atomic int is async-signal-safe. */
static int stop;

static void on_stop(int sig)
{
	(void)sig;
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
}

/*
 * Catch Ctrl-C and SIGTERM so that long commands stop cleanly: no
 * SA_RESTART, a blocking read returns EINTR.
 */
void mnsim_catch_stop(void)
{
	struct sigaction sa = { .sa_handler = on_stop };

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

int mnsim_stopped(void)
{
	return __atomic_load_n(&stop, __ATOMIC_RELAXED);
}
