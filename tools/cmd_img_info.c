/*
 * anyk df, anyk info and anyk check: what a disk image holds and whether
 * it reads back. info shows the partition table and, for each file system,
 * what its superblock and statvfs say; check reads every file, link,
 * directory and attribute through the driver and reports what the driver
 * complained about in the kernel log.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tools/image.h"
#include "tools/json.h"

const char img_usage_df[] = "[-h] [--json] IMAGE[@PART][:PATH]...";
const char img_help_df[] =
	"Show the size, used and free space of file systems in disk images.\n"
	"  -h      sizes like 1.5G (default: 1K blocks)\n"
	"  --json  one JSON array of objects";
const char img_usage_info[] = "[--json] IMAGE...";
const char img_help_info[] =
	"Describe a disk image: its partition table (scheme, numbers, names, types,\n"
	"offsets, sizes) and each ext2/3/4 file system on it (type, label, UUID,\n"
	"block and inode size, features, state, usage).";
const char img_usage_check[] = "[-q] IMAGE[@PART][:PATH]...";
const char img_help_check[] =
	"Read everything in a disk image's file system through the driver: every\n"
	"directory, file, symbolic link and extended attribute. Problems the driver\n"
	"finds (its kernel log lines) and read errors are printed; the exit status\n"
	"is 1 if there were any. -q prints only problems.";

/* An operand with no ':' is a whole image: "IMAGE" means "IMAGE:/". */
static int
image_operand(struct img_session *s, struct img_path *p, const char *arg)
{
	char *full;
	int r;

	if (strchr(arg, ':') != NULL)
		return img_operand(s, p, arg, 0, 0);
	full = xmalloc(strlen(arg) + 3);
	sprintf(full, "%s:/", arg);
	r = img_path_parse(full, p);
	free(full);
	p->arg = arg;
	if (r == 0)
		r = img_add(s, p, 0);
	return r;
}

/* --- df ------------------------------------------------------------------------- */

int
cmd_img_df(int argc, char **argv)
{
	static const struct tool_cmd cmd = IMG_TOOL_CMD(df);
	static const struct lopt longs[] = {
		{ "json", 0, IOPT_JSON }, { "human-readable", 0, 'h' }, { NULL, 0, 0 },
	};
	struct img_session s;
	struct img_path p;
	struct anyk_statvfs sv;
	struct iopts o;
	struct json j;
	char a[32], b[32], c2[32], *name;
	uint64_t size, used, avail;
	int c, i, h = 0, js = 0, status = EXIT_OK, hdr = 0;

	iopt_init(&o, &cmd, &s, argc, argv);
	while ((c = iopt_next(&o, "ho:", longs)) != IOPT_END) {
		switch (c) {
		case 'h': h = 1; break;
		case IOPT_JSON: js = 1; break;
		default:
			return iopt_fail(c);
		}
	}
	if (o.noperands == 0)
		return err_usage(&cmd, "missing IMAGE");
	if (js) {
		json_init(&j, stdout);
		json_arr_begin(&j);
	}
	for (i = 0; i < o.noperands; i++) {
		c = image_operand(&s, &p, o.operands[i]);
		if (c == EXIT_OK) {
			img_enter(&s, p.img);
			if (anyk_sys_statvfs(p.path, &sv) != 0) {
				c = img_err(&p, NULL, errno);
			} else {
				size = sv.f_blocks * sv.f_frsize;
				used = (sv.f_blocks - sv.f_bfree) * sv.f_frsize;
				avail = sv.f_bavail * sv.f_frsize;
				name = img_name(&p, NULL);
				if (js) {
					json_obj_begin(&j);
					json_kstr(&j, "image", name);
					json_kstr(&j, "fstype", s.img[p.img].fstype);
					json_kuint(&j, "size", size);
					json_kuint(&j, "used", used);
					json_kuint(&j, "available", avail);
					json_kuint(&j, "inodes", sv.f_files);
					json_kuint(&j, "inodes_free", sv.f_ffree);
					json_kuint(&j, "block_size", sv.f_frsize);
					json_obj_end(&j);
				} else {
					if (!hdr++)
						printf("%-24s %-5s %10s %10s %10s %4s\n", "Image", "Type",
						    h ? "Size" : "1K-blocks", "Used", "Available", "Use%");
					if (h) {
						fmt_human(a, sizeof(a), size);
						fmt_human(b, sizeof(b), used);
						fmt_human(c2, sizeof(c2), avail);
					} else {
						snprintf(a, sizeof(a), "%llu", (unsigned long long)(size / 1024));
						snprintf(b, sizeof(b), "%llu", (unsigned long long)(used / 1024));
						snprintf(c2, sizeof(c2), "%llu", (unsigned long long)(avail / 1024));
					}
					printf("%-24s %-5s %10s %10s %10s %3llu%%\n", name, s.img[p.img].fstype,
					    a, b, c2, used + avail ? (unsigned long long)((used * 100 + used + avail - 1) / (used + avail)) : 0ULL);
				}
				free(name);
			}
		}
		if (c != EXIT_OK && status != EXIT_USAGE)
			status = c;
		img_path_free(&p);
	}
	if (js) {
		json_arr_end(&j);
		json_end(&j);
	}
	return img_close(&s, status);
}

/* --- info ------------------------------------------------------------------------ */

static uint32_t
rd32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t
rd16(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

struct feat {
	int word; /* 0 compat, 1 incompat, 2 ro_compat */
	uint32_t bit;
	const char *name;
};

static const struct feat feats[] = {
	{ 0, 0x1, "dir_prealloc" }, { 0, 0x2, "imagic_inodes" }, { 0, 0x4, "has_journal" },
	{ 0, 0x8, "ext_attr" }, { 0, 0x10, "resize_inode" }, { 0, 0x20, "dir_index" },
	{ 0, 0x200, "sparse_super2" }, { 0, 0x400, "fast_commit" }, { 0, 0x800, "stable_inodes" },
	{ 0, 0x1000, "orphan_file" },
	{ 1, 0x1, "compression" }, { 1, 0x2, "filetype" }, { 1, 0x4, "needs_recovery" },
	{ 1, 0x8, "journal_dev" }, { 1, 0x10, "meta_bg" }, { 1, 0x40, "extent" },
	{ 1, 0x80, "64bit" }, { 1, 0x100, "mmp" }, { 1, 0x200, "flex_bg" },
	{ 1, 0x400, "ea_inode" }, { 1, 0x1000, "dirdata" }, { 1, 0x2000, "metadata_csum_seed" },
	{ 1, 0x4000, "large_dir" }, { 1, 0x8000, "inline_data" }, { 1, 0x10000, "encrypt" },
	{ 1, 0x20000, "casefold" },
	{ 2, 0x1, "sparse_super" }, { 2, 0x2, "large_file" }, { 2, 0x8, "huge_file" },
	{ 2, 0x10, "uninit_bg" }, { 2, 0x20, "dir_nlink" }, { 2, 0x40, "extra_isize" },
	{ 2, 0x100, "quota" }, { 2, 0x200, "bigalloc" }, { 2, 0x400, "metadata_csum" },
	{ 2, 0x1000, "read-only" }, { 2, 0x2000, "project" }, { 2, 0x8000, "verity" },
	{ 2, 0x10000, "orphan_present" },
};

static void
fmt_guid(char *buf, size_t n, const uint8_t *g, int mixed)
{
	if (mixed)
		snprintf(buf, n, "%02X%02X%02X%02X-%02X%02X-%02X%02X-%02X%02X-%02X%02X%02X%02X%02X%02X",
		    g[3], g[2], g[1], g[0], g[5], g[4], g[7], g[6], g[8], g[9], g[10], g[11], g[12],
		    g[13], g[14], g[15]);
	else
		snprintf(buf, n, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		    g[0], g[1], g[2], g[3], g[4], g[5], g[6], g[7], g[8], g[9], g[10], g[11], g[12],
		    g[13], g[14], g[15]);
}

static const char *
part_type(const struct anyk_partinfo *pi, char *buf, size_t n)
{
	static const struct { const char *guid, *name; } gpt[] = {
		{ "0FC63DAF-8483-4772-8E79-3D69D8477DE4", "linux" },
		{ "C12A7328-F81F-11D2-BA4B-00A0C93EC93B", "efi" },
		{ "0657FD6D-A4AB-43C4-84E5-0933C84B4F4F", "linux-swap" },
		{ "21686148-6449-6E6F-744E-656564454649", "bios-boot" },
		{ "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7", "microsoft-data" },
		{ "E6D6D379-F507-44C2-A23C-238F2A3DF928", "linux-lvm" },
		{ "A19D880F-05FC-4D3B-A006-743F0F84911E", "linux-raid" },
	};
	char g[40];
	size_t i;

	if (pi->scheme == ANYK_PART_GPT) {
		fmt_guid(g, sizeof(g), pi->typeguid, 1);
		for (i = 0; i < sizeof(gpt) / sizeof(gpt[0]); i++)
			if (strcmp(g, gpt[i].guid) == 0)
				return gpt[i].name;
		snprintf(buf, n, "%s", g);
		return buf;
	}
	switch (pi->mbrtype) {
	case 0x83: return "linux";
	case 0x82: return "linux-swap";
	case 0x8e: return "linux-lvm";
	case 0xfd: return "linux-raid";
	case 0x05: case 0x0f: case 0x85: return "extended";
	case 0x0b: case 0x0c: return "fat32";
	case 0x06: case 0x0e: case 0x04: return "fat16";
	case 0x07: return "ntfs/exfat";
	case 0xef: return "efi";
	case 0xee: return "gpt-protective";
	}
	snprintf(buf, n, "0x%02x", pi->mbrtype);
	return buf;
}

static void
show_fs(struct img_session *s, struct img_path *p, struct json *j, int js)
{
	unsigned char sb[1024];
	struct anyk_statvfs sv;
	struct img *im = &s->img[p->img];
	char uuid[40], label[17], feat[1024] = "", hu[16], ht[16], enc[32];
	uint32_t w[3], bsize, state;
	uint64_t blocks;
	size_t i;
	int fd, have = 0;

	img_enter(s, -1);
	fd = anyk_sys_open(im->dev, ANYK_O_RDONLY | ANYK_O_CLOEXEC, 0);
	if (fd >= 0) {
		have = anyk_sys_pread(fd, sb, sizeof(sb), 1024) == (anyk_ssize_t)sizeof(sb);
		anyk_sys_close(fd);
	}
	img_enter(s, p->img);
	memset(&sv, 0, sizeof(sv));
	(void)anyk_sys_statvfs("/", &sv);
	if (js) {
		json_obj_begin(j);
		json_kstr(j, "device", im->dev);
		if (im->part != NULL)
			json_kstr(j, "partition", im->part);
		json_kstr(j, "fstype", im->fstype);
	} else {
		printf("File system on %s%s%s: %s\n", im->file, im->part ? "@" : "",
		    im->part ? im->part : "", im->fstype);
	}
	if (have) {
		w[0] = rd32(sb + 0x5C);
		w[1] = rd32(sb + 0x60);
		w[2] = rd32(sb + 0x64);
		for (i = 0; i < sizeof(feats) / sizeof(feats[0]); i++) {
			if (!(w[feats[i].word] & feats[i].bit))
				continue;
			if (feat[0] != '\0')
				strncat(feat, " ", sizeof(feat) - strlen(feat) - 1);
			strncat(feat, feats[i].name, sizeof(feat) - strlen(feat) - 1);
		}
		memcpy(label, sb + 0x78, 16);
		label[16] = '\0';
		fmt_guid(uuid, sizeof(uuid), sb + 0x68, 0);
		bsize = 1024u << (rd32(sb + 0x18) > 6 ? 0 : rd32(sb + 0x18));
		blocks = rd32(sb + 0x4);
		if (w[1] & 0x80)
			blocks |= (uint64_t)rd32(sb + 0x150) << 32;
		state = rd16(sb + 0x3A);
		/* casefold: how names are folded (ext4 defines one encoding). */
		enc[0] = '\0';
		if (w[1] & 0x20000)
			snprintf(enc, sizeof(enc), "%s%s", rd16(sb + 0x27C) == 1 ? "utf8-12.1" : "unknown",
				 (rd16(sb + 0x27E) & 1) ? " (strict)" : "");
		if (js) {
			json_kstr(j, "label", label);
			json_kstr(j, "uuid", uuid);
			json_kuint(j, "block_size", bsize);
			json_kuint(j, "inode_size", rd32(sb + 0x4C) ? rd16(sb + 0x58) : 128);
			json_kuint(j, "blocks", blocks);
			json_kuint(j, "inodes", rd32(sb + 0x0));
			json_kstr(j, "state", (state & 1) ? "clean" : "not clean");
			if (enc[0] != '\0')
				json_kstr(j, "encoding", enc);
			json_key(j, "features");
			json_arr_begin(j);
			for (i = 0; i < sizeof(feats) / sizeof(feats[0]); i++)
				if (w[feats[i].word] & feats[i].bit)
					json_str(j, feats[i].name);
			json_arr_end(j);
		} else {
			printf("  Label:       %s\n", label[0] ? label : "(none)");
			printf("  UUID:        %s\n", uuid);
			printf("  Block size:  %u\n", bsize);
			printf("  Inode size:  %u\n", rd32(sb + 0x4C) ? rd16(sb + 0x58) : 128);
			printf("  Blocks:      %llu\n", (unsigned long long)blocks);
			printf("  Inodes:      %u\n", rd32(sb + 0x0));
			printf("  State:       %s%s\n", (state & 1) ? "clean" : "not clean",
			    (state & 2) ? ", errors" : "");
			printf("  Features:    %s\n", feat);
			if (enc[0] != '\0')
				printf("  Encoding:    %s\n", enc);
		}
	}
	if (js) {
		json_kuint(j, "size", sv.f_blocks * sv.f_frsize);
		json_kuint(j, "used", (sv.f_blocks - sv.f_bfree) * sv.f_frsize);
		json_kuint(j, "available", sv.f_bavail * sv.f_frsize);
		json_kuint(j, "inodes_free", sv.f_ffree);
		json_obj_end(j);
	} else {
		fmt_human(ht, sizeof(ht), sv.f_blocks * sv.f_frsize);
		fmt_human(hu, sizeof(hu), (sv.f_blocks - sv.f_bfree) * sv.f_frsize);
		printf("  Usage:       %s used of %s, %llu of %llu inodes free\n", hu, ht,
		    (unsigned long long)sv.f_ffree, (unsigned long long)sv.f_files);
	}
}

static int
has_fs(const char *dev)
{
	unsigned char sb[2];
	int fd = anyk_sys_open(dev, ANYK_O_RDONLY | ANYK_O_CLOEXEC, 0), ok;

	if (fd < 0)
		return 0;
	ok = anyk_sys_pread(fd, sb, 2, 1024 + 0x38) == 2 && (sb[0] | sb[1] << 8) == 0xEF53;
	anyk_sys_close(fd);
	return ok;
}

static int
info_one(struct img_session *s, const char *arg, struct json *j, int js)
{
	struct anyk_partinfo pi;
	struct img_path p;
	struct stat hst;
	char disk[24], tbuf[48], g[40], hs[16], *spec;
	int i, nparts = 0, r = EXIT_OK, shown = 0, slot;

	if (strchr(arg, ':') != NULL || stat(arg, &hst) != 0) {
		if (strchr(arg, ':') == NULL)
			return err_path(arg);
		return err_msg(arg, "info takes an image file (no ':PATH')");
	}
	if (img_boot(s) != EXIT_OK)
		return EXIT_FAIL;
	if (image_lock(arg, 0) < 0)
		return EXIT_FAIL;
	/* A scratch attachment just to read the partition table. */
	slot = IMG_MAX + 1;
	snprintf(disk, sizeof(disk), "/dev/sd%d", slot);
	if (anyk_disk_attach(disk, arg, ANYK_DISK_RDONLY) != 0)
		return err_msg(arg, "cannot attach: %s", strerror(errno));
	if (js) {
		json_obj_begin(j);
		json_kstr(j, "image", arg);
		json_kuint(j, "size", (uint64_t)hst.st_size);
		json_key(j, "partitions");
		json_arr_begin(j);
	} else {
		fmt_human(hs, sizeof(hs), (uint64_t)hst.st_size);
		printf("Image %s: %s (%llu bytes)\n", arg, hs, (unsigned long long)hst.st_size);
	}
	for (i = 0; anyk_disk_partinfo(disk, i, &pi) == 0; i++) {
		if (i == 0 && !js)
			printf("Partition table: %s\n  %-3s %12s %12s  %-16s %s\n",
			    pi.scheme == ANYK_PART_GPT ? "gpt" : "mbr", "#", "Start", "Size", "Type", "Name");
		nparts++;
		if (js) {
			json_obj_begin(j);
			json_kuint(j, "number", pi.number);
			json_kstr(j, "scheme", pi.scheme == ANYK_PART_GPT ? "gpt" : "mbr");
			json_kuint(j, "start", pi.start);
			json_kuint(j, "size", pi.size);
			json_kstr(j, "type", part_type(&pi, tbuf, sizeof(tbuf)));
			if (pi.scheme == ANYK_PART_GPT) {
				json_kstr(j, "name", pi.name);
				fmt_guid(g, sizeof(g), pi.guid, 1);
				json_kstr(j, "guid", g);
			} else {
				json_kbool(j, "bootable", pi.bootable);
			}
			json_obj_end(j);
		} else {
			printf("  %-3u %12llu %12llu  %-16s %s%s\n", pi.number,
			    (unsigned long long)pi.start, (unsigned long long)pi.size,
			    part_type(&pi, tbuf, sizeof(tbuf)),
			    pi.scheme == ANYK_PART_GPT ? pi.name : "",
			    pi.bootable ? " (bootable)" : "");
		}
	}
	if (js) {
		json_arr_end(j);
		json_key(j, "filesystems");
		json_arr_begin(j);
	} else if (nparts == 0) {
		printf("Partition table: none\n");
	}
	/* The whole disk, then each partition, as far as they hold a file system. */
	for (i = -1; i < nparts; i++) {
		if (i >= 0 && (anyk_disk_partinfo(disk, i, &pi) != 0 || pi.extended))
			continue;
		spec = xmalloc(strlen(arg) + 32);
		if (i < 0)
			sprintf(spec, "%s:/", arg);
		else
			sprintf(spec, "%s@%u:/", arg, pi.number);
		if (img_path_parse(spec, &p) == 0) {
			/* Only what holds a file system anyk knows; with a table, the
			 * whole disk only if it is one itself. */
			if ((i >= 0 || nparts > 0) && !has_fs(i < 0 ? disk : pi.devpath)) {
				img_path_free(&p);
				free(spec);
				continue;
			}
			if (img_add(s, &p, 0) == EXIT_OK) {
				show_fs(s, &p, j, js);
				shown++;
			} else {
				r = EXIT_FAIL;
			}
			img_enter(s, -1);
		}
		img_path_free(&p);
		free(spec);
	}
	if (js) {
		json_arr_end(j);
		json_obj_end(j);
	}
	anyk_disk_detach(disk);
	if (shown == 0 && r == EXIT_OK)
		r = err_msg(arg, "no file system anyk knows (ext2/3/4) found");
	return r;
}

int
cmd_img_info(int argc, char **argv)
{
	static const struct tool_cmd cmd = IMG_TOOL_CMD(info);
	static const struct lopt longs[] = { { "json", 0, IOPT_JSON }, { NULL, 0, 0 } };
	struct img_session s;
	struct iopts o;
	struct json j;
	int c, i, js = 0, status = EXIT_OK;

	iopt_init(&o, &cmd, &s, argc, argv);
	while ((c = iopt_next(&o, "", longs)) != IOPT_END) {
		if (c != IOPT_JSON)
			return iopt_fail(c);
		js = 1;
	}
	if (o.noperands == 0)
		return err_usage(&cmd, "missing IMAGE");
	if (js) {
		json_init(&j, stdout);
		json_arr_begin(&j);
	}
	for (i = 0; i < o.noperands; i++)
		if (info_one(&s, o.operands[i], &j, js) != EXIT_OK)
			status = EXIT_FAIL;
	if (js) {
		json_arr_end(&j);
		json_end(&j);
	}
	return img_close(&s, status);
}

/* --- check ------------------------------------------------------------------------ */

struct check {
	struct img_path *p;
	uint64_t files, dirs, links, bytes, xattrs, errors;
	uint64_t encrypted; /* encrypted (ENOKEY): not read, nothing wrong */
	char *buf;
};

/* What reading path gave e: an error, or something encrypted. */
static void
check_fail(struct check *c, const char *path, int e)
{
#ifdef ENOKEY
	if (e == ENOKEY) {
		c->encrypted++;
		return;
	}
#endif
	img_err(c->p, path, e);
	c->errors++;
}

static void
check_xattrs(struct check *c, const char *path)
{
	static char list[ANYK_XATTR_LIST_MAX], val[ANYK_XATTR_SIZE_MAX];
	anyk_ssize_t n;
	char *a;

	n = anyk_sys_llistxattr(path, list, sizeof(list));
	if (n < 0) {
		if (errno != ENOTSUP) {
			img_err(c->p, path, errno);
			c->errors++;
		}
		return;
	}
	for (a = list; a < list + n; a += strlen(a) + 1) {
		if (anyk_sys_lgetxattr(path, a, val, sizeof(val)) < 0) {
			img_errmsg(c->p, path, "extended attribute %s: %s", a, strerror(errno));
			c->errors++;
		}
		c->xattrs++;
	}
}

static void
check_walk(struct check *c, const char *path, int depth)
{
	struct anyk_stat st;
	char **names, *sub, lt[ANYK_PATH_MAX];
	anyk_ssize_t n;
	size_t cnt, i;
	int fd;

	if (anyk_sys_lstat(path, &st) != 0) {
		img_err(c->p, path, errno);
		c->errors++;
		return;
	}
	check_xattrs(c, path);
	if (ANYK_S_ISLNK(st.st_mode)) {
		c->links++;
		if (anyk_sys_readlink(path, lt, sizeof(lt)) < 0)
			check_fail(c, path, errno);
		return;
	}
	if (ANYK_S_ISREG(st.st_mode)) {
		c->files++;
		fd = anyk_sys_open(path, ANYK_O_RDONLY | ANYK_O_CLOEXEC, 0);
		if (fd < 0) {
			img_err(c->p, path, errno);
			c->errors++;
			return;
		}
		while ((n = anyk_sys_read(fd, c->buf, 1 << 20)) > 0)
			c->bytes += (uint64_t)n;
		if (n < 0)
			check_fail(c, path, errno);
		anyk_sys_close(fd);
		return;
	}
	if (!ANYK_S_ISDIR(st.st_mode))
		return;
	c->dirs++;
	if (depth > 4000 || kdir_names(path, &names, &cnt) != 0) {
		check_fail(c, path, depth > 4000 ? ELOOP : errno);
		return;
	}
	for (i = 0; i < cnt; i++) {
		sub = path_join(path, names[i]);
		check_walk(c, sub, depth + 1);
		free(sub);
	}
	knames_free(names, cnt);
}

int
cmd_img_check(int argc, char **argv)
{
	static const struct tool_cmd cmd = IMG_TOOL_CMD(check);
	struct img_session s;
	struct img_path p;
	struct check c;
	struct iopts o;
	char *before, *after, *line, *save = NULL, base[32];
	size_t blen;
	int ch, i, q = 0, status = EXIT_OK, problems;

	iopt_init(&o, &cmd, &s, argc, argv);
	while ((ch = iopt_next(&o, "qo:", NULL)) != IOPT_END) {
		if (ch != 'q')
			return iopt_fail(ch);
		q = 1;
	}
	if (o.noperands == 0)
		return err_usage(&cmd, "missing IMAGE");
	if (img_boot(&s) != EXIT_OK)
		return EXIT_FAIL;
	for (i = 0; i < o.noperands; i++) {
		memset(&c, 0, sizeof(c));
		before = read_dmesg_level(ANYK_LOG_WARN);
		blen = before ? strlen(before) : 0;
		ch = image_operand(&s, &p, o.operands[i]);
		problems = 0;
		if (ch == EXIT_OK) {
			c.p = &p;
			c.buf = xmalloc(1 << 20);
			img_enter(&s, p.img);
			check_walk(&c, p.path, 0);
			free(c.buf);
			img_enter(&s, -1);
		}
		/* The driver's complaints about this device since the attach:
		 * its warnings and errors, not its notes (on attaching and
		 * mounting, or on features that only rule out writing: check
		 * only reads). */
		after = read_dmesg_level(ANYK_LOG_WARN);
		if (after != NULL && ch == EXIT_OK) {
			path_last(base, sizeof(base), s.img[p.img].dev);
			/* The ring may have dropped old lines: take what is new. */
			line = strlen(after) >= blen && before && strncmp(after, before, blen) == 0 ? after + blen : after;
			for (line = strtok_r(line, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
				if (strstr(line, base) == NULL)
					continue;
				fprintf(stderr, "anyk: %s: kernel: %s\n", o.operands[i], line);
				problems++;
			}
		}
		free(before);
		free(after);
		if (ch == EXIT_OK && !q && c.encrypted)
			printf("%s: %llu encrypted files, links or directories not read (no key)\n",
			       o.operands[i], (unsigned long long)c.encrypted);
		if (ch == EXIT_OK && !q)
			printf("%s: %s, %llu directories, %llu files (%llu bytes), %llu symbolic links, "
			    "%llu extended attributes: %s\n", o.operands[i], s.img[p.img].fstype,
			    (unsigned long long)c.dirs, (unsigned long long)c.files,
			    (unsigned long long)c.bytes, (unsigned long long)c.links,
			    (unsigned long long)c.xattrs,
			    c.errors + (uint64_t)problems ? "PROBLEMS FOUND" : "ok");
		if (ch != EXIT_OK)
			status = ch;
		else if (c.errors || problems)
			status = EXIT_FAIL;
		img_path_free(&p);
	}
	return img_close(&s, status);
}
