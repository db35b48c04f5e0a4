/*
 * anyk ls and anyk stat: look at files inside a disk image without
 * mounting it on the host, in the formats ls(1) and stat(1) users know,
 * or as JSON for scripts.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/image.h"
#include "tools/json.h"

const char img_usage_ls[] =
	"[-laRdh] [--sort=name|size|time] [--json] [-o OPTS] IMAGE[@PART]:PATH...";
const char img_help_ls[] =
	"List files inside a disk image.\n"
	"PATH is a directory or a file inside the image's file system; PART is a\n"
	"partition number or GPT partition name (IMAGE@2:/etc, IMAGE@root:/).\n"
	"  -l            long format: mode, links, owner, group, size, date\n"
	"  -a            include names starting with '.', and . and ..\n"
	"  -R            list subdirectories recursively\n"
	"  -d            list directories themselves, not their contents\n"
	"  -h            sizes like 1.5K, 64M (with -l)\n"
	"  --sort=KEY    name (default), size (largest first), time (newest first)\n"
	"  --json        one JSON array of objects (name, path, type, mode, ...)\n"
	"  -o OPTS       mount options (ro, norecovery)";

const char img_usage_stat[] = "[--json] [-L] [-o OPTS] IMAGE[@PART]:PATH...";
const char img_help_stat[] =
	"Show the status of files inside a disk image.\n"
	"Type, size, blocks, inode, links, mode, owners and the four times with\n"
	"nanoseconds, as stat(1) shows them. -L follows a final symbolic link.\n"
	"--json prints one JSON array with an object per file.";

enum { SORT_NAME, SORT_SIZE, SORT_TIME };
enum { O_SORT = IOPT_JSON + 1 };

struct ls {
	int l, a, R, d, h, sort, json;
	struct json j;
	struct img_path *p;
	int status;
	int headings;
	int printed;
};

struct ent {
	char *name;
	char *path;
	struct anyk_stat st;
	int ok;
};

const char *
img_type_word(anyk_mode_t mode)
{
	switch (mode & ANYK_S_IFMT) {
	case ANYK_S_IFREG: return "file";
	case ANYK_S_IFDIR: return "directory";
	case ANYK_S_IFLNK: return "symlink";
	case ANYK_S_IFBLK: return "block";
	case ANYK_S_IFCHR: return "char";
	case ANYK_S_IFIFO: return "fifo";
	case ANYK_S_IFSOCK: return "socket";
	default: return "unknown";
	}
}

static void
json_time(struct json *j, const char *k, const struct anyk_timespec *ts)
{
	char key[32];

	snprintf(key, sizeof(key), "%s", k);
	json_kint(j, key, ts->tv_sec);
	snprintf(key, sizeof(key), "%s_nsec", k);
	json_kint(j, key, ts->tv_nsec);
}

/* File flags by name, as lsattr(1) calls them in its long form. */
static const struct {
	uint32_t bit;
	const char *name;
} flag_names[] = {
	{ ANYK_FL_SECRM, "secure_deletion" }, { ANYK_FL_UNRM, "undelete" },
	{ ANYK_FL_SYNC, "synchronous_updates" }, { ANYK_FL_IMMUTABLE, "immutable" },
	{ ANYK_FL_APPEND, "append_only" }, { ANYK_FL_NODUMP, "no_dump" },
	{ ANYK_FL_NOATIME, "no_atime" }, { ANYK_FL_ENCRYPT, "encrypted" },
	{ ANYK_FL_INDEX, "indexed_directory" }, { ANYK_FL_NOTAIL, "no_tail_merging" },
	{ ANYK_FL_DIRSYNC, "synchronous_directory_updates" }, { ANYK_FL_TOPDIR, "top_of_directory_hierarchies" },
	{ ANYK_FL_HUGE_FILE, "huge_file" }, { ANYK_FL_EXTENTS, "extents" },
	{ ANYK_FL_VERITY, "verity" }, { ANYK_FL_INLINE_DATA, "inline_data" },
	{ ANYK_FL_PROJINHERIT, "project_hierarchy" }, { ANYK_FL_CASEFOLD, "casefold" },
};

void
img_json_stat(struct json *j, const char *name, const char *path,
	      const struct anyk_stat *st, const char *target)
{
	char mode[16];

	json_obj_begin(j);
	if (name != NULL)
		json_kstr(j, "name", name);
	json_kstr(j, "path", path);
	json_kstr(j, "type", img_type_word(st->st_mode));
	snprintf(mode, sizeof(mode), "%04o", (unsigned)(st->st_mode & 07777));
	json_kstr(j, "mode", mode);
	json_kuint(j, "ino", st->st_ino);
	json_kuint(j, "nlink", st->st_nlink);
	json_kuint(j, "uid", st->st_uid);
	json_kuint(j, "gid", st->st_gid);
	json_kint(j, "size", st->st_size);
	json_kint(j, "blocks", st->st_blocks);
	if (ANYK_S_ISBLK(st->st_mode) || ANYK_S_ISCHR(st->st_mode)) {
		json_kuint(j, "major", ANYK_MAJOR(st->st_rdev));
		json_kuint(j, "minor", ANYK_MINOR(st->st_rdev));
	}
	json_time(j, "atime", &st->st_atim);
	json_time(j, "mtime", &st->st_mtim);
	json_time(j, "ctime", &st->st_ctim);
	json_key(j, "flags");
	json_arr_begin(j);
	for (size_t i = 0; i < sizeof(flag_names) / sizeof(flag_names[0]); i++)
		if (st->st_flags & flag_names[i].bit)
			json_str(j, flag_names[i].name);
	json_arr_end(j);
	json_kuint(j, "project", st->st_projid);
	if (target != NULL)
		json_kstr(j, "target", target);
	json_obj_end(j);
}

/* The target of symlink path, or NULL; malloc'ed. */
static char *
link_target(const char *path)
{
	char buf[ANYK_PATH_MAX];
	anyk_ssize_t n = anyk_sys_readlink(path, buf, sizeof(buf) - 1);

	if (n < 0)
		return NULL;
	buf[n] = '\0';
	return xstrdup(buf);
}

static int
cmp_ent(const void *a, const void *b, int sort)
{
	const struct ent *x = a, *y = b;

	if (sort == SORT_SIZE && x->st.st_size != y->st.st_size)
		return x->st.st_size > y->st.st_size ? -1 : 1;
	if (sort == SORT_TIME) {
		if (x->st.st_mtim.tv_sec != y->st.st_mtim.tv_sec)
			return x->st.st_mtim.tv_sec > y->st.st_mtim.tv_sec ? -1 : 1;
		if (x->st.st_mtim.tv_nsec != y->st.st_mtim.tv_nsec)
			return x->st.st_mtim.tv_nsec > y->st.st_mtim.tv_nsec ? -1 : 1;
	}
	return strcmp(x->name, y->name);
}

static int sort_key;
static int cmp_ent_q(const void *a, const void *b) { return cmp_ent(a, b, sort_key); }

static void
print_one(struct ls *ls, const struct ent *e)
{
	char mode[12], size[32], date[64], *target = NULL;

	if (ANYK_S_ISLNK(e->st.st_mode) && (ls->l || ls->json))
		target = link_target(e->path);
	if (ls->json) {
		img_json_stat(&ls->j, e->name, e->path, &e->st, target);
		free(target);
		return;
	}
	if (!ls->l) {
		printf("%s\n", e->name);
		return;
	}
	fmt_mode(mode, e->st.st_mode);
	if (ANYK_S_ISBLK(e->st.st_mode) || ANYK_S_ISCHR(e->st.st_mode))
		snprintf(size, sizeof(size), "%u, %u", ANYK_MAJOR(e->st.st_rdev),
		    ANYK_MINOR(e->st.st_rdev));
	else if (ls->h)
		fmt_human(size, sizeof(size), (uint64_t)e->st.st_size);
	else
		snprintf(size, sizeof(size), "%lld", (long long)e->st.st_size);
	fmt_ls_time(date, sizeof(date), &e->st.st_mtim);
	printf("%s %3llu %5u %5u %8s %s %s%s%s\n", mode, (unsigned long long)e->st.st_nlink,
	    e->st.st_uid, e->st.st_gid, size, date, e->name, target ? " -> " : "",
	    target ? target : "");
	free(target);
}

static void
free_ents(struct ent *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].path);
	}
	free(v);
}

static void
list_dir(struct ls *ls, const char *dir, int depth)
{
	char **names;
	size_t n, i, k = 0;
	struct ent *v;

	if (kdir_names(dir, &names, &n) != 0) {
		ls->status = img_err(ls->p, dir, errno);
		return;
	}
	v = xmalloc(sizeof(*v) * (n + 2));
	if (ls->a) {
		v[k].name = xstrdup(".");
		v[k].path = xstrdup(dir);
		v[k].ok = anyk_sys_lstat(dir, &v[k].st) == 0;
		k++;
		v[k].name = xstrdup("..");
		v[k].path = path_join(dir, "..");
		v[k].ok = anyk_sys_lstat(v[k].path, &v[k].st) == 0;
		k++;
	}
	for (i = 0; i < n; i++) {
		if (names[i][0] == '.' && !ls->a) {
			free(names[i]);
			continue;
		}
		v[k].name = names[i];
		v[k].path = path_join(dir, names[i]);
		v[k].ok = anyk_sys_lstat(v[k].path, &v[k].st) == 0;
		if (!v[k].ok) {
			ls->status = img_err(ls->p, v[k].path, errno);
			free(v[k].name);
			free(v[k].path);
			continue;
		}
		k++;
	}
	free(names);
	sort_key = ls->sort;
	qsort(v, k, sizeof(*v), cmp_ent_q);
	if (ls->headings && !ls->json) {
		if (ls->printed++)
			printf("\n");
		printf("%s:\n", dir);
	}
	for (i = 0; i < k; i++)
		print_one(ls, &v[i]);
	if (ls->R) {
		for (i = 0; i < k; i++) {
			if (!ANYK_S_ISDIR(v[i].st.st_mode) || strcmp(v[i].name, ".") == 0 ||
			    strcmp(v[i].name, "..") == 0)
				continue;
			list_dir(ls, v[i].path, depth + 1);
		}
	}
	free_ents(v, k);
}

static int
ls_operand(struct ls *ls, struct img_session *s, struct img_path *p)
{
	struct ent e;
	int r;

	ls->p = p;
	img_enter(s, p->img);
	/* A symlink to a directory is listed as the directory, as ls does
	 * without -l and -d. */
	r = (ls->d || ls->l) ? anyk_sys_lstat(p->path, &e.st) : anyk_sys_stat(p->path, &e.st);
	if (r != 0 && errno == ENOENT)
		r = anyk_sys_lstat(p->path, &e.st);
	if (r != 0)
		return img_err(p, NULL, errno);
	/* "ls -l link/" lists the directory the link points to. */
	if (ls->l && !ls->d && ANYK_S_ISLNK(e.st.st_mode) && p->path[strlen(p->path) - 1] == '/')
		(void)anyk_sys_stat(p->path, &e.st);
	if (ANYK_S_ISDIR(e.st.st_mode) && !ls->d) {
		list_dir(ls, p->path, 0);
		return EXIT_OK;
	}
	e.name = p->path;
	e.path = p->path;
	print_one(ls, &e);
	return EXIT_OK;
}

int
cmd_img_ls(int argc, char **argv)
{
	static const struct tool_cmd cmd = IMG_TOOL_CMD(ls);
	static const struct lopt longs[] = {
		{ "sort", 1, O_SORT }, { "json", 0, IOPT_JSON }, { NULL, 0, 0 },
	};
	struct img_session s;
	struct img_path *p;
	struct iopts o;
	struct ls ls;
	int c, i, status = EXIT_OK;

	memset(&ls, 0, sizeof(ls));
	iopt_init(&o, &cmd, &s, argc, argv);
	while ((c = iopt_next(&o, "laRdho:", longs)) != IOPT_END) {
		switch (c) {
		case 'l': ls.l = 1; break;
		case 'a': ls.a = 1; break;
		case 'R': ls.R = 1; break;
		case 'd': ls.d = 1; break;
		case 'h': ls.h = 1; break;
		case IOPT_JSON: ls.json = 1; break;
		case O_SORT:
			if (strcmp(o.arg, "name") == 0)
				ls.sort = SORT_NAME;
			else if (strcmp(o.arg, "size") == 0)
				ls.sort = SORT_SIZE;
			else if (strcmp(o.arg, "time") == 0)
				ls.sort = SORT_TIME;
			else
				return err_usage(&cmd, "--sort takes name, size or time, not '%s'", o.arg);
			break;
		default:
			return iopt_fail(c);
		}
	}
	if (o.noperands == 0)
		return err_usage(&cmd, "missing IMAGE:PATH");
	p = xmalloc(sizeof(*p) * (size_t)o.noperands);
	ls.headings = o.noperands > 1 || ls.R;
	if (ls.json) {
		json_init(&ls.j, stdout);
		json_arr_begin(&ls.j);
	}
	for (i = 0; i < o.noperands; i++) {
		c = img_operand(&s, &p[i], o.operands[i], 0, 0);
		if (c == EXIT_OK)
			c = ls_operand(&ls, &s, &p[i]);
		if (c != EXIT_OK && status != EXIT_USAGE)
			status = c;
		img_path_free(&p[i]);
	}
	if (ls.json) {
		json_arr_end(&ls.j);
		json_end(&ls.j);
	}
	if (ls.status != EXIT_OK && status == EXIT_OK)
		status = ls.status;
	free(p);
	return img_close(&s, status);
}

/* --- stat --------------------------------------------------------------------- */

static void
print_stat(const char *name, const struct anyk_stat *st, const char *target)
{
	char mode[12], t[4][80];

	fmt_mode(mode, st->st_mode);
	fmt_full_time(t[0], sizeof(t[0]), &st->st_atim);
	fmt_full_time(t[1], sizeof(t[1]), &st->st_mtim);
	fmt_full_time(t[2], sizeof(t[2]), &st->st_ctim);
	printf("  File: %s%s%s\n", name, target ? " -> " : "", target ? target : "");
	printf("  Size: %-15lld Blocks: %-10lld IO Block: %-6lld %s\n",
	    (long long)st->st_size, (long long)st->st_blocks, (long long)st->st_blksize,
	    fmt_type(st->st_mode));
	printf("Device: %llxh/%llud\tInode: %-11llu Links: %llu",
	    (unsigned long long)st->st_dev, (unsigned long long)st->st_dev,
	    (unsigned long long)st->st_ino, (unsigned long long)st->st_nlink);
	if (ANYK_S_ISBLK(st->st_mode) || ANYK_S_ISCHR(st->st_mode))
		printf("\tDevice type: %u,%u", ANYK_MAJOR(st->st_rdev), ANYK_MINOR(st->st_rdev));
	printf("\nAccess: (%04o/%s)  Uid: (%5u)   Gid: (%5u)\n",
	    (unsigned)(st->st_mode & 07777), mode, st->st_uid, st->st_gid);
	printf("Access: %s\nModify: %s\nChange: %s\n", t[0], t[1], t[2]);
	if (st->st_birthtim.tv_sec != 0 || st->st_birthtim.tv_nsec != 0) {
		fmt_full_time(t[3], sizeof(t[3]), &st->st_birthtim);
		printf(" Birth: %s\n", t[3]);
	} else {
		printf(" Birth: -\n");
	}
	if (st->st_flags != 0) {
		const char *sep = "";

		printf(" Flags:");
		for (size_t i = 0; i < sizeof(flag_names) / sizeof(flag_names[0]); i++) {
			if (st->st_flags & flag_names[i].bit) {
				printf("%s %s", sep, flag_names[i].name);
				sep = ",";
			}
		}
		printf("\n");
	}
	if (st->st_projid != 0)
		printf("Project: %u\n", st->st_projid);
}

int
cmd_img_stat(int argc, char **argv)
{
	static const struct tool_cmd cmd = IMG_TOOL_CMD(stat);
	static const struct lopt longs[] = {
		{ "json", 0, IOPT_JSON }, { "dereference", 0, 'L' }, { NULL, 0, 0 },
	};
	struct img_session s;
	struct img_path p;
	struct anyk_stat st;
	struct json j;
	struct iopts o;
	char *target, *name;
	int c, i, js = 0, follow = 0, status = EXIT_OK;

	iopt_init(&o, &cmd, &s, argc, argv);
	while ((c = iopt_next(&o, "Lo:", longs)) != IOPT_END) {
		switch (c) {
		case 'L': follow = 1; break;
		case IOPT_JSON: js = 1; break;
		default:
			return iopt_fail(c);
		}
	}
	if (o.noperands == 0)
		return err_usage(&cmd, "missing IMAGE:PATH");
	if (js) {
		json_init(&j, stdout);
		json_arr_begin(&j);
	}
	for (i = 0; i < o.noperands; i++) {
		c = img_operand(&s, &p, o.operands[i], 0, 0);
		if (c == EXIT_OK) {
			img_enter(&s, p.img);
			if ((follow ? anyk_sys_stat(p.path, &st) : anyk_sys_lstat(p.path, &st)) != 0) {
				c = img_err(&p, NULL, errno);
			} else {
				target = ANYK_S_ISLNK(st.st_mode) ? link_target(p.path) : NULL;
				name = img_name(&p, NULL);
				if (js)
					img_json_stat(&j, NULL, p.path, &st, target);
				else
					print_stat(name, &st, target);
				free(name);
				free(target);
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
