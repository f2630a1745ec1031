# SPDX-License-Identifier: GPL-2.0
#
# mmu_notifier_sim: out-of-tree build and the project's test targets.
# The kbuild variables live in Kbuild; this file is only the front end.

KDIR ?= /lib/modules/$(shell uname -r)/build
KVER ?= 6.12
# ARCH=arm64 picks the arm64 flavour of KVER for the VM targets (build-kver,
# vm-test, demo): Debian's arm64 kernel under qemu-system-aarch64.
FLAVOUR = $(KVER)$(if $(filter arm64 aarch64,$(ARCH)),-arm64)
KUNIT_ARCH ?= um
VM := tools/testing/vm

SRC_C := mmu_notifier_sim.c sec_tlb.c
SRC_H := sec_tlb.h compat.h mnsim_trace.h include/uapi/linux/mmu_notifier_sim.h
SELFTEST_DIR := tools/testing/selftests/mmu_notifier_sim
CHECKPATCH_FILES := $(SRC_C) $(SRC_H) $(wildcard tests/*.c) \
	$(wildcard $(SELFTEST_DIR)/*.c $(SELFTEST_DIR)/*.h) \
	$(wildcard tools/mnsim/*.c tools/mnsim/*.h) \
	$(wildcard tools/bench/*.c tools/bench/*/*.c tools/bench/*/*.h)

PREFIX ?= /usr/local
# The release the modules are built for is UTS_RELEASE (vermagic), not
# `make kernelrelease`: Debian's 6.1 headers say 6.1.192 there but boot
# as 6.1.0-N-amd64, and modules_install would pick the wrong directory.
KRELEASE = $(shell sed -n 's/^\#define UTS_RELEASE "\(.*\)"/\1/p' \
	$(KDIR)/include/generated/utsrelease.h)

all: modules

modules:
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR) clean
	$(MAKE) -C tools/mnsim OUTPUT=$(CURDIR)/tools/mnsim clean

mnsim:
	$(MAKE) -C tools/mnsim OUTPUT=$(CURDIR)/tools/mnsim

# Modules to $(DESTDIR)/lib/modules/<release>/extra (+ depmod), the uAPI
# header and mnsim to $(DESTDIR)$(PREFIX).
install: modules mnsim
	$(MAKE) -C $(KDIR) M=$(CURDIR) INSTALL_MOD_PATH=$(DESTDIR) \
		INSTALL_MOD_DIR=extra KERNELRELEASE=$(KRELEASE) modules_install
	depmod -b "$(or $(DESTDIR),/)" $(KRELEASE)
	install -D -m 0644 include/uapi/linux/mmu_notifier_sim.h \
		$(DESTDIR)$(PREFIX)/include/linux/mmu_notifier_sim.h
	install -D -m 0755 tools/mnsim/mnsim $(DESTDIR)$(PREFIX)/bin/mnsim

# Register the sources with DKMS, which rebuilds them for every kernel.
DKMS_VER := $(shell sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' dkms.conf)
dkms-install:
	rm -rf /usr/src/mmu_notifier_sim-$(DKMS_VER)
	mkdir -p /usr/src/mmu_notifier_sim-$(DKMS_VER)
	git ls-files -z -- Kbuild Makefile dkms.conf '*.c' '*.h' include | \
		xargs -0 cp --parents -t /usr/src/mmu_notifier_sim-$(DKMS_VER)
	dkms add -m mmu_notifier_sim -v $(DKMS_VER)
	dkms build -m mmu_notifier_sim -v $(DKMS_VER)
	dkms install -m mmu_notifier_sim -v $(DKMS_VER)

dkms-check:
	tools/testing/dkms-check.sh

# W=1 + sparse build against one of the Debian kernels (downloaded on demand).
build-kver:
	$(VM)/build-module.sh $(FLAVOUR)

# compat.h is the one file that may test the kernel version.
checkpatch:
	$(VM)/checkpatch.sh $(filter-out compat.h,$(CHECKPATCH_FILES))
	CHECKPATCH_IGNORE=LINUX_VERSION_CODE,CONSTANT_COMPARISON \
		$(VM)/checkpatch.sh compat.h

# Build the module and kselftest for KVER, boot it in QEMU and run the tests.
vm-test:
	$(VM)/vm-test.sh $(FLAVOUR)

# Boot a kernel (6.12 unless KVER is given) and run the seed's COW
# scenario in ATS mode (order kept) and DEFER mode (violation).
demo:
	@$(VM)/vm-test.sh --demo $(FLAVOUR)

# The KUnit suites (sec_tlb, mnsim_order, mnsim_real_mm) with kunit.py in
# Debian's linux-source-$(KVER): UML by default, KUNIT_ARCH=x86_64 or arm64
# (QEMU; arm64 cross-built) for the real secondary-TLB hook of 6.6+.
kunit:
	tools/testing/kunit/run-kunit.sh $(KVER) --arch $(KUNIT_ARCH)

# The benchmarks of Documentation/benchmarks.rst, as ratios in one VM run.
bench:
	tools/bench/run-bench.sh $(KVER)

# The LKMM litmus tests in tools/memory-model/ with herd7 (Debian unstable's,
# fetched into the cache) and the kernel's memory model.
litmus:
	tools/testing/litmus.sh

# Documentation/ with Sphinx, warnings as errors (the uAPI via kernel-doc).
docs:
	tools/testing/docs.sh

# A test kernel from your source tree, with your patches: prints its build
# directory. SRC=<linux tree> [PATCHES="a.patch b.patch"] [CONFIG=test|debug|coverage]
CONFIG ?= test
kernel:
	@test -n "$(SRC)" || { echo "make kernel: SRC=<linux source tree> is required" >&2; exit 2; }
	@$(VM)/build-kernel.sh --src "$(SRC)" --config $(CONFIG) \
		$(foreach p,$(PATCHES),--patch "$(p)")

# The whole suite on your kernel: KBUILD=<build dir>, or SRC=<tree>
# [PATCHES=...] [CONFIG=...] to build it first; ONLY="fixture.test ..." for
# just those scenarios. Exit 0 clean, 1 violation, 2 preflight/build failure.
check-kernel:
	@tools/testing/check-kernel.sh $(if $(KBUILD),KBUILD="$(KBUILD)") \
		$(if $(SRC),SRC="$(SRC)") $(if $(PATCHES),PATCHES="$(PATCHES)") \
		$(if $(ONLY),ONLY="$(ONLY)") CONFIG=$(CONFIG)

# The mutant catalogue (tools/testing/mutants/): every broken kernel caught
# in ATS with its verdict class, the unpatched bases clean. make check runs
# mutant (a) only.
check-mutants:
	@tools/testing/check-mutants.sh

# Everything CI runs; ends with one "N passed, N failed" line.
check:
	@CHECKPATCH_FILES="$(CHECKPATCH_FILES)" tools/testing/check.sh

# The kselftests on 6.1 and 6.12 built from source with lockdep, KASAN,
# KFENCE, DEBUG_VM, DEBUG_ATOMIC_SLEEP and kmemleak (not run by CI).
check-debug:
	tools/testing/check-debug.sh

# Line and branch coverage of both modules from the kselftests (gcov kernels
# of 6.1 and 6.12 built from source) and KUnit (UML, CONFIG_GCOV), merged
# with lcov: HTML under ~/.cache/mmu_notifier_sim/coverage (not run by CI).
# KVERS="6.12" for one kernel; COVERAGE_DOC=1 rewrites Documentation/coverage.rst.
KVERS ?= 6.1 6.12
coverage:
	@COVERAGE_DOC=$(COVERAGE_DOC) tools/testing/coverage.sh $(KVERS)

.PHONY: all modules clean mnsim install dkms-install dkms-check build-kver \
	checkpatch vm-test demo kunit bench docs litmus check check-debug kernel \
	check-kernel check-mutants coverage
