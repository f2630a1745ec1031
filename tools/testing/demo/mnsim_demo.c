// SPDX-License-Identifier: GPL-2.0
/*
 * mnsim_demo: a CPU write after fork reaching the emulated ATS device.
 *
 * The process binds its own address space in ATS mode, lets the device cache
 * a page, forks (the page becomes COW-shared), writes the page on the CPU and
 * reads it again through the device. The COW switches the PTE to a new page;
 * the kernel calls the secondary-TLB hook under the page-table lock before
 * the new PTE is visible, so the device sees the new value.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/mmu_notifier_sim.h>

static int fd;

static void die(const char *what)
{
	fprintf(stderr, "mnsim_demo: %s: %s\n", what, strerror(errno));
	exit(1);
}

static __u64 dev_read(void *va, void *buf, size_t len)
{
	struct mnsim_access a = {
		.va = (uintptr_t)va, .len = len, .buf = (uintptr_t)buf,
	};

	if (ioctl(fd, MNSIM_IOC_DEV_READ, &a))
		die("DEV_READ");
	return a.hits;
}

static struct mnsim_stats stats(void)
{
	struct mnsim_stats s = {0};

	if (ioctl(fd, MNSIM_IOC_STATS, &s))
		die("STATS");
	return s;
}

int main(void)
{
	static const char * const hooks[] = { "?", "none", "invalidate_range",
				       "arch_invalidate_secondary_tlbs" };
	struct mnsim_bind bind = { .mode = MNSIM_MODE_ATS };
	struct mnsim_info info = {0};
	struct mnsim_stats before, after;
	__u64 *page;
	__u64 seen, hits;
	int pipefd[2];
	char c;
	pid_t pid;

	fd = open("/dev/mmu_notifier_sim", O_RDWR);
	if (fd < 0)
		die("open /dev/mmu_notifier_sim");
	if (ioctl(fd, MNSIM_IOC_INFO, &info))
		die("INFO");
	printf("mnsim_demo: ABI %u, secondary-TLB hook: %s\n",
	       info.abi_version, hooks[info.hook < 4 ? info.hook : 0]);
	if (ioctl(fd, MNSIM_IOC_BIND, &bind))
		die("BIND (ATS)");

	page = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (page == MAP_FAILED)
		die("mmap");
	madvise(page, 4096, MADV_NOHUGEPAGE);
	*page = 1;

	dev_read(page, &seen, sizeof(seen));
	hits = dev_read(page, &seen, sizeof(seen));
	printf("[Time N]   CPU-thread-0 {write A=1}\n");
	printf("           DEV-thread-0 {read A=%llu, TLB %s}\n",
	       (unsigned long long)seen, hits ? "hit" : "miss");

	if (pipe(pipefd))
		die("pipe");
	pid = fork();
	if (pid < 0)
		die("fork");
	if (!pid) {
		/* The child keeps the old page mapped until told to exit. */
		read(pipefd[0], &c, 1);
		_exit(*page == 1 ? 0 : 1);
	}
	/* fork flushed the device TLB (write-protect): let the device cache A again. */
	hits = dev_read(page, &seen, sizeof(seen));
	printf("[Time N+1] fork: A is now COW-shared with child %d\n", pid);
	printf("           DEV-thread-0 {read A=%llu, TLB %s: caches the shared page}\n",
	       (unsigned long long)seen, hits ? "hit" : "miss");

	before = stats();
	*page = 2;
	after = stats();
	printf("[Time N+2] CPU-thread-0 {write A=2: COW to a new page}\n");
	printf("           secondary-TLB hook calls +%llu, entries dropped +%llu\n",
	       (unsigned long long)(after.hook_calls - before.hook_calls),
	       (unsigned long long)(after.inval_entries -
				    before.inval_entries));

	hits = dev_read(page, &seen, sizeof(seen));
	printf("[Time N+3] DEV-thread-0 {read A=%llu, TLB %s}\n",
	       (unsigned long long)seen, hits ? "hit" : "miss");

	if (write(pipefd[1], "x", 1) != 1)
		die("write pipe");
	waitpid(pid, NULL, 0);

	if (seen != 2 || after.hook_calls == before.hook_calls ||
	    after.inval_entries == before.inval_entries) {
		printf("mnsim_demo: FAIL: device saw A=%llu after CPU wrote 2\n",
		       (unsigned long long)seen);
		return 1;
	}
	printf("mnsim_demo: PASS: the CPU write after fork reached the device\n");
	return 0;
}
