/*
 * The small image commands that each change or read one thing: cat, mkdir,
 * rm, rmdir, mv, ln, chmod, chown and touch, with the options coreutils
 * users expect. Each runs in the image's chrooted context, so nothing they
 * resolve can leave the image.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tools/image.h"

const char img_usage_cat[] = "[-o OPTS] IMAGE[@PART]:PATH...";
const char img_help_cat[] = "Write files from a disk image to standard output.";
const char img_usage_mkdir[] = "[-p] [-m MODE] IMAGE[@PART]:PATH...";
const char img_help_mkdir[] =
	"Make directories in a disk image.\n"
	"  -p       make missing parents too; no error if the directory exists\n"
	"  -m MODE  octal permission bits (default 0755)";
const char img_usage_rm[] = "[-rf] IMAGE[@PART]:PATH...";
const char img_help_rm[] =
	"Remove files from a disk image.\n"
	"  -r  remove directories and their contents\n"
	"  -f  no error for missing files";
const char img_usage_rmdir[] = "IMAGE[@PART]:PATH...";
const char img_help_rmdir[] = "Remove empty directories from a disk image.";
const char img_usage_mv[] = "[-n] [-T] [--exchange] IMAGE[@PART]:FROM... IMAGE[@PART]:TO";
const char img_help_mv[] =
	"Rename or move files inside a disk image.\n"
	"With several sources, or when TO is a directory, they move into it.\n"
	"Where no rename can do it (another image, or a directory of another\n"
	"project quota), the tree is copied (owners, modes, times, xattrs, holes,\n"
	"hard links) and then removed, as mv(1) does across file systems.\n"
	"  -n, --no-clobber           leave an existing TO alone (checked atomically)\n"
	"  -T, --no-target-directory  TO is the new name even if it is a directory\n"
	"      --exchange             swap FROM and TO atomically (both must exist)";
const char img_usage_ln[] = "[-s] [-f] TARGET IMAGE[@PART]:LINK";
const char img_help_ln[] =
	"Make a hard link (IMAGE:TARGET) or, with -s, a symbolic link in a disk image.\n"
	"With -s TARGET is stored as written (it is not an image path).\n"
	"  -f  replace LINK if it exists";
const char img_usage_chmod[] = "[-R] MODE IMAGE[@PART]:PATH...";
const char img_help_chmod[] =
	"Change permission bits in a disk image.\n"
	"MODE is octal (0644) or symbolic (u+x,go-w,a=r). -R recurses.";
const char img_usage_chown[] = "[-R] [-h] OWNER[:GROUP] IMAGE[@PART]:PATH...";
const char img_help_chown[] =
	"Change owners in a disk image.\n"
	"OWNER and GROUP are numbers, or names looked up in the image's own\n"
	"/etc/passwd and /etc/group. ':GROUP' alone changes the group only.\n"
	"  -R  recurse    -h  change a symbolic link itself";
const char img_usage_touch[] = "[-a] [-m] [-c] [-d DATE] IMAGE[@PART]:PATH...";
const char img_help_touch[] =
	"Set file times in a disk image, making empty files that do not exist.\n"
	"  -d DATE  2024-05-01, 2024-05-01T12:00:00[.nnn][Z|+02:00] or @EPOCH[.nnn]\n"
	"  -a / -m  change only the access / modification time\n"
	"  -c       do not create missing files";

/* --- cat ------------------------------------------------------------------ */

int
cmd_img_cat(int argc, char **argv)
{
	static const struct tool_cmd cmd = IMG_TOOL_CMD(cat);
	static char buf[1 << 16];
	struct img_session s;
	struct img_path p;
	struct iopts o;
	anyk_ssize_t n;
	int i, fd, r, status = EXIT_OK;

	iopt_init(&o, &cmd, &s, argc, argv);
	if ((r = iopt_next(&o, "o:", NULL)) != IOPT_END)
		return iopt_fail(r);
	if (o.noperands == 0)
		return err_usage(&cmd, "missing operand");
	for (i = 0; i < o.noperands; i++) {
		r = img_operand(&s, &p, o.operands[i], 0, 0);
		if (r == EXIT_OK) {
			img_enter(&s, p.img);
			fd = anyk_sys_open(p.path, ANYK_O_RDONLY | ANYK_O_CLOEXEC, 0);
			if (fd < 0) {
				r = img_err(&p, NULL, errno);
			} else {
				while ((n = anyk_sys_read(fd, buf, sizeof(buf))) > 0)
					if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n)
						break;
				if (n < 0)
					r = img_err(&p, NULL, errno);
				anyk_sys_close(fd);
			}
		}
		if (r != EXIT_OK && status != EXIT_USAGE)
			status = r;
		img_path_free(&p);
	}
	if (fflush(stdout) != 0)
		status = err_path("standard output");
	return img_close(&s, status);
}

/* --- mkdir ------------------------------------------------------------------ */

static int
mkdir_parents(const struct img_path *p, anyk_mode_t mode)
{
	char *path = xstrdup(p->path), *q;
	struct anyk_stat st;
	int r = EXIT_OK;

	for (q = path + 1;; q++) {
		if (*q != '/' && *q != '\0')
			continue;
		char c = *q;
		*q = '\0';
		if (anyk_sys_mkdir(path, mode) != 0 && errno != EEXIST) {
			r = img_err(p, path, errno);
			break;
		}
		if (anyk_sys_stat(path, &st) != 0 || !ANYK_S_ISDIR(st.st_mode)) {
			r = img_err(p, path, ENOTDIR);
			break;
		}
		*q = c;
		if (c == '\0')
			break;
	}
	free(path);
	return r;
}

int
cmd_img_mkdir(int argc, char **argv)
{
	static const struct tool_cmd cmd = IMG_TOOL_CMD(mkdir);
	struct img_session s;
	struct img_path p;
	struct iopts o;
	anyk_mode_t mode = 0755;
	int i, r, parents = 0, status = EXIT_OK;

	iopt_init(&o, &cmd, &s, argc, argv);
	while ((r = iopt_next(&o, "pm:o:", NULL)) != IOPT_END) {
		switch (r) {
		case 'p': parents = 1; break;
		case 'm':
			if (parse_mode(o.arg, &mode) != 0)
				return err_usage(&cmd, "invalid mode '%s'", o.arg);
			break;
		default:
			return iopt_fail(r);
		}
	}
	if (o.noperands == 0)
		return err_usage(&cmd, "missing operand");
	for (i = 0; i < o.noperands; i++) {
		r = img_operand(&s, &p, o.operands[i], 1, 0);
		if (r == EXIT_OK) {
			img_enter(&s, p.img);
			if (parents)
				r = mkdir_parents(&p, mode);
			else if (anyk_sys_mkdir(p.path, mode) != 0)
				r = img_err(&p, NULL, errno);
			/* mkdir's mode is masked by the umask; -m means exactly. */
			if (r == EXIT_OK && anyk_sys_chmod(p.path, mode) != 0)
				r = img_err(&p, NULL, errno);
		}
		if (r != EXIT_OK && status != EXIT_USAGE)
			status = r;
		img_path_free(&p);
	}
	return img_close(&s, status);
}

/* --- rm and rmdir --------------------------------------------------------------- */

/* Remove path and, for a directory, everything below it. No symlink is
 * followed: entries are lstat'ed and symlinks unlinked as themselves. */
int
img_rm_tree(const struct img_path *p, const char *path)
{
	struct anyk_stat st;
	char **names, *sub;
	size_t n, i;
	int r = EXIT_OK;

	if (anyk_sys_lstat(path, &st) != 0)
		return img_err(p, path, errno);
	if (!ANYK_S_ISDIR(st.st_mode)) {
		if (anyk_sys_unlink(path) != 0)
			return img_err(p, path, errno);
		return EXIT_OK;
	}
	if (kdir_names(path, &names, &n) != 0)
		return img_err(p, path, errno);
	for (i = 0; i < n; i++) {
		sub = path_join(path, names[i]);
		if (img_rm_tree(p, sub) != EXIT_OK)
			r = EXIT_FAIL;
		free(sub);
	}
	knames_free(names, n);
	if (r == EXIT_OK && anyk_sys_rmdir(path) != 0)
		r = img_err(p, path, errno);
	return r;
}

int
cmd_img_rm(int argc, char **argv)
{
	static const struct tool_cmd cmd = IMG_TOOL_CMD(rm);
	struct img_session s;
	struct img_path p;
	struct anyk_stat st;
	struct iopts o;
	int i, r, recurse = 0, force = 0, status = EXIT_OK;

	iopt_init(&o, &cmd, &s, argc, argv);
	while ((r = iopt_next(&o, "rRfo:", NULL)) != IOPT_END) {
		switch (r) {
		case 'r': case 'R': recurse = 1; break;
		case 'f': force = 1; break;
		default:
			return iopt_fail(r);
		}
	}
	if (o.noperands == 0 && !force)
		return err_usage(&cmd, "missing operand");
	for (i = 0; i < o.noperands; i++) {
		r = img_operand(&s, &p, o.operands[i], 1, 0);
		if (r == EXIT_OK) {
			img_enter(&s, p.img);
			if (strcmp(p.path, "/") == 0) {
				r = img_errmsg(&p, NULL, "refusing to remove the root directory");
			} else if (anyk_sys_lstat(p.path, &st) != 0) {
				if (!(force && errno == ENOENT))
					r = img_err(&p, NULL, errno);
			} else if (ANYK_S_ISDIR(st.st_mode) && !recurse) {
				r = img_err(&p, NULL, EISDIR);
			} else {
				r = img_rm_tree(&p, p.path);
			}
		}
		if (r != EXIT_OK && status != EXIT_USAGE)
			status = r;
		img_path_free(&p);
	}
	return img_close(&s, status);
}

int
cmd_img_rmdir(int argc, char **argv)
{
	static const struct tool_cmd cmd = IMG_TOOL_CMD(rmdir);
	struct img_session s;
	struct img_path p;
	struct iopts o;
	int i, r, status = EXIT_OK;

	iopt_init(&o, &cmd, &s, argc, argv);
	if ((r = iopt_next(&o, "o:", NULL)) != IOPT_END)
		return iopt_fail(r);
	if (o.noperands == 0)
		return err_usage(&cmd, "missing operand");
	for (i = 0; i < o.noperands; i++) {
		r = img_operand(&s, &p, o.operands[i], 1, 0);
		if (r == EXIT_OK) {
			img_enter(&s, p.img);
			if (anyk_sys_rmdir(p.path) != 0)
				r = img_err(&p, NULL, errno);
		}
		if (r != EXIT_OK && status != EXIT_USAGE)
			status = r;
		img_path_free(&p);
	}
	return img_close(&s, status);
}

/* --- mv ------------------------------------------------------------------------- */

enum { MV_EXCHANGE = 256 };

int
cmd_img_mv(int argc, char **argv)
{
	static const struct tool_cmd cmd = IMG_TOOL_CMD(mv);
	static const struct lopt longs[] = {
		{ "no-clobber", 0, 'n' }, { "no-target-directory", 0, 'T' },
		{ "exchange", 0, MV_EXCHANGE }, { NULL, 0, 0 },
	};
	struct img_session s;
	struct img_path *p, *dst;
	struct anyk_stat st;
	struct iopts o;
	char name[ANYK_NAME_MAX + 1], *to;
	int i, r, n, isdir = 0, notarget = 0, status = EXIT_OK;
	unsigned flags = 0;

	iopt_init(&o, &cmd, &s, argc, argv);
	while ((r = iopt_next(&o, "nTo:", longs)) != IOPT_END) {
		switch (r) {
		case 'n': flags |= ANYK_RENAME_NOREPLACE; break;
		case 'T': notarget = 1; break;
		case MV_EXCHANGE: flags |= ANYK_RENAME_EXCHANGE; break;
		default:
			return iopt_fail(r);
		}
	}
	if (o.noperands < 2)
		return err_usage(&cmd, "missing operand");
	if ((flags & ANYK_RENAME_EXCHANGE) && (flags & ANYK_RENAME_NOREPLACE))
		return err_usage(&cmd, "--exchange and -n cannot go together");
	/* An exchange swaps two names: TO is never a directory to move into. */
	if (flags & ANYK_RENAME_EXCHANGE)
		notarget = 1;
	if (notarget && o.noperands > 2)
		return err_usage(&cmd, "extra operand '%s' (-T and --exchange take two)", o.operands[2]);
	n = o.noperands;
	p = xmalloc(sizeof(*p) * (size_t)n);
	memset(p, 0, sizeof(*p) * (size_t)n);
	dst = &p[n - 1];
	status = img_operand(&s, dst, o.operands[n - 1], 1, 0);
	for (i = 0; i < n - 1 && status == EXIT_OK; i++)
		status = img_operand(&s, &p[i], o.operands[i], 1, 0);
	if (status != EXIT_OK)
		goto out;
	img_enter(&s, dst->img);
	if (!notarget)
		isdir = anyk_sys_stat(dst->path, &st) == 0 && ANYK_S_ISDIR(st.st_mode);
	if (n > 2 && !isdir) {
		status = img_err(dst, NULL, ENOTDIR);
		goto out;
	}
	for (i = 0; i < n - 1; i++) {
		path_last(name, sizeof(name), p[i].path);
		to = isdir ? path_join(dst->path, name) : xstrdup(dst->path);
		if (p[i].img != dst->img) {
			/* Another image: copied and removed, as mv(1) does
			 * across file systems. */
			r = (flags & ANYK_RENAME_EXCHANGE)
				? img_errmsg(&p[i], NULL, "cannot exchange with another image")
				: img_move_by_copy(&s, &p[i], dst, to, (flags & ANYK_RENAME_NOREPLACE) != 0);
			free(to);
		} else {
			img_enter(&s, dst->img);
			/* -n skips an existing target quietly, as mv(1) does. */
			if (anyk_sys_renameat2(ANYK_AT_FDCWD, p[i].path, ANYK_AT_FDCWD, to, flags) == 0 ||
			    (errno == EEXIST && (flags & ANYK_RENAME_NOREPLACE)))
				r = EXIT_OK;
			else if (errno == EXDEV && !(flags & ANYK_RENAME_EXCHANGE))
				r = img_move_by_copy(&s, &p[i], dst, to, (flags & ANYK_RENAME_NOREPLACE) != 0);
			else if (errno == ENOENT && (flags & ANYK_RENAME_EXCHANGE) &&
				 anyk_sys_lstat(p[i].path, &st) == 0)
				r = img_err(dst, NULL, ENOENT); /* the missing one is TO */
			else
				r = img_err(&p[i], NULL, errno);
			free(to);
		}
		if (r != EXIT_OK)
			status = r;
	}
out:
	for (i = 0; i < n; i++)
		img_path_free(&p[i]);
	free(p);
	return img_close(&s, status);
}

/* --- ln --------------------------------------------------------------------------- */

int
cmd_img_ln(int argc, char **argv)
{
	static const struct tool_cmd cmd = IMG_TOOL_CMD(ln);
	struct img_session s;
	struct img_path target, link;
	struct anyk_stat st;
	struct iopts o;
	char name[ANYK_NAME_MAX + 1], *lp = NULL;
	int r, sym = 0, force = 0, status;

	memset(&target, 0, sizeof(target));
	iopt_init(&o, &cmd, &s, argc, argv);
	while ((r = iopt_next(&o, "sfo:", NULL)) != IOPT_END) {
		switch (r) {
		case 's': sym = 1; break;
		case 'f': force = 1; break;
		default:
			return iopt_fail(r);
		}
	}
	if (o.noperands < 2)
		return err_usage(&cmd, "missing operand");
	if (o.noperands > 2)
		return err_usage(&cmd, "too many operands");
	status = img_operand(&s, &link, o.operands[1], 1, 0);
	if (status == EXIT_OK && !sym)
		status = img_operand(&s, &target, o.operands[0], 1, 0);
	if (status != EXIT_OK)
		goto out;
	img_enter(&s, link.img);
	lp = xstrdup(link.path);
	if (anyk_sys_stat(lp, &st) == 0 && ANYK_S_ISDIR(st.st_mode)) {
		/* Into a directory: the link takes the target's last name. */
		free(lp);
		path_last(name, sizeof(name), sym ? o.operands[0] : target.path);
		lp = path_join(link.path, name);
	}
	if (force && anyk_sys_lstat(lp, &st) == 0 && !ANYK_S_ISDIR(st.st_mode) &&
	    anyk_sys_unlink(lp) != 0) {
		status = img_err(&link, lp, errno);
		goto out;
	}
	if (sym) {
		if (anyk_sys_symlink(o.operands[0], lp) != 0)
			status = img_err(&link, lp, errno);
	} else if (target.img != link.img) {
		status = img_errmsg(&target, NULL, "cannot hard-link across images");
	} else if (anyk_sys_link(target.path, lp) != 0) {
		status = img_err(&link, lp, errno);
	}
out:
	free(lp);
	img_path_free(&target);
	img_path_free(&link);
	return img_close(&s, status);
}

/* --- chmod and chown ------------------------------------------------------------- */

/* Apply a symbolic mode ("u+x,go-w,a=r") or an octal one to old. */
static int
apply_mode(const char *spec, anyk_mode_t old, anyk_mode_t *out)
{
	anyk_mode_t m = old & 07777, who, bits;
	const char *s = spec;
	char op;

	if (parse_mode(spec, out) == 0)
		return 0;
	while (*s != '\0') {
		who = 0;
		for (; *s && strchr("ugoa", *s); s++)
			who |= *s == 'u' ? 04700 : *s == 'g' ? 02070 : *s == 'o' ? 01007 : 07777;
		if (who == 0)
			who = 07777;
		if (*s != '+' && *s != '-' && *s != '=')
			return -1;
		op = *s++;
		bits = 0;
		for (; *s && strchr("rwxXst", *s); s++) {
			switch (*s) {
			case 'r': bits |= 0444; break;
			case 'w': bits |= 0222; break;
			case 'x': bits |= 0111; break;
			case 'X':
				if (ANYK_S_ISDIR(old) || (old & 0111))
					bits |= 0111;
				break;
			case 's': bits |= 06000; break;
			case 't': bits |= 01000; break;
			}
		}
		bits &= who;
		if (op == '+')
			m |= bits;
		else if (op == '-')
			m &= ~bits;
		else
			m = (m & ~(who & 07777)) | bits;
		if (*s == ',')
			s++;
		else if (*s != '\0')
			return -1;
	}
	*out = m;
	return 0;
}

struct own_opts {
	int R, h;
	const char *mode;
	anyk_uid_t uid;
	anyk_gid_t gid;
	int chown;
};

/* Apply chmod or chown to path, and below it with -R (never following a
 * symlink while recursing). */
static int
change(struct own_opts *m, const struct img_path *p, const char *path, int top)
{
	struct anyk_stat st;
	anyk_mode_t mode;
	char **names, *sub;
	size_t n, i;
	int r = EXIT_OK, rc;

	if ((top && !m->h ? anyk_sys_stat(path, &st) : anyk_sys_lstat(path, &st)) != 0)
		return img_err(p, path, errno);
	if (m->chown) {
		rc = (m->h || !top) ? anyk_sys_lchown(path, m->uid, m->gid)
				    : anyk_sys_chown(path, m->uid, m->gid);
		if (rc != 0)
			r = img_err(p, path, errno);
	} else if (!ANYK_S_ISLNK(st.st_mode)) {
		if (apply_mode(m->mode, st.st_mode, &mode) != 0)
			return img_errmsg(p, NULL, "invalid mode '%s'", m->mode);
		if (anyk_sys_chmod(path, mode) != 0)
			r = img_err(p, path, errno);
	}
	if (!m->R || !ANYK_S_ISDIR(st.st_mode))
		return r;
	if (kdir_names(path, &names, &n) != 0)
		return img_err(p, path, errno);
	for (i = 0; i < n; i++) {
		sub = path_join(path, names[i]);
		if (change(m, p, sub, 0) != EXIT_OK)
			r = EXIT_FAIL;
		free(sub);
	}
	knames_free(names, n);
	return r;
}

/* Look name up in the image's /etc/passwd or /etc/group (field 3 is the
 * number in both). */
static int
lookup_id(const char *file, const char *name, uint32_t *out)
{
	char *buf, *line, *save = NULL, *f, *id;
	size_t cap = 1 << 20, len = 0;
	anyk_ssize_t n;
	uint64_t v;
	int fd, found = -1;

	fd = anyk_sys_open(file, ANYK_O_RDONLY | ANYK_O_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	buf = xmalloc(cap + 1);
	while (len < cap && (n = anyk_sys_read(fd, buf + len, cap - len)) > 0)
		len += (size_t)n;
	anyk_sys_close(fd);
	buf[len] = '\0';
	for (line = strtok_r(buf, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		f = strchr(line, ':');
		if (f == NULL || (size_t)(f - line) != strlen(name) || strncmp(line, name, (size_t)(f - line)) != 0)
			continue;
		f = strchr(f + 1, ':');
		if (f == NULL)
			continue;
		id = f + 1;
		f = strchr(id, ':');
		if (f != NULL)
			*f = '\0';
		if (parse_uint(id, UINT32_MAX - 1, &v) == 0) {
			*out = (uint32_t)v;
			found = 0;
		}
		break;
	}
	free(buf);
	return found;
}

static int
resolve_id(const struct img_path *p, const char *file, const char *name, uint32_t *out)
{
	uint64_t v;

	if (parse_uint(name, UINT32_MAX - 1, &v) == 0) {
		*out = (uint32_t)v;
		return EXIT_OK;
	}
	if (lookup_id(file, name, out) == 0)
		return EXIT_OK;
	fflush(stdout);
	fprintf(stderr, "anyk: %s: no such %s in the image's %s\n", name,
	    strcmp(file, "/etc/passwd") == 0 ? "user" : "group", file);
	return EXIT_FAIL;
}

static int
chmod_chown(int argc, char **argv, const struct tool_cmd *cmd, int chown)
{
	struct own_opts m;
	struct img_session s;
	struct img_path p;
	struct iopts o;
	char *owner = NULL, *group = NULL, *colon;
	anyk_mode_t dummy;
	int i, r, status = EXIT_OK;

	memset(&m, 0, sizeof(m));
	m.chown = chown;
	m.uid = (anyk_uid_t)-1;
	m.gid = (anyk_gid_t)-1;
	iopt_init(&o, cmd, &s, argc, argv);
	while ((r = iopt_next(&o, chown ? "Rho:" : "Ro:", NULL)) != IOPT_END) {
		switch (r) {
		case 'R': m.R = 1; break;
		case 'h': m.h = 1; break;
		default:
			return iopt_fail(r);
		}
	}
	if (o.noperands < 2)
		return err_usage(cmd, "missing operand");
	if (!chown) {
		m.mode = o.operands[0];
		if (apply_mode(m.mode, 0, &dummy) != 0)
			return err_usage(cmd, "invalid mode '%s'", m.mode);
	} else {
		owner = xstrdup(o.operands[0]);
		colon = strchr(owner, ':');
		if (colon == NULL)
			colon = strchr(owner, '.');
		if (colon != NULL) {
			*colon = '\0';
			group = colon + 1;
		}
		if (owner[0] == '\0' && (group == NULL || group[0] == '\0')) {
			free(owner);
			return err_usage(cmd, "invalid owner '%s'", o.operands[0]);
		}
	}
	for (i = 1; i < o.noperands; i++) {
		r = img_operand(&s, &p, o.operands[i], 1, 0);
		if (r == EXIT_OK) {
			img_enter(&s, p.img);
			/* Names are the image's, looked up in each image. */
			if (chown && owner[0] != '\0')
				r = resolve_id(&p, "/etc/passwd", owner, &m.uid);
			if (r == EXIT_OK && chown && group != NULL && group[0] != '\0')
				r = resolve_id(&p, "/etc/group", group, &m.gid);
			if (r == EXIT_OK)
				r = change(&m, &p, p.path, 1);
		}
		if (r != EXIT_OK && status != EXIT_USAGE)
			status = r;
		img_path_free(&p);
	}
	free(owner);
	return img_close(&s, status);
}

int
cmd_img_chmod(int argc, char **argv)
{
	static const struct tool_cmd cmd = IMG_TOOL_CMD(chmod);

	return chmod_chown(argc, argv, &cmd, 0);
}

int
cmd_img_chown(int argc, char **argv)
{
	static const struct tool_cmd cmd = IMG_TOOL_CMD(chown);

	return chmod_chown(argc, argv, &cmd, 1);
}

/* --- touch -------------------------------------------------------------------------- */

struct touch_opts {
	int a, m, c, have_date;
	struct anyk_timespec date;
};

int
cmd_img_touch(int argc, char **argv)
{
	static const struct tool_cmd cmd = IMG_TOOL_CMD(touch);
	struct touch_opts t;
	struct img_session s;
	struct img_path p;
	struct anyk_timespec ts[2];
	struct anyk_stat st;
	struct iopts o;
	int i, r, fd, status = EXIT_OK;

	memset(&t, 0, sizeof(t));
	iopt_init(&o, &cmd, &s, argc, argv);
	while ((r = iopt_next(&o, "amcd:o:", NULL)) != IOPT_END) {
		switch (r) {
		case 'a': t.a = 1; break;
		case 'm': t.m = 1; break;
		case 'c': t.c = 1; break;
		case 'd':
			if (parse_date(o.arg, &t.date) != 0)
				return err_usage(&cmd, "invalid date '%s'", o.arg);
			t.have_date = 1;
			break;
		default:
			return iopt_fail(r);
		}
	}
	if (o.noperands == 0)
		return err_usage(&cmd, "missing operand");
	if (!t.a && !t.m)
		t.a = t.m = 1;
	for (i = 0; i < 2; i++) {
		if (t.have_date)
			ts[i] = t.date;
		else
			ts[i].tv_sec = 0, ts[i].tv_nsec = ANYK_UTIME_NOW;
	}
	if (!t.a)
		ts[0].tv_nsec = ANYK_UTIME_OMIT;
	if (!t.m)
		ts[1].tv_nsec = ANYK_UTIME_OMIT;
	for (i = 0; i < o.noperands; i++) {
		r = img_operand(&s, &p, o.operands[i], 1, 0);
		if (r == EXIT_OK) {
			img_enter(&s, p.img);
			if (anyk_sys_stat(p.path, &st) != 0) {
				if (errno != ENOENT || t.c)
					goto next;
				fd = anyk_sys_open(p.path, ANYK_O_WRONLY | ANYK_O_CREAT | ANYK_O_CLOEXEC, 0644);
				if (fd < 0) {
					r = img_err(&p, NULL, errno);
					goto next;
				}
				anyk_sys_close(fd);
			}
			if (anyk_sys_utimensat(ANYK_AT_FDCWD, p.path, ts, 0) != 0)
				r = img_err(&p, NULL, errno);
		}
next:
		if (r != EXIT_OK && status != EXIT_USAGE)
			status = r;
		img_path_free(&p);
	}
	return img_close(&s, status);
}
