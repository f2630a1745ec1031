// SPDX-License-Identifier: GPL-2.0
/*
 * mnsim - drive the mmu_notifier_sim emulated ATS device
 *
 * Copyright (C) 2026 The mmu_notifier_sim authors
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mnsim.h"
#include "seed.h"

static const char usage[] =
"NAME\n"
"    mnsim - drive the mmu_notifier_sim emulated ATS device\n"
"\n"
"SYNOPSIS\n"
"    mnsim info\n"
"    mnsim scenario seed [--mode ats|soft|defer] [--expect kept|violation]\n"
"                        [--no-flush]\n"
"    mnsim attach PID [--mode ats|soft|defer] [--interval MS] [--passes N]\n"
"                 [--fault] [--delay-end MS]\n"
"    mnsim stats [--ctx ID] [--watch SEC] [--wide]\n"
"    mnsim trace\n"
"    mnsim --help\n"
"\n"
"DESCRIPTION\n"
"    mnsim talks to /dev/mmu_notifier_sim (load mmu_notifier_sim.ko first;\n"
"    the device node is root's). Each command opens its own emulated\n"
"    device, and closing it always unbinds it.\n"
"\n"
"    info\n"
"        Print the device's ABI version, the secondary-TLB hook of the\n"
"        running kernel, the modes it can emulate and the TLB capacities.\n"
"\n"
"    scenario seed\n"
"        Run the COW timeline of Documentation/mm/mmu_notifier.rst on a new\n"
"        device bound to this process: the COW of addrA is parked after it\n"
"        switched the PTE, the CPU writes addrA then addrB, and the device\n"
"        reads addrB then addrA. Prints the seed's timeline table, drawn\n"
"        from the device's recorded events, and the verdict.\n"
"\n"
"    attach PID\n"
"        Bind a device to process PID (needs CAP_SYS_PTRACE over it) and\n"
"        DMA-scan its readable mappings over and over with the coherence\n"
"        oracle on, printing each violation as it is found and the device's\n"
"        counters at the end. Stops on Ctrl-C, when the process exits or\n"
"        after --passes passes.\n"
"\n"
"    stats\n"
"        Print the counters of every device in the system, bound or not,\n"
"        one row per open device (CTX is its id, TGID the process it is\n"
"        bound to, 0 when unbound), from the root-only debugfs file\n"
"        /sys/kernel/debug/mmu_notifier_sim/contexts. The first line holds\n"
"        the module-wide totals: devices, cached entries, and the\n"
"        max_total_entries cap. HOOK, START and END count the notifier\n"
"        callbacks; VIOL_B and VIOL_A the oracle's violations.\n"
"\n"
"    trace\n"
"        Stream the trace events mmu_notifier_sim:mnsim_event of every\n"
"        device from tracefs until Ctrl-C.\n"
"\n"
"OPTIONS\n"
"    --mode ats|soft|defer\n"
"        How the device keeps its TLB coherent (default ats): the\n"
"        secondary-TLB hook (ATS), flush at range start and refill after\n"
"        range end (SOFT), or flush at range end only (DEFER, needs\n"
"        CAP_SYS_ADMIN).\n"
"    --expect kept|violation\n"
"        scenario: exit 1 unless the verdict is the one given. The verdict\n"
"        is a violation when the values read break the order or when the\n"
"        oracle judged any access case A or B.\n"
"    --no-flush\n"
"        scenario: fault injection, to see what a kernel that never\n"
"        notifies looks like: the device drops nothing on the kernel's\n"
"        invalidations (MNSIM_BIND_NO_FLUSH, needs CAP_SYS_ADMIN).\n"
"    --interval MS\n"
"        attach: pause between passes (default 10).\n"
"    --passes N\n"
"        attach: stop after N passes (default: until Ctrl-C or exit).\n"
"    --fault\n"
"        attach: fault pages in like PRI. By default only present pages are\n"
"        scanned, so the scan never populates memory and never blocks on a\n"
"        userfaultfd region.\n"
"    --delay-end MS\n"
"        attach: hold invalidate_range_end() of pages the device cached for\n"
"        MS milliseconds (fault injection), widening DEFER's window.\n"
"    --ctx ID\n"
"        stats: only the device with that id.\n"
"    --watch SEC\n"
"        stats: print again every SEC seconds until Ctrl-C.\n"
"    --wide\n"
"        stats: every counter, as the module's key=value lines.\n"
"\n"
"EXIT STATUS\n"
"    0 on success; 1 when attach found violations or scenario's --expect\n"
"    failed; 2 on a usage error or when the device cannot be used (the\n"
"    one-line message says why, with the errno's meaning).\n";

static const char * const hook_name[] = {
	"?", "none", "invalidate_range", "arch_invalidate_secondary_tlbs",
};

/* mnsim_info.bind_flags, bit by bit (MNSIM_BIND_*). */
static const char * const bind_flag_name[] = {
	"RECORD", "ORACLE", "NO_FLUSH", "PERM_CACHE",
};

static int cmd_info(void)
{
	struct mnsim_info info = { 0 };
	__u32 m;
	int fd, ret;

	fd = mnsim_open_dev();
	if (fd < 0)
		return 2;
	ret = mnsim_xioctl(fd, MNSIM_IOC_INFO, &info);
	close(fd);
	if (ret)
		return mnsim_error(ret, "INFO");
	printf("abi_version:      %u\n", info.abi_version);
	printf("secondary-TLB hook: %s\n",
	       hook_name[info.hook < 4 ? info.hook : 0]);
	printf("modes:           ");
	for (m = MNSIM_MODE_ATS; m <= MNSIM_MODE_DEFER; m++)
		if (info.modes & (1U << m))
			printf(" %s", mnsim_mode_name(m));
	printf("\npage_size:        %u\n", info.page_size);
	printf("default_capacity: %u\n", info.default_capacity);
	printf("max_capacity:     %u\n", info.max_capacity);
	printf("bind_flags:      ");
	for (m = 0; m < ARRAY_SIZE(bind_flag_name); m++)
		if (info.bind_flags & (1U << m))
			printf(" %s", bind_flag_name[m]);
	printf("\n");
	return 0;
}

static int cmd_scenario(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "mode", required_argument, NULL, 'm' },
		{ "expect", required_argument, NULL, 'e' },
		{ "no-flush", no_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	const char *expect = NULL;
	struct seed_result res;
	__u32 mode = MNSIM_MODE_ATS, flags = 0;
	char err[160];
	int c, ret;

	while ((c = getopt_long(argc, argv, "m:e:n", opts, NULL)) != -1) {
		switch (c) {
		case 'm':
			if (mnsim_parse_mode(optarg, &mode))
				return mnsim_usage_error("unknown mode '%s'",
							 optarg);
			break;
		case 'e':
			expect = optarg;
			if (strcmp(expect, "kept") && strcmp(expect, "violation"))
				return mnsim_usage_error("--expect kept|violation");
			break;
		case 'n':
			flags |= MNSIM_BIND_NO_FLUSH;
			break;
		default:
			return 2;
		}
	}
	if (optind != argc - 1 || strcmp(argv[optind], "seed"))
		return mnsim_usage_error("scenarios: seed");

	ret = seed_run(mode, flags, &res, err, sizeof(err));
	if (ret) {
		seed_result_free(&res);
		return mnsim_error(0, "scenario seed (%s): %s",
				   mnsim_mode_name(mode), err);
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
	if (argc < 2)
		return mnsim_usage_error("no command");
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fputs(usage, stdout);
		return 0;
	}
	if (!strcmp(argv[1], "info"))
		return cmd_info();
	if (!strcmp(argv[1], "scenario"))
		return cmd_scenario(argc - 1, argv + 1);
	if (!strcmp(argv[1], "attach"))
		return cmd_attach(argc - 1, argv + 1);
	if (!strcmp(argv[1], "stats"))
		return cmd_stats(argc - 1, argv + 1);
	if (!strcmp(argv[1], "trace"))
		return cmd_trace(argc - 1, argv + 1);
	return mnsim_usage_error("unknown command '%s'", argv[1]);
}
