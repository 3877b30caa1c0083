// SPDX-License-Identifier: GPL-2.0
/*
 * gmem-bench: what migrating guest_memfd costs against the memory every VMM
 * uses today (shmem, anonymous), and what it buys the host.  Every kind of
 * memory backs a running VM whose vCPU touches it; the kinds are measured
 * in turn, round after round, in one boot.
 *
 *   gmem-bench [-r ROUNDS] [-m MAX_MIB] [-t SECONDS] FIGURE...
 *
 * FIGURE is move (1), offline and compact (2), offline-share (3),
 * hugepages (4), stall (5), convert (6) or vcpus (7).  Each measurement is printed as
 * one JSON object on a line of its own; harness/bench.py makes medians,
 * ratios, the table and the plots from them.  A figure whose mechanism the
 * kernel lacks (the base kernel has no GUEST_MEMFD_FLAG_MIGRATABLE) prints
 * {"skip": ...} for it.  Runs as root in the test machine (make bench).
 */
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/sizes.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "kvm_util.h"
#include "mm_util.h"
#include "numaif.h"
#include "processor.h"
#include "test_util.h"
#include "ucall_common.h"

#define GPA		SZ_4G
#define SLOT		1
#define NBUCKETS	512
#define MAX_VCPUS	4
#define NODE1		"/sys/devices/system/node/node1"
#define HUGEPAGES	NODE1 "/hugepages/hugepages-2048kB/nr_hugepages"

enum kind { GMEM, GMEM_NOFLAG, SHMEM, ANON };
static const char * const kind_name[] = { "gmem", "gmem-noflag", "shmem", "anon" };

static int rounds = 5, max_mib = 256, stall_seconds = 5;

/*
 * The guest: one pass over its memory per KVM_RUN, one word per page,
 * counting the pages each vCPU wrote in written[].  guest_timed makes it
 * time each access with the TSC into hist[]: buckets of 8 per power of two
 * (values below 8 exactly).
 */
static u64 guest_timed;
static u64 hist[NBUCKETS];
static u64 written[MAX_VCPUS];

static u32 bucket(u64 v)
{
	u32 e;

	if (v < 8)
		return v;
	e = 63 - __builtin_clzll(v);
	return 8 + (e - 3) * 8 + ((v >> (e - 3)) & 7);
}

static u64 bucket_floor(u32 b)
{
	return b < 8 ? b : (8ull + (b & 7)) << ((b - 8) / 8);
}

static void guest_code(u64 npages, u64 id)
{
	volatile u64 *p;
	u64 i, t0;

	for (;;) {
		for (i = 0; i < npages; i++) {
			p = (volatile u64 *)(GPA + i * PAGE_SIZE + 8);
			if (!guest_timed) {
				*p = i;
				WRITE_ONCE(written[id], written[id] + 1);
				continue;
			}
			t0 = rdtsc();
			*p = i;
			hist[bucket(rdtsc() - t0)]++;
		}
		GUEST_SYNC(0);
	}
}

/* A VM and the memory of one kind in its slot 1. */
struct vmem {
	enum kind kind;
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu;
	int fd;
	char *mem;
	size_t npages;
	void **addrs;
};

static long long clock_ns(clockid_t clock)
{
	struct timespec t;

	clock_gettime(clock, &t);
	return t.tv_sec * 1000000000ll + t.tv_nsec;
}

static long long now_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

/* CPU time of the calling thread: the cost of a move, whoever else runs. */
static long long thread_ns(void)
{
	return clock_ns(CLOCK_THREAD_CPUTIME_ID);
}

static bool gmem_flag_supported(u64 flag)
{
	return kvm_check_cap(KVM_CAP_GUEST_MEMFD_FLAGS) & flag;
}

static bool kind_supported(enum kind kind)
{
	if (kind == GMEM)
		return gmem_flag_supported(GUEST_MEMFD_FLAG_MIGRATABLE);
	if (kind == GMEM_NOFLAG)
		return gmem_flag_supported(GUEST_MEMFD_FLAG_MMAP);
	return true;
}

/* Measurements recorded so far (for the watchdog), and what is measured now. */
static u64 beats;
static const char *volatile phase = "";

static void record_out(void)
{
	fflush(stdout);
	__atomic_add_fetch(&beats, 1, __ATOMIC_RELAXED);
}

static void skip(const char *fig, enum kind kind, const char *why)
{
	printf("{\"skip\": \"%s\", \"kind\": \"%s\", \"why\": \"%s\"}\n",
	       fig, kind_name[kind], why);
	record_out();
}

/* Does this kernel offer @kind? If not, say so for @fig, once (round 0). */
static bool offered(const char *fig, enum kind kind, int round)
{
	if (kind_supported(kind))
		return true;
	if (!round)
		skip(fig, kind, "not offered by this kernel");
	return false;
}

/* Allocate on @node (-1: anywhere) and write every page. */
static void vmem_init(struct vmem *v, enum kind kind, unsigned long type,
		      size_t npages, int node)
{
	const struct vm_shape shape = { .mode = VM_MODE_DEFAULT, .type = type };
	u64 flags = GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED;
	size_t size = npages * PAGE_SIZE, i;
	unsigned long mask;

	v->kind = kind;
	v->npages = npages;
	v->vm = __vm_create_shape_with_one_vcpu(shape, &v->vcpu, npages / 64 + 512,
						guest_code);
	switch (kind) {
	case GMEM:
	case GMEM_NOFLAG:
		if (kind == GMEM)
			flags |= GUEST_MEMFD_FLAG_MIGRATABLE;
		v->fd = vm_create_guest_memfd(v->vm, size, flags);
		vm_set_user_memory_region2(v->vm, SLOT, KVM_MEM_GUEST_MEMFD, GPA, size,
					   NULL, v->fd, 0);
		v->mem = kvm_mmap(size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd);
		break;
	case SHMEM:
		v->fd = kvm_memfd_alloc(size, false);
		v->mem = kvm_mmap(size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd);
		vm_set_user_memory_region2(v->vm, SLOT, 0, GPA, size, v->mem, -1, 0);
		break;
	case ANON:
		v->fd = -1;
		v->mem = kvm_mmap(size, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1);
		/* 4 KiB pages, as the others'. */
		TEST_ASSERT(!madvise(v->mem, size, MADV_NOHUGEPAGE), "MADV_NOHUGEPAGE");
		vm_set_user_memory_region2(v->vm, SLOT, 0, GPA, size, v->mem, -1, 0);
		break;
	}
	if (node >= 0) {
		mask = 1ul << node;
		kvm_mbind(v->mem, size, MPOL_BIND, &mask, 8, 0);
	}
	virt_map(v->vm, GPA, GPA, npages);
	vcpu_args_set(v->vcpu, 2, npages, 0);

	v->addrs = calloc(npages, sizeof(*v->addrs));
	TEST_ASSERT(v->addrs, "calloc");
	for (i = 0; i < npages; i++) {
		v->addrs[i] = v->mem + i * PAGE_SIZE;
		*(u64 *)v->addrs[i] = i;
	}
}

static void vmem_fini(struct vmem *v)
{
	kvm_munmap(v->mem, v->npages * PAGE_SIZE);
	if (v->fd >= 0)
		close(v->fd);
	kvm_vm_free(v->vm);
	free(v->addrs);
}

/* One pass of @vcpu over the memory: KVM maps every page. */
static void run_pass(struct kvm_vcpu *vcpu)
{
	struct ucall uc;

	vcpu_run(vcpu);
	if (get_ucall(vcpu, &uc) == UCALL_ABORT)
		REPORT_GUEST_ASSERT(uc);
	TEST_ASSERT(uc.cmd == UCALL_SYNC, "vCPU exit %s (%s)",
		    exit_reason_str(vcpu->run->exit_reason), phase);
}

static void vcpu_pass(struct vmem *v)
{
	run_pass(v->vcpu);
}

/* The data survived: the host reads what it wrote, the vCPU what it wrote. */
static void vmem_check(struct vmem *v)
{
	size_t i;

	for (i = 0; i < v->npages; i++) {
		TEST_ASSERT(*(u64 *)v->addrs[i] == i, "%s: page %zu lost its data",
			    kind_name[v->kind], i);
		TEST_ASSERT(((u64 *)v->addrs[i])[1] == i, "%s: page %zu lost the vCPU's",
			    kind_name[v->kind], i);
	}
}

static u64 *pagemap(void *addr, size_t n);

/* move_pages() calls move_all() makes at most, while pages stay behind. */
#define MOVE_CALLS	8

/*
 * move_pages() every page to @node, again while the call says pages did
 * not move (a page a fault holds at each try; the call then also skips
 * the pages after it), up to MOVE_CALLS calls, counted in @calls if not
 * NULL.  Return how many moved there: a page counts if it is on @node
 * after and its PFN changed.
 */
static size_t move_all(struct vmem *v, int node, long long *ns, int *calls)
{
	int *nodes = malloc(v->npages * sizeof(int));
	int *status = malloc(v->npages * sizeof(int));
	u64 *before = pagemap(v->mem, v->npages), *after;
	size_t i, moved = 0;
	long long t0;
	long ret;
	int n = 0;

	TEST_ASSERT(nodes && status, "malloc");
	for (i = 0; i < v->npages; i++)
		nodes[i] = node;
	t0 = now_ns();
	do {
		ret = syscall(__NR_move_pages, 0, v->npages, v->addrs, nodes, status,
			      MPOL_MF_MOVE);
		TEST_ASSERT(ret >= 0, "move_pages: errno %d", errno);
	} while (ret && ++n < MOVE_CALLS);
	*ns = now_ns() - t0;
	if (calls)
		*calls = ret ? n : n + 1;
	/*
	 * A call that ends with pages not moved has no status for the pages
	 * of its last batch, moved or not: ask where every page is.
	 */
	TEST_ASSERT(!syscall(__NR_move_pages, 0, v->npages, v->addrs, NULL, status, 0),
		    "move_pages query: errno %d", errno);
	after = pagemap(v->mem, v->npages);
	for (i = 0; i < v->npages; i++)
		moved += status[i] == node && after[i] && after[i] != before[i];
	free(nodes);
	free(status);
	free(before);
	free(after);
	return moved;
}

/* The PFNs of the @n pages from @addr (0: none mapped), in one read. */
static u64 *pagemap(void *addr, size_t n)
{
	u64 *pfn = calloc(n, sizeof(*pfn));
	int fd = open("/proc/self/pagemap", O_RDONLY);
	size_t i;

	TEST_ASSERT(pfn && fd >= 0, "open pagemap");
	TEST_ASSERT(pread(fd, pfn, n * sizeof(*pfn),
			  (unsigned long)addr / PAGE_SIZE * sizeof(*pfn)) ==
		    (ssize_t)(n * sizeof(*pfn)), "read pagemap");
	close(fd);
	for (i = 0; i < n; i++)
		pfn[i] = pfn[i] & (1ull << 63) ? pfn[i] & ((1ull << 55) - 1) : 0;
	return pfn;
}

static u64 *pfns(struct vmem *v)
{
	return pagemap(v->mem, v->npages);
}

static int cmp_u64(const void *a, const void *b)
{
	return *(u64 *)a < *(u64 *)b ? -1 : *(u64 *)a > *(u64 *)b;
}

/* The distinct 2 MiB ranges that hold @v's pages. */
static size_t ranges_held(struct vmem *v)
{
	u64 *pfn = pfns(v), last = -1ull;
	size_t i, n = 0;

	qsort(pfn, v->npages, sizeof(*pfn), cmp_u64);
	for (i = 0; i < v->npages; i++) {
		n += pfn[i] >> 9 != last;
		last = pfn[i] >> 9;
	}
	free(pfn);
	return n;
}

static unsigned long node1_free_pages(void)
{
	char line[128];
	unsigned long kb = 0;
	FILE *f = fopen(NODE1 "/meminfo", "r");

	TEST_ASSERT(f, "open node1 meminfo");
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Node 1 MemFree: %lu kB", &kb) == 1)
			break;
	fclose(f);
	return kb / 4;
}

static long long compact_node1(void)
{
	long long t0 = now_ns();

	TEST_ASSERT(!write_sysfs(NODE1 "/compact", "1"), "compact node1");
	return now_ns() - t0;
}

/* Kinds in a different order each round, so that none always goes first. */
static enum kind nth_kind(const enum kind *kinds, int n, int round, int i)
{
	return kinds[(round + i) % n];
}

/*
 * Figure 1: move_pages() from one node to the other, per 4 KiB page, with
 * every page mapped by the vCPU first so that KVM's mappings are zapped too.
 */
static void fig_move(void)
{
	static const enum kind kinds[] = { GMEM, SHMEM, ANON };
	struct vmem v[3];
	size_t mib, moved;
	long long ns;
	int r, i;

	if (!kind_supported(GMEM))
		return skip("move", GMEM, "no GUEST_MEMFD_FLAG_MIGRATABLE");
	for (mib = 4; mib <= (size_t)max_mib; mib *= 4) {
		for (i = 0; i < 3; i++)
			vmem_init(&v[i], kinds[i], VM_TYPE_DEFAULT, mib << 8, 0);
		for (r = 0; r < rounds; r++) {
			for (i = 0; i < 3; i++) {
				struct vmem *m = &v[(r + i) % 3];

				vcpu_pass(m);
				moved = move_all(m, (r + 1) % 2, &ns, NULL);
				printf("{\"fig\": \"move\", \"kind\": \"%s\", \"mib\": %zu, "
				       "\"round\": %d, \"pages\": %zu, \"moved\": %zu, "
				       "\"ns\": %lld}\n", kind_name[m->kind], mib, r,
				       m->npages, moved, ns);
				record_out();
			}
		}
		for (i = 0; i < 3; i++) {
			vcpu_pass(&v[i]);
			vmem_check(&v[i]);
			vmem_fini(&v[i]);
		}
	}
}

/* Offline (then online) each Movable block holding @v's pages; time it. */
static void offline_blocks(struct vmem *v, const char *fig, int round)
{
	u64 *pfn = pfns(v);
	unsigned long *blocks = calloc(v->npages, sizeof(*blocks));
	unsigned long per_block = memory_block_pages();
	int n = blocks_of(pfn, v->npages, blocks), i, offlined = 0, busy = 0;
	size_t j, pages = 0, in;
	long long ns = 0, t0;

	for (i = 0; i < n; i++) {
		if (block_not_offlinable(blocks[i]))
			continue;
		for (j = 0, in = 0; j < v->npages; j++)
			in += pfn[j] / per_block == blocks[i];
		t0 = now_ns();
		if (set_block_state(blocks[i], "offline")) {
			busy++;
			continue;
		}
		ns += now_ns() - t0;
		TEST_ASSERT(!set_block_state(blocks[i], "online_movable"),
			    "online memory%lu", blocks[i]);
		offlined++;
		pages += in;
	}
	printf("{\"fig\": \"%s\", \"kind\": \"%s\", \"round\": %d, \"pages\": %zu, "
	       "\"blocks\": %d, \"busy\": %d, \"ns\": %lld}\n", fig, kind_name[v->kind],
	       round, pages, offlined, busy, ns);
	record_out();
	free(pfn);
	free(blocks);
}

/*
 * Fill node 1 with an anonymous filler, free @per_range pages of it in each
 * 2 MiB range it reached, and fault a VM's memory of @kind into those holes;
 * then free the filler.  The VM's pages end up in every 2 MiB range that
 * the allocator lets them into.
 */
static void scatter(struct vmem *v, enum kind kind, int per_range)
{
	unsigned long mask = 2;
	size_t fill, i, holes;
	u64 *fpfn, last;
	char *filler;
	int in_range;

	/* Leave 64 MiB: node 1 must not run out. */
	fill = node1_free_pages() - 16384;
	filler = kvm_mmap(fill * PAGE_SIZE, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1);
	madvise(filler, fill * PAGE_SIZE, MADV_NOHUGEPAGE);
	kvm_mbind(filler, fill * PAGE_SIZE, MPOL_BIND, &mask, 8, 0);
	for (i = 0; i < fill; i++)
		filler[i * PAGE_SIZE] = 1;
	fpfn = pagemap(filler, fill);
	for (i = 0, holes = 0, last = -1ull, in_range = 0; i < fill; i++) {
		if (!fpfn[i])
			continue;
		if (fpfn[i] >> 9 != last)
			in_range = 0;
		last = fpfn[i] >> 9;
		if (in_range++ >= per_range)
			continue;
		madvise(filler + i * PAGE_SIZE, PAGE_SIZE, MADV_DONTNEED);
		holes++;
	}
	vmem_init(v, kind, VM_TYPE_DEFAULT, holes, 1);
	vcpu_pass(v);
	kvm_munmap(filler, fill * PAGE_SIZE);
	free(fpfn);
}

/*
 * Figure 2: the same moves, by offlining the Movable blocks that hold the
 * memory, and by compacting node 1 with the memory scattered over it
 * (scatter(), 16 pages in each 2 MiB range).
 */
static void fig_offline_compact(void)
{
	static const enum kind kinds[] = { GMEM, SHMEM, ANON };
	size_t npages = 16384, i, moved;
	struct vmem v;
	u64 *before, *after;
	long long ns;
	int r, k;

	if (!kind_supported(GMEM))
		return skip("offline", GMEM, "no GUEST_MEMFD_FLAG_MIGRATABLE");
	for (r = 0; r < rounds; r++) {
		for (k = 0; k < 3; k++) {
			vmem_init(&v, nth_kind(kinds, 3, r, k), VM_TYPE_DEFAULT, npages, 1);
			vcpu_pass(&v);
			offline_blocks(&v, "offline", r);
			vcpu_pass(&v);
			vmem_check(&v);
			vmem_fini(&v);
		}
		for (k = 0; k < 3; k++) {
			scatter(&v, nth_kind(kinds, 3, r, k), 16);
			before = pfns(&v);
			ns = compact_node1();
			after = pfns(&v);
			for (i = 0, moved = 0; i < v.npages; i++)
				moved += before[i] != after[i];
			printf("{\"fig\": \"compact\", \"kind\": \"%s\", \"round\": %d, "
			       "\"pages\": %zu, \"moved\": %zu, \"ns\": %lld}\n",
			       kind_name[v.kind], r, v.npages, moved, ns);
			record_out();
			vcpu_pass(&v);
			vmem_check(&v);
			free(before);
			free(after);
			vmem_fini(&v);
		}
	}
}

/* vCPUs of one VM, each a thread running passes over the memory. */
struct runners {
	struct runner {
		struct runners *all;
		struct kvm_vcpu *vcpu;
		pthread_t thread;
		u64 passes;
	} one[MAX_VCPUS];
	int n;
	bool stop;
};

/* The vCPUs running now, for the watchdog. */
static struct runners *volatile running;

static void *runner(void *arg)
{
	struct runner *one = arg;

	while (!READ_ONCE(one->all->stop)) {
		run_pass(one->vcpu);
		WRITE_ONCE(one->passes, one->passes + 1);
	}
	return NULL;
}

/* Run @n vCPUs of @v, its own and new ones, on every CPU. */
static void runners_start(struct runners *r, struct vmem *v, int n)
{
	cpu_set_t cpus;
	int i;

	CPU_ZERO(&cpus);
	CPU_SET(0, &cpus);
	CPU_SET(1, &cpus);
	r->one[0].vcpu = v->vcpu;
	for (i = r->n ? r->n : 1; i < n; i++) {
		r->one[i].vcpu = vm_vcpu_add(v->vm, i, guest_code);
		vcpu_args_set(r->one[i].vcpu, 2, v->npages, i);
	}
	r->n = n;
	r->stop = false;
	running = r;
	for (i = 0; i < n; i++) {
		r->one[i].all = r;
		r->one[i].passes = 0;
		pthread_create(&r->one[i].thread, NULL, runner, &r->one[i]);
		pthread_setaffinity_np(r->one[i].thread, sizeof(cpus), &cpus);
	}
}

static u64 runners_stop(struct runners *r)
{
	u64 passes = 0;
	int i;

	WRITE_ONCE(r->stop, true);
	for (i = 0; i < r->n; i++) {
		pthread_join(r->one[i].thread, NULL);
		passes += r->one[i].passes;
	}
	running = NULL;
	return passes;
}

/* The pages @vm's vCPUs have written since they were created. */
static u64 pages_written(struct kvm_vm *vm)
{
	u64 *w = addr_gva2hva(vm, (gva_t)written);
	u64 sum = 0;
	int i;

	for (i = 0; i < MAX_VCPUS; i++)
		sum += READ_ONCE(w[i]);
	return sum;
}

static void dump(const char *path)
{
	char buf[4096];
	ssize_t n;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n > 0) {
		buf[n] = 0;
		printf("watchdog: %s: %s%s", path, buf, buf[n - 1] == '\n' ? "" : "\n");
	}
}

static void dump_dir(const char *dir, const char *const *files)
{
	char path[512];
	struct dirent *d;
	DIR *dp = opendir(dir);
	int i;

	while (dp && (d = readdir(dp))) {
		if (d->d_name[0] == '.')
			continue;
		for (i = 0; files[i]; i++) {
			snprintf(path, sizeof(path), "%s/%s/%s", dir, d->d_name, files[i]);
			dump(path);
		}
	}
	if (dp)
		closedir(dp);
}

#define KVM_DEBUGFS	"/sys/kernel/debug/kvm"
#define MAX_COUNTERS	160

struct counters {
	int n;
	char name[MAX_COUNTERS][48];
	unsigned long val[MAX_COUNTERS];
};

/* VM @vm's debugfs counters (its directory's files, vCPUs summed). */
static void read_counters(const char *vm, struct counters *c)
{
	char path[512];
	struct dirent *d;
	DIR *dp;
	FILE *f;

	snprintf(path, sizeof(path), KVM_DEBUGFS "/%s", vm);
	dp = opendir(path);
	for (c->n = 0; dp && c->n < MAX_COUNTERS && (d = readdir(dp));) {
		if (d->d_type != DT_REG || strstr(d->d_name, "_hist"))
			continue;
		snprintf(path, sizeof(path), KVM_DEBUGFS "/%s/%s", vm, d->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fscanf(f, "%lu", &c->val[c->n]) == 1)
			snprintf(c->name[c->n++], sizeof(c->name[0]), "%.47s", d->d_name);
		fclose(f);
	}
	if (dp)
		closedir(dp);
}

/*
 * Every VM's non-zero debugfs counters, each with how much it changed in
 * one second: which exits a vCPU that makes no progress takes.
 */
static void dump_kvm_counters(void)
{
	static struct counters c[2];
	DIR *dp = opendir(KVM_DEBUGFS);
	struct dirent *d;
	int i;

	while (dp && (d = readdir(dp))) {
		if (d->d_type != DT_DIR || d->d_name[0] == '.')
			continue;
		read_counters(d->d_name, &c[0]);
		sleep(1);
		read_counters(d->d_name, &c[1]);
		printf("watchdog: kvm %s, in 1 s:", d->d_name);
		for (i = 0; i < c[0].n && i < c[1].n; i++)
			if (c[1].val[i] && !strcmp(c[0].name[i], c[1].name[i]))
				printf(" %s %lu (%+ld)", c[1].name[i], c[1].val[i],
				       (long)(c[1].val[i] - c[0].val[i]));
		printf("\n");
	}
	if (dp)
		closedir(dp);
}

#define WATCHDOG_S	120
#define EXIT_EVENT	"/sys/kernel/tracing/events/kvm/kvm_exit/enable"

/* A second of kvm:kvm_exit, the first lines: why the vCPUs exit. */
static void trace_exits(void)
{
	int fd = open("/sys/kernel/tracing/trace", O_WRONLY | O_TRUNC);

	if (fd >= 0)
		close(fd);
	write_sysfs(EXIT_EVENT, "1");
	sleep(1);
	write_sysfs(EXIT_EVENT, "0");
	dump("/sys/kernel/tracing/trace");
}

/*
 * A figure that stops making progress: every WATCHDOG_S seconds without a
 * new measurement, say what is measured, how far each running vCPU got,
 * where each thread is and what KVM counted, until the suite's timeout
 * kills the program.
 */
static void *watchdog(void *arg)
{
	static const char *const task[] = { "stat", "wchan", "syscall", "stack", NULL };
	struct runners *r;
	u64 last = -1ull;
	int i;

	for (;;) {
		sleep(WATCHDOG_S);
		if (READ_ONCE(beats) != last) {
			last = READ_ONCE(beats);
			continue;
		}
		printf("watchdog: no measurement in %d s: %s\n", WATCHDOG_S, phase);
		r = running;
		for (i = 0; r && i < r->n; i++)
			printf("watchdog: vCPU %d: %lu passes\n", i, READ_ONCE(r->one[i].passes));
		dump_dir("/proc/self/task", task);
		dump_kvm_counters();
		trace_exits();
		fflush(stdout);
	}
	return NULL;
}

/*
 * @written: the pages the vCPUs wrote while the memory moved, which tells
 * how far they got on while the moving thread worked.
 */
static void vcpus_record(const char *how, struct vmem *v, int nvcpus, int round,
			 size_t moved, long long ns, long long cpu_ns, u64 written,
			 u64 passes, int calls)
{
	printf("{\"fig\": \"vcpus\", \"how\": \"%s\", \"kind\": \"%s\", "
	       "\"vcpus\": %d, \"round\": %d, \"pages\": %zu, \"moved\": %zu, "
	       "\"ns\": %lld, \"cpu_ns\": %lld, \"written\": %lu, \"passes\": %lu, "
	       "\"calls\": %d}\n",
	       how, kind_name[v->kind], nvcpus, round, v->npages, moved, ns, cpu_ns, written,
	       passes, calls);
	record_out();
}

/*
 * Figure 7: figures 1 and 2 (move_pages, compaction) with 1, 2 and 4 vCPUs
 * running over the memory while it moves, so that every KVM invalidation
 * has to flush TLBs of vCPUs in the guest: gmem against shmem, and shmem
 * alone on a kernel without the flag.
 */
static void fig_vcpus(void)
{
	static const enum kind kinds[] = { GMEM, SHMEM };
	static const int counts[] = { 1, 2, 4 };
	struct runners run[2];
	struct vmem v[2], c;
	size_t i, moved;
	u64 *before, *after, written;
	long long ns, cpu;
	int n, r, k, calls;
	bool ok[2];

	/* The kinds this kernel offers; a skip, once, for those it lacks. */
	for (k = 0; k < 2; k++)
		ok[k] = offered("vcpus", kinds[k], 0);
	for (n = 0; n < (int)ARRAY_SIZE(counts); n++) {
		for (k = 0; k < 2; k++) {
			if (ok[k])
				vmem_init(&v[k], kinds[k], VM_TYPE_DEFAULT, 4096, 0);
			run[k] = (struct runners){};
		}
		for (r = 0; r < rounds; r++) {
			for (k = 0; k < 2; k++) {
				struct vmem *m = &v[(r + k) % 2];
				struct runners *mr = &run[(r + k) % 2];

				if (!ok[(r + k) % 2])
					continue;
				phase = m->kind == GMEM ? "vcpus move gmem" : "vcpus move shmem";
				runners_start(mr, m, counts[n]);
				cpu = thread_ns();
				written = pages_written(m->vm);
				moved = move_all(m, (r + 1) % 2, &ns, &calls);
				written = pages_written(m->vm) - written;
				cpu = thread_ns() - cpu;
				vcpus_record("move", m, counts[n], r, moved, ns, cpu, written,
					     runners_stop(mr), calls);
			}
			for (k = 0; k < 2; k++) {
				struct runners cr = {};

				if (!ok[(r + k) % 2])
					continue;
				phase = "vcpus scatter";
				scatter(&c, nth_kind(kinds, 2, r, k), 16);
				phase = c.kind == GMEM ? "vcpus compact gmem" : "vcpus compact shmem";
				runners_start(&cr, &c, counts[n]);
				before = pfns(&c);
				cpu = thread_ns();
				written = pages_written(c.vm);
				ns = compact_node1();
				written = pages_written(c.vm) - written;
				cpu = thread_ns() - cpu;
				after = pfns(&c);
				for (i = 0, moved = 0; i < c.npages; i++)
					moved += before[i] != after[i];
				vcpus_record("compact", &c, counts[n], r, moved, ns, cpu, written,
					     runners_stop(&cr), 0);
				vmem_check(&c);
				free(before);
				free(after);
				vmem_fini(&c);
			}
		}
		for (k = 0; k < 2; k++) {
			if (!ok[k])
				continue;
			vmem_check(&v[k]);
			vmem_fini(&v[k]);
		}
	}
}

static void on_alarm(int sig)
{
}

/*
 * Offline memory block @block with a deadline of @seconds (the base kernel
 * retries a block of unmigratable folios until a signal); online it again
 * in the zone it came from.  0 or -errno (-EINTR: the deadline struck).
 */
static int offline_within(unsigned long block, int seconds, long long *ns)
{
	struct sigaction sa = { .sa_handler = on_alarm };
	bool movable = block_is_movable(block);
	long long t0 = now_ns();
	int ret;

	sigaction(SIGALRM, &sa, NULL);
	alarm(seconds);
	ret = set_block_state(block, "offline");
	alarm(0);
	*ns = now_ns() - t0;
	if (!ret)
		TEST_ASSERT(!set_block_state(block, movable ? "online_movable" :
							      "online_kernel"),
			    "online memory%lu", block);
	return ret;
}

/*
 * Figure 3: of the memory blocks holding a VM's memory (Movable or not;
 * virtio-mem's left to virtio-mem), how many offline, and how long each
 * attempt takes.
 */
static void fig_offline_share(void)
{
	static const enum kind kinds[] = { GMEM, GMEM_NOFLAG, SHMEM };
	unsigned long start = 0, end = 0, *blocks;
	size_t npages = 8192;
	int r, k, i, n, ret;
	struct vmem v;
	long long ns;
	u64 *pfn;

	virtio_mem_range(&start, &end);
	for (r = 0; r < rounds; r++) {
		for (k = 0; k < 3; k++) {
			enum kind kind = nth_kind(kinds, 3, r, k);

			if (!offered("offline-share", kind, r))
				continue;
			vmem_init(&v, kind, VM_TYPE_DEFAULT, npages, 1);
			vcpu_pass(&v);
			pfn = pfns(&v);
			blocks = calloc(npages, sizeof(*blocks));
			n = blocks_of(pfn, npages, blocks);
			for (i = 0; i < n; i++) {
				if (blocks[i] * memory_block_pages() >= start &&
				    blocks[i] * memory_block_pages() < end)
					continue;
				ret = offline_within(blocks[i], 5, &ns);
				printf("{\"fig\": \"offline-share\", \"kind\": \"%s\", "
				       "\"round\": %d, \"block\": %lu, \"movable\": %d, "
				       "\"ret\": %d, \"ns\": %lld}\n", kind_name[kind], r,
				       blocks[i], block_is_movable(blocks[i]), ret, ns);
				record_out();
			}
			vcpu_pass(&v);
			vmem_check(&v);
			free(blocks);
			free(pfn);
			vmem_fini(&v);
		}
	}
}

/* How many 2 MiB hugetlb pages node 1 can give now; gives them back. */
static long hugepages_node1(void)
{
	long n;

	TEST_ASSERT(!write_sysfs(HUGEPAGES, "%d", 100000), "nr_hugepages");
	n = read_ulong(HUGEPAGES, 10);
	TEST_ASSERT(!write_sysfs(HUGEPAGES, "0"), "nr_hugepages 0");
	return n;
}

/*
 * Figure 4: with a VM's pages in every 2 MiB range of node 1 (scatter(),
 * one page a range), compact node 1 and count the 2 MiB pages it can then
 * allocate, against what it could before.
 */
static void fig_hugepages(void)
{
	static const enum kind kinds[] = { GMEM, GMEM_NOFLAG, SHMEM };
	size_t held;
	long base, got;
	struct vmem v;
	int r, k;

	write_sysfs("/proc/sys/vm/drop_caches", "3");
	compact_node1();
	base = hugepages_node1();
	for (r = 0; r < rounds; r++) {
		for (k = 0; k < 3; k++) {
			enum kind kind = nth_kind(kinds, 3, r, k);

			if (!offered("hugepages", kind, r))
				continue;
			scatter(&v, kind, 1);
			held = ranges_held(&v);
			compact_node1();
			got = hugepages_node1();
			printf("{\"fig\": \"hugepages\", \"kind\": \"%s\", \"round\": %d, "
			       "\"pages\": %zu, \"ranges\": %zu, \"ranges_after\": %zu, "
			       "\"hugepages\": %ld, \"before\": %ld}\n", kind_name[kind], r,
			       v.npages, held, ranges_held(&v), got, base);
			record_out();
			vcpu_pass(&v);
			vmem_check(&v);
			vmem_fini(&v);
		}
	}
}

struct mover {
	struct vmem *v;
	bool stop;
	size_t moved, calls;
};

/* Move the memory between the nodes without pause, from node 1's CPU. */
static void *mover(void *arg)
{
	struct mover *m = arg;
	cpu_set_t cpus;
	long long ns;
	int node = 1;

	CPU_ZERO(&cpus);
	CPU_SET(1, &cpus);
	pthread_setaffinity_np(pthread_self(), sizeof(cpus), &cpus);

	while (!READ_ONCE(m->stop)) {
		m->moved += move_all(m->v, node, &ns, NULL);
		m->calls++;
		node = !node;
	}
	return NULL;
}

/* Run the timed vCPU for @seconds; print the histogram of access times. */
static void stall_phase(struct vmem *v, int round, bool migrate)
{
	struct mover m = { .v = v };
	u64 khz = __vcpu_ioctl(v->vcpu, KVM_GET_TSC_KHZ, NULL), passes = 0;
	long long t0 = now_ns();
	pthread_t thread;
	int b, first = 1;

	memset(hist, 0, sizeof(hist));
	sync_global_to_guest(v->vm, hist);
	if (migrate)
		pthread_create(&thread, NULL, mover, &m);
	while (now_ns() - t0 < stall_seconds * 1000000000ll) {
		vcpu_pass(v);
		passes++;
	}
	if (migrate) {
		WRITE_ONCE(m.stop, true);
		pthread_join(thread, NULL);
	}
	sync_global_from_guest(v->vm, hist);
	printf("{\"fig\": \"stall\", \"kind\": \"%s\", \"round\": %d, \"migrate\": %d, "
	       "\"passes\": %lu, \"pages\": %zu, \"moved\": %zu, \"tsc_khz\": %lu, "
	       "\"hist\": {", kind_name[v->kind], round, migrate, passes, v->npages,
	       m.moved, khz);
	for (b = 0; b < NBUCKETS; b++) {
		if (!hist[b])
			continue;
		printf("%s\"%lu\": %lu", first ? "" : ", ", bucket_floor(b), hist[b]);
		first = 0;
	}
	printf("}}\n");
	record_out();
}

/*
 * Figure 5: what the vCPU sees while the host moves its memory back and
 * forth between the nodes without pause: the time of each access.
 */
static void fig_stall(void)
{
	static const enum kind kinds[] = { GMEM, SHMEM };
	struct vmem v[2];
	int r, k;

	if (!kind_supported(GMEM))
		return skip("stall", GMEM, "no GUEST_MEMFD_FLAG_MIGRATABLE");
	for (k = 0; k < 2; k++) {
		vmem_init(&v[k], kinds[k], VM_TYPE_DEFAULT, 4096, 0);
		guest_timed = 1;
		sync_global_to_guest(v[k].vm, guest_timed);
		vcpu_pass(&v[k]);
	}
	for (r = 0; r < rounds; r++)
		for (k = 0; k < 2; k++)
			stall_phase(&v[(r + k) % 2], r, true);
	for (k = 0; k < 2; k++)
		stall_phase(&v[k], 0, false);
	for (k = 0; k < 2; k++)
		vmem_fini(&v[k]);
}

/*
 * Figure 6: KVM_SET_MEMORY_ATTRIBUTES2 on the guest_memfd of a software-
 * protected VM, 2 MiB a call, all of it to private and back, alone and with
 * move_pages() running beside it; pages/s and -EAGAIN per call.
 */
static void fig_convert(void)
{
	size_t npages = 16384, chunk = 512, off;
	struct mover m = {};
	unsigned long eagain[2];
	long long ns[2], t0;
	pthread_t thread;
	struct vmem v;
	int r, beside, dir;

	if (!kind_supported(GMEM) ||
	    !(kvm_check_cap(KVM_CAP_VM_TYPES) & BIT(KVM_X86_SW_PROTECTED_VM)) ||
	    !get_kvm_param_bool("gmem_in_place_conversion"))
		return skip("convert", GMEM, "no in-place conversion");
	vmem_init(&v, GMEM, KVM_X86_SW_PROTECTED_VM, npages, 0);
	vcpu_pass(&v);
	m.v = &v;
	for (r = 0; r < rounds; r++) {
		for (beside = 0; beside < 2; beside++) {
			if (beside) {
				WRITE_ONCE(m.stop, false);
				pthread_create(&thread, NULL, mover, &m);
			}
			for (dir = 0; dir < 2; dir++) {
				eagain[dir] = 0;
				t0 = now_ns();
				for (off = 0; off < npages; off += chunk)
					eagain[dir] += gmem_set_memory_attributes_retry(v.fd,
						off * PAGE_SIZE, chunk * PAGE_SIZE,
						dir ? 0 : KVM_MEMORY_ATTRIBUTE_PRIVATE);
				ns[dir] = now_ns() - t0;
				/* Map the shared pages again, for the mover to see. */
				for (off = 0; dir && off < npages; off++)
					(void)READ_ONCE(*(u64 *)v.addrs[off]);
			}
			if (beside) {
				WRITE_ONCE(m.stop, true);
				pthread_join(thread, NULL);
			}
			printf("{\"fig\": \"convert\", \"kind\": \"gmem\", \"round\": %d, "
			       "\"migrate\": %d, \"pages\": %zu, \"calls\": %zu, "
			       "\"to_private_ns\": %lld, \"to_shared_ns\": %lld, "
			       "\"eagain_private\": %lu, \"eagain_shared\": %lu}\n", r, beside,
			       npages, npages / chunk, ns[0], ns[1], eagain[0], eagain[1]);
			record_out();
		}
	}
	vcpu_pass(&v);
	vmem_check(&v);
	vmem_fini(&v);
}

static unsigned long mem_total_kb(void)
{
	unsigned long kb = 0;
	FILE *f = fopen("/proc/meminfo", "r");

	TEST_ASSERT(f && fscanf(f, "MemTotal: %lu kB", &kb) == 1, "MemTotal");
	fclose(f);
	return kb;
}

/*
 * virtio-mem's memory is virtio-mem's to plug and unplug: have the host take
 * it all back (GMEM_TEST_VIRTIO_MEM_RESIZE, as for the tests), so that node
 * 1 is its two zones and every Movable block is one the bench may offline.
 */
static void unplug_virtio_mem(void)
{
	const char *cmd = getenv("GMEM_TEST_VIRTIO_MEM_RESIZE");
	unsigned long start, end, kb = mem_total_kb(), i;
	char buf[256];

	if (!cmd || !virtio_mem_range(&start, &end))
		return;
	snprintf(buf, sizeof(buf), "%s 0", cmd);
	TEST_ASSERT(!system(buf), "%s", buf);
	/* Its memory blocks, and their resources, go as they empty. */
	for (i = 0; i < 600 && virtio_mem_range(&start, &end); i++)
		usleep(100000);
	printf("{\"virtio-mem\": \"unplugged\", \"kb\": %lu}\n", kb - mem_total_kb());
}

/*
 * A Movable block that refuses to offline while it holds nothing of ours
 * (the top one of node 1 holds a boot allocation) would count against
 * whatever memory lands in it: take it up with an anonymous hog, 2 MiB at a
 * time until a chunk lands elsewhere, for as long as the bench runs.
 */
static void hog_refusing_blocks(void)
{
	unsigned long per_block = memory_block_pages(), block, mask = 2;
	size_t chunk = SZ_2M / PAGE_SIZE, max = per_block + chunk, n = 0, i;
	bool refusing[256] = {}, any = false, in = true;
	char *hog;
	u64 *pfn;

	for (block = 0; block < ARRAY_SIZE(refusing); block++) {
		if (!block_is_movable(block) || !set_block_state(block, "offline")) {
			set_block_state(block, "online_movable");
			continue;
		}
		refusing[block] = any = true;
	}
	if (!any)
		return;
	hog = kvm_mmap(max * PAGE_SIZE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1);
	madvise(hog, max * PAGE_SIZE, MADV_NOHUGEPAGE);
	kvm_mbind(hog, max * PAGE_SIZE, MPOL_BIND, &mask, 8, 0);
	for (n = 0; in && n + chunk <= max; n += chunk) {
		memset(hog + n * PAGE_SIZE, 1, chunk * PAGE_SIZE);
		pfn = pagemap(hog + n * PAGE_SIZE, chunk);
		for (i = 0, in = false; i < chunk; i++)
			in |= pfn[i] / per_block < ARRAY_SIZE(refusing) &&
			      refusing[pfn[i] / per_block];
		free(pfn);
	}
	printf("{\"hog\": \"refusing Movable blocks\", \"pages\": %zu}\n", n);
}

static const struct {
	const char *name;
	void (*run)(void);
} figures[] = {
	{ "move", fig_move },
	{ "offline", fig_offline_compact },
	{ "offline-share", fig_offline_share },
	{ "hugepages", fig_hugepages },
	{ "stall", fig_stall },
	{ "convert", fig_convert },
	{ "vcpus", fig_vcpus },
};

int main(int argc, char **argv)
{
	pthread_t dog;
	cpu_set_t cpus;
	int opt, i, j;
	long long t0;

	while ((opt = getopt(argc, argv, "r:m:t:")) != -1) {
		switch (opt) {
		case 'r': rounds = atoi(optarg); break;
		case 'm': max_mib = atoi(optarg); break;
		case 't': stall_seconds = atoi(optarg); break;
		default:
			fprintf(stderr, "usage: %s [-r ROUNDS] [-m MAX_MIB] [-t SECONDS] FIGURE...\n",
				argv[0]);
			return 2;
		}
	}
	TEST_REQUIRE(getuid() == 0);
	TEST_REQUIRE(is_multi_numa_node_system());
	/* On node 0's CPU: what the kernel allocates for us stays off node 1. */
	CPU_ZERO(&cpus);
	CPU_SET(0, &cpus);
	TEST_ASSERT(!sched_setaffinity(0, sizeof(cpus), &cpus), "sched_setaffinity");
	TEST_ASSERT(!pthread_create(&dog, NULL, watchdog, NULL), "pthread_create");
	unplug_virtio_mem();
	hog_refusing_blocks();
	for (i = optind; i < argc; i++) {
		for (j = 0; j < (int)ARRAY_SIZE(figures); j++)
			if (!strcmp(argv[i], figures[j].name))
				break;
		TEST_ASSERT(j < (int)ARRAY_SIZE(figures), "no figure %s", argv[i]);
		t0 = now_ns();
		phase = figures[j].name;
		figures[j].run();
		printf("{\"done\": \"%s\", \"s\": %.1f}\n", argv[i], (now_ns() - t0) / 1e9);
		record_out();
	}
	return 0;
}
