// SPDX-License-Identifier: GPL-2.0
/*
 * mnsim_cow_storm: a target for mnsim attach. Keeps COW-faulting its own
 * pages: forks a child that keeps the old pages for a moment, then writes
 * every page, for the given number of seconds.
 *
 * Copyright (C) 2026 The mmu_notifier_sim authors
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/wait.h>

#define PAGES	64
#define PAGE	4096UL

int main(int argc, char **argv)
{
	int seconds = argc > 1 ? atoi(argv[1]) : 5;
	time_t end = time(NULL) + seconds;
	unsigned long i, gen = 0;
	char *mem;
	pid_t pid;

	mem = mmap(NULL, PAGES * PAGE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return 1;
	madvise(mem, PAGES * PAGE, MADV_NOHUGEPAGE);
	while (time(NULL) < end) {
		for (i = 0; i < PAGES; i++)
			__atomic_store_n((unsigned long *)(mem + i * PAGE), gen,
					 __ATOMIC_SEQ_CST);
		pid = fork();
		if (pid < 0)
			return 1;
		if (!pid) {
			usleep(20000);
			_exit(0);
		}
		usleep(5000);
		gen++;
		/* Every write now COWs a page the child still maps. */
		for (i = 0; i < PAGES; i++)
			__atomic_store_n((unsigned long *)(mem + i * PAGE), gen,
					 __ATOMIC_SEQ_CST);
		waitpid(pid, NULL, 0);
	}
	return 0;
}
