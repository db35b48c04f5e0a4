/*
 * Partition tables: scanning a disk's MBR (primary, extended and logical
 * partitions) or GPT into a table of partitions, numbered as Linux numbers
 * them (MBR: primaries 1-4, logicals from 5; GPT: entry index + 1).
 *
 * Everything read from the disk is untrusted: every LBA, count and size is
 * checked against the disk, and a table that does not check out gives a
 * klog line and an error, never a partition reaching past the disk's end.
 *
 * Query API (for mount by label and for the tools): every partition bdev
 * carries its struct part_info (bdev_partinfo), with the GPT name converted
 * to UTF-8, type and unique GUIDs and attributes, or the MBR type byte;
 * disk_find_part() in dev/disk.c maps a disk and a GPT partition name to the
 * partition's device node path.
 */
#ifndef ANYK_DEV_PART_H
#define ANYK_DEV_PART_H

#include "dev/bdev.h"

#define PART_MAX 256            /* partitions kept per disk */
#define PART_EBR_MAX 128        /* logical partitions followed in an EBR chain */
#define PART_NAMELEN 108        /* 36 UTF-16 units as UTF-8, worst case */

enum { PART_SCHEME_NONE, PART_SCHEME_MBR, PART_SCHEME_GPT };

struct part_info {
	int pi_scheme;
	unsigned pi_number;        /* Linux partition number */
	uint64_t pi_start;         /* bytes from the start of the disk */
	uint64_t pi_size;          /* bytes */
	/* MBR: */
	uint8_t pi_mbrtype;
	bool pi_extended;          /* the extended partition's container */
	bool pi_bootable;
	/* GPT: */
	uint8_t pi_typeguid[16];   /* as stored on disk (mixed-endian) */
	uint8_t pi_guid[16];
	uint64_t pi_attrs;
	char pi_name[PART_NAMELEN + 1];
};

struct part_table {
	int pt_scheme;
	int pt_count;
	struct part_info pt_parts[PART_MAX];
};

/* Scan disk (a whole-disk bdev) into *pt. 0 with pt_count 0 when there is
 * no table; EFSCORRUPTED (and a log line) when there is one that does not
 * check out; what was found before an error in an MBR chain is kept. */
int part_scan(struct bdev *disk, struct part_table *pt);
int part_scan_mbr(struct bdev *disk, const uint8_t *mbr, struct part_table *pt);
int part_scan_gpt(struct bdev *disk, struct part_table *pt);

/* Append an entry (ENOSPC when full). */
int part_add(struct part_table *pt, const struct part_info *pi);
/* Convert a NUL-padded UTF-16LE name of n units into UTF-8 (invalid
 * sequences become '?'); out has room for PART_NAMELEN + 1 bytes. */
void part_utf16_to_utf8(const uint8_t *in, size_t n, char *out);
/* The standard CRC-32 (IEEE 802.3, as GPT and zlib use it): crc32_ieee(0,
 * buf, len) is the CRC of buf; pass a previous result to continue. */
uint32_t crc32_ieee(uint32_t crc, const void *buf, size_t len);

/* The partition table entry of a partition bdev, or NULL for a disk. */
static inline const struct part_info *bdev_partinfo(const struct bdev *bd) { return bd->bd_part; }

#endif /* ANYK_DEV_PART_H */
