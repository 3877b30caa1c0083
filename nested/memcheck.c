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
 *
 * memcheck_rotate=MIB on the kernel command line (the kernel hands it to
 * /init in the environment) keeps the memory in chunks of that size and,
 * after each round, gives one back, oldest first, and maps a fresh one in
 * its place: the data then spreads into memory plugged after boot (the
 * kernel takes movable memory first) and must leave it again for an
 * unplug to succeed. Without it the memory is one mapping, never replaced.
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
#define MAX_CHUNKS	512

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

static size_t chunk_size, nr_chunks;
static uint64_t *chunk[MAX_CHUNKS];

/* Chunk @c, freshly mapped, holding round @round's pattern. */
static int map_chunk(size_t c, uint64_t round)
{
	uint64_t i, words = chunk_size / sizeof(uint64_t);
	uint64_t *mem = mmap(NULL, chunk_size, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);

	if (mem == MAP_FAILED) {
		perror("memcheck: mmap");
		return -1;
	}
	for (i = 0; i < words; i++)
		mem[i] = pattern(round, c * words + i);
	chunk[c] = mem;
	return 0;
}

int main(void)
{
	uint64_t round, i, mismatches, t, last, stall, words;
	const char *rotate = getenv("memcheck_rotate");
	size_t size, c;
	uint64_t *mem;

	if (getpid() == 1)
		console();
	size = mem_available();
	size = size > KEEP_FREE + STEP ? (size - KEEP_FREE) & ~(STEP - 1) : STEP;
	chunk_size = rotate ? strtoul(rotate, NULL, 0) * STEP : 0;
	if (!chunk_size || chunk_size > size || size / chunk_size > MAX_CHUNKS)
		chunk_size = size;
	nr_chunks = size / chunk_size;
	size = nr_chunks * chunk_size;
	for (c = 0; c < nr_chunks; c++)
		if (map_chunk(c, 0))
			return 1;
	words = chunk_size / sizeof(*mem);
	printf("memcheck: filled %zu MiB in %zu chunk(s)\n", size >> 20, nr_chunks);

	for (round = 1;; round++) {
		mismatches = 0;
		stall = 0;
		last = now_ns();
		for (c = 0, i = 0; c < nr_chunks; c++) {
			for (mem = chunk[c]; mem < chunk[c] + words; mem++, i++) {
				if (*mem != pattern(round - 1, i) &&
				    mismatches++ < MAX_REPORTS)
					printf("memcheck: round %llu: offset 0x%llx: 0x%llx, not 0x%llx\n",
					       (unsigned long long)round,
					       (unsigned long long)(i * sizeof(*mem)),
					       (unsigned long long)*mem,
					       (unsigned long long)pattern(round - 1, i));
				*mem = pattern(round, i);
				if ((i + 1) % (STEP / sizeof(*mem)))
					continue;
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
		if (nr_chunks > 1) {
			c = round % nr_chunks;
			munmap(chunk[c], chunk_size);
			if (map_chunk(c, round))
				return 1;
		}
	}
}
