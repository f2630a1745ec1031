// SPDX-License-Identifier: GPL-2.0
/*
 * mnsim_stress: the emulated device under concurrency.
 *
 * Copyright (C) 2026 The mmu_notifier_sim authors
 *
 *   mnsim_stress [--seed S] [--secs N] [--oracle-ms MS]
 *                [kselftest harness options]
 *
 * mixed: device threads drive several devices bound to this process (ATS,
 * SOFT, DEFER, one that another thread keeps unbinding and rebinding in a
 * random mode, and one oracle device per thread) with DEV_READ, DEV_WRITE,
 * DEV_RWV, FLUSH, STATS and short PARK delays, while CPU threads fork
 * (children write, COW, exit), munmap and mmap again, mprotect, and
 * madvise (MADV_DONTNEED, MADV_MERGEABLE with ksmd scanning fast). Each
 * device thread owns a lane of pages that only it writes, by CPU or by
 * device: after every write the CPU and a device read through any device
 * must see exactly the bytes written. Elsewhere every call must succeed or
 * fail with an errno the uAPI documents for that situation, and device
 * reads may only return bytes some writer wrote. The oracle devices must
 * see no violation, counters must move, nothing may hang.
 *
 * binder_exits_under_load: a child binds three devices to itself and hands
 * them over (SCM_RIGHTS, and a file it inherited); threads of the parent
 * hammer them while the child is killed: from the RELEASE record on, every
 * device access fails with exactly ESRCH; UNBIND and close then work.
 *
 * close_*: an fd closed by one thread while another is inside a device
 * access on it (parked deterministically, or a long DEV_RWV): the access
 * completes normally, the next call sees EBADF, the device is released.
 *
 * oracle.*: three device threads read one page through one oracle device
 * while another thread zaps and rewrites it; the oracle must judge no
 * violation (shared_device_no_violation races up to --oracle-ms, default
 * 20000, or until the first one).
 *
 * The seed is printed by every test; --seed replays each thread's sequence
 * of operations (not the interleaving, which is the scheduler's).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>

#include "mnsim.h"
#include "mnsim_utils.h"

#define RW		(PROT_READ | PROT_WRITE)
#define KSM_DIR		"/sys/kernel/mm/ksm/"

static __u64 opt_seed;
static unsigned int opt_secs = 15;

/* ---- random numbers: xorshift64*, one stream per thread ---- */

struct rng {
	__u64 s;
};

static void rng_init(struct rng *r, __u64 seed, __u64 stream)
{
	__u64 z = seed + 0x9e3779b97f4a7c15ULL * (stream + 1);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	r->s = (z ^ (z >> 31)) | 1;
}

static __u64 rnd(struct rng *r)
{
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return r->s * 0x2545f4914f6cdd1dULL;
}

static __u64 below(struct rng *r, __u64 n)
{
	return n ? rnd(r) % n : 0;
}

static __u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static __u64 ld(const __u64 *p)
{
	return __atomic_load_n(p, __ATOMIC_SEQ_CST);
}

static void add(__u64 *p, __u64 v)
{
	__atomic_add_fetch(p, v, __ATOMIC_RELAXED);
}

/* ---- failures found by threads, reported by the test thread ---- */

#define MAX_MSGS	8

struct faults {
	pthread_mutex_t lock;
	unsigned int nr;
	char msg[MAX_MSGS][192];
};

/* __printf() is kselftest.h's. */
static __printf(2, 3) void fault(struct faults *f, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&f->lock);
	if (f->nr < MAX_MSGS) {
		va_start(ap, fmt);
		vsnprintf(f->msg[f->nr], sizeof(f->msg[0]), fmt, ap);
		va_end(ap);
	}
	f->nr++;
	pthread_mutex_unlock(&f->lock);
}

static void expect_no_faults(struct __test_metadata *_metadata,
			     const struct faults *f)
{
	unsigned int i;

	for (i = 0; i < f->nr && i < MAX_MSGS; i++)
		TH_LOG("%s", f->msg[i]);
	EXPECT_EQ(0U, f->nr)
		TH_LOG("seed %#llx", (unsigned long long)opt_seed);
}

#define EXPECT_NO_FAULTS(f)	expect_no_faults(_metadata, f)

/* Join @t, waiting at most @ms. Return: it ended. */
static bool join_within(pthread_t t, unsigned int ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return !pthread_timedjoin_np(t, NULL, &ts);
}

static long ksm_value(const char *name)
{
	char path[128], buf[32];

	snprintf(path, sizeof(path), KSM_DIR "%s", name);
	if (mnsim_read_file(path, buf, sizeof(buf)))
		return -1;
	return strtol(buf, NULL, 10);
}

/* ---- mixed: the state the threads share ---- */

#define NR_DEV		3	/* device threads, each owning a lane */
#define LANE_PAGES	8
#define SHR_PAGES	32
#define NR_STAMPS	4
/* The bytes device writes put into the shared region, and 0. */
static const unsigned char stamps[NR_STAMPS] = { 0x21, 0x42, 0x63, 0x84 };
/* Offsets of a lane write in its page; the last one crosses a page. */
static const unsigned int slots[] = { 0, 1001, 2047, 4092 };

/* The shared devices; the last one is rebound all the time. */
enum { SH_ATS, SH_SOFT, SH_DEFER, SH_CHURN, NR_SH };
#define NR_FDS		(NR_SH + NR_DEV)

struct mixed {
	size_t ps;
	__u32 modes;		/* INFO: the modes this kernel offers */
	int fd[NR_FDS];		/* NR_SH shared, then one per thread */
	__u32 mode[NR_FDS];	/* 0: not in use (mode not offered) */
	unsigned char *lanes;	/* NR_DEV lanes of LANE_PAGES pages */
	unsigned char *shr;	/* SHR_PAGES pages, remapped at random */
	int stop;
	__u64 deadline;
	struct faults f;
	__u64 verified;		/* lane writes checked by a device read */
	__u64 unverified;	/* ... that no device could read back */
	__u64 eagain, eio, efault;
	__u64 forks, mapops, binds, parks, ksm_sharing;
	struct mnsim_stats start[NR_FDS];
};

struct dev_thread {
	struct mixed *m;
	unsigned int idx;
	pthread_t th;
	struct rng rng;
	unsigned char *shadow;	/* what the lane must hold */
	unsigned char *tmp;	/* LANE_PAGES + 1 pages of scratch */
	struct mnsim_stats last[NR_FDS];
	__u64 ops;
};

struct cpu_thread {
	struct mixed *m;
	unsigned int idx;
	void *(*fn)(void *arg);
	pthread_t th;
	struct rng rng;
	__u64 ops;
};

static bool stopping(struct mixed *m)
{
	return __atomic_load_n(&m->stop, __ATOMIC_SEQ_CST) ||
	       now_ns() >= m->deadline;
}

static unsigned char lane_base(size_t off)
{
	return mnsim_byte(off, 0x77);
}

static bool in_stamps(const unsigned char *p, size_t len, size_t *bad)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (p[i] && p[i] != stamps[0] && p[i] != stamps[1] &&
		    p[i] != stamps[2] && p[i] != stamps[3]) {
			*bad = i;
			return false;
		}
	}
	return true;
}

/* A device in use, other than @idx's own oracle device. */
static int pick_fd(struct mixed *m, struct rng *r, unsigned int own)
{
	unsigned int k;

	for (;;) {
		k = below(r, NR_SH + 1);
		if (k == NR_SH)
			return NR_SH + own;
		if (m->mode[k] || k == SH_CHURN)
			return k;
	}
}

/*
 * Is @ret what a device access on device @k may give for a range that is
 * always mapped read-write (@mapped) or that other threads unmap, protect
 * and discard (!@mapped)? Counts the errnos it allows.
 */
static bool access_ok(struct mixed *m, unsigned int k, int ret, bool mapped,
		      bool nofault)
{
	if (!ret)
		return true;
	if (ret == -EAGAIN) {		/* raced invalidations 1000 times */
		add(&m->eagain, 1);
		return true;
	}
	if (ret == -EIO && (m->mode[k] == MNSIM_MODE_DEFER ||
			    k == SH_CHURN)) {
		add(&m->eio, 1);	/* DEFER refused a freed page */
		return true;
	}
	if (ret == -ENXIO && k == SH_CHURN)
		return true;		/* caught between UNBIND and BIND */
	if (mapped)
		return false;
	if (ret == -EFAULT || (nofault && ret == -ENOENT)) {
		add(&m->efault, 1);
		return true;
	}
	return false;
}

/*
 * The thread's own lane: write 8 bytes (by CPU, DEV_WRITE or DEV_RWV
 * through a random device), then the CPU and a device read must see them.
 */
static void lane_op(struct dev_thread *t)
{
	struct mixed *m = t->m;
	const size_t ps = m->ps, lane_len = LANE_PAGES * ps;
	unsigned char *lane = m->lanes + t->idx * lane_len;
	unsigned char val[8], old[8], got[8];
	struct mnsim_vec_range r[2];
	struct mnsim_access_vec out;
	unsigned int how, k, tries;
	size_t off, i;
	int ret = 0;

	off = below(&t->rng, LANE_PAGES) * ps +
	      slots[below(&t->rng, ARRAY_SIZE(slots))];
	if (off + sizeof(val) > lane_len)
		off = lane_len - sizeof(val);
	for (i = 0; i < sizeof(val); i++)
		val[i] = below(&t->rng, 2) ? lane_base(off + i) :
					     (unsigned char)rnd(&t->rng);
	memcpy(old, t->shadow + off, sizeof(old));
	how = below(&t->rng, 8);
	k = pick_fd(m, &t->rng, t->idx);

	if (how < 2) {
		memcpy(lane + off, val, sizeof(val));
	} else if (how < 6) {
		ret = _test_cmd_dev_write(m->fd[k], lane + off, sizeof(val),
					  val, NULL);
	} else {
		memset(got, 0, sizeof(got));
		r[0] = mnsim_range(MNSIM_ACCESS_WRITE, lane + off, sizeof(val),
				   val);
		r[1] = mnsim_range(0, lane + off, sizeof(got), got);
		ret = _test_cmd_dev_rwv(m->fd[k], r, 2, &out);
		if (!ret && memcmp(got, val, sizeof(val)))
			fault(&m->f,
			      "t%u: DEV_RWV via %s read back %016llx after writing %016llx at lane+%#zx",
			      t->idx, mnsim_mode_name(m->mode[k]),
			      *(unsigned long long *)got,
			      *(unsigned long long *)val, off);
	}
	if (!access_ok(m, k, ret, true, false))
		fault(&m->f, "t%u: lane write via %s (%u): %d", t->idx,
		      mnsim_mode_name(m->mode[k]), how, ret);

	if (ret) {
		/* Not reported done; may have been done in part. */
		for (i = 0; i < sizeof(val); i++) {
			unsigned char c = lane[off + i];

			if (c != old[i] && c != val[i])
				fault(&m->f,
				      "t%u: a failed lane write left byte %#x at lane+%#zx (old %#x new %#x)",
				      t->idx, c, off + i, old[i], val[i]);
			t->shadow[off + i] = c;
		}
	} else {
		memcpy(t->shadow + off, val, sizeof(val));
	}
	if (memcmp(lane + off, t->shadow + off, sizeof(val)))
		fault(&m->f, "t%u: CPU sees %016llx at lane+%#zx, expected %016llx (written by %s)",
		      t->idx, *(unsigned long long *)(lane + off), off,
		      *(unsigned long long *)(t->shadow + off),
		      how < 2 ? "CPU" : mnsim_mode_name(m->mode[k]));

	/* A device read back, through any device; retry a refusal. */
	k = pick_fd(m, &t->rng, t->idx);
	for (tries = 0; tries < 4; tries++) {
		memset(got, 0, sizeof(got));
		ret = _test_cmd_dev_read(m->fd[k], lane + off, sizeof(got),
					 got, NULL);
		if (!ret)
			break;
		if (!access_ok(m, k, ret, true, false)) {
			fault(&m->f, "t%u: lane read via %s: %d", t->idx,
			      mnsim_mode_name(m->mode[k]), ret);
			break;
		}
		k = NR_SH + t->idx;
	}
	if (ret) {
		add(&m->unverified, 1);
		return;
	}
	add(&m->verified, 1);
	if (memcmp(got, t->shadow + off, sizeof(got)))
		fault(&m->f, "t%u: device (%s) reads %016llx at lane+%#zx, the CPU wrote %016llx",
		      t->idx, mnsim_mode_name(m->mode[k]),
		      *(unsigned long long *)got, off,
		      *(unsigned long long *)(t->shadow + off));
}

/* The whole lane, by CPU and through the thread's own oracle device. */
static void lane_check_all(struct dev_thread *t)
{
	struct mixed *m = t->m;
	const size_t lane_len = LANE_PAGES * m->ps;
	unsigned char *lane = m->lanes + t->idx * lane_len;
	unsigned int k = NR_SH + t->idx;
	int ret, tries;

	if (memcmp(lane, t->shadow, lane_len))
		fault(&m->f, "t%u: the CPU's view of the lane drifted", t->idx);
	for (tries = 0; tries < 4; tries++) {
		ret = _test_cmd_dev_read(m->fd[k], lane, lane_len, t->tmp,
					 NULL);
		if (ret != -EAGAIN)
			break;
		add(&m->eagain, 1);
	}
	if (!access_ok(m, k, ret, true, false))
		fault(&m->f, "t%u: whole-lane read via %s: %d", t->idx,
		      mnsim_mode_name(m->mode[k]), ret);
	else if (!ret && memcmp(t->tmp, t->shadow, lane_len))
		fault(&m->f, "t%u: whole-lane device read (%s) differs from the CPU's",
		      t->idx, mnsim_mode_name(m->mode[k]));
}

/* A random range of the shared region: at most 4 pages. */
static void shr_range(struct dev_thread *t, unsigned char **va, size_t *len)
{
	const size_t ps = t->m->ps, size = SHR_PAGES * ps;
	size_t off = below(&t->rng, size);

	*len = 1 + below(&t->rng, 4 * ps);
	if (off + *len > size)
		*len = size - off;
	*va = t->m->shr + off;
}

static void shr_check(struct dev_thread *t, unsigned int k,
		      const unsigned char *p, size_t len, const void *va)
{
	size_t bad;

	if (!in_stamps(p, len, &bad))
		fault(&t->m->f, "t%u: device (%s) read byte %#x at %p: nobody wrote it",
		      t->idx, mnsim_mode_name(t->m->mode[k]), p[bad],
		      (const char *)va + bad);
}

/* Device reads, writes and vectors on the shared region, other lanes. */
static void shr_op(struct dev_thread *t)
{
	struct mixed *m = t->m;
	struct mnsim_vec_range r[6];
	struct mnsim_access_vec out;
	unsigned int k, n, i, op;
	unsigned char *va, *b;
	bool nofault;
	size_t len;
	int ret;

	k = pick_fd(m, &t->rng, t->idx);
	op = below(&t->rng, 4);
	shr_range(t, &va, &len);
	if (op == 0) {			/* read, maybe without faulting */
		nofault = below(&t->rng, 4) == 0;
		memset(t->tmp, 0, len);
		r[0] = mnsim_range(nofault ? MNSIM_ACCESS_NOFAULT : 0, va, len,
				   t->tmp);
		ret = _test_cmd_dev_rwv(m->fd[k], r, 1, &out);
		if (!access_ok(m, k, ret, false, nofault))
			fault(&m->f, "t%u: shared read via %s: %d", t->idx,
			      mnsim_mode_name(m->mode[k]), ret);
		if (!ret)
			shr_check(t, k, t->tmp, len, va);
		return;
	}
	if (op == 1) {			/* write one stamp */
		memset(t->tmp, stamps[below(&t->rng, NR_STAMPS)], len);
		ret = _test_cmd_dev_write(m->fd[k], va, len, t->tmp, NULL);
		if (!access_ok(m, k, ret, false, false))
			fault(&m->f, "t%u: shared write via %s: %d", t->idx,
			      mnsim_mode_name(m->mode[k]), ret);
		return;
	}
	if (op == 2) {			/* another thread's lane */
		i = below(&t->rng, NR_DEV);
		len = 1 + below(&t->rng, LANE_PAGES * m->ps);
		ret = _test_cmd_dev_read(m->fd[k],
					 m->lanes + i * LANE_PAGES * m->ps,
					 len, t->tmp, NULL);
		if (!access_ok(m, k, ret, true, false))
			fault(&m->f, "t%u: lane %u read via %s: %d", t->idx, i,
			      mnsim_mode_name(m->mode[k]), ret);
		return;
	}
	/* A vector of shared reads and writes, each with its own buffer */
	n = 1 + below(&t->rng, ARRAY_SIZE(r));
	b = t->tmp;
	for (i = 0; i < n; i++) {
		shr_range(t, &va, &len);
		if (len > m->ps)
			len = m->ps;
		if (below(&t->rng, 2)) {
			memset(b, stamps[below(&t->rng, NR_STAMPS)], len);
			r[i] = mnsim_range(MNSIM_ACCESS_WRITE, va, len, b);
		} else {
			memset(b, 0, len);
			r[i] = mnsim_range(0, va, len, b);
		}
		b += m->ps;
	}
	ret = _test_cmd_dev_rwv(m->fd[k], r, n, &out);
	if (!access_ok(m, k, ret, false, false))
		fault(&m->f, "t%u: shared vector via %s: %d", t->idx,
		      mnsim_mode_name(m->mode[k]), ret);
	if (out.done > n)
		fault(&m->f, "t%u: DEV_RWV done %llu of %u", t->idx,
		      (unsigned long long)out.done, n);
	for (i = 0; i < out.done && i < n; i++)
		if (!(r[i].flags & MNSIM_ACCESS_WRITE))
			shr_check(t, k, (unsigned char *)(uintptr_t)r[i].buf,
				  r[i].len, (void *)(uintptr_t)r[i].va);
}

/* Every u64 of STATS from hits on is a count since BIND: it never drops. */
static void check_monotonic(struct dev_thread *t, unsigned int k,
			    const struct mnsim_stats *st)
{
	const __u64 *now = &st->hits, *then = &t->last[k].hits;
	unsigned int i, n = &st->__reserved - &st->hits;

	for (i = 0; i < n; i++)
		if (now[i] < then[i])
			fault(&t->m->f,
			      "t%u: STATS u64 #%u of %s went back: %llu -> %llu",
			      t->idx, i, mnsim_mode_name(t->m->mode[k]),
			      (unsigned long long)then[i],
			      (unsigned long long)now[i]);
	t->last[k] = *st;
}

/* FLUSH, STATS (sane and monotonic), or a short PARK delay. */
static void ctl_op(struct dev_thread *t)
{
	struct mixed *m = t->m;
	struct mnsim_stats st;
	unsigned int k, op;
	unsigned char *va;
	size_t len;
	int ret;

	k = pick_fd(m, &t->rng, t->idx);
	op = below(&t->rng, 3);
	if (op == 0) {
		ret = _test_cmd_flush(m->fd[k]);
		if (ret && !(ret == -ENXIO && k == SH_CHURN))
			fault(&m->f, "t%u: FLUSH of %s: %d", t->idx,
			      mnsim_mode_name(m->mode[k]), ret);
		return;
	}
	if (op == 1) {
		ret = _test_cmd_stats(m->fd[k], &st);
		if (ret) {
			fault(&m->f, "t%u: STATS: %d", t->idx, ret);
			return;
		}
		if (st.entries > st.capacity)
			fault(&m->f, "t%u: STATS: %u entries, capacity %u",
			      t->idx, st.entries, st.capacity);
		if (k == SH_CHURN)
			return;
		if (st.mode != m->mode[k])
			fault(&m->f, "t%u: STATS mode %u, bound %u", t->idx,
			      st.mode, m->mode[k]);
		check_monotonic(t, k, &st);
		return;
	}
	if (below(&t->rng, 2))
		shr_range(t, &va, &len);
	else
		va = m->lanes + below(&t->rng, NR_DEV * LANE_PAGES * m->ps);
	ret = _test_cmd_park(m->fd[k], (below(&t->rng, 2) ? MNSIM_PARK_START :
					MNSIM_PARK_END) | MNSIM_PARK_DELAY,
			     1 + below(&t->rng, 3), MNSIM_PTR(va), NULL);
	if (!ret)
		add(&m->parks, 1);
	else if (ret != -EBUSY && !(ret == -ENXIO && k == SH_CHURN))
		fault(&m->f, "t%u: PARK on %s: %d", t->idx,
		      mnsim_mode_name(m->mode[k]), ret);
}

static void *dev_main(void *arg)
{
	struct dev_thread *t = arg;
	unsigned int op;

	while (!stopping(t->m)) {
		op = below(&t->rng, 16);
		if (op < 8)
			lane_op(t);
		else if (op < 14)
			shr_op(t);
		else
			ctl_op(t);
		if (!(++t->ops % 32))
			lane_check_all(t);
	}
	lane_check_all(t);
	return NULL;
}

/* A forked child: write into its copies (COW), maybe linger, exit. */
static void fork_child(struct mixed *m, struct rng *r)
{
	const size_t ps = m->ps;
	unsigned int i;
	unsigned char *p;

	for (i = 0; i < NR_DEV * LANE_PAGES; i++)
		if (below(r, 2))
			m->lanes[i * ps + below(r, ps)] ^= 0xff;
	for (i = 0; i < SHR_PAGES; i++) {
		p = m->shr + i * ps;
		if (below(r, 2) && !mprotect(p, ps, RW))
			memset(p + below(r, ps / 2), stamps[i % NR_STAMPS], 64);
	}
	if (below(r, 2))
		usleep(below(r, 3000));
	_exit(0);
}

static void *forker_main(void *arg)
{
	struct cpu_thread *c = arg;
	struct mixed *m = c->m;
	pid_t kids[2] = { -1, -1 };
	unsigned int i;

	while (!stopping(m)) {
		i = below(&c->rng, 2);
		if (kids[i] > 0)
			waitpid(kids[i], NULL, 0);
		kids[i] = mnsim_fork();
		if (!kids[i])
			fork_child(m, &c->rng);
		if (kids[i] > 0)
			add(&m->forks, 1);
		c->ops++;
		usleep(1000 + below(&c->rng, 4000));
	}
	for (i = 0; i < 2; i++)
		if (kids[i] > 0)
			waitpid(kids[i], NULL, 0);
	return NULL;
}

/* munmap + mmap, mmap over, mprotect, MADV_DONTNEED, (UN)MERGEABLE. */
static void *mapper_main(void *arg)
{
	static const int prots[] = { PROT_NONE, PROT_READ, RW, RW };
	struct cpu_thread *c = arg;
	struct mixed *m = c->m;
	const size_t ps = m->ps;
	unsigned char *va, *p;
	size_t n;

	while (!stopping(m)) {
		n = 1 + below(&c->rng, 8);
		va = m->shr + below(&c->rng, SHR_PAGES - n + 1) * ps;
		switch (below(&c->rng, 8)) {
		case 0:
			munmap(va, n * ps);
			p = mmap(va, n * ps, RW, MAP_PRIVATE | MAP_ANONYMOUS |
				 MAP_FIXED_NOREPLACE, -1, 0);
			if (p != MAP_FAILED && p != va)
				munmap(p, n * ps);
			break;
		case 1:
			mmap(va, n * ps, RW, MAP_PRIVATE | MAP_ANONYMOUS |
			     MAP_FIXED, -1, 0);
			break;
		case 2:
		case 3:
			mprotect(va, n * ps,
				 prots[below(&c->rng, ARRAY_SIZE(prots))]);
			break;
		case 4:
			madvise(va, n * ps, MADV_DONTNEED);
			break;
		case 5:
			madvise(va, n * ps, below(&c->rng, 4) ?
				MADV_MERGEABLE : MADV_UNMERGEABLE);
			break;
		default:
			madvise(m->lanes, NR_DEV * LANE_PAGES * ps,
				below(&c->rng, 4) ? MADV_MERGEABLE :
				MADV_UNMERGEABLE);
			break;
		}
		add(&m->mapops, 1);
		c->ops++;
		usleep(below(&c->rng, 2000));
	}
	return NULL;
}

/* Unbind and rebind the churn device; drain its ring; watch ksmd. */
static void *churner_main(void *arg)
{
	static const __u32 modes[] = {
		MNSIM_MODE_ATS, MNSIM_MODE_SOFT, MNSIM_MODE_DEFER
	};
	struct mnsim_event ev[64];
	struct mnsim_read_events re;
	struct cpu_thread *c = arg;
	struct mixed *m = c->m;
	int fd = m->fd[SH_CHURN], ret;
	__u32 mode, flags;
	long sharing;

	while (!stopping(m)) {
		ret = _test_cmd_unbind(fd);
		if (ret && ret != -ENXIO)
			fault(&m->f, "churn: UNBIND: %d", ret);
		do {
			mode = modes[below(&c->rng, ARRAY_SIZE(modes))];
		} while (!(m->modes & MNSIM_MODE_BIT(mode)));
		flags = below(&c->rng, 4);
		ret = _test_cmd_bind_flags(fd, flags, mode, MNSIM_TARGET_SELF,
					   16 << below(&c->rng, 5));
		if (ret)
			fault(&m->f, "churn: BIND %s: %d", mnsim_mode_name(mode), ret);
		else
			add(&m->binds, 1);
		memset(&re, 0, sizeof(re));
		re.max = ARRAY_SIZE(ev);
		re.events = MNSIM_PTR(ev);
		ret = mnsim_ioctl(fd, MNSIM_IOC_READ_EVENTS, &re);
		if (ret || re.nr > re.max)
			fault(&m->f, "churn: READ_EVENTS: %d, %u", ret, re.nr);
		sharing = ksm_value("pages_sharing");
		if (sharing > (long)ld(&m->ksm_sharing))
			__atomic_store_n(&m->ksm_sharing, sharing,
					 __ATOMIC_RELAXED);
		c->ops++;
		usleep(2000 + below(&c->rng, 6000));
	}
	return NULL;
}

FIXTURE(stress)
{
	size_t ps;
	struct mnsim_info info;
	bool ksm_saved;
	char ksm_run[32], ksm_pages[32], ksm_sleep[32];
	pid_t child;
};

FIXTURE_SETUP(stress)
{
	int fd;

	self->ps = sysconf(_SC_PAGESIZE);
	self->child = -1;
	fd = mnsim_open();
	ASSERT_LE(0, fd)
		TH_LOG("open %s: %s (module not loaded?)", MNSIM_DEV_PATH,
		       strerror(errno));
	ASSERT_EQ(0, _test_cmd_info(fd, &self->info));
	close(fd);
	ASSERT_NE(0U, self->info.modes & MNSIM_MODE_BIT(MNSIM_MODE_SOFT));
	TH_LOG("seed %#llx (replay: mnsim_stress --seed %#llx -t %s)",
	       (unsigned long long)opt_seed, (unsigned long long)opt_seed,
	       _metadata->name);
}

FIXTURE_TEARDOWN(stress)
{
	if (self->child > 0) {
		kill(self->child, SIGKILL);
		waitpid(self->child, NULL, 0);
	}
	if (self->ksm_saved) {
		mnsim_write_file(KSM_DIR "run", self->ksm_run);
		mnsim_write_file(KSM_DIR "pages_to_scan", self->ksm_pages);
		mnsim_write_file(KSM_DIR "sleep_millisecs", self->ksm_sleep);
	}
}

/* Open and bind device @k of @m in @mode, or mark it unused. */
static int mixed_bind(struct mixed *m, unsigned int k, __u32 mode,
		      __u32 flags, __u32 capacity, __u32 modes)
{
	m->fd[k] = mnsim_open();
	if (m->fd[k] < 0)
		return -errno;
	if (!(modes & MNSIM_MODE_BIT(mode)))
		return 0;
	m->mode[k] = mode;
	return _test_cmd_bind_flags(m->fd[k], flags, mode, MNSIM_TARGET_SELF,
				    capacity);
}

static void chomp(char *s)
{
	s[strcspn(s, "\n")] = '\0';
}

/*
 * Device threads on lanes of their own and on a shared region, CPU threads
 * forking, remapping, protecting and discarding it, ksmd merging: see the
 * top of the file.
 */
TEST_F_TIMEOUT(stress, mixed, 180)
{
	const size_t ps = self->ps;
	struct dev_thread dt[NR_DEV];
	struct cpu_thread ct[3];
	struct mnsim_stats st, d;
	struct mixed *m;
	long full_scans;
	unsigned int i, k;
	__u64 ops = 0;

	m = calloc(1, sizeof(*m));
	ASSERT_NE(NULL, m);
	m->ps = ps;
	m->modes = self->info.modes;
	pthread_mutex_init(&m->f.lock, NULL);

	/* KSM: fast, restored by the teardown */
	if (!access(KSM_DIR "run", W_OK)) {
		ASSERT_EQ(0, mnsim_read_file(KSM_DIR "run", self->ksm_run, 32));
		ASSERT_EQ(0, mnsim_read_file(KSM_DIR "pages_to_scan",
					     self->ksm_pages, 32));
		ASSERT_EQ(0, mnsim_read_file(KSM_DIR "sleep_millisecs",
					     self->ksm_sleep, 32));
		chomp(self->ksm_run);
		chomp(self->ksm_pages);
		chomp(self->ksm_sleep);
		self->ksm_saved = true;
		ASSERT_EQ(0, mnsim_write_file(KSM_DIR "pages_to_scan", "2000"));
		ASSERT_EQ(0, mnsim_write_file(KSM_DIR "sleep_millisecs", "2"));
		ASSERT_EQ(0, mnsim_write_file(KSM_DIR "run", "1"));
	}
	full_scans = ksm_value("full_scans");

	m->lanes = mnsim_map(NR_DEV * LANE_PAGES * ps, RW);
	m->shr = mnsim_map(SHR_PAGES * ps, RW);
	ASSERT_NE(NULL, m->lanes);
	ASSERT_NE(NULL, m->shr);
	for (i = 0; i < NR_DEV * LANE_PAGES * ps; i++)
		m->lanes[i] = lane_base(i % (LANE_PAGES * ps));
	for (i = 0; i < SHR_PAGES; i++)
		memset(m->shr + i * ps, stamps[i % NR_STAMPS], ps);
	madvise(m->lanes, NR_DEV * LANE_PAGES * ps, MADV_MERGEABLE);
	madvise(m->shr, SHR_PAGES * ps, MADV_MERGEABLE);

	ASSERT_EQ(0, mixed_bind(m, SH_ATS, MNSIM_MODE_ATS, MNSIM_BIND_ORACLE,
				64, self->info.modes));
	ASSERT_EQ(0, mixed_bind(m, SH_SOFT, MNSIM_MODE_SOFT, 0, 0,
				self->info.modes));
	ASSERT_EQ(0, mixed_bind(m, SH_DEFER, MNSIM_MODE_DEFER,
				MNSIM_BIND_RECORD, 0, self->info.modes));
	ASSERT_EQ(0, mixed_bind(m, SH_CHURN, MNSIM_MODE_SOFT, 0, 0,
				self->info.modes));
	for (i = 0; i < NR_DEV; i++) {
		__u32 mode = i % 2 || !(self->info.modes &
					MNSIM_MODE_BIT(MNSIM_MODE_ATS)) ?
			     MNSIM_MODE_SOFT : MNSIM_MODE_ATS;

		ASSERT_EQ(0, mixed_bind(m, NR_SH + i, mode, MNSIM_BIND_ORACLE,
					0, self->info.modes));
	}
	for (k = 0; k < NR_FDS; k++)
		if (m->mode[k])
			ASSERT_EQ(0, _test_cmd_stats(m->fd[k], &m->start[k]));

	m->deadline = now_ns() + opt_secs * 1000000000ULL;
	for (i = 0; i < NR_DEV; i++) {
		dt[i] = (struct dev_thread){ .m = m, .idx = i };
		rng_init(&dt[i].rng, opt_seed, i);
		dt[i].shadow = malloc(LANE_PAGES * ps);
		dt[i].tmp = mnsim_map((LANE_PAGES + 1) * ps, RW);
		ASSERT_NE(NULL, dt[i].shadow);
		ASSERT_NE(NULL, dt[i].tmp);
		memcpy(dt[i].shadow, m->lanes + i * LANE_PAGES * ps,
		       LANE_PAGES * ps);
		memset(dt[i].tmp, 0, (LANE_PAGES + 1) * ps);
		memcpy(dt[i].last, m->start, sizeof(m->start));
	}
	for (i = 0; i < ARRAY_SIZE(ct); i++) {
		ct[i] = (struct cpu_thread){ .m = m, .idx = i };
		ct[i].fn = i == 0 ? forker_main : i == 1 ? mapper_main :
			   churner_main;
		rng_init(&ct[i].rng, opt_seed, NR_DEV + i);
	}
	for (i = 0; i < NR_DEV; i++)
		ASSERT_EQ(0, pthread_create(&dt[i].th, NULL, dev_main, &dt[i]));
	for (i = 0; i < ARRAY_SIZE(ct); i++)
		ASSERT_EQ(0, pthread_create(&ct[i].th, NULL, ct[i].fn, &ct[i]));

	/* Every thread ends by itself at the deadline; none may hang. */
	for (i = 0; i < NR_DEV; i++) {
		ASSERT_TRUE(join_within(dt[i].th, 30000))
			TH_LOG("device thread %u hangs", i);
		ops += dt[i].ops;
	}
	for (i = 0; i < ARRAY_SIZE(ct); i++)
		ASSERT_TRUE(join_within(ct[i].th, 30000))
			TH_LOG("CPU thread %u hangs", i);

	TH_LOG("%llu device ops, %llu lane writes verified (%llu not), %llu forks, %llu map ops",
	       (unsigned long long)ops, (unsigned long long)m->verified,
	       (unsigned long long)m->unverified,
	       (unsigned long long)m->forks, (unsigned long long)m->mapops);
	TH_LOG("%llu rebinds, %llu parks; KSM pages_sharing up to %llu",
	       (unsigned long long)m->binds, (unsigned long long)m->parks,
	       (unsigned long long)m->ksm_sharing);
	TH_LOG("allowed errors: EAGAIN %llu, EIO %llu, EFAULT/ENOENT %llu",
	       (unsigned long long)m->eagain, (unsigned long long)m->eio,
	       (unsigned long long)m->efault);
	EXPECT_NO_FAULTS(&m->f);

	/* Everything ran, the way each mode flushes. */
	EXPECT_LE(20ULL * NR_DEV, m->verified);
	EXPECT_GE(m->verified / 4, m->unverified);
	EXPECT_LE(3ULL, m->forks);
	EXPECT_LE(20ULL, m->mapops);
	EXPECT_LE(3ULL, m->binds);
	if (self->ksm_saved)
		EXPECT_LT(full_scans, ksm_value("full_scans"));
	for (k = 0; k < NR_FDS; k++) {
		if (!m->mode[k])
			continue;
		ASSERT_EQ(0, _test_cmd_stats(m->fd[k], &st));
		d = mnsim_stats_delta(&st, &m->start[k]);
		if (k == SH_CHURN)
			continue;
		EXPECT_EQ(m->mode[k], st.mode);
		EXPECT_LT(0ULL, d.fills) TH_LOG("device %u", k);
		EXPECT_LT(0ULL, d.hits) TH_LOG("device %u", k);
		EXPECT_LT(0ULL, d.end_calls) TH_LOG("device %u", k);
		if (m->mode[k] == MNSIM_MODE_ATS)
			EXPECT_LT(0ULL, d.hook_calls) TH_LOG("device %u", k);
		if (m->mode[k] == MNSIM_MODE_SOFT)
			EXPECT_LT(0ULL, d.start_calls) TH_LOG("device %u", k);
		if (m->mode[k] != MNSIM_MODE_DEFER)
			EXPECT_EQ(0ULL, d.freed_refused) TH_LOG("device %u", k);
		if (k >= NR_SH) {
			/* One thread each: the oracle judges exactly. */
			EXPECT_LT(0ULL, d.oracle_coherent);
			EXPECT_EQ(0ULL, d.oracle_violation_a)
				TH_LOG("device %u (%s)", k, mnsim_mode_name(m->mode[k]));
			EXPECT_EQ(0ULL, d.oracle_violation_b)
				TH_LOG("device %u (%s)", k, mnsim_mode_name(m->mode[k]));
		} else if (k == SH_ATS) {
			TH_LOG("shared ATS oracle: %llu ok, %llu stale, %llu case B, %llu case A",
			       (unsigned long long)d.oracle_coherent,
			       (unsigned long long)d.oracle_stale_allowed,
			       (unsigned long long)d.oracle_violation_b,
			       (unsigned long long)d.oracle_violation_a);
			EXPECT_EQ(0ULL, d.oracle_violation_a);
			if (getenv("MNSIM_STRESS_STRICT"))
				EXPECT_EQ(0ULL, d.oracle_violation_b);
		}
	}
	for (k = 0; k < NR_FDS; k++)
		if (m->fd[k] >= 0)
			EXPECT_EQ(0, close(m->fd[k]));
	for (i = 0; i < NR_DEV; i++)
		free(dt[i].shadow);
	free(m);
}

/* ---- the bound process exits while others use its devices ---- */

#define EXIT_THREADS	4
#define EXIT_PAGES	16
#define EXIT_STAMP_A	0xa1
#define EXIT_STAMP_B	0xa2
#define NR_EXIT_FDS	3

struct exit_ctx {
	size_t ps;
	int fd[NR_EXIT_FDS];
	__u32 mode[NR_EXIT_FDS];
	unsigned char *mem;	/* the child's pages, same address here */
	int released;		/* every device saw its RELEASE record */
	int stop;
	struct faults f;
};

struct exit_thread {
	struct exit_ctx *x;
	unsigned int idx;
	pthread_t th;
	struct rng rng;
	unsigned char *buf;	/* EXIT_PAGES pages */
	__u64 before, after;	/* calls in each phase */
};

static bool exit_stamps(const unsigned char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] != EXIT_STAMP_A && p[i] != EXIT_STAMP_B)
			return false;
	return true;
}

/*
 * One device call on device @k. Before the release, device accesses may
 * succeed or lose the race to the exit (ESRCH), retry out (EAGAIN), be
 * refused (DEFER: EIO) or find nothing (NOFAULT: ENOENT); after it, they
 * fail with ESRCH and nothing else. FLUSH, STATS and PARK_CTL always work.
 */
static void exit_op(struct exit_thread *t, bool released)
{
	struct exit_ctx *x = t->x;
	const size_t ps = x->ps;
	unsigned int k = below(&t->rng, NR_EXIT_FDS), op;
	struct mnsim_vec_range r[2];
	struct mnsim_park_ctl ctl;
	struct mnsim_stats st;
	size_t off, len;
	bool nofault = false, access = true;
	int ret;

	off = below(&t->rng, EXIT_PAGES * ps);
	len = 1 + below(&t->rng, EXIT_PAGES * ps - off);
	op = below(&t->rng, 7);
	memset(t->buf, EXIT_STAMP_A, len);
	switch (op) {
	case 0:
	case 1:
		ret = _test_cmd_dev_read(x->fd[k], x->mem + off, len, t->buf,
					 NULL);
		if (!ret && !exit_stamps(t->buf, len))
			fault(&x->f, "t%u: read data the child never wrote",
			      t->idx);
		break;
	case 2:
		ret = _test_cmd_dev_write(x->fd[k], x->mem + off, len, t->buf,
					  NULL);
		break;
	case 3:
		nofault = true;
		r[0] = mnsim_range(MNSIM_ACCESS_NOFAULT, x->mem + off, len,
				   t->buf);
		r[1] = mnsim_range(MNSIM_ACCESS_WRITE, x->mem, 8, t->buf);
		ret = _test_cmd_dev_rwv(x->fd[k], r, 2, NULL);
		break;
	case 4:
		access = false;
		ret = _test_cmd_flush(x->fd[k]);
		break;
	case 5:
		access = false;
		ret = _test_cmd_stats(x->fd[k], &st);
		if (!ret && st.mode != x->mode[k])
			fault(&x->f, "t%u: STATS mode %u, bound %u", t->idx,
			      st.mode, x->mode[k]);
		break;
	default:
		access = false;
		ret = _test_cmd_park_ctl(x->fd[k], 0, &ctl);
		break;
	}
	if (released)
		t->after++;
	else
		t->before++;
	if (!access) {
		if (ret)
			fault(&x->f, "t%u: op %u on %s: %d", t->idx, op,
			      mnsim_mode_name(x->mode[k]), ret);
		return;
	}
	if (released) {
		if (ret != -ESRCH)
			fault(&x->f, "t%u: op %u on %s after the exit: %d, not ESRCH",
			      t->idx, op, mnsim_mode_name(x->mode[k]), ret);
		return;
	}
	if (ret && ret != -ESRCH && ret != -EAGAIN &&
	    !(ret == -EIO && x->mode[k] == MNSIM_MODE_DEFER) &&
	    !(ret == -ENOENT && nofault))
		fault(&x->f, "t%u: op %u on %s before the exit: %d", t->idx,
		      op, mnsim_mode_name(x->mode[k]), ret);
}

static void *exit_main(void *arg)
{
	struct exit_thread *t = arg;

	while (!__atomic_load_n(&t->x->stop, __ATOMIC_SEQ_CST))
		exit_op(t, __atomic_load_n(&t->x->released, __ATOMIC_SEQ_CST));
	return NULL;
}

/*
 * The child: binds the inherited file and two of its own (sent over
 * @sock) to itself, then rewrites its pages and forks until killed.
 */
static void exit_child(struct exit_ctx *x, int inherited, int sock)
{
	const size_t ps = x->ps;
	unsigned int gen, i;
	pid_t pid;
	int fd;

	memset(x->mem, EXIT_STAMP_A, EXIT_PAGES * ps);
	if (_test_cmd_bind_flags(inherited, MNSIM_BIND_RECORD, x->mode[0],
				 MNSIM_TARGET_SELF, 0))
		_exit(2);
	for (i = 1; i < NR_EXIT_FDS; i++) {
		fd = mnsim_open();
		if (fd < 0 || _test_cmd_bind_flags(fd, MNSIM_BIND_RECORD,
						   x->mode[i],
						   MNSIM_TARGET_SELF, 0) ||
		    mnsim_send_fd(sock, fd))
			_exit(3);
		close(fd);
	}
	for (gen = 0;; gen++) {
		for (i = 0; i < EXIT_PAGES; i++)
			memset(x->mem + i * ps, gen & 1 ? EXIT_STAMP_B :
			       EXIT_STAMP_A, ps);
		if (gen % 8)
			continue;
		pid = mnsim_fork();
		if (!pid)
			_exit(0);
		if (pid > 0)
			waitpid(pid, NULL, 0);
	}
}

/* Has device @fd recorded its RELEASE? Drains the ring. */
static bool saw_release(int fd, struct mnsim_event *ev)
{
	struct mnsim_read_events re = {
		.max = MNSIM_EVENT_RING,
		.events = MNSIM_PTR(ev),
	};
	unsigned int i;

	if (mnsim_ioctl(fd, MNSIM_IOC_READ_EVENTS, &re))
		return false;
	for (i = 0; i < re.nr; i++)
		if (ev[i].type == MNSIM_EV_RELEASE)
			return true;
	return false;
}

/*
 * A child binds three devices (its mode mix: ATS or SOFT, SOFT, DEFER) to
 * itself: one file it inherited from the test, two it sends over
 * SCM_RIGHTS. Threads of the test use them on the child's pages while the
 * child rewrites them and forks; then the child is killed. Once each device
 * recorded its RELEASE, every device access fails with exactly ESRCH;
 * FLUSH, STATS, PARK_CTL work throughout; nothing hangs; UNBIND and close
 * succeed.
 */
TEST_F_TIMEOUT(stress, binder_exits_under_load, 90)
{
	const size_t ps = self->ps;
	struct exit_thread et[EXIT_THREADS];
	struct mnsim_event *ev;
	struct mnsim_stats st;
	struct exit_ctx *x;
	bool seen[NR_EXIT_FDS] = { false };
	unsigned int i, k, waited, nseen = 0;
	int sock[2], status;
	__u64 after;

	x = calloc(1, sizeof(*x));
	ev = calloc(MNSIM_EVENT_RING, sizeof(*ev));
	ASSERT_NE(NULL, x);
	ASSERT_NE(NULL, ev);
	x->ps = ps;
	pthread_mutex_init(&x->f.lock, NULL);
	x->mode[0] = self->info.modes & MNSIM_MODE_BIT(MNSIM_MODE_ATS) ?
		     MNSIM_MODE_ATS : MNSIM_MODE_SOFT;
	x->mode[1] = MNSIM_MODE_SOFT;
	x->mode[2] = MNSIM_MODE_DEFER;
	x->mem = mnsim_map(EXIT_PAGES * ps, RW);
	ASSERT_NE(NULL, x->mem);
	memset(x->mem, 0, EXIT_PAGES * ps);
	x->fd[0] = mnsim_open();
	ASSERT_LE(0, x->fd[0]);
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sock));

	self->child = mnsim_fork();
	ASSERT_LE(0, self->child);
	if (!self->child) {
		close(sock[0]);
		exit_child(x, x->fd[0], sock[1]);
	}
	close(sock[1]);
	for (i = 1; i < NR_EXIT_FDS; i++) {
		x->fd[i] = mnsim_recv_fd(sock[0]);
		ASSERT_LE(0, x->fd[i]);
	}
	close(sock[0]);
	for (k = 0; k < NR_EXIT_FDS; k++) {
		ASSERT_EQ(0, _test_cmd_stats(x->fd[k], &st));
		ASSERT_EQ(x->mode[k], st.mode);
	}

	for (i = 0; i < EXIT_THREADS; i++) {
		et[i] = (struct exit_thread){ .x = x, .idx = i };
		rng_init(&et[i].rng, opt_seed, 100 + i);
		et[i].buf = mnsim_map(EXIT_PAGES * ps, RW);
		ASSERT_NE(NULL, et[i].buf);
		ASSERT_EQ(0, pthread_create(&et[i].th, NULL, exit_main,
					    &et[i]));
	}
	usleep(500000);
	ASSERT_EQ(0, kill(self->child, SIGKILL));
	ASSERT_EQ(self->child, waitpid(self->child, &status, 0));
	self->child = -1;
	EXPECT_TRUE(WIFSIGNALED(status));

	/* The address space goes once no access holds it any more. */
	for (waited = 0; nseen < NR_EXIT_FDS && waited < 10000; waited += 5) {
		for (k = 0; k < NR_EXIT_FDS; k++)
			if (!seen[k] && saw_release(x->fd[k], ev)) {
				seen[k] = true;
				nseen++;
			}
		usleep(5000);
	}
	EXPECT_EQ((unsigned int)NR_EXIT_FDS, nseen)
		TH_LOG("the killed child's address space was not released in 10 s");
	__atomic_store_n(&x->released, 1, __ATOMIC_SEQ_CST);

	/* Every thread makes 20 calls after the release, or hangs. */
	for (waited = 0; waited < 20000; waited += 10) {
		for (i = 0, after = ~0ULL; i < EXIT_THREADS; i++)
			if (__atomic_load_n(&et[i].after, __ATOMIC_RELAXED) <
			    after)
				after = et[i].after;
		if (after >= 20)
			break;
		usleep(10000);
	}
	__atomic_store_n(&x->stop, 1, __ATOMIC_SEQ_CST);
	for (i = 0; i < EXIT_THREADS; i++) {
		ASSERT_TRUE(join_within(et[i].th, 20000))
			TH_LOG("thread %u hangs", i);
		EXPECT_LE(1ULL, et[i].before) TH_LOG("thread %u", i);
		EXPECT_LE(20ULL, et[i].after) TH_LOG("thread %u", i);
	}
	EXPECT_NO_FAULTS(&x->f);

	for (k = 0; k < NR_EXIT_FDS; k++) {
		ASSERT_EQ(0, _test_cmd_stats(x->fd[k], &st));
		EXPECT_EQ(x->mode[k], st.mode);
		EXPECT_LE(1ULL, st.release_calls);
		EXPECT_EQ(0U, st.entries);
		EXPECT_ERRNO(EBUSY, _test_cmd_bind(x->fd[k], MNSIM_MODE_SOFT,
						   MNSIM_TARGET_SELF, 0));
		EXPECT_EQ(0, _test_cmd_unbind(x->fd[k]));
		EXPECT_ERRNO(ENXIO, _test_cmd_dev_read(x->fd[k], x->mem, 8,
						       et[0].buf, NULL));
		EXPECT_EQ(0, close(x->fd[k]));
	}
	free(ev);
	free(x);
}

/* ---- closing an fd while another thread is inside a call on it ---- */

struct inflight {
	int go;			/* start the access */
	int fd;
	void *va;
	size_t len;
	void *buf;
	bool write;
	int ret;
	int done;
	__u64 t_end;
};

/*
 * Threads are created before a park is armed: creating one maps its stack,
 * which waits for the mmap_lock a parked thread may hold.
 */
static void *inflight_access(void *arg)
{
	struct inflight *a = arg;

	while (!__atomic_load_n(&a->go, __ATOMIC_SEQ_CST))
		usleep(1000);
	a->ret = _test_cmd_dev_access(a->fd, a->write ? MNSIM_IOC_DEV_WRITE :
				      MNSIM_IOC_DEV_READ, MNSIM_PTR(a->va),
				      a->len, a->buf, NULL);
	a->t_end = now_ns();
	__atomic_store_n(&a->done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

struct zapper {
	void *va;
	size_t len;
	int ret;
};

static void *zap_main(void *arg)
{
	struct zapper *z = arg;

	z->ret = madvise(z->va, z->len, MADV_DONTNEED) ? -errno : 0;
	return NULL;
}

static bool finished_within(int *done, unsigned int ms)
{
	unsigned int i;

	for (i = 0; i < ms; i++) {
		if (__atomic_load_n(done, __ATOMIC_SEQ_CST))
			return true;
		usleep(1000);
	}
	return __atomic_load_n(done, __ATOMIC_SEQ_CST);
}

#define PARK_TIMEOUT_MS	1500

/*
 * SOFT: a device read waits for the end of an invalidation of its page,
 * held by a park (MADV_DONTNEED by another thread). The test closes the fd
 * the read runs on: first a dup of it (PARK_CTL on the other then releases
 * the park), then the only one (the park's timeout releases it). Each time
 * the read stays pending, then completes normally with the new (zero) page,
 * and the closed number gives EBADF.
 */
TEST_F_TIMEOUT(stress, close_during_parked_read, 60)
{
	const size_t ps = self->ps;
	struct mnsim_park_ctl ctl;
	struct mnsim_stats st;
	struct inflight a;
	struct zapper z;
	unsigned char *mem;
	pthread_t rt, zt;
	int fd, fd2, last, ret;
	__u64 t0;

	mem = mnsim_map(ps, RW);
	ASSERT_NE(NULL, mem);
	for (last = 0; last < 2; last++) {
		__u64 v = ~0ULL;

		memset(mem, 0x5a, ps);
		fd = mnsim_open();
		ASSERT_LE(0, fd);
		ASSERT_EQ(0, _test_cmd_bind(fd, MNSIM_MODE_SOFT,
					    MNSIM_TARGET_SELF, 0));
		fd2 = last ? -1 : dup(fd);
		ASSERT_EQ(0, _test_cmd_dev_read(fd, mem, sizeof(v), &v, NULL));
		EXPECT_EQ(0x5a5a5a5a5a5a5a5aULL, v);

		a = (struct inflight){ .fd = fd, .va = mem, .len = sizeof(v),
				       .buf = &v };
		ASSERT_EQ(0, pthread_create(&rt, NULL, inflight_access, &a));
		ASSERT_EQ(0, _test_cmd_park(fd, MNSIM_PARK_END,
					    PARK_TIMEOUT_MS, MNSIM_PTR(mem),
					    NULL));
		z = (struct zapper){ .va = mem, .len = ps };
		t0 = now_ns();
		ASSERT_EQ(0, pthread_create(&zt, NULL, zap_main, &z));
		ASSERT_EQ(0, mnsim_wait_parked(fd, 1, 5000));
		__atomic_store_n(&a.go, 1, __ATOMIC_SEQ_CST);
		EXPECT_FALSE(finished_within(&a.done, 200))
			TH_LOG("SOFT read finished inside a parked range");

		ASSERT_EQ(0, close(fd));
		EXPECT_FALSE(finished_within(&a.done, 100));
		if (!last) {
			ret = _test_cmd_park_ctl(fd2, MNSIM_PARK_CTL_RELEASE,
						 &ctl);
			ASSERT_EQ(0, ret);
			EXPECT_EQ(0U, ctl.parked);
		}
		ASSERT_TRUE(finished_within(&a.done, 10000))
			TH_LOG("the read never finished");
		ASSERT_TRUE(join_within(zt, 10000));
		ASSERT_TRUE(join_within(rt, 1000));
		EXPECT_EQ(0, z.ret);
		EXPECT_EQ(0, a.ret);
		EXPECT_EQ(0ULL, v) TH_LOG("read %#llx, not the zapped page",
					  (unsigned long long)v);
		if (last)
			EXPECT_LE(PARK_TIMEOUT_MS * 1000000ULL / 2,
				  a.t_end - t0);
		EXPECT_ERRNO(EBADF, _test_cmd_dev_read(fd, mem, 8, &v, NULL));
		if (fd2 >= 0) {
			ASSERT_EQ(0, _test_cmd_stats(fd2, &st));
			EXPECT_EQ((__u32)MNSIM_MODE_SOFT, st.mode);
			EXPECT_EQ(0, close(fd2));
		}
	}
}

/*
 * The device access itself is parked: a DEV_WRITE to a page shared with a
 * forked child breaks COW in the walk, and the COW's range end is parked in
 * the writing thread. The test closes the only fd; the park's timeout lets
 * the write go on: it completes, the parent's page has the data, the
 * child's copy not.
 */
TEST_F_TIMEOUT(stress, close_during_parked_fault, 60)
{
	const size_t ps = self->ps;
	unsigned char *mem, *src;
	struct mnsim_chan ch;
	struct inflight a;
	pthread_t wt;
	int fd, status;
	__u64 v;

	mem = mnsim_map(ps, RW);
	src = mnsim_map(ps, RW);
	ASSERT_NE(NULL, mem);
	ASSERT_NE(NULL, src);
	memset(mem, 0x5a, ps);
	memset(src, 0xc3, ps);
	fd = mnsim_open();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, _test_cmd_bind(fd, self->info.modes &
				    MNSIM_MODE_BIT(MNSIM_MODE_ATS) ?
				    MNSIM_MODE_ATS : MNSIM_MODE_SOFT,
				    MNSIM_TARGET_SELF, 0));
	ASSERT_EQ(0, mnsim_chan_open(&ch));
	self->child = mnsim_fork();
	ASSERT_LE(0, self->child);
	if (!self->child) {
		mnsim_chan_child(&ch);
		if (mnsim_send(ch.to_parent[1], 'r'))
			_exit(2);
		mnsim_recv(ch.to_child[0]);
		_exit(mnsim_all(mem, ps, 0x5a) ? 0 : 1);
	}
	mnsim_chan_parent(&ch);
	ASSERT_EQ('r', mnsim_recv(ch.to_parent[0]));

	ASSERT_EQ(0, _test_cmd_park(fd, MNSIM_PARK_END, PARK_TIMEOUT_MS,
				    MNSIM_PTR(mem), NULL));
	a = (struct inflight){ .fd = fd, .va = mem, .len = ps, .buf = src,
			       .write = true, .go = 1 };
	ASSERT_EQ(0, pthread_create(&wt, NULL, inflight_access, &a));
	ASSERT_EQ(0, mnsim_wait_parked(fd, 1, 5000))
		TH_LOG("the device write's COW did not park");
	ASSERT_EQ(0, close(fd));
	EXPECT_FALSE(finished_within(&a.done, 100));
	ASSERT_TRUE(finished_within(&a.done, 10000))
		TH_LOG("the parked device write never finished");
	ASSERT_TRUE(join_within(wt, 1000));
	EXPECT_EQ(0, a.ret);
	EXPECT_TRUE(mnsim_all(mem, ps, 0xc3));
	EXPECT_ERRNO(EBADF, _test_cmd_dev_read(fd, mem, 8, &v, NULL));

	ASSERT_EQ(0, mnsim_send(ch.to_child[1], 'g'));
	ASSERT_EQ(self->child, waitpid(self->child, &status, 0));
	self->child = -1;
	EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status))
		TH_LOG("the device write reached the child's copy");
}

#define RWV_MB		16
#define RWV_PASSES	4

struct rwv_loop {
	int fd;
	struct mnsim_vec_range r[RWV_PASSES];
	const unsigned char *src;
	const unsigned char *dst;
	size_t len;
	int inside;		/* a DEV_RWV is running */
	__u64 t_start;		/* of the running one */
	__u64 t_last_end;	/* of the last one that succeeded */
	__u64 nr_ok;
	int ret;		/* of the last one: EBADF ends the loop */
	int bad_data;
	int done;
};

static void *rwv_loop_main(void *arg)
{
	struct rwv_loop *l = arg;

	for (;;) {
		__atomic_store_n(&l->t_start, now_ns(), __ATOMIC_SEQ_CST);
		__atomic_store_n(&l->inside, 1, __ATOMIC_SEQ_CST);
		l->ret = _test_cmd_dev_rwv(l->fd, l->r, RWV_PASSES, NULL);
		__atomic_store_n(&l->inside, 0, __ATOMIC_SEQ_CST);
		if (l->ret)
			break;
		l->t_last_end = now_ns();
		l->nr_ok++;
		if (memcmp(l->dst, l->src, l->len))
			l->bad_data = 1;
	}
	__atomic_store_n(&l->done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

/*
 * A thread loops on a long DEV_RWV (RWV_PASSES x RWV_MB MiB); the test
 * closes the fd while one is running: that call completes with all the
 * data, the next one fails with EBADF. Up to three tries to hit a call in
 * flight.
 */
TEST_F_TIMEOUT(stress, close_during_long_rwv, 90)
{
	const size_t len = RWV_MB << 20;
	unsigned char *src, *dst;
	struct rwv_loop l;
	unsigned int try, i;
	__u64 t_close = 0;
	bool hit = false;
	pthread_t th;

	src = mnsim_map(len, RW);
	dst = mnsim_map(len, RW);
	ASSERT_NE(NULL, src);
	ASSERT_NE(NULL, dst);
	mnsim_fill(src, len, 0x42);
	memset(dst, 0, len);

	for (try = 0; try < 3 && !hit; try++) {
		memset(&l, 0, sizeof(l));
		l.fd = mnsim_open();
		ASSERT_LE(0, l.fd);
		ASSERT_EQ(0, _test_cmd_bind(l.fd, try % 2 ? MNSIM_MODE_SOFT :
					    self->info.modes &
					    MNSIM_MODE_BIT(MNSIM_MODE_ATS) ?
					    MNSIM_MODE_ATS : MNSIM_MODE_SOFT,
					    MNSIM_TARGET_SELF, 4096));
		for (i = 0; i < RWV_PASSES; i++)
			l.r[i] = mnsim_range(0, src, len, dst);
		l.src = src;
		l.dst = dst;
		l.len = len;
		ASSERT_EQ(0, pthread_create(&th, NULL, rwv_loop_main, &l));
		/* Close 20 ms into the second call. */
		for (i = 0; i < 60000; i++) {
			if (__atomic_load_n(&l.inside, __ATOMIC_SEQ_CST) &&
			    l.nr_ok >= 1 &&
			    now_ns() - __atomic_load_n(&l.t_start,
						       __ATOMIC_SEQ_CST) >
			    20000000ULL)
				break;
			usleep(1000);
		}
		t_close = now_ns();
		ASSERT_EQ(0, close(l.fd));
		ASSERT_TRUE(finished_within(&l.done, 60000))
			TH_LOG("the DEV_RWV loop never saw its fd closed");
		ASSERT_TRUE(join_within(th, 1000));
		EXPECT_EQ(-EBADF, l.ret);
		EXPECT_EQ(0, l.bad_data);
		EXPECT_LE(1ULL, l.nr_ok);
		hit = l.t_last_end > t_close;
		TH_LOG("try %u: %llu calls done, the last %s the close", try,
		       (unsigned long long)l.nr_ok, hit ? "after" : "before");
	}
	EXPECT_TRUE(hit) TH_LOG("no DEV_RWV was in flight at the close");
}

/* ---- the coherence oracle with several threads on one device ---- */

#define ORACLE_READERS	3
#define ORACLE_MAX_MS	20000

/* --oracle-ms: how long shared_device_no_violation races at most. */
static unsigned int opt_oracle_ms = ORACLE_MAX_MS;
#define ORACLE_DATA_MS	3000

struct oracle_race {
	int fd;
	unsigned char *page;
	int stop;
	__u64 gen;		/* the zapper's last store, published after it */
	__u64 reads, zaps;
	__u64 stale;		/* reads older than a store before them */
	__u64 stale_v, stale_gen;
	int bad_ret;
};

static void *oracle_reader(void *arg)
{
	struct oracle_race *o = arg;
	__u64 v, g0;
	int ret;

	while (!__atomic_load_n(&o->stop, __ATOMIC_SEQ_CST)) {
		g0 = __atomic_load_n(&o->gen, __ATOMIC_SEQ_CST);
		ret = _test_cmd_dev_read(o->fd, o->page, sizeof(v), &v, NULL);
		if (ret && ret != -EAGAIN)
			o->bad_ret = ret;
		/* 0: a fresh page between a zap and the store after it */
		if (!ret && v && v < g0) {
			o->stale_v = v;
			o->stale_gen = g0;
			add(&o->stale, 1);
		}
		add(&o->reads, 1);
	}
	return NULL;
}

static void *oracle_zapper(void *arg)
{
	struct oracle_race *o = arg;
	__u64 gen = 0;

	while (!__atomic_load_n(&o->stop, __ATOMIC_SEQ_CST)) {
		madvise(o->page, sysconf(_SC_PAGESIZE), MADV_DONTNEED);
		__atomic_store_n((__u64 *)o->page, ++gen, __ATOMIC_SEQ_CST);
		__atomic_store_n(&o->gen, gen, __ATOMIC_SEQ_CST);
		add(&o->zaps, 1);
	}
	return NULL;
}

FIXTURE(oracle)
{
	int fd;
	struct oracle_race o;
	struct mnsim_stats st;
	unsigned int ms;
};

FIXTURE_VARIANT(oracle)
{
	__u32 mode;
};

FIXTURE_VARIANT_ADD(oracle, ats)
{
	.mode = MNSIM_MODE_ATS,
};

FIXTURE_VARIANT_ADD(oracle, soft)
{
	.mode = MNSIM_MODE_SOFT,
};

FIXTURE_SETUP(oracle)
{
	struct mnsim_info info;

	mnsim_setup_open(_metadata, &self->fd, &info, variant->mode);
	ASSERT_EQ(0, _test_cmd_bind_flags(self->fd, MNSIM_BIND_ORACLE,
					  variant->mode, MNSIM_TARGET_SELF, 0));
}

FIXTURE_TEARDOWN(oracle)
{
	mnsim_report_stats(self->fd);
	close(self->fd);
}

/*
 * ORACLE_READERS threads read one page through one oracle device while
 * another zaps it (MADV_DONTNEED) and stores a new generation number in it,
 * for @max_ms or (@until_verdict) until the oracle's first violation.
 */
static void oracle_race_run(struct __test_metadata *_metadata,
			    struct _test_data_oracle *self,
			    unsigned int max_ms, bool until_verdict)
{
	const size_t ps = sysconf(_SC_PAGESIZE);
	pthread_t th[ORACLE_READERS + 1];
	struct oracle_race *o = &self->o;
	unsigned int i;

	memset(o, 0, sizeof(*o));
	o->fd = self->fd;
	o->page = mnsim_map(ps, RW);
	ASSERT_NE(NULL, o->page);
	memset(o->page, 0, ps);
	for (i = 0; i < ORACLE_READERS; i++)
		ASSERT_EQ(0, pthread_create(&th[i], NULL, oracle_reader, o));
	ASSERT_EQ(0, pthread_create(&th[i], NULL, oracle_zapper, o));
	for (self->ms = 0; self->ms < max_ms; self->ms += 50) {
		usleep(50000);
		ASSERT_EQ(0, _test_cmd_stats(self->fd, &self->st));
		if (until_verdict && (self->st.oracle_violation_a ||
				      self->st.oracle_violation_b))
			break;
	}
	__atomic_store_n(&o->stop, 1, __ATOMIC_SEQ_CST);
	for (i = 0; i <= ORACLE_READERS; i++)
		ASSERT_TRUE(join_within(th[i], 10000));
	ASSERT_EQ(0, _test_cmd_stats(self->fd, &self->st));
	TH_LOG("%llu reads, %llu zaps, %u ms: oracle %llu ok, %llu stale, %llu B, %llu A",
	       (unsigned long long)o->reads, (unsigned long long)o->zaps,
	       self->ms, (unsigned long long)self->st.oracle_coherent,
	       (unsigned long long)self->st.oracle_stale_allowed,
	       (unsigned long long)self->st.oracle_violation_b,
	       (unsigned long long)self->st.oracle_violation_a);
	EXPECT_EQ(0, o->bad_ret);
	EXPECT_LT(0ULL, o->zaps);
	EXPECT_LT(0ULL, self->st.oracle_coherent);
}

/*
 * The data: with several threads on one ATS or SOFT device and the page
 * zapped and rewritten under them, no device read returns a generation
 * older than one the CPU had stored before the read began.
 */
TEST_F_TIMEOUT(oracle, shared_device_data_coherent, 60)
{
	oracle_race_run(_metadata, self, ORACLE_DATA_MS, false);
	EXPECT_EQ(0ULL, self->o.stale)
		TH_LOG("read generation %llu after the CPU stored %llu",
		       (unsigned long long)self->o.stale_v,
		       (unsigned long long)self->o.stale_gen);
}

/*
 * The verdicts, in the same race: on a correct kernel ATS and SOFT are
 * coherent (see above), so the oracle must never report a violation. Up to
 * 20 s, or until the first one. A failure is first a kernel verdict: the
 * device used a translation the kernel should have flushed (this test
 * caught a kernel that defers the COW's hook to range end). Only if the
 * kernel is known good is it the oracle's: the oracle takes the CPU's view
 * of the page before it looks the address up, and judges a hit only if no
 * invalidation ran in between, else a page zapped and refilled by another
 * thread meanwhile would be judged against the older view.
 */
TEST_F_TIMEOUT(oracle, shared_device_no_violation, 60)
{
	oracle_race_run(_metadata, self, opt_oracle_ms, true);
	EXPECT_EQ(0ULL, self->st.oracle_violation_a)
		TH_LOG("%s; the device used %llu freed page(s): %s (case A)",
		       "a correct kernel frees no page a device still caches",
		       (unsigned long long)self->st.oracle_violation_a,
		       "a missing or late secondary-TLB flush, or an oracle bug");
	EXPECT_EQ(0ULL, self->st.oracle_violation_b)
		TH_LOG("%s; the device read %llu time(s) a page the CPU unmapped: %s (case B)",
		       "a correct kernel flushes the device before it maps a new page",
		       (unsigned long long)self->st.oracle_violation_b,
		       "a missing or late secondary-TLB flush, or an oracle bug");
}

int main(int argc, char **argv)
{
	char **args = calloc(argc + 1, sizeof(*args));
	int i, n = 0;

	if (!args)
		return 1;
	for (i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--seed") && i + 1 < argc) {
			opt_seed = strtoull(argv[++i], NULL, 0);
			continue;
		}
		if (!strcmp(argv[i], "--secs") && i + 1 < argc) {
			opt_secs = strtoul(argv[++i], NULL, 0);
			continue;
		}
		if (!strcmp(argv[i], "--oracle-ms") && i + 1 < argc) {
			opt_oracle_ms = strtoul(argv[++i], NULL, 0);
			continue;
		}
		args[n++] = argv[i];
	}
	if (!opt_seed)
		opt_seed = (now_ns() ^ (__u64)getpid() << 32) *
			   0x9e3779b97f4a7c15ULL | 1;
	return test_harness_run(n, args);
}
