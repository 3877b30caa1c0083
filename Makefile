# SPDX-License-Identifier: GPL-2.0
#
# gmem-migrate: build, boot and test the series on a real 7.3.4 kernel.
# 'make help' lists the targets.

BASE_SERIES  ?= 7.3
BASE_VERSION ?= 7.3.4-1~bpo13+1
BASE_SHA256  ?= 76df1affb19f24926949369be1d74b60071c963c598ce8780bddd4bbf0fc3bc4

# plain: no debug options (benchmarks); debug: lockdep, DEBUG_VM, ... (tests);
# kasan: debug plus generic KASAN.
VARIANT ?= debug
WORK    ?= $(CURDIR)/work
CACHE   ?= $(HOME)/.cache/gmem-migrate
# patches/series applies three series in order: mm-fixes, migration,
# conversion. SERIES=NAME applies them up to and including NAME only, in a
# tree and build of their own (the full ones are left alone), and make check
# runs guest/suite.NAME: SERIES=migration is the series without in-place
# conversion.
SERIES  ?=
TREE    ?= $(WORK)/linux$(if $(SERIES),-$(SERIES))
BUILD   ?= $(WORK)/build-$(VARIANT)$(if $(SERIES),-$(SERIES))
PATCHES := $(CURDIR)/patches
SUITE   := $(CURDIR)/guest/suite$(if $(SERIES),.$(SERIES))
# Extra kernel command line for 'make run' and 'make check'.
APPEND  ?=
# Run only the suite entries whose names match this regular expression.
TESTS   ?=
# make run, before the shell: qemu (our QEMU on a migratable guest_memfd,
# under offline, virtio-mem and migratepages), gmem (demo/gmem-demo), 0 (none).
DEMO    ?= qemu
# make mutants: only the planted bugs whose names match this regex.
MUTANTS ?=
# The unpatched base in a worktree; make base builds it like $(BUILD), for
# make bench (make check's boots on the base run make unpatched's build).
BASE_TREE   ?= $(WORK)/base-tree
BASE_BUILD  ?= $(WORK)/build-base-$(VARIANT)
# make bench: the patched kernel's plain build, the base's, and the output.
BENCH_BUILD ?= $(WORK)/build-plain
BENCH_BASE  ?= $(WORK)/build-base-plain
RESULTS     ?= $(CURDIR)/results

# Our QEMU (qemu/patches on Debian's 10.2.2) and the nested guest it runs;
# the unpatched base without debug options, for make check's boot on the base.
QEMU_BUILD := $(WORK)/qemu/build
NESTED     ?= $(WORK)/build-nested
UNPATCHED  ?= $(WORK)/build-unpatched

export BASE_SERIES BASE_VERSION BASE_SHA256 VARIANT WORK CACHE TREE BUILD PATCHES \
	QEMU_BUILD NESTED BASE_TREE SERIES SUITE

# Inline generic KASAN with 5-level paging reports a false wild-memory-access
# for an interrupt taken early in boot, now and then, on the base too (lkml,
# June 2026: "kasan: Fix false-positive wild-memory-access on x86 under
# 5-level paging"); the kasan variant boots with 4-level paging.
BOOT_ARGS := $(strip $(if $(filter kasan,$(VARIANT)),no5lvl) $(APPEND))

# ccache (used when installed) keys on paths relative to $(WORK), so a fresh
# clone elsewhere on the same machine still hits the cache.
export CCACHE_BASEDIR ?= $(WORK)
export CCACHE_NOHASHDIR := 1

H := harness
# Each stage prints its wall time (stage: NAME N s); check prints each boot's
# and, before its summary, the whole run's since make started.
S := $(H)/stage.sh
START := $(shell date +%s)

.PHONY: help deps fetch tree export lint buildeach config kernel selftests demo qemu nested \
	base-tree base unpatched initramfs check run bench mutants deb full-series clean distclean

help:
	@echo 'gmem-migrate: the migratable guest_memfd series and its harness'
	@echo
	@echo '  make check      build everything, boot it in QEMU, run the suite (README'"'"'s test command)'
	@echo '  make run        build if needed, boot the same machine, run the demo (QEMU), then a shell'
	@echo '  make bench      figures: patched (plain) vs shmem/anon and vs the base kernel, into $(RESULTS)'
	@echo '  make mutants    each planted bug in mutants/ on the series: the test that catches it'
	@echo '  make deb        the patched kernel for a VM host as Debian packages in $(WORK), checked'
	@echo '  make tree       $(TREE): the base with patches/series applied as commits (FORCE=1 re-applies)'
	@echo '  make export     write each series'"'"' commits back to its folder of patches/ (tags series/NAME)'
	@echo '  make lint       checkpatch.pl each kernel patch (--strict) and QEMU patch; test the harness'
	@echo '  make buildeach  build the kernel at every commit of the series (each patch builds)'
	@echo '  make kernel     configure and build bzImage and uapi headers in $(BUILD)'
	@echo '  make base       the same for the unpatched base, in $(BASE_BUILD)'
	@echo '  make selftests  build the KVM selftests (static) against those headers'
	@echo '  make demo       build demo/gmem-demo (a small VMM) against the selftest library'
	@echo '  make qemu       build our QEMU: Debian'"'"'s 10.2.2 with qemu/patches, KVM only'
	@echo '  make nested     the nested guest QEMU runs: a small kernel and nested/memcheck'
	@echo '  make unpatched  the base without debug options, for make check'"'"'s boot on the base'
	@echo '  make initramfs  pack busybox, guest/, the demo, QEMU, the nested guest and the suite'"'"'s binaries'
	@echo '  make deps       install host packages (apt, as root)'
	@echo '  make fetch      download and verify the base source'
	@echo '  make clean      remove $(BUILD); distclean removes $(WORK)'
	@echo
	@echo '  VARIANT=plain|debug|kasan (now $(VARIANT))  TESTS=regex  APPEND="kernel args"  DEMO=qemu|gmem|0'
	@echo '  MUTANTS=regex  SERIES=mm-fixes|migration (only the series up to that one; make check SERIES=migration)'

deps:
	@$(S) deps $(H)/deps.sh

fetch: deps
	@$(S) fetch sh -c '$(H)/fetch-base.sh "$$CACHE" >/dev/null'

tree: fetch
	@$(S) tree $(H)/tree.sh $(if $(FORCE),force,sync)

export:
	@$(H)/tree.sh export

buildeach: tree
	@$(H)/build-each.sh

lint: tree qemu
	@python3 $(H)/test_vm.py -q
	@$(S) lint $(H)/lint.sh

config: tree
	@$(H)/build-kernel.sh config

kernel: tree
	@$(S) kernel-$(VARIANT) $(H)/build-kernel.sh kernel

base-tree: tree
	@$(S) base-tree sh -c '$(H)/tree.sh worktree $(BASE_TREE) && \
		git -C $(BASE_TREE) checkout -q --detach base'

base: base-tree
	@TREE=$(BASE_TREE) BUILD=$(BASE_BUILD) $(S) base-$(VARIANT) $(H)/build-kernel.sh kernel

selftests: kernel
	@$(S) selftests $(H)/build-selftests.sh

# The benchmark measures conversion too: only with every series.
demo: selftests
	@$(H)/build-prog.sh demo/gmem-demo.c
	@$(if $(SERIES),true,$(H)/build-prog.sh bench/gmem-bench.c)

qemu: deps
	@$(S) qemu $(H)/build-qemu.sh

nested: base-tree
	@$(S) nested $(H)/build-nested.sh

unpatched: base-tree
	@TREE=$(BASE_TREE) BUILD=$(UNPATCHED) VARIANT=unpatched \
		$(S) unpatched $(H)/build-kernel.sh kernel

initramfs: demo qemu nested
	@$(S) initramfs $(H)/initramfs.sh

# The boots on the base run make unpatched's kernel. The builds go two at a
# time (each is parallel itself): one fills the other's serial steps
# (configure, links, checkpatch, git).
check:
	@test -f $(SUITE) || { echo 'check: SERIES=$(SERIES) has no suite ($(SUITE))' >&2; exit 2; }
	@$(MAKE) -s --no-print-directory -j2 lint initramfs unpatched
	@GMEM_START=$(START) $(H)/vm.py check --build $(BUILD) --tests="$$TESTS" \
		--suite $(SUITE) --append '$(BOOT_ARGS)' \
		--base-kernel $(UNPATCHED)/arch/x86/boot/bzImage

run: initramfs
	@$(H)/vm.py shell --build $(BUILD) --append 'gmem.demo=$(DEMO) $(BOOT_ARGS)'

# Planted bugs, one at a time on the series tip, with the tests each names.
mutants: full-series initramfs
	@$(H)/mutants.sh "$$MUTANTS"

# Benchmarks run on the plain variant whatever VARIANT says, the base kernel
# from the same sources and config with no patch applied, in a worktree.
bench: full-series
	@$(MAKE) -s VARIANT=plain BUILD=$(BENCH_BUILD) initramfs
	@$(MAKE) -s VARIANT=plain BASE_BUILD=$(BENCH_BASE) base
	@$(H)/bench.py --build $(BENCH_BUILD) --out $(RESULTS) --tests="$$TESTS" \
		--base-kernel $(BENCH_BASE)/arch/x86/boot/bzImage

# A kernel for a VM host (config/host.config on x86_64_defconfig), packaged
# by the kernel's bindeb-pkg; the suite never boots it.
deb: tree
	@BUILD=$(WORK)/build-host $(H)/deb.sh

# Targets that need every series: the mutants and the benchmark.
full-series:
	@test -z '$(SERIES)' || { echo 'make $(MAKECMDGOALS) runs on every series, not SERIES=$(SERIES)' >&2; exit 2; }

clean:
	rm -rf $(BUILD)

distclean:
	rm -rf $(WORK)
