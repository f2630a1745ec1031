// SPDX-License-Identifier: GPL-2.0
/*
 * mnsim_hold: not a test, a helper of mnsim_rmmod_test.sh. Opens the
 * device, binds it in SOFT mode to PID (default: itself), prints "bound"
 * and keeps the file open until it is killed.
 *
 * Copyright (C) 2026 The mmu_notifier_sim authors
 *
 *   mnsim_hold [PID]
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <linux/mmu_notifier_sim.h>

int main(int argc, char **argv)
{
	struct mnsim_bind bind = {
		.mode = MNSIM_MODE_SOFT,
		.target = argc > 1 ? atoi(argv[1]) : MNSIM_TARGET_SELF,
	};
	int fd;

	fd = open("/dev/mmu_notifier_sim", O_RDWR);
	if (fd < 0 || ioctl(fd, MNSIM_IOC_BIND, &bind)) {
		fprintf(stderr, "mnsim_hold: %s\n", strerror(errno));
		return 1;
	}
	printf("bound\n");
	fflush(stdout);
	for (;;)
		pause();
}
