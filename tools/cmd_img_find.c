/*
 * anyk find and anyk du: walk a tree inside a disk image. Neither follows
 * symbolic links, so a looping or escaping link is listed, never entered.
 */
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/image.h"
#include "tools/json.h"

const char img_usage_find[] =
	"IMAGE[@PART]:PATH... [-name GLOB] [-type f|d|l|b|c|p|s] [-size [+-]N[kMG]]\n"
	"       [-newer IMAGE:FILE] [-maxdepth N] [-mindepth N] [--json]";
const char img_help_find[] =
	"Find files inside a disk image.\n"
	"All tests must match (they are ANDed). -size N with no suffix counts\n"
	"512-byte blocks as find(1) does; k, M, G count KiB, MiB, GiB; +N means\n"
	"more, -N less. -newer compares modification times with FILE in the same\n"
	"image. --json prints one JSON array of objects.";

const char img_usage_du[] = "[-s] [-h] [-a] [-b] IMAGE[@PART]:PATH...";
const char img_help_du[] =
	"Show the disk space used inside a disk image.\n"
	"  -s  only a total for each argument   -h  sizes like 1.5M\n"
	"  -a  files too, not only directories  -b  apparent sizes in bytes\n"
	"Sizes are in KiB by default; hard-linked files count once.";

struct find {
	const char *name;
	int type;
	int size_cmp;          /* -1 less, 0 exactly, 1 more; 2: no test */
	uint64_t size_n, size_unit;
	int have_newer;
	struct anyk_timespec newer;
	int maxdepth, mindepth;
	int json;
	struct json j;
	struct img_path *p;
	int status;
};

static int
type_char(anyk_mode_t m)
{
	switch (m & ANYK_S_IFMT) {
	case ANYK_S_IFREG: return 'f';
	case ANYK_S_IFDIR: return 'd';
	case ANYK_S_IFLNK: return 'l';
	case ANYK_S_IFBLK: return 'b';
	case ANYK_S_IFCHR: return 'c';
	case ANYK_S_IFIFO: return 'p';
	case ANYK_S_IFSOCK: return 's';
	default: return '?';
	}
}

static int
matches(struct find *f, const char *path, const struct anyk_stat *st, int depth)
{
	char name[ANYK_NAME_MAX + 1];
	uint64_t units;

	if (depth < f->mindepth)
		return 0;
	if (f->name != NULL) {
		path_last(name, sizeof(name), path);
		if (fnmatch(f->name, name, 0) != 0)
			return 0;
	}
	if (f->type != 0 && type_char(st->st_mode) != f->type)
		return 0;
	if (f->size_cmp != 2) {
		/* Rounded up to whole units, as find(1) does. */
		units = ((uint64_t)st->st_size + f->size_unit - 1) / f->size_unit;
		if (f->size_cmp == 0 && units != f->size_n)
			return 0;
		if (f->size_cmp > 0 && units <= f->size_n)
			return 0;
		if (f->size_cmp < 0 && units >= f->size_n)
			return 0;
	}
	if (f->have_newer && (st->st_mtim.tv_sec < f->newer.tv_sec ||
	    (st->st_mtim.tv_sec == f->newer.tv_sec && st->st_mtim.tv_nsec <= f->newer.tv_nsec)))
		return 0;
	return 1;
}

static void
find_walk(struct find *f, const char *path, int depth)
{
	struct anyk_stat st;
	char **names, *sub, buf[ANYK_PATH_MAX];
	anyk_ssize_t n;
	size_t cnt, i;

	if (anyk_sys_lstat(path, &st) != 0) {
		f->status = img_err(f->p, path, errno);
		return;
	}
	if (matches(f, path, &st, depth)) {
		if (f->json) {
			n = ANYK_S_ISLNK(st.st_mode) ? anyk_sys_readlink(path, buf, sizeof(buf) - 1) : -1;
			if (n >= 0)
				buf[n] = '\0';
			img_json_stat(&f->j, NULL, path, &st, n >= 0 ? buf : NULL);
		} else {
			printf("%s\n", path);
		}
	}
	if (!ANYK_S_ISDIR(st.st_mode) || (f->maxdepth >= 0 && depth >= f->maxdepth))
		return;
	if (kdir_names(path, &names, &cnt) != 0) {
		f->status = img_err(f->p, path, errno);
		return;
	}
	for (i = 0; i < cnt; i++) {
		sub = path_join(path, names[i]);
		find_walk(f, sub, depth + 1);
		free(sub);
	}
	knames_free(names, cnt);
}

static int
parse_find_size(struct find *f, const char *s)
{
	char num[32];
	size_t len;
	uint64_t v;

	f->size_cmp = 0;
	if (*s == '+' || *s == '-')
		f->size_cmp = *s++ == '+' ? 1 : -1;
	len = strlen(s);
	f->size_unit = 512;
	if (len > 0 && strchr("ckMG", s[len - 1]) != NULL) {
		switch (s[len - 1]) {
		case 'c': f->size_unit = 1; break;
		case 'k': f->size_unit = 1024; break;
		case 'M': f->size_unit = 1 << 20; break;
		case 'G': f->size_unit = 1 << 30; break;
		}
		len--;
	}
	if (len == 0 || len >= sizeof(num))
		return -1;
	memcpy(num, s, len);
	num[len] = '\0';
	if (parse_uint(num, UINT64_MAX, &v) != 0)
		return -1;
	f->size_n = v;
	return 0;
}

int
cmd_img_find(int argc, char **argv)
{
	static const struct tool_cmd cmd = IMG_TOOL_CMD(find);
	struct img_session s;
	struct img_path p, newer;
	struct anyk_stat st;
	struct find f;
	const char *newer_arg = NULL;
	uint64_t v;
	int i, np = 0, status = EXIT_OK;
	char *a, **ops = argv + 1;

	memset(&f, 0, sizeof(f));
	f.size_cmp = 2;
	f.maxdepth = -1;
	img_session_init(&s);
	/* find's own syntax: operands first, then single-dash long tests.
	 * Operands are gathered at the front of argv, as iopt_next does. */
	for (i = 1; i < argc; i++) {
		a = argv[i];
		if (strcmp(a, "--help") == 0) {
			cmd_print_help(stdout, &cmd, "anyk ");
			return EXIT_OK;
		}
		if (strcmp(a, "--json") == 0) {
			f.json = 1;
			continue;
		}
		if (a[0] != '-') {
			ops[np++] = a;
			continue;
		}
		if (strcmp(a, "-name") != 0 && strcmp(a, "-type") != 0 && strcmp(a, "-size") != 0 &&
		    strcmp(a, "-newer") != 0 && strcmp(a, "-maxdepth") != 0 &&
		    strcmp(a, "-mindepth") != 0 && strcmp(a, "-o") != 0)
			return err_usage(&cmd, "unknown test '%s'", a);
		if (i + 1 >= argc)
			return err_usage(&cmd, "missing argument to '%s'", a);
		if (strcmp(a, "-name") == 0) {
			f.name = argv[++i];
		} else if (strcmp(a, "-type") == 0) {
			f.type = argv[++i][0];
			if (strchr("fdlbcps", f.type) == NULL || argv[i][1] != '\0')
				return err_usage(&cmd, "-type takes one of f d l b c p s");
		} else if (strcmp(a, "-size") == 0) {
			if (parse_find_size(&f, argv[++i]) != 0)
				return err_usage(&cmd, "invalid -size '%s'", argv[i]);
		} else if (strcmp(a, "-newer") == 0) {
			newer_arg = argv[++i];
		} else if (strcmp(a, "-maxdepth") == 0 || strcmp(a, "-mindepth") == 0) {
			if (parse_uint(argv[i + 1], 100000, &v) != 0)
				return err_usage(&cmd, "invalid %s '%s'", a, argv[i + 1]);
			if (a[2] == 'a')
				f.maxdepth = (int)v;
			else
				f.mindepth = (int)v;
			i++;
		} else if (strcmp(a, "-o") == 0) {
			img_set_mount_opts(&s, argv[++i]);
		} else {
			return err_usage(&cmd, "unknown test '%s'", a);
		}
	}
	if (np == 0)
		return err_usage(&cmd, "missing IMAGE:PATH");
	if (f.json) {
		json_init(&f.j, stdout);
		json_arr_begin(&f.j);
	}
	for (i = 0; i < np; i++) {
		int r = img_operand(&s, &p, ops[i], 0, 0);
		if (r == EXIT_OK && newer_arg != NULL && !f.have_newer) {
			const char *na = newer_arg;
			/* A bare path is in the first operand's image. */
			char *full = NULL;
			if (strchr(na, ':') == NULL) {
				full = xmalloc(strlen(p.file) + strlen(na) + 2 +
				    (p.part ? strlen(p.part) + 1 : 0));
				sprintf(full, "%s%s%s:%s", p.file, p.part ? "@" : "",
				    p.part ? p.part : "", na);
				na = full;
			}
			r = img_operand(&s, &newer, na, 0, 0);
			if (r == EXIT_OK) {
				img_enter(&s, newer.img);
				if (anyk_sys_stat(newer.path, &st) != 0)
					r = img_err(&newer, NULL, errno);
				else
					f.newer = st.st_mtim, f.have_newer = 1;
			}
			img_path_free(&newer);
			free(full);
		}
		if (r == EXIT_OK) {
			f.p = &p;
			img_enter(&s, p.img);
			find_walk(&f, p.path, 0);
		}
		if (r != EXIT_OK)
			status = r;
		img_path_free(&p);
		if (r == EXIT_USAGE)
			break;
	}
	if (f.json) {
		json_arr_end(&f.j);
		json_end(&f.j);
	}
	if (f.status != EXIT_OK && status == EXIT_OK)
		status = f.status;
	return img_close(&s, status);
}

/* --- du --------------------------------------------------------------------------- */

struct du {
	int s, h, a, b;
	struct img_path *p;
	int status;
	uint64_t *seen;
	size_t nseen, capseen;
};

static int
seen_before(struct du *d, uint64_t ino)
{
	size_t i;

	for (i = 0; i < d->nseen; i++)
		if (d->seen[i] == ino)
			return 1;
	if (d->nseen == d->capseen) {
		d->capseen = d->capseen ? d->capseen * 2 : 256;
		d->seen = realloc(d->seen, d->capseen * sizeof(*d->seen));
		if (d->seen == NULL) {
			fprintf(stderr, "anyk: out of memory\n");
			exit(EXIT_FAIL);
		}
	}
	d->seen[d->nseen++] = ino;
	return 0;
}

static void
du_print(struct du *d, uint64_t bytes, const char *path)
{
	char buf[32];

	if (d->h)
		fmt_human(buf, sizeof(buf), bytes);
	else if (d->b)
		snprintf(buf, sizeof(buf), "%llu", (unsigned long long)bytes);
	else
		snprintf(buf, sizeof(buf), "%llu", (unsigned long long)((bytes + 1023) / 1024));
	printf("%s\t%s\n", buf, path);
}

static uint64_t
du_walk(struct du *d, const char *path, int depth)
{
	struct anyk_stat st;
	char **names, *sub;
	size_t n, i;
	uint64_t sum;

	if (anyk_sys_lstat(path, &st) != 0) {
		d->status = img_err(d->p, path, errno);
		return 0;
	}
	if (st.st_nlink > 1 && !ANYK_S_ISDIR(st.st_mode) && seen_before(d, st.st_ino))
		return 0;
	sum = d->b ? (uint64_t)st.st_size : (uint64_t)st.st_blocks * 512;
	if (ANYK_S_ISDIR(st.st_mode)) {
		if (kdir_names(path, &names, &n) != 0) {
			d->status = img_err(d->p, path, errno);
		} else {
			for (i = 0; i < n; i++) {
				sub = path_join(path, names[i]);
				sum += du_walk(d, sub, depth + 1);
				free(sub);
			}
			knames_free(names, n);
		}
	}
	if (depth == 0 || (!d->s && (ANYK_S_ISDIR(st.st_mode) || d->a)))
		du_print(d, sum, path);
	return sum;
}

int
cmd_img_du(int argc, char **argv)
{
	static const struct tool_cmd cmd = IMG_TOOL_CMD(du);
	static const struct lopt longs[] = {
		{ "summarize", 0, 's' }, { "human-readable", 0, 'h' }, { "all", 0, 'a' },
		{ "bytes", 0, 'b' }, { NULL, 0, 0 },
	};
	struct img_session s;
	struct img_path p;
	struct iopts o;
	struct du d;
	int c, i, status = EXIT_OK;

	memset(&d, 0, sizeof(d));
	iopt_init(&o, &cmd, &s, argc, argv);
	while ((c = iopt_next(&o, "shabo:", longs)) != IOPT_END) {
		switch (c) {
		case 's': d.s = 1; break;
		case 'h': d.h = 1; break;
		case 'a': d.a = 1; break;
		case 'b': d.b = 1; break;
		default:
			return iopt_fail(c);
		}
	}
	if (o.noperands == 0)
		return err_usage(&cmd, "missing IMAGE:PATH");
	for (i = 0; i < o.noperands; i++) {
		c = img_operand(&s, &p, o.operands[i], 0, 0);
		if (c == EXIT_OK) {
			d.p = &p;
			img_enter(&s, p.img);
			du_walk(&d, p.path, 0);
		}
		if (c != EXIT_OK && status != EXIT_USAGE)
			status = c;
		img_path_free(&p);
	}
	if (d.status != EXIT_OK && status == EXIT_OK)
		status = d.status;
	free(d.seen);
	return img_close(&s, status);
}
