/*
 * CRC-16 with the polynomial x^16 + x^15 + x^2 + 1 in reflected form
 * (0xA001), the "ARC" CRC that ext2/3/4 group descriptors carry when the
 * file system lacks metadata_csum. No initial or final inversion here: ext4
 * starts from ~0 itself. Only a few dozen bytes per descriptor go through
 * it, so a 16-entry nibble table (two lookups a byte) is plenty.
 */
#include "kern/lib/libkern.h"

/* Entry i: the CRC register after shifting nibble i through four steps. */
static const uint16_t crc16_nibble[16] = {
	0x0000, 0xcc01, 0xd801, 0x1400, 0xf001, 0x3c00, 0x2800, 0xe401,
	0xa001, 0x6c00, 0x7800, 0xb401, 0x5000, 0x9c01, 0x8801, 0x4400,
};

uint16_t
crc16(uint16_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	/* Reflected: the low nibble of each byte goes in first. */
	for (size_t i = 0; i < len; i++) {
		crc = (uint16_t)((crc >> 4) ^ crc16_nibble[(crc ^ p[i]) & 0xf]);
		crc = (uint16_t)((crc >> 4) ^ crc16_nibble[(crc ^ (p[i] >> 4)) & 0xf]);
	}
	return crc;
}
