/*
 * Automatic mounting for "anyk shell --disk": after a disk is attached,
 * the disk and each of its partitions is looked at through its device
 * node, and an ext2/3/4 file system found there is mounted on /mnt/NAME
 * (/mnt/sd0, /mnt/sd0p2, ...), the way a desktop mounts a plugged-in disk.
 *
 * Detection reads the superblock (1024 bytes at offset 1024) and checks
 * its magic number rather than trying every file system type: a failed
 * guess costs a mount attempt and a kernel log line each, and the feature
 * flags tell which of ext2, ext3 and ext4 the image is. A disk attached
 * read-only is mounted read-only; so is one whose driver refuses to write
 * (EROFS), with a note saying so.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "shell.h"

#define SB_OFFSET 1024
#define SB_SIZE 1024
#define SB_MAGIC 0xEF53
/* Offsets of the superblock fields needed here. */
#define SB_O_MAGIC 0x38
#define SB_O_REV 0x4C
#define SB_O_COMPAT 0x5C
#define SB_O_INCOMPAT 0x60
#define SB_O_RO_COMPAT 0x64
#define COMPAT_HAS_JOURNAL 0x4
/* Features ext2 and ext3 never had: extents, 64bit, flex_bg, mmp,
 * inline data, csum_seed...; huge_file, gdt_csum, dir_nlink,
 * extra_isize, metadata_csum... */
#define INCOMPAT_EXT4 0xFFC0u
#define RO_COMPAT_EXT4 0xFFF8u

static uint32_t
le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

/* Which ext variant is on dev, or NULL if none. */
static const char *
probe_ext(const char *dev)
{
	unsigned char sb[SB_SIZE];
	anyk_ssize_t n;
	int fd;

	fd = anyk_sys_open(dev, ANYK_O_RDONLY | ANYK_O_CLOEXEC, 0);
	if (fd < 0)
		return NULL;
	n = anyk_sys_pread(fd, sb, sizeof(sb), SB_OFFSET);
	anyk_sys_close(fd);
	if (n != (anyk_ssize_t)sizeof(sb))
		return NULL;
	if ((sb[SB_O_MAGIC] | sb[SB_O_MAGIC + 1] << 8) != SB_MAGIC)
		return NULL;
	/* Revision 0 has no feature fields: plain ext2. */
	if (le32(sb + SB_O_REV) == 0)
		return "ext2";
	if ((le32(sb + SB_O_INCOMPAT) & INCOMPAT_EXT4) ||
	    (le32(sb + SB_O_RO_COMPAT) & RO_COMPAT_EXT4))
		return "ext4";
	if (le32(sb + SB_O_COMPAT) & COMPAT_HAS_JOURNAL)
		return "ext3";
	return "ext2";
}

/* Mount what is on dev ("/dev/sd0p2") on /mnt/sd0p2, if it is ext2/3/4. */
static int
automount_one(const char *dev, int rdonly, int quiet)
{
	char name[64], dir[96];
	const char *type, *note = "";
	unsigned long flags = rdonly ? ANYK_MNT_RDONLY : 0;
	int r;

	type = probe_ext(dev);
	if (type == NULL)
		return 0;
	sh_basename(name, sizeof(name), dev);
	snprintf(dir, sizeof(dir), "/mnt/%s", name);
	if (anyk_sys_mkdir("/mnt", 0755) != 0 && errno != EEXIST)
		return err_path("/mnt");
	if (anyk_sys_mkdir(dir, 0755) != 0 && errno != EEXIST)
		return err_path(dir);
	r = anyk_sys_mount(dev, dir, type, flags, "");
	if (r != 0 && errno == EROFS && !rdonly) {
		/* The driver (or the device) cannot write: still show it. */
		flags |= ANYK_MNT_RDONLY;
		note = ", the driver refused read-write";
		r = anyk_sys_mount(dev, dir, type, flags, "");
	}
	if (r != 0) {
		err_msg(dev, "cannot mount %s on %s: %s", type, dir, strerror(errno));
		anyk_sys_rmdir(dir);
		return EXIT_FAIL;
	}
	if (!quiet)
		fprintf(stderr, "%s: %s mounted on %s (%s%s)\n", dev, type, dir,
		    (flags & ANYK_MNT_RDONLY) ? "read-only" : "read-write", note);
	return 0;
}

int
shell_automount(const char *dev, int rdonly, int quiet)
{
	char name[32], path[64];
	char **names = NULL;
	size_t count = 0, i, plen;
	int status = EXIT_OK;

	if (automount_one(dev, rdonly, quiet) != 0)
		status = EXIT_FAIL;
	sh_basename(name, sizeof(name), dev);
	plen = strlen(name);
	if (sh_readdir("/dev", 0, &names, &count) != 0)
		return status;
	for (i = 0; i < count; i++) {
		if (strncmp(names[i], name, plen) != 0 || names[i][plen] != 'p' ||
		    names[i][plen + 1] < '0' || names[i][plen + 1] > '9')
			continue;
		snprintf(path, sizeof(path), "/dev/%s", names[i]);
		if (automount_one(path, rdonly, quiet) != 0)
			status = EXIT_FAIL;
	}
	sh_freenames(names, count);
	return status;
}
