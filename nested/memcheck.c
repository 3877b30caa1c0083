// SPDX-License-Identifier: GPL-2.0
/*
 * memcheck: /init of the nested guest that the QEMU tests run on migratable
 * guest_memfd. It takes all the memory it can, fills it with a pattern that
 * names each word's offset and the round, then checks and rewrites every
 * word, round after round, without pause: a page the host moved with the
 * wrong contents, or a stale page the vCPU still reads, is a mismatch.
 *
 * Each round ends with one console line the host's test parses:
 *
 *   memcheck: round R: M MiB, X mismatches, longest stall S ms
 *
 * "longest stall" is the longest time between two consecutive 1 MiB steps
 * in that round: how long the vCPU was held, e.g. while its pages moved.
 * The first mismatches are also printed with their offsets.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <time.h>
#include <unistd.h>

#define STEP		(1UL << 20)
#define KEEP_FREE	(24UL << 20)	/* for the kernel and page tables */
#define MAX_REPORTS	8

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static inline uint64_t pattern(uint64_t round, uint64_t word)
{
	return (word * 0x9e3779b97f4a7c15ULL) ^ (round << 48) ^ round;
}

/* MemAvailable, in bytes, from /proc/meminfo. */
static size_t mem_available(void)
{
	unsigned long kb = 0;
	char line[128];
	FILE *f = fopen("/proc/meminfo", "r");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "MemAvailable: %lu kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb * 1024;
}

/* As PID 1 from an initramfs there is no console yet: open one. */
static void console(void)
{
	int fd;

	mount("proc", "/proc", "proc", 0, NULL);
	mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
	fd = open("/dev/console", O_RDWR);
	if (fd < 0)
		return;
	dup2(fd, 0);
	dup2(fd, 1);
	dup2(fd, 2);
	if (fd > 2)
		close(fd);
	setvbuf(stdout, NULL, _IOLBF, 0);
}

int main(void)
{
	uint64_t round, i, nwords, mismatches, t, last, stall;
	uint64_t *mem;
	size_t size;

	if (getpid() == 1)
		console();
	size = mem_available();
	size = size > KEEP_FREE + STEP ? (size - KEEP_FREE) & ~(STEP - 1) : STEP;
	mem = mmap(NULL, size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (mem == MAP_FAILED) {
		perror("memcheck: mmap");
		return 1;
	}
	nwords = size / sizeof(*mem);
	for (i = 0; i < nwords; i++)
		mem[i] = pattern(0, i);
	printf("memcheck: filled %zu MiB\n", size >> 20);

	for (round = 1;; round++) {
		mismatches = 0;
		stall = 0;
		last = now_ns();
		for (i = 0; i < nwords; i++) {
			if (mem[i] != pattern(round - 1, i)) {
				if (mismatches++ < MAX_REPORTS)
					printf("memcheck: round %llu: offset 0x%llx: 0x%llx, not 0x%llx\n",
					       (unsigned long long)round,
					       (unsigned long long)(i * sizeof(*mem)),
					       (unsigned long long)mem[i],
					       (unsigned long long)pattern(round - 1, i));
			}
			mem[i] = pattern(round, i);
			if ((i + 1) % (STEP / sizeof(*mem)) == 0) {
				t = now_ns();
				if (t - last > stall)
					stall = t - last;
				last = t;
			}
		}
		printf("memcheck: round %llu: %zu MiB, %llu mismatches, longest stall %llu ms\n",
		       (unsigned long long)round, size >> 20,
		       (unsigned long long)mismatches,
		       (unsigned long long)(stall / 1000000));
	}
}
