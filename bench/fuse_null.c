/*
 * The FUSE floor: a file system that keeps only names in memory and answers
 * every request at once, with no storage behind it. bench/fuse.sh runs the
 * metadata phases (create, stat, unlink) on it beside anyk mount and the
 * kernel's loop mount: its time is what the host kernel's FUSE round trips
 * alone cost on this machine, so kernel time / its time is the best ratio
 * any FUSE server could reach there.
 *
 *   fuse_null DIR          mount on DIR, serve in the foreground until
 *                          unmounted, with anyk mount's request loop
 *   fuse_null --uring DIR  the same with anyk mount's io_uring transport
 *                          too, when the host offers it
 *   fuse_null --plain DIR  with libfuse's own loop instead
 *
 * It asks the host for what anyk mount asks for (opens without requests,
 * so files are made with MKNOD and closed without RELEASE; no FLUSH;
 * writes through; 1 s entry and attribute timeouts) and
 * serves from one thread, as anyk mount does over /dev/fuse: by default
 * with the same loop (tools/fuse_prio.c: it spins after each request and
 * follows its callers' processors), so that the difference to anyk mount
 * is the file system's own work. Files hold no data.
 */
#ifdef ANYK_HAVE_FUSE
#define FUSE_USE_VERSION 34 /* as tools/fuse_ops.h */
#include <errno.h>
#include <fuse_lowlevel.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tools/fuse_prio.h"
#include "tools/fuse_uring.h"

/* What tools/fuse_uring.c asks of the file system's side (tools/fuse_ops.c
 * in anyk mount): no request is handed to other threads, and answers go
 * where libfuse builds them. */
int
fuseops_take_deferred(void)
{
	return 0;
}
void *(*fuseops_reply_room)(size_t size);
int (*fuseops_rings_planned)(void);

struct node {
	uint64_t ino, parent;
	uint64_t nlookup;
	mode_t mode;
	int linked;
	struct node *hnext; /* by (parent, name), while linked */
	char *name;
};

static struct node **byino;  /* index: inode number */
static size_t ninos, cap;
static struct node **table;  /* hash of (parent, name) */
static size_t tsize = 1 << 18;

static size_t
hash(uint64_t parent, const char *name)
{
	uint64_t h = parent * 0x9e3779b97f4a7c15ull;

	while (*name)
		h = (h ^ (unsigned char)*name++) * 0x100000001b3ull;
	return (size_t)(h ^ (h >> 29)) & (tsize - 1);
}

static struct node *
find(uint64_t parent, const char *name)
{
	struct node *n;

	for (n = table[hash(parent, name)]; n != NULL; n = n->hnext)
		if (n->parent == parent && !strcmp(n->name, name))
			return n;
	return NULL;
}

static struct node *
get(fuse_ino_t ino)
{
	return ino < ninos ? byino[ino] : NULL;
}

static struct node *
make(uint64_t parent, const char *name, mode_t mode)
{
	struct node *n = calloc(1, sizeof(*n));
	size_t h;

	if (n == NULL || (n->name = strdup(name)) == NULL) {
		free(n);
		return NULL;
	}
	if (ninos == cap) {
		struct node **nb = realloc(byino, (cap ? cap * 2 : 1024) * sizeof(*nb));

		if (nb == NULL) {
			free(n->name);
			free(n);
			return NULL;
		}
		byino = nb;
		cap = cap ? cap * 2 : 1024;
	}
	n->ino = ninos;
	byino[ninos++] = n;
	n->parent = parent;
	n->mode = mode;
	n->linked = 1;
	h = hash(parent, name);
	n->hnext = table[h];
	table[h] = n;
	return n;
}

static void
unhash(struct node *n)
{
	struct node **pp;

	for (pp = &table[hash(n->parent, n->name)]; *pp != NULL; pp = &(*pp)->hnext)
		if (*pp == n) {
			*pp = n->hnext;
			break;
		}
	n->linked = 0;
}

static void
fill(const struct node *n, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = n->ino;
	st->st_mode = n->mode;
	st->st_nlink = S_ISDIR(n->mode) ? 2 : 1;
	st->st_blksize = 4096;
}

/* The entry the host gets for n, which it then holds once more. */
static void
entry_of(struct node *n, struct fuse_entry_param *e)
{
	memset(e, 0, sizeof(*e));
	e->ino = n->ino;
	e->generation = 1;
	e->attr_timeout = 1.0;
	e->entry_timeout = 1.0;
	fill(n, &e->attr);
	n->nlookup++;
}

static void
reply_entry(fuse_req_t req, struct node *n)
{
	struct fuse_entry_param e;

	entry_of(n, &e);
	fuse_reply_entry(req, &e);
}

static int no_open;

static void
n_init(void *ud, struct fuse_conn_info *c)
{
	(void)ud;
	/* As anyk mount: opens without requests, writes through. */
	no_open = (c->capable & FUSE_CAP_NO_OPEN_SUPPORT) != 0;
	if (no_open)
		c->want |= FUSE_CAP_NO_OPEN_SUPPORT;
	c->want &= ~(FUSE_CAP_WRITEBACK_CACHE | FUSE_CAP_ATOMIC_O_TRUNC);
	if (c->capable & FUSE_CAP_DONT_MASK)
		c->want |= FUSE_CAP_DONT_MASK;
}

static void
n_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct node *n = find(parent, name);

	if (n == NULL) {
		struct fuse_entry_param e;

		/* A negative entry the host may keep for the timeout. */
		memset(&e, 0, sizeof(e));
		e.entry_timeout = 1.0;
		fuse_reply_entry(req, &e);
		return;
	}
	reply_entry(req, n);
}

static void
n_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	struct node *n = get(ino);

	if (n != NULL)
		n->nlookup -= nlookup < n->nlookup ? nlookup : n->nlookup;
	fuse_reply_none(req);
}

static void
n_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *f)
{
	for (size_t i = 0; i < count; i++) {
		struct node *n = get(f[i].ino);

		if (n != NULL)
			n->nlookup -= f[i].nlookup < n->nlookup ? f[i].nlookup : n->nlookup;
	}
	fuse_reply_none(req);
}

static void
n_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct node *n = get(ino);
	struct stat st;

	(void)fi;
	if (n == NULL) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	fill(n, &st);
	fuse_reply_attr(req, &st, 1.0);
}

static void
n_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set, struct fuse_file_info *fi)
{
	struct node *n = get(ino);

	(void)to_set;
	(void)fi;
	(void)attr;
	if (n == NULL) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	n_getattr(req, ino, NULL);
}

static void
add(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, struct fuse_file_info *fi)
{
	struct node *n;

	if (find(parent, name) != NULL) {
		fuse_reply_err(req, EEXIST);
		return;
	}
	n = make(parent, name, mode);
	if (n == NULL) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	if (fi == NULL) {
		reply_entry(req, n);
		return;
	}
	{
		struct fuse_entry_param e;

		entry_of(n, &e);
		fi->fh = 0;
		fuse_reply_create(req, &e, fi);
	}
}

static void
n_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	add(req, parent, name, S_IFDIR | (mode & 07777), NULL);
}

static void
n_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, struct fuse_file_info *fi)
{
	if (no_open) /* as anyk mount: the host makes files with MKNOD */
		fuse_reply_err(req, ENOSYS);
	else
		add(req, parent, name, S_IFREG | (mode & 07777), fi);
}

static void
n_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev)
{
	(void)rdev;
	add(req, parent, name, mode, NULL);
}

static void
n_remove(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct node *n = find(parent, name);

	if (n == NULL) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	unhash(n);
	fuse_reply_err(req, 0);
}

static void
n_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	(void)fi;
	fuse_reply_err(req, ENOSYS); /* the host opens by itself from now on */
}

static void
n_ok(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	(void)fi;
	fuse_reply_err(req, 0);
}

static void
n_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	fi->fh = 0;
	fuse_reply_open(req, fi);
}

static void
n_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
	(void)ino;
	(void)size;
	(void)off;
	(void)fi;
	fuse_reply_buf(req, NULL, 0);
}

static void
n_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct statvfs sv;

	(void)ino;
	memset(&sv, 0, sizeof(sv));
	sv.f_bsize = sv.f_frsize = 4096;
	sv.f_blocks = sv.f_bfree = sv.f_bavail = 1u << 20;
	sv.f_files = sv.f_ffree = 1u << 24;
	sv.f_namemax = 255;
	fuse_reply_statfs(req, &sv);
}

static void
n_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	(void)ino;
	(void)datasync;
	(void)fi;
	fuse_reply_err(req, 0);
}

static const struct fuse_lowlevel_ops ops = {
	.init = n_init,
	.lookup = n_lookup,
	.forget = n_forget,
	.forget_multi = n_forget_multi,
	.getattr = n_getattr,
	.setattr = n_setattr,
	.mkdir = n_mkdir,
	.create = n_create,
	.mknod = n_mknod,
	.unlink = n_remove,
	.rmdir = n_remove,
	.open = n_open,
	.release = n_ok,
	/* No flush, as anyk mount: the host stops sending it. */
	.fsync = n_fsync,
	.opendir = n_opendir,
	.readdir = n_readdir,
	.releasedir = n_ok,
	.statfs = n_statfs,
};

int
main(int argc, char **argv)
{
	char *fargv[] = { argv[0], (char *)"-o", (char *)"fsname=fuse_null,subtype=null", NULL };
	struct fuse_args args = FUSE_ARGS_INIT(3, fargv);
	struct fuse_session *se;
	int plain = argc == 3 && !strcmp(argv[1], "--plain"), uring = argc == 3 && !strcmp(argv[1], "--uring");
	int opt = plain || uring, r;

	if (argc != 2 + opt) {
		fprintf(stderr, "usage: fuse_null [--plain|--uring] DIR (bench/fuse.sh runs it)\n");
		return 2;
	}
	table = calloc(tsize, sizeof(*table));
	if (table == NULL || make(0, "", 0) == NULL || make(0, "/", S_IFDIR | 0755) == NULL)
		return 1;
	se = fuse_session_new(&args, &ops, sizeof(ops), NULL);
	if (se == NULL)
		return 1;
	if (fuse_set_signal_handlers(se) != 0 || fuse_session_mount(se, argv[1 + opt]) != 0) {
		fuse_session_destroy(se);
		return 1;
	}
	if (plain) {
		r = fuse_session_loop(se);
	} else {
		if (uring && furing_attach(se, fuse_session_fd(se), FURING_ALWAYS, 0) != 0)
			fprintf(stderr, "fuse_null: no io_uring transport\n");
		prio_start((unsigned)sysconf(_SC_NPROCESSORS_CONF) + 2);
		r = prio_serve(se, 50, uring ? furing_active : NULL);
		furing_stop();
		prio_stop();
	}
	fuse_session_unmount(se);
	fuse_remove_signal_handlers(se);
	fuse_session_destroy(se);
	return r != 0;
}
#else
#include <stdio.h>

int
main(void)
{
	fprintf(stderr, "fuse_null: built without libfuse3\n");
	return 1;
}
#endif
