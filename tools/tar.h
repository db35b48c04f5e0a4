/*
 * The tar archive format for "anyk tar": POSIX pax (ustar headers with pax
 * extended headers) as GNU tar writes it with --format=posix, and on the
 * way in also plain ustar, GNU long names ('L'/'K'), and GNU's sparse
 * files (pax sparse 0.0, 0.1 and 1.0, and the old 'S' entries).
 *
 * This file knows the bytes only: headers, numbers, checksums, records and
 * sparse maps. What an entry means for a file system is cmd_img_tar.c's.
 */
#ifndef ANYK_TOOLS_TAR_H
#define ANYK_TOOLS_TAR_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define TAR_BLOCK 512

/* Entry types, as in the ustar typeflag. */
#define TAR_REG '0'
#define TAR_LINK '1'
#define TAR_SYMLINK '2'
#define TAR_CHR '3'
#define TAR_BLK '4'
#define TAR_DIR '5'
#define TAR_FIFO '6'

struct tar_xattr {
	char *name;
	char *value;
	size_t len;
};

/* A data region of a sparse file; the rest reads as zeros. */
struct tar_region {
	uint64_t off, len;
};

struct tar_entry {
	char *path;        /* as in the archive (malloc'ed) */
	char *linkpath;    /* hard or symbolic link target, or NULL */
	char type;         /* TAR_* */
	uint32_t mode;     /* permission bits (07777) */
	uint64_t uid, gid;
	uint64_t size;     /* the file's size (a sparse file's real size) */
	int64_t mtime;
	uint32_t mtime_ns;
	int has_atime;
	int64_t atime;
	uint32_t atime_ns;
	uint32_t devmajor, devminor;
	struct tar_xattr *xattrs;
	size_t nxattrs;
	int sparse;              /* data is map's regions, one after another */
	struct tar_region *map;
	size_t nmap;
};

void tar_entry_free(struct tar_entry *e);
/* Add an extended attribute (copies name and value); -1 if out of memory. */
int tar_entry_add_xattr(struct tar_entry *e, const char *name, const void *v, size_t len);

/* --- writing --------------------------------------------------------------- */

struct tar_out {
	FILE *f;
	uint64_t left;     /* data bytes the current entry still owes */
	uint64_t written;  /* of the current entry, for padding */
	int err;           /* errno of the first write error */
};

void tar_out_init(struct tar_out *o, FILE *f);
/* The headers (a pax header when needed, then the ustar one) and, for a
 * sparse entry, its map; the caller then writes the data (the whole file,
 * or the map's regions in order) with tar_write_data and ends with
 * tar_end_entry. Returns 0 or -1 with errno. */
int tar_write_header(struct tar_out *o, const struct tar_entry *e);
int tar_write_data(struct tar_out *o, const void *buf, size_t n);
/* Pad with zeros up to what the header promised (the file shrank while it
 * was read: returns 1) and to the next block. -1 on a write error. */
int tar_end_entry(struct tar_out *o);
/* The two zero blocks that end an archive; 0 or -1. */
int tar_finish(struct tar_out *o);

/* --- reading --------------------------------------------------------------- */

struct tar_in {
	FILE *f;
	uint64_t left;    /* data bytes of the current entry not yet read */
	uint64_t pad;     /* padding after them */
	uint64_t nread;   /* bytes consumed, for messages */
	char msg[256];    /* why tar_next failed */
};

void tar_in_init(struct tar_in *in, FILE *f);
/*
 * Read the next entry into e (which the caller frees with tar_entry_free),
 * skipping what is left of the previous one. Returns 1 for an entry, 0 at
 * the end of the archive, -1 if the archive is damaged or cannot be read
 * (in->msg says why; there is no going on).
 */
int tar_next(struct tar_in *in, struct tar_entry *e);
/* Read up to n bytes of the entry's stored data (for a sparse entry: the
 * regions one after another). Returns bytes read, 0 at its end, -1 with
 * in->msg set. */
long tar_read_data(struct tar_in *in, void *buf, size_t n);
/* 1 if the n bytes at b are all zero (end blocks; holes worth keeping). */
int tar_all_zero(const char *b, size_t n);

#endif /* ANYK_TOOLS_TAR_H */
