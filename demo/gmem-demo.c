// SPDX-License-Identifier: GPL-2.0
/*
 * gmem-demo: a VM whose memory is a migratable guest_memfd keeps
 * checksumming it while the host moves that memory away under it: first by
 * offlining every memory block that holds it, then by unplugging the
 * virtio-mem memory it was moved into. Each phase prints what moved, how
 * long it took, and how many checksum rounds the guest completed, all of
 * which must have been right. With --unmovable the same VM uses a
 * guest_memfd without GUEST_MEMFD_FLAG_MIGRATABLE and the host's attempts
 * are refused at once.
 *
 *   gmem-demo [--unmovable] [MiB]
 *
 * Built against the KVM selftest library (harness/build-prog.sh); runs as
 * root in the test machine (make run). GMEM_TEST_VIRTIO_MEM_RESIZE names
 * the command that asks the host to resize virtio-mem.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/sizes.h>

#include "kvm_util.h"
#include "numaif.h"
#include "processor.h"
#include "test_util.h"
#include "ucall_common.h"

#define GPA	SZ_4G
#define SLOT	1
#define MEMDIR	"/sys/devices/system/memory"

static struct kvm_vcpu *vcpu;
static u64 *mem;
static size_t npages;
static unsigned long *pfns;
static volatile bool stop;
static volatile unsigned long rounds, bad_rounds;

/* The guest sums its memory over and over and reports each sum's verdict. */
static void guest_code(u64 *p, u64 nr_words, u64 expected)
{
	u64 i, sum;

	for (;;) {
		for (i = 0, sum = 0; i < nr_words; i++)
			sum += p[i] ^ i;
		GUEST_SYNC(sum == expected);
	}
}

static void *vcpu_thread(void *arg)
{
	struct ucall uc;

	while (!stop) {
		vcpu_run(vcpu);
		switch (get_ucall(vcpu, &uc)) {
		case UCALL_SYNC:
			rounds++;
			bad_rounds += !uc.args[1];
			break;
		case UCALL_ABORT:
			REPORT_GUEST_ASSERT(uc);
			break;
		default:
			TEST_FAIL("exit %s", exit_reason_str(vcpu->run->exit_reason));
		}
	}
	return NULL;
}

static long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static unsigned long pfn_of(size_t i)
{
	u64 entry = 0;
	int tries, fd = open("/proc/self/pagemap", O_RDONLY);

	TEST_ASSERT(fd >= 0, "open pagemap");
	for (tries = 0; tries < 1000; tries++) {
		pread(fd, &entry, sizeof(entry),
		      ((unsigned long)mem / PAGE_SIZE + i) * sizeof(entry));
		if (entry & (1ull << 63))
			break;
		usleep(1000);
	}
	close(fd);
	return entry & ((1ull << 55) - 1);
}

/* Refresh the PFNs; return how many changed. */
static size_t moved(void)
{
	size_t i, n = 0;
	unsigned long pfn;

	for (i = 0; i < npages; i++) {
		pfn = pfn_of(i);
		n += pfn != pfns[i];
		pfns[i] = pfn;
	}
	return n;
}

static int write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY), ret;

	if (fd < 0)
		return -errno;
	ret = write(fd, val, strlen(val)) < 0 ? -errno : 0;
	close(fd);
	return ret;
}

/* The PFNs virtio-mem has added, as /proc/iomem shows them to root. */
static bool virtio_mem_range(unsigned long *start, unsigned long *end)
{
	char line[256];
	unsigned long s, e;
	bool found = false;
	FILE *f = fopen("/proc/iomem", "r");

	TEST_ASSERT(f, "open /proc/iomem");
	while (!found && fgets(line, sizeof(line), f)) {
		if (strstr(line, "System RAM (virtio_mem)") &&
		    sscanf(line, " %lx-%lx", &s, &e) == 2) {
			*start = s / PAGE_SIZE;
			*end = (e + 1) / PAGE_SIZE;
			found = true;
		}
	}
	fclose(f);
	return found;
}

static bool block_on_node(unsigned long block, int nid)
{
	char path[96];

	snprintf(path, sizeof(path), MEMDIR "/memory%lu/node%d", block, nid);
	return !access(path, F_OK);
}

static bool block_movable(unsigned long block)
{
	char path[96], buf[32] = {};
	int fd;

	snprintf(path, sizeof(path), MEMDIR "/memory%lu/valid_zones", block);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return false;
	read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return !strcmp(buf, "Movable\n");
}

static int set_state(unsigned long block, const char *state)
{
	char path[96];

	snprintf(path, sizeof(path), MEMDIR "/memory%lu/state", block);
	return write_file(path, state);
}

static unsigned long block_pages(void)
{
	char buf[32] = {};
	int fd = open(MEMDIR "/block_size_bytes", O_RDONLY);

	TEST_ASSERT(fd >= 0 && read(fd, buf, sizeof(buf) - 1) > 0, "block size");
	close(fd);
	return strtoul(buf, NULL, 16) / PAGE_SIZE;
}

/*
 * Node 1's highest boot block holds an early allocation and never offlines,
 * and its free pages come first. Take them (one block's worth of anonymous
 * memory) while placing the VM's memory, so that it lands where it can move.
 */
static char *hold_top_block(void)
{
	size_t size = block_pages() * PAGE_SIZE;
	unsigned long node1 = 2;
	char *p;

	p = kvm_mmap(size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1);
	kvm_mbind(p, size, MPOL_BIND, &node1, 8, 0);
	memset(p, 1, size);
	return p;
}

static void release_top_block(char *p)
{
	kvm_munmap(p, block_pages() * PAGE_SIZE);
}

static void report(const char *what, size_t n, long ms, unsigned long r0,
		   unsigned long b0)
{
	printf("  %-44s %5zu pages moved, %6ld ms; guest: %lu checksum rounds, %lu wrong\n",
	       what, n, ms, rounds - r0, bad_rounds - b0);
}

/* Offline every block that holds the VM's memory, then online them again. */
static void offline_phase(void)
{
	unsigned long per = block_pages(), blocks[64], r0 = rounds, b0 = bad_rounds;
	int nr = 0, i, j, ret;
	size_t n;
	long t;
	char what[64];

	for (i = 0; i < (int)npages; i++) {
		for (j = 0; j < nr && blocks[j] != pfns[i] / per; j++)
			;
		if (j == nr && nr < 64)
			blocks[nr++] = pfns[i] / per;
	}
	for (j = 0; j < nr; j++) {
		t = now_ms();
		ret = set_state(blocks[j], "offline");
		t = now_ms() - t;
		n = moved();
		snprintf(what, sizeof(what), "offline memory%lu: %s", blocks[j],
			 ret ? strerror(-ret) : "done");
		report(what, n, t, r0, b0);
		r0 = rounds;
		b0 = bad_rounds;
		if (!ret)
			set_state(blocks[j], "online_movable");
	}
}

/*
 * Move the VM's memory into virtio-mem (node 1's other movable blocks
 * offline, move_pages to node 1), then have the host shrink virtio-mem.
 */
static void virtio_mem_phase(const char *cmd)
{
	unsigned long per = block_pages(), off[64], block, r0, b0, start, end, pfn;
	void **pages = calloc(npages, sizeof(*pages));
	int *nodes = calloc(npages, sizeof(int)), *status = calloc(npages, sizeof(int));
	int nr_off = 0;
	char buf[256], *filler;
	size_t i, n;
	long t, ret;

	if (!virtio_mem_range(&start, &end)) {
		printf("  no virtio-mem memory: nothing to unplug\n");
		goto out;
	}
	for (block = 0; block < 4096 && nr_off < 64; block++) {
		/* Leave node 1 no movable memory but virtio-mem's. */
		if (block_on_node(block, 1) && block_movable(block) &&
		    (block + 1) * per <= start && !set_state(block, "offline"))
			off[nr_off++] = block;
	}
	for (i = 0; i < npages; i++) {
		pages[i] = (char *)mem + i * PAGE_SIZE;
		nodes[i] = 1;
	}
	filler = hold_top_block();
	r0 = rounds;
	b0 = bad_rounds;
	t = now_ms();
	ret = syscall(__NR_move_pages, 0, npages, pages, nodes, status, MPOL_MF_MOVE);
	n = moved();
	release_top_block(filler);
	snprintf(buf, sizeof(buf), "move_pages into virtio-mem: %ld not moved", ret);
	report(buf, n, now_ms() - t, r0, b0);

	r0 = rounds;
	b0 = bad_rounds;
	t = now_ms();
	snprintf(buf, sizeof(buf), "%s 0", cmd);
	ret = system(buf);
	/* The driver unplugs in the background: wait until nothing is left. */
	for (n = 1; n && now_ms() - t < 60000; usleep(100 * 1000)) {
		for (i = 0, n = 0; i < npages; i++) {
			pfn = pfn_of(i);
			n += pfn >= start && pfn < end;
		}
	}
	n = moved();
	snprintf(buf, sizeof(buf), "virtio-mem shrunk to 0: %s", ret ? "refused" : "done");
	report(buf, n, now_ms() - t, r0, b0);

	snprintf(buf, sizeof(buf), "%s %u", cmd, SZ_512M);
	system(buf);
	while (nr_off)
		set_state(off[--nr_off], "online_movable");
out:
	free(pages);
	free(nodes);
	free(status);
}

int main(int argc, char *argv[])
{
	bool migratable = !(argc > 1 && !strcmp(argv[1], "--unmovable"));
	size_t mib = argc > 1 + !migratable ? atoi(argv[1 + !migratable]) : 16;
	u64 flags = GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED;
	const char *cmd = getenv("GMEM_TEST_VIRTIO_MEM_RESIZE");
	unsigned long node1 = 2;
	u64 i, sum = 0, nr_words;
	struct kvm_vm *vm;
	pthread_t thread;
	char *filler;
	size_t size;
	int fd;

	/* The library loads guest code from our ELF, found by this name. */
	program_invocation_name = "/proc/self/exe";
	if (migratable)
		flags |= GUEST_MEMFD_FLAG_MIGRATABLE;
	size = mib << 20;
	npages = size / PAGE_SIZE;
	nr_words = size / sizeof(u64);
	pfns = calloc(npages, sizeof(*pfns));

	vm = __vm_create_shape_with_one_vcpu(VM_SHAPE_DEFAULT, &vcpu, npages / 256 + 8,
					     guest_code);
	fd = vm_create_guest_memfd(vm, size, flags);
	vm_set_user_memory_region2(vm, SLOT, KVM_MEM_GUEST_MEMFD, GPA, size, NULL, fd, 0);
	mem = kvm_mmap(size, PROT_READ | PROT_WRITE, MAP_SHARED, fd);
	kvm_mbind(mem, size, MPOL_BIND, &node1, 8, 0);
	filler = hold_top_block();
	srandom(1);
	for (i = 0; i < nr_words; i++) {
		mem[i] = ((u64)random() << 32) | random();
		sum += mem[i] ^ i;
	}
	release_top_block(filler);
	virt_map(vm, GPA, GPA, npages);
	vcpu_args_set(vcpu, 3, GPA, nr_words, sum);
	moved();

	printf("gmem-demo: %zu MiB guest_memfd%s on node 1; the guest checksums it non-stop\n",
	       mib, migratable ? " with GUEST_MEMFD_FLAG_MIGRATABLE" : ", not migratable");
	pthread_create(&thread, NULL, vcpu_thread, NULL);
	while (!rounds)
		usleep(1000);

	offline_phase();
	if (cmd)
		virtio_mem_phase(cmd);

	stop = true;
	pthread_join(thread, NULL);
	printf("gmem-demo: %lu checksum rounds, %lu wrong: %s\n", rounds, bad_rounds,
	       bad_rounds ? "THE GUEST SAW WRONG DATA" : "the guest never saw a wrong byte");
	close(fd);
	kvm_vm_free(vm);
	return bad_rounds ? 1 : 0;
}
