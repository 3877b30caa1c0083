// SPDX-License-Identifier: GPL-2.0
/*
 * vm-ram [-s MIB] [-r LO-HI] PID NAME: where the RAM of a running QEMU
 * is. Finds PID's shared mapping whose file name contains NAME ("kvm-gmem"
 * for a guest_memfd, "memfd:" for a memfd), the largest if several or the
 * one of MIB MiB with -s (the memory of a virtio-mem device beside the
 * RAM), reads its PFNs from /proc/PID/pagemap (root only) and prints, for
 * the test scripts:
 *
 *   ino INODE pages N mapped M node0 A node1 B
 *   range R                (with -r: pages in PFNs LO to HI-1, in hex)
 *   memoryX COUNT          (one line per memory block holding some of it)
 *
 * A page QEMU or KVM never touched has no PFN and is not counted as mapped.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PM_PRESENT	(1ULL << 63)
#define PM_PFN		((1ULL << 55) - 1)
#define MAX_BLOCKS	4096

static unsigned long read_hex(const char *path)
{
	unsigned long v = 0;
	FILE *f = fopen(path, "r");

	if (!f || fscanf(f, "%lx", &v) != 1) {
		perror(path);
		exit(1);
	}
	fclose(f);
	return v;
}

static int node_of_block(unsigned long block)
{
	char path[96];
	int nid;

	for (nid = 0; nid < 64; nid++) {
		snprintf(path, sizeof(path), "/sys/devices/system/memory/memory%lu/node%d",
			 block, nid);
		if (!access(path, F_OK))
			return nid;
	}
	return -1;
}

int main(int argc, char **argv)
{
	unsigned long start = 0, end = 0, s, e, off, ino = 0, i, n, block_pages;
	unsigned long mapped = 0, node[2] = {}, count[MAX_BLOCKS] = {};
	unsigned long want = 0, lo = 0, hi = 0, in_range = 0, pfn;
	long page = sysconf(_SC_PAGESIZE);
	char path[64], line[512], perms[8];
	uint64_t *pm;
	unsigned int dev_major, dev_minor;
	unsigned long this_ino;
	int fd, nid, opt;
	FILE *maps;

	while ((opt = getopt(argc, argv, "s:r:")) != -1) {
		if (opt == 's')
			want = strtoul(optarg, NULL, 0) << 20;
		else if (opt != 'r' || sscanf(optarg, "%lx-%lx", &lo, &hi) != 2)
			argc = 0;
	}
	if (argc - optind != 2) {
		fprintf(stderr, "usage: vm-ram [-s MIB] [-r LO-HI] PID NAME\n");
		return 2;
	}
	argv += optind - 1;
	snprintf(path, sizeof(path), "/proc/%s/maps", argv[1]);
	maps = fopen(path, "r");
	if (!maps) {
		perror(path);
		return 1;
	}
	while (fgets(line, sizeof(line), maps)) {
		if (sscanf(line, "%lx-%lx %7s %lx %x:%x %lu", &s, &e, perms, &off,
			   &dev_major, &dev_minor, &this_ino) != 7)
			continue;
		if (perms[3] != 's' || !strstr(line, argv[2]) ||
		    (want ? e - s != want : e - s <= end - start))
			continue;
		start = s;
		end = e;
		ino = this_ino;
	}
	fclose(maps);
	if (!end) {
		fprintf(stderr, "vm-ram: no shared mapping of '%s' in process %s\n",
			argv[2], argv[1]);
		return 1;
	}

	n = (end - start) / page;
	pm = malloc(n * sizeof(*pm));
	snprintf(path, sizeof(path), "/proc/%s/pagemap", argv[1]);
	fd = open(path, O_RDONLY);
	if (!pm || fd < 0 || pread(fd, pm, n * sizeof(*pm), start / page * sizeof(*pm)) !=
	    (ssize_t)(n * sizeof(*pm))) {
		perror(path);
		return 1;
	}
	close(fd);

	block_pages = read_hex("/sys/devices/system/memory/block_size_bytes") / page;
	for (i = 0; i < n; i++) {
		pfn = pm[i] & PM_PFN;
		if (!(pm[i] & PM_PRESENT) || !pfn)
			continue;
		mapped++;
		in_range += pfn >= lo && pfn < hi;
		if (pfn / block_pages < MAX_BLOCKS)
			count[pfn / block_pages]++;
	}
	for (i = 0; i < MAX_BLOCKS; i++) {
		nid = count[i] ? node_of_block(i) : -1;
		if (nid == 0 || nid == 1)
			node[nid] += count[i];
	}
	printf("ino %lu pages %lu mapped %lu node0 %lu node1 %lu\n", ino, n, mapped,
	       node[0], node[1]);
	if (hi)
		printf("range %lu\n", in_range);
	for (i = 0; i < MAX_BLOCKS; i++)
		if (count[i])
			printf("memory%lu %lu\n", i, count[i]);
	return 0;
}
