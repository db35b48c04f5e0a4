/*
 * Partition table parsing on hand-built images: MBR with primaries, an
 * extended partition and logicals; GPT with names, numbering by entry index
 * and fallback to the backup table; and damaged tables (bad CRCs, entries
 * past the disk end, EBR loops, absurd entry counts), which must give an
 * error and never a partition outside the disk. Also the block layer's
 * bounds checks on partition windows.
 */
#include "../harness.h"

#include <anyk/anyk.h>

#include "dev/part.h"
#include "test_dev_membd.h"

#define SS 512
#define NSEC 8192 /* 4 MiB disk */

static struct membd m;
static struct bdev *disk;
static struct part_table pt;

static void
mbr_entry(uint8_t *sec, int i, uint8_t status, uint8_t type, uint32_t start, uint32_t count)
{
	uint8_t *e = sec + 446 + 16 * i;

	e[0] = status;
	e[4] = type;
	le32enc(e + 8, start);
	le32enc(e + 12, count);
	sec[510] = 0x55;
	sec[511] = 0xaa;
}

static uint8_t *
sector(uint64_t lba)
{
	return m.data + lba * SS;
}

static void
wipe(void)
{
	memset(m.data, 0, m.size);
}

static const struct part_info *
find(int number)
{
	for (int i = 0; i < pt.pt_count; i++)
		if (pt.pt_parts[i].pi_number == (unsigned)number)
			return &pt.pt_parts[i];
	return NULL;
}

static bool
all_inside(void)
{
	for (int i = 0; i < pt.pt_count; i++)
		if (pt.pt_parts[i].pi_start + pt.pt_parts[i].pi_size > (uint64_t)NSEC * SS)
			return false;
	return true;
}

static void
test_mbr(void)
{
	const struct part_info *pi;
	int error;

	wipe();
	mbr_entry(sector(0), 0, 0x80, 0x83, 2048, 1024);
	mbr_entry(sector(0), 1, 0x00, 0x0c, 3072, 1024);
	mbr_entry(sector(0), 2, 0x00, 0x05, 4096, 4096);
	/* EBR 1 at 4096: logical at +64, next EBR at ext+2048. */
	mbr_entry(sector(4096), 0, 0, 0x83, 64, 1000);
	mbr_entry(sector(4096), 1, 0, 0x05, 2048, 2048);
	/* EBR 2 at 6144: logical at +64, end of chain. */
	mbr_entry(sector(6144), 0, 0, 0x83, 64, 1900);
	error = part_scan(disk, &pt);
	T_EQ(error, 0, "MBR: scan succeeds");
	T_EQ(pt.pt_scheme, PART_SCHEME_MBR, "MBR: scheme");
	T_EQ(pt.pt_count, 5, "MBR: 3 primaries and 2 logicals");
	pi = find(1);
	T_OK(pi && pi->pi_start == 2048 * SS && pi->pi_size == 1024 * SS && pi->pi_bootable &&
	     pi->pi_mbrtype == 0x83, "MBR: partition 1 position, size, type, boot flag");
	pi = find(3);
	T_OK(pi && pi->pi_extended && pi->pi_size == 4096 * SS, "MBR: partition 3 is the extended one");
	T_OK(find(4) == NULL, "MBR: no partition 4");
	pi = find(5);
	T_OK(pi && pi->pi_start == (4096 + 64) * (uint64_t)SS && pi->pi_size == 1000 * SS,
	     "MBR: logical 5 relative to its EBR");
	pi = find(6);
	T_OK(pi && pi->pi_start == (6144 + 64) * (uint64_t)SS && pi->pi_size == 1900 * SS,
	     "MBR: logical 6 in the second EBR");
}

static void
test_mbr_corrupt(void)
{
	int error;

	/* The second EBR links back to the first. */
	wipe();
	mbr_entry(sector(0), 0, 0, 0x05, 4096, 4096);
	mbr_entry(sector(4096), 0, 0, 0x83, 64, 100);
	mbr_entry(sector(4096), 1, 0, 0x05, 2048, 2048);
	mbr_entry(sector(6144), 0, 0, 0x83, 64, 100);
	mbr_entry(sector(6144), 1, 0, 0x05, 0, 2048);
	error = part_scan(disk, &pt);
	T_EQ(error, ANYK_EFSCORRUPTED, "MBR: an EBR loop is an error");
	T_OK(find(5) && find(6) && pt.pt_count == 3, "MBR: logicals before the loop are kept");

	/* A self-link. */
	wipe();
	mbr_entry(sector(0), 0, 0, 0x0f, 4096, 4096);
	mbr_entry(sector(4096), 0, 0, 0x83, 64, 100);
	mbr_entry(sector(4096), 1, 0, 0x05, 0, 2048);
	T_EQ(part_scan(disk, &pt), ANYK_EFSCORRUPTED, "MBR: an EBR pointing at itself is an error");

	/* A link out of the extended partition. */
	wipe();
	mbr_entry(sector(0), 0, 0, 0x05, 4096, 1024);
	mbr_entry(sector(4096), 1, 0, 0x05, 3000, 100);
	T_EQ(part_scan(disk, &pt), ANYK_EFSCORRUPTED, "MBR: an EBR outside the extended partition");

	/* Entries reaching past the end of the disk, and one overflowing. */
	wipe();
	mbr_entry(sector(0), 0, 0, 0x83, 2048, 1024);
	mbr_entry(sector(0), 1, 0, 0x83, 8000, 1000);
	mbr_entry(sector(0), 2, 0, 0x83, 0xffffffffu, 0xffffffffu);
	mbr_entry(sector(0), 3, 0, 0x83, 9000, 10);
	error = part_scan(disk, &pt);
	T_EQ(error, ANYK_EFSCORRUPTED, "MBR: partitions past the disk end are an error");
	T_OK(pt.pt_count == 1 && find(1) && all_inside(), "MBR: only the partition inside the disk is kept");

	/* A logical past the disk end. */
	wipe();
	mbr_entry(sector(0), 0, 0, 0x05, 4096, 4096);
	mbr_entry(sector(4096), 0, 0, 0x83, 64, 100000);
	T_EQ(part_scan(disk, &pt), ANYK_EFSCORRUPTED, "MBR: a logical past the disk end is an error");
	T_OK(all_inside(), "MBR: ... and is not kept");

	/* Not a table: a boot sector with odd status bytes; no signature. */
	wipe();
	mbr_entry(sector(0), 0, 0x12, 0x83, 2048, 10);
	T_OK(part_scan(disk, &pt) == 0 && pt.pt_count == 0, "MBR: bad boot flags mean no table");
	wipe();
	T_OK(part_scan(disk, &pt) == 0 && pt.pt_count == 0, "no signature: no table");
}

/* --- GPT --------------------------------------------------------------------- */

#define GPT_N 128
#define GPT_ES 128

static void
gpt_name(uint8_t *e, const char *ascii)
{
	for (int i = 0; ascii[i] && i < 36; i++)
		le16enc(e + 56 + 2 * i, (uint8_t)ascii[i]);
}

/* Write the array at alba and a header at hlba describing it. */
static void
gpt_write(uint64_t hlba, uint64_t alba, const uint8_t *arr, uint64_t altlba)
{
	uint8_t *h = sector(hlba);

	memcpy(sector(alba), arr, GPT_N * GPT_ES);
	memset(h, 0, SS);
	memcpy(h, "EFI PART", 8);
	le32enc(h + 8, 0x00010000);
	le32enc(h + 12, 92);
	le64enc(h + 24, hlba);
	le64enc(h + 32, altlba);
	le64enc(h + 40, 34);
	le64enc(h + 48, NSEC - 34);
	memset(h + 56, 0x42, 16);
	le64enc(h + 72, alba);
	le32enc(h + 80, GPT_N);
	le32enc(h + 84, GPT_ES);
	le32enc(h + 88, crc32_ieee(0, arr, GPT_N * GPT_ES));
	le32enc(h + 16, crc32_ieee(0, h, 92));
}

static uint8_t gptarr[GPT_N * GPT_ES];

static void
gpt_build(void)
{
	uint8_t *e;

	wipe();
	memset(gptarr, 0, sizeof(gptarr));
	mbr_entry(sector(0), 0, 0, 0xee, 1, NSEC - 1);
	e = gptarr;
	memset(e, 0xaf, 16);
	memset(e + 16, 0x11, 16);
	le64enc(e + 32, 2048);
	le64enc(e + 40, 4095);
	gpt_name(e, "boot");
	e = gptarr + 2 * GPT_ES; /* entry index 2: partition 3 */
	memset(e, 0x0f, 16);
	le64enc(e + 32, 4096);
	le64enc(e + 40, 8000);
	le64enc(e + 48, 1ull << 60);
	/* "dátá" with a non-ASCII letter and a surrogate pair (U+1F600). */
	le16enc(e + 56, 'd');
	le16enc(e + 58, 0xe1);
	le16enc(e + 60, 0xd83d);
	le16enc(e + 62, 0xde00);
}

static void
gpt_commit(void)
{
	gpt_write(1, 2, gptarr, NSEC - 1);
	gpt_write(NSEC - 1, NSEC - 33, gptarr, 1);
}

static void
test_gpt(void)
{
	const struct part_info *pi;

	gpt_build();
	gpt_commit();
	T_EQ(part_scan(disk, &pt), 0, "GPT: scan succeeds");
	T_EQ(pt.pt_scheme, PART_SCHEME_GPT, "GPT: scheme");
	T_EQ(pt.pt_count, 2, "GPT: two partitions");
	pi = find(1);
	T_OK(pi && pi->pi_start == 2048 * SS && pi->pi_size == 2048 * SS && strcmp(pi->pi_name, "boot") == 0,
	     "GPT: partition 1 position, size and name");
	T_OK(pi && pi->pi_typeguid[0] == 0xaf && pi->pi_guid[0] == 0x11, "GPT: partition 1 GUIDs");
	pi = find(3);
	T_OK(pi && pi->pi_start == 4096 * SS && pi->pi_size == (8000 - 4096 + 1) * (uint64_t)SS,
	     "GPT: entry index 2 is partition 3");
	T_OK(pi && strcmp(pi->pi_name, "d\xc3\xa1\xf0\x9f\x98\x80") == 0, "GPT: UTF-16 name as UTF-8");
	T_OK(pi && pi->pi_attrs == 1ull << 60, "GPT: attributes");

	/* Primary header CRC broken: the backup is used. */
	sector(1)[100] ^= 1;
	le32enc(sector(1) + 16, le32dec(sector(1) + 16) ^ 1);
	T_EQ(part_scan(disk, &pt), 0, "GPT: bad primary header CRC falls back to the backup");
	T_EQ(pt.pt_count, 2, "GPT: ... with both partitions");

	/* Primary array CRC broken. */
	gpt_commit();
	sector(2)[40] ^= 0xff;
	T_EQ(part_scan(disk, &pt), 0, "GPT: bad primary array CRC falls back to the backup");
	T_OK(find(1) && find(1)->pi_start == 2048 * SS, "GPT: ... with the backup's contents");

	/* Both broken. */
	sector(NSEC - 1)[16] ^= 1;
	T_EQ(part_scan(disk, &pt), ANYK_EFSCORRUPTED, "GPT: both tables broken is an error");
	T_EQ(pt.pt_count, 0, "GPT: ... and no partitions");

	/* An entry past the usable area (valid CRCs). */
	gpt_build();
	le64enc(gptarr + 2 * GPT_ES + 40, NSEC + 100);
	gpt_commit();
	T_EQ(part_scan(disk, &pt), ANYK_EFSCORRUPTED, "GPT: an entry past the disk end is an error");
	T_OK(pt.pt_count == 1 && find(1) && all_inside(), "GPT: ... and is not kept");

	/* first > last */
	gpt_build();
	le64enc(gptarr + 32, 5000);
	le64enc(gptarr + 40, 4000);
	gpt_commit();
	T_EQ(part_scan(disk, &pt), ANYK_EFSCORRUPTED, "GPT: an entry ending before it starts");

	/* Absurd entry count / size, with correct header CRCs. */
	gpt_build();
	gpt_commit();
	le32enc(sector(1) + 80, 0x7fffffff);
	le32enc(sector(1) + 16, 0);
	le32enc(sector(1) + 16, crc32_ieee(0, sector(1), 92));
	le32enc(sector(NSEC - 1) + 84, 100);
	le32enc(sector(NSEC - 1) + 16, 0);
	le32enc(sector(NSEC - 1) + 16, crc32_ieee(0, sector(NSEC - 1), 92));
	T_EQ(part_scan(disk, &pt), ANYK_EFSCORRUPTED, "GPT: absurd entry counts and sizes are rejected");

	/* Array placed past the disk end. */
	gpt_build();
	gpt_commit();
	le64enc(sector(1) + 72, NSEC - 2);
	le32enc(sector(1) + 16, 0);
	le32enc(sector(1) + 16, crc32_ieee(0, sector(1), 92));
	T_EQ(part_scan(disk, &pt), 0, "GPT: an array beyond the end sends us to the backup");

	/* Header size larger than a sector. */
	le32enc(sector(NSEC - 1) + 12, 4096);
	T_EQ(part_scan(disk, &pt), ANYK_EFSCORRUPTED, "GPT: header size larger than a sector");
}

static void
test_bounds(void)
{
	struct bdev *p = NULL;
	uint8_t buf[1500], back[1500];
	struct anyk_iovec iov = { buf, 512 };
	int i;

	T_EQ(bdev_create_part(disk, "md0p1", 512 * 100, 512 * 10, &p), 0, "make a partition window");
	T_EQ(bdev_create_part(disk, "x", 512 * 8190, 512 * 10, &(struct bdev *){ NULL }), ANYK_EINVAL,
	     "a window past the disk end is refused");
	for (i = 0; i < (int)sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 7 + 1);
	T_EQ(bdev_write(p, 0, buf, 512), 0, "write at a partition's offset 0");
	T_OK(memcmp(m.data + 512 * 100, buf, 512) == 0, "... lands at the partition's start on the disk");
	T_EQ(bdev_write(p, 5120 - 100, buf, 101), ANYK_EIO, "a write crossing the partition end: EIO");
	T_EQ(bdev_read(p, 5120, buf, 1), ANYK_EIO, "a read at the partition end: EIO");
	T_EQ(bdev_read(p, UINT64_MAX - 10, buf, 100), ANYK_EIO, "an overflowing offset: EIO");
	T_EQ(bdev_readv(p, 100, &iov, 1), ANYK_EINVAL, "unaligned scatter/gather: EINVAL");
	T_EQ(bdev_readv(p, 512 * 10, &iov, 1), ANYK_EIO, "scatter/gather past the end: EIO");
	/* Unaligned read-modify-write keeps the neighbouring bytes. */
	memset(m.data + 512 * 100, 0xee, 512 * 4);
	T_EQ(bdev_write(p, 300, buf, 1000), 0, "unaligned write across three sectors");
	T_OK(m.data[512 * 100 + 299] == 0xee && m.data[512 * 100 + 1300] == 0xee &&
	     memcmp(m.data + 512 * 100 + 300, buf, 1000) == 0, "... changes exactly those bytes");
	T_EQ(bdev_read(p, 300, back, 1000), 0, "unaligned read back");
	T_OK(memcmp(back, buf, 1000) == 0, "... gives them back");
	bdev_destroy(p);
}

static void
test_rdonly(void)
{
	struct membd rm;
	struct bdev *bd = membd_new(&rm, 1 << 20, 4096, true);
	uint8_t buf[4096] = { 1 };

	T_OK(bd != NULL, "make a read-only 4K-sector device");
	T_EQ(bdev_write(bd, 0, buf, 4096), ANYK_EROFS, "write to a read-only device: EROFS");
	T_EQ(bdev_read(bd, 4096 * 3 + 5, buf, 100), 0, "sub-sector read on a 4K-sector device");
	membd_free(&rm, bd);
}

int
main(void)
{
	uint8_t crcbuf[] = "123456789";

	T_EQ(crc32_ieee(0, crcbuf, 9), 0xcbf43926u, "CRC-32 check value");
	if (anyk_init() != 0) {
		T_OK(0, "anyk_init");
		return t_done();
	}
	disk = membd_new(&m, (size_t)NSEC * SS, SS, false);
	T_OK(disk != NULL, "make a memory disk");
	test_mbr();
	test_mbr_corrupt();
	test_gpt();
	test_bounds();
	test_rdonly();
	membd_free(&m, disk);
	anyk_fini();
	return t_done();
}
