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
TREE    ?= $(WORK)/linux
BUILD   ?= $(WORK)/build-$(VARIANT)
PATCHES := $(CURDIR)/patches
# Extra kernel command line for 'make run' and 'make check'.
APPEND  ?=
# Run only the suite entries whose names match this regular expression.
TESTS   ?=
# make run: run demo/gmem-demo before the shell (0: just the shell).
DEMO    ?= 1

export BASE_SERIES BASE_VERSION BASE_SHA256 VARIANT WORK CACHE TREE BUILD PATCHES

# ccache (used when installed) keys on paths relative to $(WORK), so a fresh
# clone elsewhere on the same machine still hits the cache.
export CCACHE_BASEDIR ?= $(WORK)
export CCACHE_NOHASHDIR := 1

H := harness

.PHONY: help deps fetch tree export lint buildeach config kernel selftests demo initramfs \
	check run clean distclean

help:
	@echo 'gmem-migrate: the migratable guest_memfd series and its harness'
	@echo
	@echo '  make check      build everything, boot it in QEMU, run the suite (README'"'"'s test command)'
	@echo '  make run        build if needed, boot the same machine, run the demo, then a shell'
	@echo '  make tree       $(TREE): the base with patches/ applied as commits (FORCE=1 re-applies)'
	@echo '  make export     write the tree'"'"'s commits back to patches/'
	@echo '  make lint       apply each patch in order, checkpatch.pl --strict it; test the harness'
	@echo '  make buildeach  build the kernel at every commit of the series (each patch builds)'
	@echo '  make kernel     configure and build bzImage and uapi headers in $(BUILD)'
	@echo '  make selftests  build the KVM selftests (static) against those headers'
	@echo '  make demo       build demo/gmem-demo (a small VMM) against the selftest library'
	@echo '  make initramfs  pack busybox, guest/, the demo and the suite'"'"'s binaries'
	@echo '  make deps       install host packages (apt, as root)'
	@echo '  make fetch      download and verify the base source'
	@echo '  make clean      remove $(BUILD); distclean removes $(WORK)'
	@echo
	@echo '  VARIANT=plain|debug|kasan (now $(VARIANT))  TESTS=regex  APPEND="kernel args"  DEMO=0|1'

deps:
	@$(H)/deps.sh

fetch: deps
	@$(H)/fetch-base.sh $(CACHE) >/dev/null

tree: fetch
	@$(H)/tree.sh $(if $(FORCE),force,sync)

export:
	@$(H)/tree.sh export

buildeach: tree
	@$(H)/build-each.sh

lint: tree
	@python3 $(H)/test_vm.py -q
	@$(H)/lint.sh

config: tree
	@$(H)/build-kernel.sh config

kernel: tree
	@$(H)/build-kernel.sh kernel

selftests: kernel
	@$(H)/build-selftests.sh

demo: selftests
	@$(H)/build-demo.sh

initramfs: demo
	@$(H)/initramfs.sh

check: lint initramfs
	@$(H)/vm.py check --build $(BUILD) --tests '$(TESTS)' --append '$(APPEND)'

run: initramfs
	@$(H)/vm.py shell --build $(BUILD) --append 'gmem.demo=$(DEMO) $(APPEND)'

clean:
	rm -rf $(BUILD)

distclean:
	rm -rf $(WORK)
