/*
 * The shell's ls: names one per line, or with -l the long format of
 * coreutils (mode string, links, numeric owner and group, size or device
 * numbers, modification time, name and symlink target), so that what the
 * kernel reports can be read at a glance and compared with the host's ls.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shell.h"

struct entry {
	const char *name; /* as shown */
	char path[ANYK_PATH_MAX];
	struct anyk_stat st;
	char size[48];
};

struct lsopts {
	int longfmt;
	int all;
	int dirself;
};

static int
digits(uint64_t v)
{
	int n = 1;

	while (v >= 10) {
		v /= 10;
		n++;
	}
	return n;
}

static void
print_entries(struct entry *e, size_t n, const struct lsopts *lo)
{
	char mode[12], when[32], target[ANYK_PATH_MAX];
	int wl = 1, wu = 1, wg = 1, ws = 1, w;
	anyk_ssize_t tl;
	size_t i;

	if (!lo->longfmt) {
		for (i = 0; i < n; i++)
			sh_printf("%s\n", e[i].name);
		return;
	}
	for (i = 0; i < n; i++) {
		const struct anyk_stat *st = &e[i].st;

		if (ANYK_S_ISCHR(st->st_mode) || ANYK_S_ISBLK(st->st_mode))
			snprintf(e[i].size, sizeof(e[i].size), "%u, %u",
			    ANYK_MAJOR(st->st_rdev), ANYK_MINOR(st->st_rdev));
		else
			snprintf(e[i].size, sizeof(e[i].size), "%lld",
			    (long long)st->st_size);
		if ((w = digits(st->st_nlink)) > wl)
			wl = w;
		if ((w = digits(st->st_uid)) > wu)
			wu = w;
		if ((w = digits(st->st_gid)) > wg)
			wg = w;
		if ((w = (int)strlen(e[i].size)) > ws)
			ws = w;
	}
	for (i = 0; i < n; i++) {
		const struct anyk_stat *st = &e[i].st;

		fmt_mode(mode, st->st_mode);
		fmt_ls_time(when, sizeof(when), &st->st_mtim);
		sh_printf("%s %*llu %*u %*u %*s %s %s", mode, wl,
		    (unsigned long long)st->st_nlink, wu, st->st_uid, wg,
		    st->st_gid, ws, e[i].size, when, e[i].name);
		if (ANYK_S_ISLNK(st->st_mode)) {
			tl = anyk_sys_readlink(e[i].path, target, sizeof(target) - 1);
			if (tl >= 0) {
				target[tl] = '\0';
				sh_printf(" -> %s", target);
			}
		}
		sh_printf("\n");
	}
}

/* List the contents of one directory. */
static int
list_dir(const char *path, const struct lsopts *lo)
{
	struct entry *e = NULL;
	char **names = NULL;
	size_t count = 0, i, n = 0;
	uint64_t blocks = 0;
	int status = EXIT_OK;

	if (sh_readdir(path, lo->all, &names, &count) != 0)
		return err_path(path);
	if (count > 0) {
		e = calloc(count, sizeof(*e));
		if (e == NULL) {
			sh_freenames(names, count);
			return err_msg(path, "%s", strerror(ENOMEM));
		}
	}
	for (i = 0; i < count; i++) {
		if (lo->all == 0 && names[i][0] == '.')
			continue;
		e[n].name = names[i];
		if (sh_join(e[n].path, sizeof(e[n].path), path, names[i]) != 0) {
			status = err_path(names[i]);
			continue;
		}
		if (lo->longfmt) {
			/* The entry may vanish between readdir and lstat. */
			if (anyk_sys_lstat(e[n].path, &e[n].st) != 0) {
				status = err_path(e[n].path);
				continue;
			}
			blocks += ((uint64_t)e[n].st.st_blocks + 1) / 2;
		}
		n++;
	}
	if (lo->longfmt)
		sh_printf("total %llu\n", (unsigned long long)blocks);
	print_entries(e, n, lo);
	free(e);
	sh_freenames(names, count);
	return status;
}

int
sh_ls(int argc, char **argv)
{
	static char *dot[] = { ".", NULL };
	struct lsopts lo = { 0, 0, 0 };
	struct entry *files;
	struct anyk_stat st;
	char **ops;
	int c, i, nops, nfiles = 0, ndirs = 0, shown = 0, status = EXIT_OK;
	int *isdir;
	struct opt o;

	opt_init(&o, shell_find("ls"));
	while ((c = opt_next(&o, argc, argv, "lad1")) != OPT_END) {
		switch (c) {
		case 'l': lo.longfmt = 1; break;
		case 'a': lo.all = 1; break;
		case 'd': lo.dirself = 1; break;
		case '1': break;
		default: return opt_fail(c);
		}
	}
	ops = argv + o.ind;
	nops = argc - o.ind;
	if (nops == 0) {
		ops = dot;
		nops = 1;
	}
	files = calloc((size_t)nops, sizeof(*files));
	isdir = calloc((size_t)nops, sizeof(*isdir));
	if (files == NULL || isdir == NULL) {
		free(files);
		free(isdir);
		return err_msg("ls", "%s", strerror(ENOMEM));
	}
	/* Files named on the command line first, then each directory. */
	for (i = 0; i < nops; i++) {
		isdir[i] = -1;
		if (anyk_sys_lstat(ops[i], &st) != 0) {
			status = err_path(ops[i]);
			continue;
		}
		/* Without -l, a symlink to a directory lists the directory. */
		if (ANYK_S_ISLNK(st.st_mode) && !lo.longfmt && !lo.dirself) {
			struct anyk_stat tst;

			if (anyk_sys_stat(ops[i], &tst) == 0 &&
			    ANYK_S_ISDIR(tst.st_mode))
				st = tst;
		}
		if (ANYK_S_ISDIR(st.st_mode) && !lo.dirself) {
			isdir[i] = 1;
			ndirs++;
			continue;
		}
		isdir[i] = 0;
		files[nfiles].name = ops[i];
		snprintf(files[nfiles].path, sizeof(files[nfiles].path), "%s",
		    ops[i]);
		files[nfiles].st = st;
		nfiles++;
	}
	print_entries(files, (size_t)nfiles, &lo);
	shown = nfiles;
	for (i = 0; i < nops; i++) {
		if (isdir[i] != 1)
			continue;
		if (nops > 1)
			sh_printf("%s%s:\n", shown ? "\n" : "", ops[i]);
		shown++;
		if (list_dir(ops[i], &lo) != EXIT_OK)
			status = EXIT_FAIL;
	}
	free(files);
	free(isdir);
	return status;
}
