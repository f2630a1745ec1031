// SPDX-License-Identifier: GPL-2.0
/*
 * mnsim - drive the mmu_notifier_sim emulated ATS device
 *
 * Copyright (C) 2026 The mmu_notifier_sim authors
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>

#include "seed.h"

static const char usage[] =
"NAME\n"
"    mnsim - drive the mmu_notifier_sim emulated ATS device\n"
"\n"
"SYNOPSIS\n"
"    mnsim info\n"
"    mnsim scenario seed [--mode ats|soft|defer] [--expect kept|violation]\n"
"    mnsim --help\n"
"\n"
"DESCRIPTION\n"
"    mnsim talks to /dev/mmu_notifier_sim (load mmu_notifier_sim.ko first).\n"
"\n"
"    info\n"
"        Print the device's ABI version, the secondary-TLB hook of the\n"
"        running kernel and the modes it can emulate.\n"
"\n"
"    scenario seed\n"
"        Run the COW timeline of Documentation/mm/mmu_notifier.rst on a new\n"
"        device bound to this process: the COW of addrA is parked after it\n"
"        switched the PTE, the CPU writes addrA then addrB, and the device\n"
"        reads addrB then addrA. Prints the seed's timeline table, drawn\n"
"        from the device's recorded events, and the verdict.\n"
"\n"
"OPTIONS\n"
"    --mode ats|soft|defer\n"
"        How the device keeps its TLB coherent (default ats): the\n"
"        secondary-TLB hook (ATS), flush at range start and refill after\n"
"        range end (SOFT), or flush at range end only (DEFER, root).\n"
"    --expect kept|violation\n"
"        Exit 1 unless the verdict is the one given.\n"
"\n"
"EXIT STATUS\n"
"    0 on success, 1 on a failed expectation, 2 on a usage error or when\n"
"    the device cannot be used (the message says why).\n";

static const char * const hook_name[] = {
	"?", "none", "invalidate_range", "arch_invalidate_secondary_tlbs",
};

static int cmd_info(void)
{
	struct mnsim_info info = { 0 };
	__u32 m;
	int fd;

	fd = open("/dev/mmu_notifier_sim", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "mnsim: open /dev/mmu_notifier_sim: %s\n",
			strerror(errno));
		return 2;
	}
	if (ioctl(fd, MNSIM_IOC_INFO, &info)) {
		fprintf(stderr, "mnsim: INFO: %s\n", strerror(errno));
		close(fd);
		return 2;
	}
	close(fd);
	printf("abi_version:      %u\n", info.abi_version);
	printf("secondary-TLB hook: %s\n",
	       hook_name[info.hook < 4 ? info.hook : 0]);
	printf("modes:           ");
	for (m = MNSIM_MODE_ATS; m <= MNSIM_MODE_DEFER; m++)
		if (info.modes & (1U << m))
			printf(" %s", seed_mode_name(m));
	printf("\npage_size:        %u\n", info.page_size);
	printf("default_capacity: %u\n", info.default_capacity);
	printf("max_capacity:     %u\n", info.max_capacity);
	return 0;
}

static int parse_mode(const char *s, __u32 *mode)
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

static int cmd_scenario(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "mode", required_argument, NULL, 'm' },
		{ "expect", required_argument, NULL, 'e' },
		{ NULL, 0, NULL, 0 },
	};
	const char *expect = NULL;
	struct seed_result res;
	__u32 mode = MNSIM_MODE_ATS;
	char err[160];
	int c, ret;

	while ((c = getopt_long(argc, argv, "m:e:", opts, NULL)) != -1) {
		switch (c) {
		case 'm':
			if (parse_mode(optarg, &mode)) {
				fprintf(stderr, "mnsim: unknown mode '%s'\n", optarg);
				return 2;
			}
			break;
		case 'e':
			expect = optarg;
			if (strcmp(expect, "kept") && strcmp(expect, "violation")) {
				fprintf(stderr, "mnsim: --expect kept|violation\n");
				return 2;
			}
			break;
		default:
			return 2;
		}
	}
	if (optind != argc - 1 || strcmp(argv[optind], "seed")) {
		fprintf(stderr, "mnsim: scenarios: seed\n");
		return 2;
	}

	ret = seed_run(mode, &res, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "mnsim: scenario seed (%s): %s\n",
			seed_mode_name(mode), err);
		seed_result_free(&res);
		return 2;
	}
	seed_print_timeline(stdout, "", &res);
	printf("oracle: %llu coherent, %llu stale but allowed, %llu case B, %llu case A\n",
	       (unsigned long long)(res.after.oracle_coherent -
				    res.before.oracle_coherent),
	       (unsigned long long)(res.after.oracle_stale_allowed -
				    res.before.oracle_stale_allowed),
	       (unsigned long long)(res.after.oracle_violation_b -
				    res.before.oracle_violation_b),
	       (unsigned long long)(res.after.oracle_violation_a -
				    res.before.oracle_violation_a));
	ret = 0;
	if (expect && strcmp(expect, seed_violation(&res) ? "violation" : "kept"))
		ret = 1;
	seed_result_free(&res);
	return ret;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fputs(usage, stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fputs(usage, stdout);
		return 0;
	}
	if (!strcmp(argv[1], "info"))
		return cmd_info();
	if (!strcmp(argv[1], "scenario"))
		return cmd_scenario(argc - 1, argv + 1);
	fprintf(stderr, "mnsim: unknown command '%s' (see mnsim --help)\n",
		argv[1]);
	return 2;
}
