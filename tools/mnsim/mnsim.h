/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shared helpers of the mnsim command.
 *
 * Copyright (C) 2026 The mmu_notifier_sim authors
 */
#ifndef _MNSIM_H
#define _MNSIM_H

#include <linux/mmu_notifier_sim.h>

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#endif

int mnsim_xioctl(int fd, unsigned long cmd, void *arg);
int mnsim_open_dev(void);
int mnsim_parse_mode(const char *s, __u32 *mode);
const char *mnsim_mode_name(__u32 mode);
int mnsim_error(int err, const char *fmt, ...);
int mnsim_usage_error(const char *fmt, ...);
void mnsim_catch_stop(void);
int mnsim_stopped(void);

int cmd_attach(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_trace(int argc, char **argv);

#endif /* _MNSIM_H */
