// SPDX-License-Identifier: GPL-2.0
/*
 * mnsim_fuzz: seeded random sequences of ioctls and memory operations.
 *
 * Copyright (C) 2026 The mmu_notifier_sim authors
 *
 *   mnsim_fuzz [--seed S] [--ops N]
 *
 * Several devices, bound and unbound at random to this process or a child,
 * get every ioctl with random arguments (valid and not, random sizes and
 * numbers too) while the process maps, unmaps, protects, discards, remaps,
 * forks and writes its memory. Every ioctl must succeed or fail with an errno
 * the uAPI documents; the kernel must not splat (the VM harness watches the
 * console). The seed is printed first: the same seed replays the same run.
 * Output is TAP with one test.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <linux/mmu_notifier_sim.h>

#define NDEV		4
#define NREG		6
#define PAGE		4096UL
#define REG_PAGES	16

static __u64 rng_state;

/* xorshift64*: small, fast and reproducible from the seed. */
static __u64 rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1DULL;
}

static __u64 below(__u64 n)
{
	return n ? rnd() % n : 0;
}

struct region {
	char *p;		/* NULL when unmapped */
	size_t len;
};

static int dev[NDEV] = { -1, -1, -1, -1 };
static struct region reg[NREG];
static pid_t child = -1;
static char *buf;
static unsigned long nr_ops, nr_ok, nr_err;

/* Errnos the uAPI table allows for a device command. */
static int errno_documented(int e)
{
	switch (e) {
	case ENOTTY: case EINVAL: case E2BIG: case EOPNOTSUPP: case EFAULT:
	case ENXIO: case EBUSY: case ESRCH: case EPERM: case ENOMEM:
	case EAGAIN: case EACCES: case EIO: case EINTR: case ENOENT:
		return 1;
	}
	return 0;
}

static void fuzz_fail(const char *what, unsigned long cmd, int e)
{
	printf("not ok 1 fuzz\n");
	printf("# op %lu: %s (cmd %#lx): undocumented errno %d (%s)\n",
	       nr_ops, what, cmd, e, strerror(e));
	printf("# Totals: pass:0 fail:1 xfail:0 xpass:0 skip:0 error:0\n");
	exit(1);
}

static void do_ioctl(int fd, unsigned long cmd, void *arg, const char *what)
{
	if (ioctl(fd, cmd, arg) == 0) {
		nr_ok++;
		return;
	}
	nr_err++;
	/* Other types may be the VFS's own (FIGETBSZ...): not ours to judge. */
	if (_IOC_TYPE(cmd) == MNSIM_IOC_MAGIC && !errno_documented(errno))
		fuzz_fail(what, cmd, errno);
}

/* A user address: mostly inside a region, sometimes anything at all. */
static __u64 any_va(void)
{
	struct region *r = &reg[below(NREG)];

	switch (below(16)) {
	case 0:
		return rnd();				/* wild, kernel half too */
	case 1:
		return 0;
	case 2:
		return ~0ULL - below(PAGE);		/* wraps */
	default:
		if (!r->p)
			return (__u64)(unsigned long)buf + below(PAGE);
		return (__u64)(unsigned long)r->p + below(r->len);
	}
}

static __u64 any_len(void)
{
	switch (below(12)) {
	case 0:
		return 0;
	case 1:
		return rnd();				/* huge */
	case 2:
		return MNSIM_MAX_ACCESS_LEN + 1;
	default:
		return 1 + below(3 * PAGE);
	}
}

/* Usually 0; sometimes a random or a known bit, to test the checks. */
static __u32 any_flags(__u32 known)
{
	switch (below(8)) {
	case 0:
		return (__u32)rnd();
	case 1:
	case 2:
		return known & (__u32)rnd();
	default:
		return 0;
	}
}

static void op_bind(int fd)
{
	static const __s32 dead = 0x3fffffff;
	struct mnsim_bind b = {
		.flags = any_flags(MNSIM_BIND_RECORD | MNSIM_BIND_ORACLE |
				   MNSIM_BIND_PERM_CACHE),
		.mode = below(5),
		.capacity = below(4) ? below(2048) : (__u32)rnd(),
	};

	b.target = below(4) ? 0 : below(2) && child > 0 ? child : dead;
	if (!below(16))
		b.__reserved[below(2)] = 1;
	do_ioctl(fd, MNSIM_IOC_BIND, &b, "BIND");
}

static void op_access(int fd)
{
	struct mnsim_access a = {
		.flags = any_flags(MNSIM_ACCESS_NOFAULT),
		.va = any_va(),
		.len = any_len(),
		.buf = below(16) ? (__u64)(unsigned long)buf : any_va(),
	};

	if (a.len > 4 * PAGE && a.buf == (__u64)(unsigned long)buf)
		a.len = 4 * PAGE;		/* keep the buffer in bounds */
	if (!below(32))
		a.__pad = 1;
	do_ioctl(fd, below(2) ? MNSIM_IOC_DEV_READ : MNSIM_IOC_DEV_WRITE, &a,
		 "DEV_READ/WRITE");
}

static void op_rwv(int fd)
{
	struct mnsim_vec_range r[8];
	struct mnsim_access_vec v = {
		.flags = any_flags(0),
		.nr_ranges = below(8) ? below(9) : (__u32)rnd(),
		.ranges = below(16) ? (__u64)(unsigned long)r : any_va(),
	};
	unsigned int i;

	for (i = 0; i < 8; i++) {
		r[i].flags = any_flags(MNSIM_ACCESS_WRITE | MNSIM_ACCESS_NOFAULT);
		r[i].__pad = 0;
		r[i].va = any_va();
		r[i].len = below(2 * PAGE);
		r[i].buf = (__u64)(unsigned long)buf;
	}
	do_ioctl(fd, MNSIM_IOC_DEV_RWV, &v, "DEV_RWV");
}

static void op_park(int fd)
{
	struct mnsim_park p = {
		/* Short parks and delays only: this process is the one held. */
		.flags = any_flags(0) | (below(2) ? MNSIM_PARK_START :
					 MNSIM_PARK_END) |
			 (below(2) ? MNSIM_PARK_DELAY : 0),
		.timeout_ms = 1 + below(3),
		.va = any_va(),
	};
	struct mnsim_park_ctl c = { .flags = (__u32)below(4) };

	if (below(2))
		do_ioctl(fd, MNSIM_IOC_PARK, &p, "PARK");
	else
		do_ioctl(fd, MNSIM_IOC_PARK_CTL, &c, "PARK_CTL");
}

static void op_misc(int fd)
{
	static struct mnsim_event ev[16];
	union {
		struct mnsim_info info;
		struct mnsim_stats stats;
		struct mnsim_flush flush;
		struct mnsim_unbind unbind;
		struct mnsim_read_events re;
		char raw[512];
	} u;
	unsigned long cmd;

	memset(&u, 0, sizeof(u));
	switch (below(7)) {
	case 0:
		do_ioctl(fd, MNSIM_IOC_INFO, &u.info, "INFO");
		break;
	case 1:
		do_ioctl(fd, MNSIM_IOC_STATS, &u.stats, "STATS");
		break;
	case 2:
		u.flush.flags = any_flags(0);
		do_ioctl(fd, MNSIM_IOC_FLUSH, &u.flush, "FLUSH");
		break;
	case 3:
		do_ioctl(fd, MNSIM_IOC_UNBIND, &u.unbind, "UNBIND");
		break;
	case 4:
		u.re.max = below(4) ? 16 : (__u32)rnd();
		u.re.events = below(8) ? (__u64)(unsigned long)ev : any_va();
		do_ioctl(fd, MNSIM_IOC_READ_EVENTS, &u.re, "READ_EVENTS");
		break;
	default:
		/* Any number, direction and size: ENOTTY or a documented errno. */
		cmd = _IOC(below(4), below(2) ? MNSIM_IOC_MAGIC : below(256),
			   below(16), below(sizeof(u.raw)));
		if (below(2))
			memset(u.raw, (int)below(2) * 0xff, sizeof(u.raw));
		do_ioctl(fd, cmd, u.raw, "raw");
		break;
	}
}

static void op_memory(void)
{
	struct region *r = &reg[below(NREG)];
	size_t off;

	switch (below(8)) {
	case 0:
		if (r->p)
			munmap(r->p, r->len);
		r->len = (1 + below(REG_PAGES)) * PAGE;
		r->p = mmap(NULL, r->len, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (r->p == MAP_FAILED)
			r->p = NULL;
		break;
	case 1:
		if (r->p) {
			munmap(r->p, r->len);
			r->p = NULL;
		}
		break;
	case 2:
		if (r->p)
			mprotect(r->p, r->len, below(2) ? PROT_READ :
				 PROT_READ | PROT_WRITE);
		break;
	case 3:
		if (r->p)
			madvise(r->p, r->len, below(2) ? MADV_DONTNEED :
				MADV_MERGEABLE);
		break;
	case 4:
		if (r->p && child <= 0) {
			child = fork();
			if (!child) {
				usleep(below(20000));
				_exit(0);
			}
		}
		break;
	case 5:
		if (child > 0 && waitpid(child, NULL, WNOHANG) == child)
			child = -1;
		break;
	default:
		if (r->p) {
			off = below(r->len) & ~7UL;
			if (mprotect(r->p, r->len, PROT_READ | PROT_WRITE) == 0)
				*(__u64 *)(r->p + off) = rnd();
		}
		break;
	}
}

int main(int argc, char **argv)
{
	unsigned long ops = 100000, i;
	__u64 seed = 0;
	int k;

	for (k = 1; k + 1 < argc; k += 2) {
		if (!strcmp(argv[k], "--seed"))
			seed = strtoull(argv[k + 1], NULL, 0);
		else if (!strcmp(argv[k], "--ops"))
			ops = strtoul(argv[k + 1], NULL, 0);
	}
	if (!seed) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		seed = ((__u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec) *
		       0x9E3779B97F4A7C15ULL | 1;
	}
	rng_state = seed;
	printf("TAP version 13\n1..1\n# seed %#llx, %lu operations\n",
	       (unsigned long long)seed, ops);
	fflush(stdout);
	buf = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (buf == MAP_FAILED)
		return 1;

	for (i = 0; i < ops; i++) {
		int d = below(NDEV);

		nr_ops = i;
		if (dev[d] < 0 || !below(200)) {
			if (dev[d] >= 0)
				close(dev[d]);
			dev[d] = open("/dev/mmu_notifier_sim", O_RDWR);
			if (dev[d] < 0) {
				printf("not ok 1 fuzz # open: %s\n",
				       strerror(errno));
				return 1;
			}
		}
		switch (below(10)) {
		case 0:
			op_bind(dev[d]);
			break;
		case 1:
		case 2:
		case 3:
			op_access(dev[d]);
			break;
		case 4:
			op_rwv(dev[d]);
			break;
		case 5:
			op_park(dev[d]);
			break;
		case 6:
			op_misc(dev[d]);
			break;
		default:
			op_memory();
			break;
		}
	}
	for (k = 0; k < NDEV; k++)
		if (dev[k] >= 0)
			close(dev[k]);
	if (child > 0)
		waitpid(child, NULL, 0);
	printf("# %lu ioctls succeeded, %lu failed with documented errnos\n",
	       nr_ok, nr_err);
	printf("ok 1 fuzz\n");
	printf("# fuzz: %lu operations, seed %#llx\n", ops,
	       (unsigned long long)seed);
	printf("# Totals: pass:1 fail:0 xfail:0 xpass:0 skip:0 error:0\n");
	return 0;
}
