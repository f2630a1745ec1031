// SPDX-License-Identifier: GPL-2.0
/*
 * mnsim_selfcheck_fail: not a test, a helper of mnsim_selfcheck.sh. A
 * fixture that forks a child with the bound device fd, the way
 * events.*.cow_is_recorded_in_order does, and a test that then fails at an
 * ASSERT before it tells the child to go. It must fail (exit non-zero), and
 * its child must not outlive it: a child left blocked with the inherited fd
 * keeps the module in use and fails every later rmmod test.
 *
 * Copyright (C) 2026 The mmu_notifier_sim authors
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <sys/wait.h>

#include "mnsim_utils.h"

FIXTURE(forked)
{
	int fd;
	int pipefd[2];
};

FIXTURE_SETUP(forked)
{
	self->fd = mnsim_open();
	ASSERT_LE(0, self->fd);
	test_cmd_bind(MNSIM_MODE_SOFT, MNSIM_TARGET_SELF, 0);
	ASSERT_EQ(0, pipe(self->pipefd));
}

FIXTURE_TEARDOWN(forked)
{
	close(self->pipefd[0]);
	close(self->pipefd[1]);
	close(self->fd);
}

TEST_F(forked, fails_before_releasing_its_child)
{
	pid_t child;
	char c;

	child = mnsim_fork();
	ASSERT_LE(0, child);
	if (!child) {
		/* Blocks until the parent writes: it never will. */
		if (read(self->pipefd[0], &c, 1) < 0)
			_exit(2);
		_exit(0);
	}
	printf("# child %d holds the device\n", child);
	fflush(stdout);
	ASSERT_EQ(0, 1) TH_LOG("deliberate failure, with the child still waiting");
	ASSERT_EQ(1, write(self->pipefd[1], "x", 1));
	ASSERT_EQ(child, waitpid(child, NULL, 0));
}

TEST_HARNESS_MAIN
