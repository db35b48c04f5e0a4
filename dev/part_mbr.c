/*
 * MBR partition tables: four primary entries in sector 0 and, inside an
 * extended partition, a chain of extended boot records (EBRs), each holding
 * one logical partition (start relative to that EBR) and a link to the next
 * EBR (relative to the start of the extended partition).
 *
 * The chain comes from the disk, so it is bounded (PART_EBR_MAX records),
 * checked for loops and kept inside the extended partition.
 */
#include "dev/part.h"

KMEM_TYPE(M_PARTMBR, "part_mbr");

#define MBR_TABLE 446
#define MBR_ENTRY 16

static bool
mbr_is_extended(uint8_t type)
{
	return type == 0x05 || type == 0x0f || type == 0x85;
}

static bool
mbr_has_signature(const uint8_t *sec)
{
	return sec[510] == 0x55 && sec[511] == 0xaa;
}

/* Make a part_info from one entry whose start is base + the entry's
 * relative start; false (and a log line) if it leaves the disk. */
static bool
mbr_entry(struct bdev *disk, const uint8_t *e, uint64_t base, unsigned number, struct part_info *pi)
{
	uint64_t nsec = bdev_nsectors(disk);
	uint64_t start = base + le32dec(e + 8);
	uint64_t count = le32dec(e + 12);

	if (start == 0 || start >= nsec || count > nsec - start) {
		klog(LOG_WARN, "%s: MBR partition %u (sectors %llu+%llu) is beyond the disk end (%llu sectors); ignored",
		     disk->bd_name, number, (unsigned long long)start, (unsigned long long)count,
		     (unsigned long long)nsec);
		return false;
	}
	memset(pi, 0, sizeof(*pi));
	pi->pi_scheme = PART_SCHEME_MBR;
	pi->pi_number = number;
	pi->pi_start = start * disk->bd_secsize;
	pi->pi_size = count * disk->bd_secsize;
	pi->pi_mbrtype = e[4];
	pi->pi_extended = mbr_is_extended(e[4]);
	pi->pi_bootable = e[0] == 0x80;
	return true;
}

static int
mbr_logicals(struct bdev *disk, uint64_t ext_start, uint64_t ext_count, struct part_table *pt)
{
	uint64_t visited[PART_EBR_MAX];
	uint64_t ebr = ext_start, next;
	unsigned number = 5;
	struct part_info pi;
	const uint8_t *e0, *e1;
	uint8_t *sec;
	int nvisited = 0, i, error = 0;

	sec = kmem_alloc(&M_PARTMBR, 512);
	if (sec == NULL)
		return ENOMEM;
	while (ebr != 0) {
		for (i = 0; i < nvisited; i++) {
			if (visited[i] == ebr) {
				klog(LOG_WARN, "%s: MBR: loop in the extended partition's EBR chain at sector %llu",
				     disk->bd_name, (unsigned long long)ebr);
				error = EFSCORRUPTED;
				goto out;
			}
		}
		if (nvisited == PART_EBR_MAX) {
			klog(LOG_WARN, "%s: MBR: more than %d logical partitions; the rest ignored",
			     disk->bd_name, PART_EBR_MAX);
			error = EFSCORRUPTED;
			goto out;
		}
		visited[nvisited++] = ebr;
		if (ebr < ext_start || ebr - ext_start >= ext_count) {
			klog(LOG_WARN, "%s: MBR: EBR at sector %llu is outside the extended partition",
			     disk->bd_name, (unsigned long long)ebr);
			error = EFSCORRUPTED;
			goto out;
		}
		error = bdev_read(disk, ebr * disk->bd_secsize, sec, 512);
		if (error)
			goto out;
		if (!mbr_has_signature(sec)) {
			klog(LOG_WARN, "%s: MBR: EBR at sector %llu has no signature", disk->bd_name,
			     (unsigned long long)ebr);
			error = EFSCORRUPTED;
			goto out;
		}
		e0 = sec + MBR_TABLE;
		e1 = sec + MBR_TABLE + MBR_ENTRY;
		if (e0[4] != 0 && le32dec(e0 + 12) != 0 && !mbr_is_extended(e0[4])) {
			/* A bad logical keeps its number, so the others keep theirs. */
			if (mbr_entry(disk, e0, ebr, number, &pi)) {
				error = part_add(pt, &pi);
				if (error)
					goto out;
			} else {
				error = EFSCORRUPTED;
			}
			number++;
		}
		next = 0;
		if (mbr_is_extended(e1[4]) && le32dec(e1 + 12) != 0)
			next = ext_start + le32dec(e1 + 8);
		ebr = next;
	}
out:
	kmem_free(&M_PARTMBR, sec, 512);
	return error;
}

int
part_scan_mbr(struct bdev *disk, const uint8_t *mbr, struct part_table *pt)
{
	uint64_t ext_start = 0, ext_count = 0;
	struct part_info pi;
	const uint8_t *e;
	int i, error = 0, err2;

	if (!mbr_has_signature(mbr))
		return 0;
	/* Boot flags other than 0 and 0x80: a boot sector (FAT, ...), not a table. */
	for (i = 0; i < 4; i++) {
		e = mbr + MBR_TABLE + MBR_ENTRY * i;
		if (e[0] != 0 && e[0] != 0x80)
			return 0;
	}
	pt->pt_scheme = PART_SCHEME_MBR;
	for (i = 0; i < 4; i++) {
		e = mbr + MBR_TABLE + MBR_ENTRY * i;
		if (e[4] == 0 || le32dec(e + 12) == 0)
			continue;
		if (!mbr_entry(disk, e, 0, (unsigned)i + 1, &pi)) {
			error = EFSCORRUPTED;
			continue;
		}
		err2 = part_add(pt, &pi);
		if (err2)
			return err2;
		if (pi.pi_extended && ext_start == 0) {
			ext_start = pi.pi_start / disk->bd_secsize;
			ext_count = pi.pi_size / disk->bd_secsize;
		}
	}
	if (ext_start != 0) {
		err2 = mbr_logicals(disk, ext_start, ext_count, pt);
		if (err2)
			error = err2;
	}
	return error;
}
