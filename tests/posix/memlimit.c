/*
 * Memory limit: with ANYK_MEMLIMIT set, filling a tmpfs must end in ENOMEM
 * (or ENOSPC) long before the host runs dry, the kernel must stay usable
 * afterwards, and once everything is removed and unmounted the kernel's
 * accounted memory must be exactly what it was before: nothing leaks.
 */
#include "../harness.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "anyk/anyk.h"

#define LIMIT_STR "4m"
#define LIMIT_BYTES (4u << 20)
#define CHUNK 65536
#define FILE_MAX (1 << 20)
#define GIVE_UP (64u << 20)
#define MAXSTATS 64
#define MAXFILES 1024

static struct anyk_memstat_entry stats[MAXSTATS];

static uint64_t total_bytes(void)
{
	anyk_run_pending(); /* deferred frees happen before we look */
	if (anyk_memstats(stats, MAXSTATS) < 1)
		return UINT64_MAX;
	return stats[0].bytes;
}

int main(void)
{
	static char buf[CHUNK];
	char path[64];
	uint64_t baseline, peak;
	uint64_t written = 0;
	int n, i, j, nfiles = 0, fd = -1, err = 0, named = 1, distinct = 1, busy = 0;
	struct anyk_stat st;

	if (setenv("ANYK_MEMLIMIT", LIMIT_STR, 1) != 0) {
		T_SKIP("cannot set ANYK_MEMLIMIT");
		return t_done();
	}
	n = anyk_init();
	T_EQ(n, 0, "anyk_init with ANYK_MEMLIMIT=" LIMIT_STR);
	if (n != 0)
		return t_done();

	/* per-subsystem accounting: named entries, the first the total */
	n = anyk_memstats(stats, MAXSTATS);
	T_OK(n >= 2, "anyk_memstats reports a total and subsystems (%d entries)", n);
	if (n > MAXSTATS)
		n = MAXSTATS;
	for (i = 0; i < n; i++) {
		if (stats[i].name[0] == 0 || memchr(stats[i].name, 0, ANYK_MEMSTAT_NAMELEN) == NULL)
			named = 0;
		for (j = 0; j < i; j++)
			if (strncmp(stats[i].name, stats[j].name, ANYK_MEMSTAT_NAMELEN) == 0)
				distinct = 0;
		if (i > 0 && stats[i].bytes > stats[0].bytes)
			distinct = 0;
		if (i > 0 && stats[i].bytes > 0)
			busy++;
	}
	T_OK(named, "every entry has a NUL-terminated name");
	T_OK(distinct, "names are distinct and no subsystem exceeds the total");
	T_OK(busy > 0, "some subsystem holds memory after boot");
	T_EQ(anyk_memstats(stats, 1), n, "a short array still gets the count");
	T_OK(stats[0].allocs >= stats[0].frees, "allocs >= frees");

	T_EQ(anyk_sys_mkdir("/m", 0755), 0, "mkdir /m");
	baseline = total_bytes();
	T_OK(baseline > 0 && baseline < LIMIT_BYTES, "baseline %llu bytes is under the limit",
	     (unsigned long long)baseline);
	T_EQ(anyk_sys_mount("tmpfs", "/m", "tmpfs", 0, NULL), 0, "mount a fresh tmpfs on /m");

	/* fill it until the kernel refuses */
	memset(buf, 0x5a, sizeof(buf));
	while (written < GIVE_UP && nfiles < MAXFILES) {
		anyk_ssize_t r;
		if (fd < 0) {
			snprintf(path, sizeof(path), "/m/f%d", nfiles);
			fd = anyk_sys_open(path, ANYK_O_CREAT | ANYK_O_WRONLY, 0644);
			if (fd < 0) {
				err = errno;
				break;
			}
			nfiles++;
		}
		r = anyk_sys_write(fd, buf, sizeof(buf));
		if (r < 0) {
			err = errno;
			break;
		}
		written += (uint64_t)r;
		anyk_sys_fstat(fd, &st);
		if (st.st_size >= FILE_MAX) {
			anyk_sys_close(fd);
			fd = -1;
		}
	}
	if (fd >= 0)
		anyk_sys_close(fd);
	printf("# wrote %llu bytes in %d files before %s\n", (unsigned long long)written, nfiles,
	       err ? strerrorname_np(err) : "giving up");
	T_OK(err == ENOMEM || err == ENOSPC, "filling the tmpfs ends in ENOMEM or ENOSPC (got %s)",
	     err ? strerrorname_np(err) : "no error");
	T_OK(written < GIVE_UP, "the limit hit before 64 MiB (%llu bytes written)",
	     (unsigned long long)written);
	T_OK(written > 0, "some data fit");
	peak = total_bytes();
	T_OK(peak <= LIMIT_BYTES, "accounted memory %llu stays within the limit",
	     (unsigned long long)peak);
	if (err == ENOMEM)
		T_OK(stats[0].failures > 0, "the refused allocations are counted");

	/* still usable */
	T_OK(anyk_sys_getpid() > 0, "getpid after ENOMEM");
	T_EQ(anyk_sys_stat("/m/f0", &st), 0, "stat a full file after ENOMEM");
	T_EQ(st.st_size > 0, 1, "it kept its data");
	T_EQ(anyk_sys_stat("/", &st), 0, "stat / after ENOMEM");
	{
		char rb[16] = {0};
		fd = anyk_sys_open("/m/f0", ANYK_O_RDONLY, 0);
		T_OK(fd >= 0, "open for reading after ENOMEM");
		T_EQ(anyk_sys_read(fd, rb, sizeof(rb)), sizeof(rb), "read after ENOMEM");
		T_OK(rb[0] == 0x5a && rb[15] == 0x5a, "data intact");
		anyk_sys_close(fd);
	}
	T_EQ(anyk_sys_unlink("/m/f0"), 0, "delete a file to free memory");
	if (nfiles > 1)
		T_EQ(anyk_sys_unlink("/m/f1"), 0, "delete another");
	fd = anyk_sys_open("/small", ANYK_O_CREAT | ANYK_O_RDWR, 0644);
	T_OK(fd >= 0, "create a small file elsewhere after freeing some");
	T_EQ(anyk_sys_write(fd, "hello", 5), 5, "write it");
	{
		char rb[8] = {0};
		T_EQ(anyk_sys_pread(fd, rb, sizeof(rb), 0), 5, "read it back");
		T_OK(memcmp(rb, "hello", 5) == 0, "same bytes");
	}
	anyk_sys_close(fd);
	T_EQ(anyk_sys_mkdir("/m/dir", 0755), 0, "mkdir on the full tmpfs after freeing");
	T_EQ(anyk_sys_rmdir("/m/dir"), 0, "rmdir it");
	T_EQ(anyk_sys_unlink("/small"), 0, "unlink the small file");

	/* remove everything: memory returns to the baseline exactly */
	{
		int errs = 0;
		for (i = 2; i < nfiles; i++) {
			snprintf(path, sizeof(path), "/m/f%d", i);
			errs += anyk_sys_unlink(path) != 0;
		}
		T_EQ(errs, 0, "unlink every file");
	}
	T_EQ(anyk_sys_unmount("/m", 0), 0, "unmount /m");
	{
		uint64_t after = total_bytes();
		T_EQ(after, baseline, "accounted memory is back to the baseline after unmount");
	}
	/* again, to catch a leak that only shows on the second round */
	T_EQ(anyk_sys_mount("tmpfs", "/m", "tmpfs", 0, NULL), 0, "mount again");
	fd = anyk_sys_open("/m/again", ANYK_O_CREAT | ANYK_O_WRONLY, 0644);
	T_OK(fd >= 0, "create on the new mount");
	T_EQ(anyk_sys_write(fd, buf, sizeof(buf)), sizeof(buf), "write 64 KiB");
	anyk_sys_close(fd);
	T_EQ(anyk_sys_unlink("/m/again"), 0, "unlink it");
	T_EQ(anyk_sys_unmount("/m", 0), 0, "unmount again");
	T_EQ(total_bytes(), baseline, "memory back to the baseline after a second round");
	T_EQ(anyk_sys_rmdir("/m"), 0, "rmdir /m");
	T_EQ(anyk_fini(), 0, "anyk_fini");
	return t_done();
}
