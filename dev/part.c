/*
 * Partition scanning: pick the scheme (a protective MBR means GPT), and the
 * helpers both schemes share.
 */
#include "dev/part.h"

KMEM_TYPE(M_PART, "part");

/* CRC-32 four bits at a time: small, and fast enough for a table scan. */
static const uint32_t crc32_nibble[16] = {
	0x00000000, 0x1db71064, 0x3b6e20c8, 0x26d930ac, 0x76dc4190, 0x6b6b51f4, 0x4db26158, 0x5005713c,
	0xedb88320, 0xf00f9344, 0xd6d6a3e8, 0xcb61b38c, 0x9b64c2b0, 0x86d3d2d4, 0xa00ae278, 0xbdbdf21c,
};

uint32_t
crc32_ieee(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	crc = ~crc;
	while (len-- > 0) {
		crc ^= *p++;
		crc = (crc >> 4) ^ crc32_nibble[crc & 0xf];
		crc = (crc >> 4) ^ crc32_nibble[crc & 0xf];
	}
	return ~crc;
}

int
part_add(struct part_table *pt, const struct part_info *pi)
{
	if (pt->pt_count >= PART_MAX)
		return ENOSPC;
	pt->pt_parts[pt->pt_count++] = *pi;
	return 0;
}

static size_t
utf8_put(char *out, size_t at, uint32_t c)
{
	if (c < 0x80) {
		out[at++] = (char)c;
	} else if (c < 0x800) {
		out[at++] = (char)(0xc0 | (c >> 6));
		out[at++] = (char)(0x80 | (c & 0x3f));
	} else if (c < 0x10000) {
		out[at++] = (char)(0xe0 | (c >> 12));
		out[at++] = (char)(0x80 | ((c >> 6) & 0x3f));
		out[at++] = (char)(0x80 | (c & 0x3f));
	} else {
		out[at++] = (char)(0xf0 | (c >> 18));
		out[at++] = (char)(0x80 | ((c >> 12) & 0x3f));
		out[at++] = (char)(0x80 | ((c >> 6) & 0x3f));
		out[at++] = (char)(0x80 | (c & 0x3f));
	}
	return at;
}

void
part_utf16_to_utf8(const uint8_t *in, size_t n, char *out)
{
	size_t i, at = 0;
	uint32_t c, lo;

	for (i = 0; i < n; i++) {
		c = le16dec(in + 2 * i);
		if (c == 0)
			break;
		if (c >= 0xd800 && c < 0xdc00 && i + 1 < n) {
			lo = le16dec(in + 2 * (i + 1));
			if (lo >= 0xdc00 && lo < 0xe000) {
				c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
				i++;
			} else {
				c = '?';
			}
		} else if (c >= 0xd800 && c < 0xe000) {
			c = '?';
		}
		/* 4 bytes at most per code point: stop before overflowing. */
		if (at + 4 > PART_NAMELEN)
			break;
		at = utf8_put(out, at, c);
	}
	out[at] = '\0';
}

int
part_scan(struct bdev *disk, struct part_table *pt)
{
	uint8_t *mbr;
	int error, i;
	bool protective = false;

	memset(pt, 0, sizeof(*pt));
	if (disk->bd_size < 2 * (uint64_t)disk->bd_secsize)
		return 0;
	mbr = kmem_alloc(&M_PART, 512);
	if (mbr == NULL)
		return ENOMEM;
	error = bdev_read(disk, 0, mbr, 512);
	if (error)
		goto out;
	if (mbr[510] != 0x55 || mbr[511] != 0xaa)
		goto out; /* no table: the whole disk is one file system */
	for (i = 0; i < 4; i++)
		if (mbr[446 + 16 * i + 4] == 0xee)
			protective = true;
	if (protective)
		error = part_scan_gpt(disk, pt);
	else
		error = part_scan_mbr(disk, mbr, pt);
out:
	kmem_free(&M_PART, mbr, 512);
	return error;
}
