/*
 * GUID partition tables: a header at LBA 1 (and its backup at the last LBA)
 * describing an array of partition entries, both protected by CRC-32.
 *
 * The primary is used if its header and array check out; otherwise the
 * backup. Entry sizes and counts are bounded (GPT_ARRAY_MAX bytes of
 * entries), and every LBA is checked against the disk before it is used.
 */
#include "dev/part.h"

KMEM_TYPE(M_PARTGPT, "part_gpt");

#define GPT_ARRAY_MAX (1024 * 1024)
#define GPT_HDR_MIN 92

struct gpt_hdr {
	uint64_t my_lba, first_usable, last_usable, entries_lba;
	uint32_t nentries, entsize, entries_crc;
};

static const char *
gpt_which(uint64_t lba)
{
	return lba == 1 ? "primary" : "backup";
}

/* Read and check the header at lba; fill *h. */
static int
gpt_header(struct bdev *disk, uint64_t lba, uint8_t *sec, struct gpt_hdr *h)
{
	uint32_t ss = disk->bd_secsize, hsize, crc;
	uint64_t nsec = bdev_nsectors(disk), arrsec;
	int error;

	error = bdev_read(disk, lba * ss, sec, ss);
	if (error)
		return error;
	if (memcmp(sec, "EFI PART", 8) != 0) {
		klog(LOG_WARN, "%s: GPT: no %s header signature", disk->bd_name, gpt_which(lba));
		return EFSCORRUPTED;
	}
	hsize = le32dec(sec + 12);
	if (hsize < GPT_HDR_MIN || hsize > ss) {
		klog(LOG_WARN, "%s: GPT: %s header size %u is invalid", disk->bd_name, gpt_which(lba), hsize);
		return EFSCORRUPTED;
	}
	crc = le32dec(sec + 16);
	le32enc(sec + 16, 0);
	if (crc32_ieee(0, sec, hsize) != crc) {
		klog(LOG_WARN, "%s: GPT: %s header CRC mismatch", disk->bd_name, gpt_which(lba));
		return EFSCORRUPTED;
	}
	h->my_lba = le64dec(sec + 24);
	h->first_usable = le64dec(sec + 40);
	h->last_usable = le64dec(sec + 48);
	h->entries_lba = le64dec(sec + 72);
	h->nentries = le32dec(sec + 80);
	h->entsize = le32dec(sec + 84);
	h->entries_crc = le32dec(sec + 88);
	if (h->my_lba != lba || h->first_usable > h->last_usable || h->last_usable >= nsec) {
		klog(LOG_WARN, "%s: GPT: %s header LBAs are inconsistent with a disk of %llu sectors",
		     disk->bd_name, gpt_which(lba), (unsigned long long)nsec);
		return EFSCORRUPTED;
	}
	if (h->entsize < 128 || h->entsize % 128 != 0 || !powerof2(h->entsize / 128) ||
	    h->nentries == 0 || (uint64_t)h->nentries * h->entsize > GPT_ARRAY_MAX) {
		klog(LOG_WARN, "%s: GPT: %s header has %u entries of %u bytes: out of bounds",
		     disk->bd_name, gpt_which(lba), h->nentries, h->entsize);
		return EFSCORRUPTED;
	}
	arrsec = howmany((uint64_t)h->nentries * h->entsize, ss);
	if (h->entries_lba < 2 || h->entries_lba >= nsec || arrsec > nsec - h->entries_lba) {
		klog(LOG_WARN, "%s: GPT: %s partition array at LBA %llu is beyond the disk end",
		     disk->bd_name, gpt_which(lba), (unsigned long long)h->entries_lba);
		return EFSCORRUPTED;
	}
	return 0;
}

/* Read the array the header describes, check its CRC, add its entries. */
static int
gpt_entries(struct bdev *disk, const struct gpt_hdr *h, uint64_t lba, struct part_table *pt)
{
	uint32_t ss = disk->bd_secsize, i;
	size_t len = (size_t)h->nentries * h->entsize;
	size_t alen = roundup(len, (size_t)ss);
	static const uint8_t zero[16];
	struct part_info pi;
	uint64_t first, last;
	const uint8_t *e;
	uint8_t *arr;
	int error, bad = 0;

	arr = kmem_alloc(&M_PARTGPT, alen);
	if (arr == NULL)
		return ENOMEM;
	error = bdev_read(disk, h->entries_lba * ss, arr, alen);
	if (error)
		goto out;
	if (crc32_ieee(0, arr, len) != h->entries_crc) {
		klog(LOG_WARN, "%s: GPT: %s partition array CRC mismatch", disk->bd_name, gpt_which(lba));
		error = EFSCORRUPTED;
		goto out;
	}
	pt->pt_count = 0;
	pt->pt_scheme = PART_SCHEME_GPT;
	for (i = 0; i < h->nentries; i++) {
		e = arr + (size_t)i * h->entsize;
		if (memcmp(e, zero, 16) == 0)
			continue;
		first = le64dec(e + 32);
		last = le64dec(e + 40);
		if (first > last || first < h->first_usable || last > h->last_usable) {
			klog(LOG_WARN, "%s: GPT: partition %u (LBA %llu-%llu) is outside the usable area; ignored",
			     disk->bd_name, i + 1, (unsigned long long)first, (unsigned long long)last);
			bad = 1;
			continue;
		}
		memset(&pi, 0, sizeof(pi));
		pi.pi_scheme = PART_SCHEME_GPT;
		pi.pi_number = i + 1;
		pi.pi_start = first * ss;
		pi.pi_size = (last - first + 1) * ss;
		memcpy(pi.pi_typeguid, e, 16);
		memcpy(pi.pi_guid, e + 16, 16);
		pi.pi_attrs = le64dec(e + 48);
		part_utf16_to_utf8(e + 56, 36, pi.pi_name);
		error = part_add(pt, &pi);
		if (error) {
			klog(LOG_WARN, "%s: GPT: more than %d partitions; the rest ignored", disk->bd_name,
			     PART_MAX);
			error = 0;
			break;
		}
	}
	if (bad)
		error = EFSCORRUPTED;
out:
	kmem_free(&M_PARTGPT, arr, alen);
	return error;
}

int
part_scan_gpt(struct bdev *disk, struct part_table *pt)
{
	uint64_t nsec = bdev_nsectors(disk);
	struct gpt_hdr h;
	uint8_t *sec;
	int error;

	sec = kmem_alloc(&M_PARTGPT, disk->bd_secsize);
	if (sec == NULL)
		return ENOMEM;
	error = gpt_header(disk, 1, sec, &h);
	if (error == 0)
		error = gpt_entries(disk, &h, 1, pt);
	/* A bad entry is the table's content, not a damaged copy: only a
	 * header or array that fails its checks sends us to the backup. */
	if (error && error != ENOMEM && pt->pt_scheme != PART_SCHEME_GPT) {
		klog(LOG_WARN, "%s: GPT: primary table unusable, trying the backup at LBA %llu",
		     disk->bd_name, (unsigned long long)(nsec - 1));
		error = gpt_header(disk, nsec - 1, sec, &h);
		if (error == 0)
			error = gpt_entries(disk, &h, nsec - 1, pt);
		if (error && pt->pt_scheme != PART_SCHEME_GPT)
			klog(LOG_WARN, "%s: GPT: no valid partition table", disk->bd_name);
	}
	kmem_free(&M_PARTGPT, sec, disk->bd_secsize);
	return error;
}
