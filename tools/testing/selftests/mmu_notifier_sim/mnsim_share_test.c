// SPDX-License-Identifier: GPL-2.0
/*
 * A bound device in the hands of other processes: passed over SCM_RIGHTS,
 * inherited across fork(), kept across the binder's exec() and exit.
 *
 * Copyright (C) 2026 The mmu_notifier_sim authors
 *
 * The binding belongs to the open file, not to a process. BIND checks the
 * caller's right to the target and takes a reference to the target's
 * address space; from then on every holder of the file acts on that
 * address space, as with an open /proc/PID/mem: no check at access time,
 * BIND again is EBUSY, UNBIND works for anyone, and once the address space
 * is gone (the binder exited or exec'd) device accesses fail with ESRCH.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>

#include "mnsim_utils.h"

#define RW		(PROT_READ | PROT_WRITE)
#define SEED_A		0x11	/* the test's own data */
#define SEED_B		0x5b	/* the binder's data at the same address */
#define SEED_C		0xa7	/* written by a device in another process */
#define SEED_D		0x3c

#define EXEC_WAIT	"--exec-wait"

/* Which pattern @p holds: 'A'..'D', or '?'. */
static char which(const void *p, size_t len)
{
	static const unsigned int seeds[] = { SEED_A, SEED_B, SEED_C, SEED_D };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(seeds); i++)
		if (mnsim_match(p, len, seeds[i]))
			return 'A' + i;
	return '?';
}

FIXTURE(share)
{
	size_t ps;
	int sock[2];		/* the test's end, the binder's end */
	unsigned char *mem;	/* the same address in every process */
	unsigned char *buf;
	pid_t child;
};

FIXTURE_VARIANT(share)
{
	__u32 mode;
};

FIXTURE_VARIANT_ADD(share, ats)
{
	.mode = MNSIM_MODE_ATS,
};

FIXTURE_VARIANT_ADD(share, soft)
{
	.mode = MNSIM_MODE_SOFT,
};

FIXTURE_VARIANT_ADD(share, defer)
{
	.mode = MNSIM_MODE_DEFER,
};

FIXTURE_SETUP(share)
{
	struct mnsim_info info;
	int fd;

	self->ps = sysconf(_SC_PAGESIZE);
	self->child = -1;
	mnsim_setup_open(_metadata, &fd, &info, variant->mode);
	close(fd);
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
				self->sock));
	self->mem = mnsim_map(self->ps, RW);
	self->buf = mnsim_map(self->ps, RW);
	ASSERT_NE(NULL, self->mem);
	ASSERT_NE(NULL, self->buf);
	mnsim_fill(self->mem, self->ps, SEED_A);
}

FIXTURE_TEARDOWN(share)
{
	if (self->child > 0) {
		kill(self->child, SIGKILL);
		waitpid(self->child, NULL, 0);
	}
	close(self->sock[0]);
	close(self->sock[1]);
}

/*
 * The binder: writes SEED_B into its copy of mem, binds a device to itself,
 * sends it over @sock and serves requests until EOF:
 *   'b'/'c'/'d': is my mem SEED_B/C/D?     reply 1 or 0
 *   'r': a device read of mem through my own copy of the file:
 *        reply which() of the data, or 'N' (ENXIO) / 'S' (ESRCH) / 'E'
 *   'e': exec this program with EXEC_WAIT, the socket as stdin and stdout
 *   'x': exit
 */
static void binder_main(int sock, __u32 mode, unsigned char *mem,
			unsigned char *buf, size_t ps)
{
	int fd, c, ret;

	mnsim_fill(mem, ps, SEED_B);
	fd = mnsim_open();
	if (fd < 0 || _test_cmd_bind(fd, mode, MNSIM_TARGET_SELF, 0))
		_exit(2);
	if (mnsim_send_fd(sock, fd))
		_exit(3);
	while ((c = mnsim_recv(sock)) >= 0) {
		unsigned char reply;

		switch (c) {
		case 'b':
			reply = mnsim_match(mem, ps, SEED_B);
			break;
		case 'c':
			reply = mnsim_match(mem, ps, SEED_C);
			break;
		case 'd':
			reply = mnsim_match(mem, ps, SEED_D);
			break;
		case 'r':
			memset(buf, 0, ps);
			ret = _test_cmd_dev_read(fd, mem, ps, buf, NULL);
			reply = !ret ? which(buf, ps) : ret == -ENXIO ? 'N' :
				ret == -ESRCH ? 'S' : 'E';
			break;
		case 'e':
			if (dup2(sock, 0) < 0 || dup2(sock, 1) < 0)
				_exit(4);
			execl("/proc/self/exe", "mnsim_share_test", EXEC_WAIT,
			      (char *)NULL);
			_exit(5);
		default:
			_exit(0);
		}
		if (mnsim_send(sock, reply))
			_exit(6);
	}
	_exit(0);
}

/* Fork the binder and receive its device. Return: the fd or -errno. */
static int start_binder(struct _test_data_share *self, __u32 mode)
{
	pid_t pid;

	pid = mnsim_fork();
	if (pid < 0)
		return -errno;
	if (!pid) {
		close(self->sock[0]);
		binder_main(self->sock[1], mode, self->mem, self->buf,
			    self->ps);
	}
	self->child = pid;
	return mnsim_recv_fd(self->sock[0]);
}

/* Ask the binder @req; return its one-byte reply or -1. */
static int ask(struct _test_data_share *self, char req)
{
	if (mnsim_send(self->sock[0], req))
		return -1;
	return mnsim_recv(self->sock[0]);
}

/* Tell the binder to exit and reap it. Return: its wait status. */
static int stop_binder(struct _test_data_share *self)
{
	int status = -1;

	mnsim_send(self->sock[0], 'x');
	if (waitpid(self->child, &status, 0) == self->child)
		self->child = -1;
	return status;
}

/*
 * A device bound by another process and passed over SCM_RIGHTS acts on the
 * binder's address space: device reads return the binder's data, device
 * writes land in the binder's memory and not in the receiver's. BIND on it
 * is EBUSY whatever the target; STATS, FLUSH and PARK work. The binder's own
 * copy is the same file: after the receiver's UNBIND it is unbound too, and
 * after the receiver binds it to itself, it reads the receiver's memory.
 */
TEST_F(share, scm_rights_acts_on_binder)
{
	const size_t ps = self->ps;
	struct mnsim_park_ctl ctl;
	struct mnsim_stats st;
	unsigned char *src;
	__u32 mode;
	int fd;

	src = mnsim_map(ps, RW);
	ASSERT_NE(NULL, src);
	mnsim_fill(src, ps, SEED_C);
	fd = start_binder(self, variant->mode);
	ASSERT_LE(0, fd);

	ASSERT_EQ(0, _test_cmd_dev_read(fd, self->mem, ps, self->buf, NULL));
	EXPECT_EQ('B', which(self->buf, ps))
		TH_LOG("the device did not read the binder's memory");
	ASSERT_EQ(0, _test_cmd_dev_write(fd, self->mem, ps, src, NULL));
	EXPECT_EQ(1, ask(self, 'c'))
		TH_LOG("the device write did not reach the binder");
	EXPECT_TRUE(mnsim_match(self->mem, ps, SEED_A))
		TH_LOG("the device wrote the receiver's memory");

	ASSERT_EQ(0, _test_cmd_stats(fd, &st));
	EXPECT_EQ(variant->mode, st.mode);
	EXPECT_LE(1ULL, st.fills);
	for (mode = MNSIM_MODE_ATS; mode <= MNSIM_MODE_DEFER; mode++) {
		EXPECT_ERRNO(EBUSY, _test_cmd_bind(fd, mode, MNSIM_TARGET_SELF,
						   0));
		EXPECT_ERRNO(EBUSY, _test_cmd_bind(fd, mode, self->child, 0));
	}
	EXPECT_EQ(0, _test_cmd_flush(fd));
	EXPECT_EQ(0, _test_cmd_park(fd, MNSIM_PARK_END | MNSIM_PARK_DELAY, 1,
				    MNSIM_PTR(self->mem), NULL));
	ASSERT_EQ(0, _test_cmd_park_ctl(fd, MNSIM_PARK_CTL_DISARM, &ctl));
	EXPECT_EQ(0U, ctl.armed);
	EXPECT_EQ('C', ask(self, 'r'));

	/* One file: the receiver's UNBIND and BIND are the binder's too. */
	ASSERT_EQ(0, _test_cmd_unbind(fd));
	EXPECT_EQ('N', ask(self, 'r'));
	ASSERT_EQ(0, _test_cmd_bind(fd, variant->mode, MNSIM_TARGET_SELF, 0));
	EXPECT_EQ('A', ask(self, 'r'))
		TH_LOG("the binder's copy does not follow the new binding");
	EXPECT_EQ(1, ask(self, 'c'));

	EXPECT_EQ(0, stop_binder(self));
	memset(self->buf, 0, ps);
	ASSERT_EQ(0, _test_cmd_dev_read(fd, self->mem, ps, self->buf, NULL));
	EXPECT_EQ('A', which(self->buf, ps));
	EXPECT_EQ(0, close(fd));
}

/*
 * After the binder exits, the receiver's device accesses fail with ESRCH
 * (reads, writes, vectors), STATS counts the release, BIND is still EBUSY;
 * UNBIND works, the file can be bound again by the receiver, and closing it
 * succeeds.
 */
TEST_F(share, scm_rights_binder_exits)
{
	const size_t ps = self->ps;
	struct mnsim_vec_range r;
	struct mnsim_stats st;
	int fd;

	fd = start_binder(self, variant->mode);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, _test_cmd_dev_read(fd, self->mem, ps, self->buf, NULL));
	EXPECT_EQ('B', which(self->buf, ps));

	EXPECT_EQ(0, stop_binder(self));
	EXPECT_ERRNO(ESRCH, _test_cmd_dev_read(fd, self->mem, ps, self->buf,
					       NULL));
	EXPECT_ERRNO(ESRCH, _test_cmd_dev_write(fd, self->mem, 8, self->buf,
						NULL));
	r = mnsim_range(MNSIM_ACCESS_WRITE, self->mem, 8, self->buf);
	EXPECT_ERRNO(ESRCH, _test_cmd_dev_rwv(fd, &r, 1, NULL));
	EXPECT_EQ(0, _test_cmd_flush(fd));
	ASSERT_EQ(0, _test_cmd_stats(fd, &st));
	EXPECT_EQ(variant->mode, st.mode);
	EXPECT_LE(1ULL, st.release_calls);
	EXPECT_EQ(0U, st.entries);
	EXPECT_ERRNO(EBUSY, _test_cmd_bind(fd, variant->mode,
					   MNSIM_TARGET_SELF, 0));
	EXPECT_TRUE(mnsim_match(self->mem, ps, SEED_A));

	ASSERT_EQ(0, _test_cmd_unbind(fd));
	EXPECT_ERRNO(ENXIO, _test_cmd_dev_read(fd, self->mem, 8, self->buf,
					       NULL));
	ASSERT_EQ(0, _test_cmd_bind(fd, variant->mode, MNSIM_TARGET_SELF, 0));
	ASSERT_EQ(0, _test_cmd_dev_read(fd, self->mem, ps, self->buf, NULL));
	EXPECT_EQ('A', which(self->buf, ps));
	EXPECT_EQ(0, close(fd));
}

/*
 * The access check is BIND's, once: a device bound by root (DEFER too) and
 * passed to a process of another uid without any capability reads and
 * writes root's memory. That process's own BIND on the file is EBUSY;
 * after its UNBIND its BIND to the binder is EPERM, its DEFER BIND is
 * EPERM, and binding itself works.
 */
TEST_F(share, scm_rights_unprivileged_receiver)
{
	const size_t ps = self->ps;
	int usock[2], fd, status;
	pid_t user;

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
				usock));
	user = mnsim_fork();
	ASSERT_LE(0, user);
	if (!user) {
		unsigned char *src = mnsim_map(ps, RW);
		struct mnsim_stats st;
		pid_t binder;
		int ufd;

		close(usock[0]);
		ASSERT_NE(NULL, src);
		mnsim_fill(src, ps, SEED_D);
		ASSERT_EQ(0, mnsim_become(MNSIM_UID_NOBODY, 0));
		ufd = mnsim_recv_fd(usock[1]);
		ASSERT_LE(0, ufd);
		ASSERT_EQ((ssize_t)sizeof(binder),
			  read(usock[1], &binder, sizeof(binder)));

		ASSERT_EQ(0, _test_cmd_dev_read(ufd, self->mem, ps, self->buf,
						NULL));
		EXPECT_EQ('B', which(self->buf, ps));
		ASSERT_EQ(0, _test_cmd_dev_write(ufd, self->mem, ps, src,
						 NULL));
		EXPECT_TRUE(mnsim_match(self->mem, ps, SEED_A));
		ASSERT_EQ(0, _test_cmd_stats(ufd, &st));
		EXPECT_EQ(variant->mode, st.mode);
		EXPECT_ERRNO(EBUSY, _test_cmd_bind(ufd, MNSIM_MODE_SOFT,
						   MNSIM_TARGET_SELF, 0));
		EXPECT_EQ(0, _test_cmd_flush(ufd));
		ASSERT_EQ(0, _test_cmd_unbind(ufd));
		EXPECT_ERRNO(EPERM, _test_cmd_bind(ufd, MNSIM_MODE_SOFT, binder,
						   0));
		EXPECT_ERRNO(EPERM, _test_cmd_bind(ufd, MNSIM_MODE_DEFER,
						   MNSIM_TARGET_SELF, 0));
		ASSERT_EQ(0, _test_cmd_bind(ufd, MNSIM_MODE_SOFT,
					    MNSIM_TARGET_SELF, 0));
		ASSERT_EQ(0, _test_cmd_dev_read(ufd, self->mem, ps, self->buf,
						NULL));
		EXPECT_EQ('A', which(self->buf, ps));
		close(ufd);
		_exit(0);
	}
	close(usock[1]);
	fd = start_binder(self, variant->mode);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, mnsim_send_fd(usock[0], fd));
	ASSERT_EQ((ssize_t)sizeof(self->child),
		  write(usock[0], &self->child, sizeof(self->child)));
	close(fd);
	ASSERT_EQ(user, waitpid(user, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status));
	EXPECT_EQ(1, ask(self, 'd'))
		TH_LOG("the unprivileged holder's write did not reach root");
	EXPECT_EQ(0, stop_binder(self));
	close(usock[0]);
}

/*
 * fork() copies the file, not the binding: a child's device accesses
 * through an inherited bound file act on the parent's address space. And
 * a child that binds an inherited, unbound file binds the parent's copy to
 * the child: the parent then reads the child's memory, until the child
 * exits (ESRCH).
 */
TEST_F(share, inherited_fd)
{
	const size_t ps = self->ps;
	struct mnsim_chan ch;
	int fd, status;
	pid_t pid;

	fd = mnsim_open();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, _test_cmd_bind(fd, variant->mode, MNSIM_TARGET_SELF, 0));
	pid = mnsim_fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		unsigned char *src = mnsim_map(ps, RW);

		ASSERT_NE(NULL, src);
		mnsim_fill(self->mem, ps, SEED_B);
		mnsim_fill(src, ps, SEED_C);
		ASSERT_EQ(0, _test_cmd_dev_read(fd, self->mem, ps, self->buf,
						NULL));
		EXPECT_EQ('A', which(self->buf, ps))
			TH_LOG("the child read its own memory");
		ASSERT_EQ(0, _test_cmd_dev_write(fd, self->mem, ps, src,
						 NULL));
		EXPECT_TRUE(mnsim_match(self->mem, ps, SEED_B));
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status));
	EXPECT_TRUE(mnsim_match(self->mem, ps, SEED_C))
		TH_LOG("the child's device write missed the parent");
	ASSERT_EQ(0, _test_cmd_unbind(fd));

	/* The child binds the shared, unbound file to itself. */
	mnsim_fill(self->mem, ps, SEED_A);
	ASSERT_EQ(0, mnsim_chan_open(&ch));
	pid = mnsim_fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		mnsim_chan_child(&ch);
		mnsim_fill(self->mem, ps, SEED_B);
		if (_test_cmd_bind(fd, variant->mode, MNSIM_TARGET_SELF, 0))
			_exit(2);
		if (mnsim_send(ch.to_parent[1], 'r'))
			_exit(3);
		mnsim_recv(ch.to_child[0]);
		_exit(0);
	}
	self->child = pid;
	mnsim_chan_parent(&ch);
	ASSERT_EQ('r', mnsim_recv(ch.to_parent[0]));
	ASSERT_EQ(0, _test_cmd_dev_read(fd, self->mem, ps, self->buf, NULL));
	EXPECT_EQ('B', which(self->buf, ps));
	EXPECT_ERRNO(EBUSY, _test_cmd_bind(fd, variant->mode,
					   MNSIM_TARGET_SELF, 0));
	ASSERT_EQ(0, mnsim_send(ch.to_child[1], 'x'));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	self->child = -1;
	EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status));
	EXPECT_ERRNO(ESRCH, _test_cmd_dev_read(fd, self->mem, ps, self->buf,
					       NULL));
	ASSERT_EQ(0, _test_cmd_unbind(fd));
	EXPECT_EQ(0, close(fd));
}

/*
 * exec() replaces the binder's address space: the binding to the old one
 * ends (ESRCH, release counted) although the process lives on, and BIND to
 * its pid reaches the new image.
 */
TEST_F(share, binder_exec_ends_binding)
{
	const size_t ps = self->ps;
	struct mnsim_stats st;
	int fd, status;

	fd = start_binder(self, variant->mode);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, _test_cmd_dev_read(fd, self->mem, ps, self->buf, NULL));
	EXPECT_EQ('B', which(self->buf, ps));

	ASSERT_EQ(0, mnsim_send(self->sock[0], 'e'));
	ASSERT_EQ('E', mnsim_recv(self->sock[0]))
		TH_LOG("the binder did not exec");
	EXPECT_ERRNO(ESRCH, _test_cmd_dev_read(fd, self->mem, ps, self->buf,
					       NULL));
	ASSERT_EQ(0, _test_cmd_stats(fd, &st));
	EXPECT_LE(1ULL, st.release_calls);
	EXPECT_EQ(0, kill(self->child, 0));

	ASSERT_EQ(0, _test_cmd_unbind(fd));
	ASSERT_EQ(0, _test_cmd_bind(fd, variant->mode, self->child, 0));
	ASSERT_EQ(0, _test_cmd_stats(fd, &st));
	EXPECT_EQ(0ULL, st.release_calls);

	ASSERT_EQ(0, mnsim_send(self->sock[0], 'x'));
	ASSERT_EQ(self->child, waitpid(self->child, &status, 0));
	self->child = -1;
	EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status));
	EXPECT_ERRNO(ESRCH, _test_cmd_dev_read(fd, self->mem, 8, self->buf,
					       NULL));
	EXPECT_EQ(0, close(fd));
}

/* After exec: say so, then wait for any byte or EOF on stdin. */
static int exec_wait(void)
{
	char c;

	if (write(1, "E", 1) != 1)
		return 1;
	while (read(0, &c, 1) < 0 && errno == EINTR)
		;
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], EXEC_WAIT))
		return exec_wait();
	return test_harness_run(argc, argv);
}
