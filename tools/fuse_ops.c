/*
 * FUSE low-level operations for "anyk mount", served by the anyk kernel.
 *
 * FUSE names files by node ids that live as long as the host kernel's
 * lookup count; the anyk kernel names them by path. Each node remembers
 * its parent node and its name, so its path is rebuilt on demand; renames
 * and unlinks done through the mount move or detach the nodes they touch.
 * Paths rather than an O_PATH descriptor per node, because the kernel's
 * descriptor tables stop at ANYK_OPEN_MAX and the host may keep many more
 * nodes alive; but a directory among the NFH_MAX most recently used keeps
 * a descriptor, and names in it are resolved from there (struct at). A node is found again by the kernel's inode number, so
 * hard links share one node, as they share one inode.
 *
 * Open files and directories are anyk descriptors. When one process
 * context's table is full, more contexts are made (all in the same root),
 * and the descriptor is used from the context that owns it.
 *
 * Locking: ns_lock is taken shared by every request that resolves paths
 * and exclusive by those that remove or move names (unlink, rmdir,
 * rename), so a path is never built from names that are changing under
 * it. node_lock, inside it, guards the node table. The anyk kernel acts
 * as root, and what a caller creates is then given to the caller. The
 * host kernel checks other users' rights (default_permissions) whenever
 * anyone but root can reach the mount; when only root can, root's rights
 * are the anyk kernel's to check (see serve() in cmd_mount.c).
 */
#ifdef ANYK_HAVE_FUSE

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <alloca.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <stdio.h> /* RENAME_NOREPLACE */
#include <unistd.h>

#include "anyk/anyk.h"
#include "tools/fuse_ops.h"

#define HASH_SIZE 65536           /* buckets of the inode-number hash */
#define NODE_MAX (4u * 1024 * 1024) /* live nodes before lookups fail */
#define PROC_MAX 64               /* contexts for descriptors: 64 x 1024 */
#define DIRBUF 65536              /* getdents buffer per open directory */
#define IO_MAX FUSEOPS_IO_MAX
#define READERS 4                 /* threads for large reads */
#define READ_INLINE (128u * 1024) /* reads up to this size stay inline */
#define READAHEAD_MAX (4u * FUSEOPS_READ_MAX) /* the host's read-ahead window */
#define NFH_MAX 512               /* nodes' own descriptors kept, unpinned */

struct node {
	struct node *hnext;   /* hash chain, while hashed */
	struct node *anext, *aprev; /* every node, to free them at the end */
	struct alias *names;  /* names known for it, the newest first */
	unsigned nnames;
	uint64_t kino;        /* the anyk kernel's inode number */
	uint64_t nlookup;     /* the host kernel's references */
	uint64_t nchild;      /* nodes whose parent this is */
	uint64_t gen;
	anyk_mode_t type;     /* S_IFMT bits: a reused number is a new node */
	int hashed;
	int casefold;         /* a directory that finds names without case (atomic) */
	struct fh *nfh;       /* its own descriptor, for opens the host keeps */
};

/* One name of a node: hard links give an inode several. */
struct alias {
	struct alias *next;
	struct node *parent;
	char name[];
};
#define ALIAS_MAX 8 /* names remembered per node; the oldest are dropped */

struct fh {
	struct fh *next, *prev; /* every open one, for the end */
	struct anyk_proc *proc; /* the context that owns fd */
	struct node *node;      /* whose descriptor this is */
	int fd;
	/* Directories: entries read ahead from the kernel, and the cookie of
	 * the last one handed to the host. */
	pthread_mutex_t lock;
	char *buf;
	size_t len, at;
	int64_t pos;
	/* A node's own descriptor (node->nfh; see nfh_get), under nfh_lock;
	 * node NULL once its node is gone (closed by the last nfh_put). */
	int isnode, refs, pinned;
	int werr;               /* 0: open for writing; else why not */
	int append;             /* opened O_APPEND: the file is append-only */
	struct fh *lnext, *lprev; /* the unpinned ones, the newest first */
};

/*
 * A name in a directory node, for a request that works on it. When the
 * directory has a descriptor of its own (its nfh, opened on first use and
 * kept among the NFH_MAX most recent) the name is resolved from there: one
 * component walked instead of the whole path from the root. Without one
 * (the root, or out of descriptors) the whole path is built from the
 * node's names, under ns_lock, as everything else does. at_init is called
 * before ns_lock is taken (opening the descriptor may take it shared).
 */
struct at {
	struct node *p;
	const char *name;
	struct fh *dfh;                /* p's own descriptor, held; or NULL */
	struct anyk_proc *old;         /* while in dfh's context */
	char path[ANYK_PATH_MAX];      /* without dfh: the whole path */
};

static struct fuseops_config cfg;
static int no_open; /* see nfh_get */
static pthread_rwlock_t ns_lock = PTHREAD_RWLOCK_INITIALIZER;
static pthread_mutex_t node_lock = PTHREAD_MUTEX_INITIALIZER;
static struct node *hash[HASH_SIZE];
static struct node root;
static struct node *all_nodes;
static uint64_t nnodes, next_gen = 1;

/* Open files the host has not released yet: when the session ends
 * before their RELEASE is read (a signal right after a close), the end
 * closes them. */
static pthread_mutex_t fh_lock = PTHREAD_MUTEX_INITIALIZER;
static struct fh *open_fhs;

static pthread_mutex_t proc_lock = PTHREAD_MUTEX_INITIALIZER;
static struct anyk_proc *procs[PROC_MAX]; /* procs[0]: the initial context */
static int nprocs = 1, proc_hint;

/* --- nodes ------------------------------------------------------------------ */

static struct node *
ino_node(fuse_ino_t ino)
{
	return ino == FUSE_ROOT_ID ? &root : (struct node *)(uintptr_t)ino;
}

static fuse_ino_t
node_ino(struct node *n)
{
	return n == &root ? FUSE_ROOT_ID : (fuse_ino_t)(uintptr_t)n;
}

static struct node **
hash_head(uint64_t kino)
{
	return &hash[(kino * 0x9E3779B97F4A7C15ull) >> 48];
}

static void
node_unhash(struct node *n)
{
	struct node **pp;

	if (!n->hashed)
		return;
	for (pp = hash_head(n->kino); *pp != NULL; pp = &(*pp)->hnext) {
		if (*pp == n) {
			*pp = n->hnext;
			break;
		}
	}
	n->hashed = 0;
}

static void node_maybe_free(struct node *n);
static void nfh_detach(struct node *n);

/* Drop the alias *ap of n. node_lock held. */
static void
alias_drop(struct node *n, struct alias **ap)
{
	struct alias *a = *ap;
	struct node *p = a->parent;

	*ap = a->next;
	n->nnames--;
	free(a);
	p->nchild--;
	node_maybe_free(p);
}

/* Free n and the ancestors it alone kept, once nothing refers to it.
 * node_lock held. */
static void
node_maybe_free(struct node *n)
{
	if (n == &root || n->nlookup != 0 || n->nchild != 0)
		return;
	node_unhash(n);
	if (n->aprev != NULL)
		n->aprev->anext = n->anext;
	else
		all_nodes = n->anext;
	if (n->anext != NULL)
		n->anext->aprev = n->aprev;
	nnodes--;
	n->nlookup = 1; /* not again, from below */
	while (n->names != NULL)
		alias_drop(n, &n->names);
	nfh_detach(n);
	free(n);
}

static struct alias **
alias_find(struct node *n, struct node *p, const char *name)
{
	struct alias **ap;

	for (ap = &n->names; *ap != NULL; ap = &(*ap)->next)
		if ((*ap)->parent == p && strcmp((*ap)->name, name) == 0)
			return ap;
	return NULL;
}

/* The name (p, name) of n is gone. n must be held (nlookup or a caller's
 * count) so that it is not freed here. */
static void
node_delname(struct node *n, struct node *p, const char *name)
{
	struct alias **ap = alias_find(n, p, name);

	if (ap != NULL)
		alias_drop(n, ap);
}

/* (p, name) is a name of n, now the one its path is built from; 0 or
 * ENOMEM. */
static int
node_addname(struct node *n, struct node *p, const char *name)
{
	struct alias **ap, *a;
	size_t len = strlen(name);

	if (n == &root)
		return 0;
	ap = alias_find(n, p, name);
	if (ap != NULL) {
		a = *ap;
		*ap = a->next;
	} else {
		a = malloc(sizeof(*a) + len + 1);
		if (a == NULL)
			return ENOMEM;
		memcpy(a->name, name, len + 1);
		a->parent = p;
		p->nchild++;
		n->nnames++;
	}
	a->next = n->names;
	n->names = a;
	if (n->nnames > ALIAS_MAX) {
		for (ap = &n->names; (*ap)->next != NULL; ap = &(*ap)->next)
			;
		alias_drop(n, ap);
	}
	return 0;
}

static struct node *
node_find(uint64_t kino, anyk_mode_t type)
{
	struct node *n;

	for (n = *hash_head(kino); n != NULL; n = n->hnext)
		if (n->kino == kino && n->type == type)
			return n;
	return NULL;
}

/* The node named name in p with the kernel's inode st, one more lookup
 * on it. */
static int
node_get(struct node *p, const char *name, const struct anyk_stat *st, struct node **np)
{
	anyk_mode_t type = st->st_mode & ANYK_S_IFMT;
	struct node *n;
	int error = 0;

	pthread_mutex_lock(&node_lock);
	if (root.kino == st->st_ino && type == ANYK_S_IFDIR) {
		n = &root;
	} else if ((n = node_find(st->st_ino, type)) != NULL) {
		error = node_addname(n, p, name);
	} else if (nnodes >= NODE_MAX) {
		error = ENFILE;
	} else if ((n = calloc(1, sizeof(*n))) == NULL) {
		error = ENOMEM;
	} else if (node_addname(n, p, name) != 0) {
		free(n);
		error = ENOMEM;
	} else {
		n->kino = st->st_ino;
		n->type = type;
		n->gen = next_gen++;
		n->hnext = *hash_head(n->kino);
		*hash_head(n->kino) = n;
		n->hashed = 1;
		n->anext = all_nodes;
		if (all_nodes != NULL)
			all_nodes->aprev = n;
		all_nodes = n;
		nnodes++;
	}
	if (!error) {
		n->nlookup++;
		*np = n;
	}
	pthread_mutex_unlock(&node_lock);
	return error;
}

static void
node_forget(struct node *n, uint64_t count)
{
	pthread_mutex_lock(&node_lock);
	if (n != &root) {
		n->nlookup = count > n->nlookup ? 0 : n->nlookup - count;
		node_maybe_free(n);
	}
	pthread_mutex_unlock(&node_lock);
}

/*
 * The kernel path of n, with "/name" after it if name is not NULL, into
 * buf (ANYK_PATH_MAX bytes). ENOENT for a node whose name was removed,
 * ENAMETOOLONG past the kernel's limit. ns_lock held.
 */
static int
node_path(struct node *n, const char *name, char *buf)
{
	size_t end = ANYK_PATH_MAX - 1, len;
	struct node *m;
	int error = 0;

	buf[end] = '\0';
	if (name != NULL) {
		len = strlen(name);
		if (len > ANYK_NAME_MAX)
			return ENAMETOOLONG;
		end -= len;
		memcpy(buf + end, name, len);
		buf[--end] = '/';
	}
	pthread_mutex_lock(&node_lock);
	for (m = n; m != &root; m = m->names->parent) {
		if (m->names == NULL) {
			error = ENOENT;
			break;
		}
		len = strlen(m->names->name);
		if (len + 1 >= end) {
			error = ENAMETOOLONG;
			break;
		}
		end -= len;
		memcpy(buf + end, m->names->name, len);
		buf[--end] = '/';
	}
	pthread_mutex_unlock(&node_lock);
	if (error)
		return error;
	if (buf[end] == '\0') /* the root itself */
		buf[--end] = '/';
	memmove(buf, buf + end, ANYK_PATH_MAX - end);
	return 0;
}

/* --- replies ---------------------------------------------------------------- */

static void
stat_host(const struct anyk_stat *a, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = a->st_ino;
	st->st_mode = a->st_mode;
	st->st_nlink = a->st_nlink;
	st->st_uid = cfg.set_uid ? cfg.uid : a->st_uid;
	st->st_gid = cfg.set_gid ? cfg.gid : a->st_gid;
	st->st_rdev = makedev(ANYK_MAJOR(a->st_rdev), ANYK_MINOR(a->st_rdev));
	st->st_size = a->st_size;
	st->st_blksize = a->st_blksize;
	st->st_blocks = a->st_blocks;
	st->st_atim.tv_sec = a->st_atim.tv_sec;
	st->st_atim.tv_nsec = a->st_atim.tv_nsec;
	st->st_mtim.tv_sec = a->st_mtim.tv_sec;
	st->st_mtim.tv_nsec = a->st_mtim.tv_nsec;
	st->st_ctim.tv_sec = a->st_ctim.tv_sec;
	st->st_ctim.tv_nsec = a->st_ctim.tv_nsec;
}

static int
err_now(void)
{
	return errno != 0 ? errno : EIO;
}

/*
 * Case-insensitive directories (ext4 casefold): a name there also stands
 * for every other spelling that folds the same, which the host's
 * directory cache does not know. Their entries are therefore not cached
 * by the host, positive or negative: a cached "FOO" would outlive the
 * removal of "foo", a cached absence of "FOO" its creation. Whether a
 * directory is one is noted whenever its attributes pass by; the flag
 * changes only while the directory is empty.
 */
static void
node_set_casefold(struct node *n, bool on)
{
	__atomic_store_n(&n->casefold, on, __ATOMIC_RELAXED);
}

static void
node_note(struct node *n, const struct anyk_stat *st)
{
	node_set_casefold(n, (st->st_mode & ANYK_S_IFMT) == ANYK_S_IFDIR && (st->st_flags & ANYK_FL_CASEFOLD) != 0);
}

static bool
node_casefold(struct node *n)
{
	return __atomic_load_n(&n->casefold, __ATOMIC_RELAXED) != 0;
}

/* The node for (p, name), whose inode st is, one lookup counted on it,
 * into e for a reply. */
static int
entry_of(struct node *p, const char *name, const struct anyk_stat *st,
	 struct fuse_entry_param *e)
{
	struct node *n;
	int error;

	memset(e, 0, sizeof(*e));
	error = node_get(p, name, st, &n);
	if (error)
		return error;
	node_note(n, st);
	e->ino = node_ino(n);
	e->generation = n->gen;
	stat_host(st, &e->attr);
	e->attr_timeout = cfg.timeout;
	e->entry_timeout = node_casefold(p) ? 0 : cfg.timeout;
	return 0;
}

static void at_init(struct at *a, struct node *p, const char *name);
static void at_fini(struct at *a);
static int at_lstat(struct at *a, struct anyk_stat *st);

/* Look the name a up (ns_lock held) and fill e for a reply; counts one
 * lookup on success. */
static int
do_lookup(struct at *a, struct fuse_entry_param *e)
{
	const char *name = a->name;
	struct anyk_stat st;
	int error;

	memset(e, 0, sizeof(*e));
	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return ENOENT; /* only asked for by NFS export, which is off */
	if (strlen(name) > ANYK_NAME_MAX)
		return ENAMETOOLONG;
	error = at_lstat(a, &st);
	if (error)
		return error;
	return entry_of(a->p, name, &st, e);
}

static void
reply_entry_or_err(fuse_req_t req, int error, const struct fuse_entry_param *e, bool neg_ok)
{
	struct fuse_entry_param neg;

	if (error == ENOENT && neg_ok) {
		/* A negative entry: nothing changes the image but this mount,
		 * and the host drops it when it creates the name. */
		memset(&neg, 0, sizeof(neg));
		neg.entry_timeout = cfg.timeout;
		fuse_reply_entry(req, &neg);
	} else if (error) {
		fuse_reply_err(req, error);
	} else if (fuse_reply_entry(req, e) == -ENOENT) {
		/* The request was interrupted: the host never saw the lookup. */
		node_forget(ino_node(e->ino), 1);
	}
}

/* --- descriptors in process contexts -------------------------------------- */

static anyk_mode_t umask_zero(void);
static void umask_begin(anyk_mode_t m);
static void umask_end(anyk_mode_t m);

/* Open path (relative to dirfd) in context p; the descriptor, or -1
 * with the reason in *error. A create applies umask m (see umask_of). */
static int
open_in(struct anyk_proc *p, int dirfd, const char *path, int flags, anyk_mode_t mode,
	anyk_mode_t m, int *error)
{
	struct anyk_proc *old;
	int fd;

	old = anyk_proc_switch(p);
	umask_begin(m);
	fd = anyk_sys_openat(dirfd, path, flags | ANYK_O_CLOEXEC, mode);
	*error = fd < 0 ? err_now() : 0;
	umask_end(m);
	anyk_proc_switch(old);
	return fd;
}

/*
 * Open path with anyk flags and make it an fh. With dfh (a directory's
 * own descriptor, see struct at) path is a name in that directory, opened
 * in dfh's context, and EMFILE there is returned to the caller, who has
 * the whole path to try elsewhere. Without, path is whole and any context
 * with room takes the descriptor. A create applies umask m.
 */
static int
fh_open(struct fh *dfh, const char *path, int flags, anyk_mode_t mode, anyk_mode_t m,
	struct fh **fhp)
{
	struct anyk_proc *p = NULL, *old;
	struct fh *fh;
	int i, start, fd = -1, error = EMFILE;

	fh = calloc(1, sizeof(*fh));
	if (fh == NULL)
		return ENOMEM;
	if (dfh != NULL) {
		p = dfh->proc;
		fd = open_in(p, dfh->fd, path, flags, mode, m, &error);
		goto made;
	}
	pthread_mutex_lock(&proc_lock);
	start = proc_hint;
	pthread_mutex_unlock(&proc_lock);
	for (i = 0; error == EMFILE; i++) {
		pthread_mutex_lock(&proc_lock);
		if (i >= nprocs && nprocs < PROC_MAX) {
			/* Every table was full: one more context. */
			p = anyk_proc_create(NULL, 0);
			if (p != NULL) {
				procs[nprocs++] = p;
				old = anyk_proc_switch(p);
				umask_zero();
				anyk_proc_switch(old);
			}
		}
		if (i >= nprocs) {
			pthread_mutex_unlock(&proc_lock);
			break;
		}
		p = procs[(start + i) % nprocs];
		pthread_mutex_unlock(&proc_lock);
		fd = open_in(p, ANYK_AT_FDCWD, path, flags, mode, m, &error);
		if (!error) {
			pthread_mutex_lock(&proc_lock);
			proc_hint = (start + i) % nprocs;
			pthread_mutex_unlock(&proc_lock);
		}
	}
made:
	if (error) {
		free(fh);
		return error;
	}
	fh->proc = p;
	fh->fd = fd;
	pthread_mutex_init(&fh->lock, NULL);
	pthread_mutex_lock(&fh_lock);
	fh->next = open_fhs;
	if (open_fhs != NULL)
		open_fhs->prev = fh;
	open_fhs = fh;
	pthread_mutex_unlock(&fh_lock);
	*fhp = fh;
	return 0;
}

static struct fh *
fi_fh(struct fuse_file_info *fi)
{
	return (struct fh *)(uintptr_t)fi->fh;
}

static void
fh_close(struct fh *fh)
{
	struct anyk_proc *old;

	pthread_mutex_lock(&fh_lock);
	if (fh->prev != NULL)
		fh->prev->next = fh->next;
	else
		open_fhs = fh->next;
	if (fh->next != NULL)
		fh->next->prev = fh->prev;
	pthread_mutex_unlock(&fh_lock);
	old = anyk_proc_switch(fh->proc);
	anyk_sys_close(fh->fd);
	anyk_proc_switch(old);
	pthread_mutex_destroy(&fh->lock);
	free(fh->buf);
	free(fh);
}

static anyk_mode_t
umask_zero(void)
{
	/* Outside a create, or when the host applies the caller's umask
	 * itself, the kernel's is 0. */
	return anyk_sys_umask(0);
}

/*
 * The caller's umask, for a create. A directory's default ACL overrides
 * the umask, and only the anyk kernel knows whether there is one: so the
 * host is asked not to apply it (FUSE_CAP_DONT_MASK) and sends it along,
 * and the kernel applies it. A context's umask is shared by the threads
 * that use it: umask_lock keeps one create's umask from another's.
 */
static int dont_mask;
static pthread_mutex_t umask_lock = PTHREAD_MUTEX_INITIALIZER;

static anyk_mode_t
umask_of(fuse_req_t req)
{
	return dont_mask ? (anyk_mode_t)(fuse_req_ctx(req)->umask & 0777) : 0;
}

/* Around a create in the current context, with umask m. */
static void
umask_begin(anyk_mode_t m)
{
	if (m != 0) {
		pthread_mutex_lock(&umask_lock);
		anyk_sys_umask(m);
	}
}

static void
umask_end(anyk_mode_t m)
{
	if (m != 0) {
		anyk_sys_umask(0);
		pthread_mutex_unlock(&umask_lock);
	}
}

/* Host open(2) flags to anyk's. O_APPEND is left out: the host kernel
 * computes the end of file itself and sends the offset to write at. */
static int
open_flags(int f)
{
	int a = 0;

	switch (f & O_ACCMODE) {
	case O_RDONLY: a = ANYK_O_RDONLY; break;
	case O_WRONLY: a = ANYK_O_WRONLY; break;
	default: a = ANYK_O_RDWR; break;
	}
	if (f & O_CREAT)
		a |= ANYK_O_CREAT;
	if (f & O_EXCL)
		a |= ANYK_O_EXCL;
	if (f & O_TRUNC)
		a |= ANYK_O_TRUNC;
	if (f & O_DIRECTORY)
		a |= ANYK_O_DIRECTORY;
	if (f & O_NOFOLLOW)
		a |= ANYK_O_NOFOLLOW;
	if (f & O_NOATIME)
		a |= ANYK_O_NOATIME;
	if ((f & O_SYNC) == O_SYNC)
		a |= ANYK_O_SYNC;
	else if (f & O_DSYNC)
		a |= ANYK_O_DSYNC;
	return a;
}

/* --- requests ------------------------------------------------------------- */

static int splice_reads, rpipe_made; /* see read_spliced */
static int pipe_room_ok(void);

static void
op_init(void *userdata, struct fuse_conn_info *conn)
{
	/* The host kernel reads ahead this far in requests of at most
	 * max_read: four of them in flight keep the reader threads, and the
	 * image's disk beneath them, busy (a window of one request left the
	 * disk idle between requests: cold 1 GiB reads ~890 -> ~1240 MiB/s,
	 * six runs each, interleaved). The host kernel caps it (4 MiB on
	 * Linux 6.x). */
	conn->max_readahead = READAHEAD_MAX;
	/* Opens without a round trip where the host can (see nfh_get); an
	 * O_TRUNC is then a SETATTR, never part of an OPEN. */
	no_open = (conn->capable & FUSE_CAP_NO_OPEN_SUPPORT) && !cfg.opens;
	if ((conn->capable & FUSE_CAP_ATOMIC_O_TRUNC) && !no_open)
		conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
	else /* libfuse asks for it by default */
		conn->want &= ~FUSE_CAP_ATOMIC_O_TRUNC;
	/* Over io_uring, reads land in the ring's own buffers instead. */
	splice_reads = 0;
	if ((fuseops_rings_planned == NULL || !fuseops_rings_planned()) &&
	    (conn->capable & FUSE_CAP_SPLICE_WRITE) && rpipe_made &&
	    !cfg.nosplice && pipe_room_ok()) {
		conn->want |= FUSE_CAP_SPLICE_WRITE;
		splice_reads = 1;
	}
	/* Reads come in requests of at most max_read, the mount option
	 * cmd_mount.c gave (libfuse wants it repeated here; a spliced answer
	 * must fit a pipe, see FUSEOPS_READ_MAX), writes of max_write: a
	 * 1 MiB write(2) is then one request, not one of 1 MiB - 16 KiB and
	 * one of 16 KiB. */
	conn->max_read = cfg.max_read;
	conn->max_write = IO_MAX;
	/* Writes go through to the kernel at once: the host's page cache
	 * then never holds data the image does not. */
	conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
	/* The umask comes with each create, for the kernel to apply or, under
	 * a default ACL, not (see umask_of). */
	dont_mask = 0;
	if (conn->capable & FUSE_CAP_DONT_MASK) {
		conn->want |= FUSE_CAP_DONT_MASK;
		dont_mask = 1;
	}
	/* Where the host checks permissions, it checks ACLs too: it reads
	 * them here and caches them; the kernel keeps the mode in step with
	 * them and gives new nodes their inheritance. */
	if (cfg.hostperms && (conn->capable & FUSE_CAP_POSIX_ACL))
		conn->want |= FUSE_CAP_POSIX_ACL;
}

static void
op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fuse_entry_param e;
	struct at a;
	int error;

	at_init(&a, ino_node(parent), name);
	pthread_rwlock_rdlock(&ns_lock);
	error = do_lookup(&a, &e);
	pthread_rwlock_unlock(&ns_lock);
	at_fini(&a);
	reply_entry_or_err(req, error, &e, !node_casefold(ino_node(parent)));
}

static void
op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	node_forget(ino_node(ino), nlookup);
	fuse_reply_none(req);
}

static void
op_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
	size_t i;

	for (i = 0; i < count; i++)
		node_forget(ino_node(forgets[i].ino), forgets[i].nlookup);
	fuse_reply_none(req);
}

/*
 * An open descriptor of n, for a node whose names are all gone: a file
 * unlinked while open is still stat'ed, changed and truncated (fstat,
 * fchmod, ftruncate), and the host asks for those by node, not always
 * with the open file. Descriptors are closed only by the session thread,
 * which is the one that asks, so the one found stays open while used.
 */
static struct fh *
node_fh(struct node *n)
{
	struct fh *fh;

	pthread_mutex_lock(&fh_lock);
	/* Not a node's own unpinned one: that may be closed at any time. */
	for (fh = open_fhs; fh != NULL && (fh->node != n || (fh->isnode && !fh->pinned)); fh = fh->next)
		;
	pthread_mutex_unlock(&fh_lock);
	return fh;
}

/*
 * Opens the host keeps to itself. Where the host kernel allows it
 * (FUSE_CAP_NO_OPEN_SUPPORT), OPEN is answered ENOSYS and the host then
 * opens files without asking: a round trip saved on every open, and one
 * on every close. Reads and writes then come with no descriptor (fh 0),
 * and go through the node's own, opened for reading and writing (reading
 * only where writing is refused) on first use. Those stay open while
 * they are used and among the NFH_MAX most recently used; one whose file
 * loses a name while the host knows the node is pinned instead, until the
 * host forgets the node, so that a file open in the host stays readable
 * after it is unlinked or replaced, as an open file does.
 *
 * Permissions need no open: the host checks them (default_permissions)
 * whenever anyone but root can reach the mount. The host keeps every open
 * flag to itself too, so O_TRUNC comes as a SETATTR (no atomic O_TRUNC),
 * O_SYNC as an FSYNC after each write, O_APPEND as the offset to write.
 */
static void nfh_put(struct fh *fh);
static pthread_mutex_t nfh_lock = PTHREAD_MUTEX_INITIALIZER;
static struct fh *lru_head, *lru_tail;
static unsigned nfh_unpinned;

static void
lru_remove(struct fh *fh)
{
	if (fh->lprev != NULL)
		fh->lprev->lnext = fh->lnext;
	else
		lru_head = fh->lnext;
	if (fh->lnext != NULL)
		fh->lnext->lprev = fh->lprev;
	else
		lru_tail = fh->lprev;
	fh->lnext = fh->lprev = NULL;
	nfh_unpinned--;
}

static void
lru_push(struct fh *fh)
{
	fh->lprev = NULL;
	fh->lnext = lru_head;
	if (lru_head != NULL)
		lru_head->lprev = fh;
	else
		lru_tail = fh;
	lru_head = fh;
	nfh_unpinned++;
}

/* The oldest unused unpinned descriptor past NFH_MAX, taken from its node
 * to be closed; NULL if none. nfh_lock held. */
static struct fh *
lru_victim(void)
{
	struct fh *fh;

	if (nfh_unpinned <= NFH_MAX)
		return NULL;
	for (fh = lru_tail; fh != NULL && fh->refs != 0; fh = fh->lprev)
		;
	if (fh != NULL) {
		lru_remove(fh);
		fh->node->nfh = NULL;
		fh->node = NULL;
	}
	return fh;
}

static int at_open(struct at *a, int flags, anyk_mode_t mode, anyk_mode_t m, struct fh **fhp);

/* Open the name a, or else the whole path, as an fh. ns_lock held. */
static int
open_either(struct at *a, const char *path, int flags, struct fh **fhp)
{
	return a != NULL ? at_open(a, flags, 0, 0, fhp) : fh_open(NULL, path, flags, 0, 0, fhp);
}

/* Open the name a, or else the whole path, as n's own descriptor (pinned
 * or not) and give it to n, unless n has one already. A directory's is
 * opened for reading only. ns_lock held. */
static int
nfh_open(struct node *n, struct at *a, const char *path, int pin)
{
	struct fh *fh, *old;
	int error;

	if (n->type == ANYK_S_IFDIR) {
		error = open_either(a, path, ANYK_O_RDONLY | ANYK_O_DIRECTORY, &fh);
		if (error)
			return error;
		fh->werr = EISDIR;
	} else if ((error = open_either(a, path, ANYK_O_RDWR, &fh)) != 0) {
		int werr = error;

		/* An append-only file is written only through O_APPEND. */
		if (error == EPERM && open_either(a, path, ANYK_O_RDWR | ANYK_O_APPEND, &fh) == 0) {
			fh->append = 1;
		} else {
			error = open_either(a, path, ANYK_O_RDONLY, &fh);
			if (error)
				return error;
			fh->werr = werr;
		}
	}
	fh->isnode = 1;
	pthread_mutex_lock(&nfh_lock);
	old = n->nfh;
	if (old == NULL) {
		fh->node = n;
		fh->pinned = pin;
		n->nfh = fh;
		if (!pin)
			lru_push(fh);
		fh = lru_victim();
	}
	pthread_mutex_unlock(&nfh_lock);
	if (fh != NULL)
		fh_close(fh); /* a racer's, or the oldest */
	return 0;
}

/*
 * The descriptor for a request on ino: the open file's when the host
 * opened through OPEN or CREATE, else the node's own, held until nfh_put.
 * forwrite: the request writes, and a descriptor that cannot gives the
 * reason it could not be opened for writing.
 */
static int
nfh_get(fuse_ino_t ino, struct fuse_file_info *fi, int forwrite, struct fh **fhp)
{
	char path[ANYK_PATH_MAX];
	struct node *n = ino_node(ino);
	struct fh *fh;
	int error;

	if (fi != NULL && fi->fh != 0) {
		*fhp = fi_fh(fi);
		return 0;
	}
	for (;;) {
		pthread_mutex_lock(&nfh_lock);
		fh = n->nfh;
		if (fh != NULL) {
			fh->refs++;
			if (!fh->pinned && fh != lru_head) {
				lru_remove(fh);
				lru_push(fh);
			}
		}
		pthread_mutex_unlock(&nfh_lock);
		if (fh != NULL)
			break;
		pthread_rwlock_rdlock(&ns_lock);
		error = node_path(n, NULL, path);
		if (!error)
			error = nfh_open(n, NULL, path, 0);
		pthread_rwlock_unlock(&ns_lock);
		if (error)
			return error;
	}
	if (forwrite && fh->werr) {
		error = fh->werr;
		nfh_put(fh);
		return error;
	}
	*fhp = fh;
	return 0;
}

/* The reference nfh_put gives back after a request on fh: fh itself for
 * a node's own descriptor, NULL for an open file's. Taken before the
 * reply: once answered, the host may release an open file, and another
 * thread free its fh. */
static struct fh *
nfh_held(struct fh *fh)
{
	return fh->isnode ? fh : NULL;
}

static void
nfh_put(struct fh *fh)
{
	int close_it;

	if (!fh->isnode)
		return;
	pthread_mutex_lock(&nfh_lock);
	close_it = --fh->refs == 0 && fh->node == NULL;
	pthread_mutex_unlock(&nfh_lock);
	if (close_it)
		fh_close(fh);
}

/* n's own descriptor if it has one now, held until nfh_put; NULL if not
 * (none is opened). */
static struct fh *
nfh_peek(struct node *n)
{
	struct fh *fh;

	pthread_mutex_lock(&nfh_lock);
	fh = n->nfh;
	if (fh != NULL)
		fh->refs++;
	pthread_mutex_unlock(&nfh_lock);
	return fh;
}

/* n's file loses its name a: keep it open while the host may hold it.
 * ns_lock held exclusive. */
static void
nfh_pin(struct node *n, struct at *a)
{
	int have;

	pthread_mutex_lock(&nfh_lock);
	have = n->nfh != NULL;
	if (have && !n->nfh->pinned) {
		lru_remove(n->nfh);
		n->nfh->pinned = 1;
	}
	pthread_mutex_unlock(&nfh_lock);
	/* Out of descriptors or memory: the host's open file may then see
	 * ENOENT after the unlink, the unlink itself goes on. */
	if (!have)
		(void)nfh_open(n, a, NULL, 1);
}

/* n loses its own descriptor, closed once unused; one pinned for an
 * unlinked file stays if keep_pinned. */
static void
nfh_release(struct node *n, int keep_pinned)
{
	struct fh *fh;
	int close_it = 0;

	pthread_mutex_lock(&nfh_lock);
	fh = n->nfh;
	if (fh != NULL && !(keep_pinned && fh->pinned)) {
		n->nfh = NULL;
		if (!fh->pinned)
			lru_remove(fh);
		fh->node = NULL;
		close_it = fh->refs == 0;
	}
	pthread_mutex_unlock(&nfh_lock);
	if (close_it)
		fh_close(fh);
}

/* n is freed: its descriptor is closed, once unused. node_lock held. */
static void
nfh_detach(struct node *n)
{
	nfh_release(n, 0);
}

static void
at_init(struct at *a, struct node *p, const char *name)
{
	a->p = p;
	a->name = name;
	a->dfh = NULL;
	if (p != &root && p->type == ANYK_S_IFDIR && nfh_get(node_ino(p), NULL, 0, &a->dfh) != 0)
		a->dfh = NULL;
}

static void
at_fini(struct at *a)
{
	if (a->dfh != NULL)
		nfh_put(a->dfh);
}

/* A name resolved by the whole path only (no descriptor held). */
static void
at_bypath(struct at *a, struct node *p, const char *name)
{
	a->p = p;
	a->name = name;
	a->dfh = NULL;
}

/* Before the calls: the directory's context and descriptor, or the whole
 * path (ENOENT once the directory's names are gone). ns_lock held. */
static int
at_enter(struct at *a, int *dirfd, const char **path)
{
	int error;

	if (a->dfh != NULL) {
		a->old = anyk_proc_switch(a->dfh->proc);
		*dirfd = a->dfh->fd;
		*path = a->name;
		return 0;
	}
	error = node_path(a->p, a->name, a->path);
	*dirfd = ANYK_AT_FDCWD;
	*path = a->path;
	return error;
}

static void
at_leave(struct at *a)
{
	if (a->dfh != NULL)
		anyk_proc_switch(a->old);
}

/* lstat of the name. ns_lock held. */
static int
at_lstat(struct at *a, struct anyk_stat *st)
{
	const char *path;
	int dirfd, error;

	error = at_enter(a, &dirfd, &path);
	if (!error && anyk_sys_fstatat(dirfd, path, st, ANYK_AT_SYMLINK_NOFOLLOW) != 0)
		error = err_now();
	at_leave(a);
	return error;
}

/* Open the name as an fh; a create applies umask m. ns_lock held. */
static int
at_open(struct at *a, int flags, anyk_mode_t mode, anyk_mode_t m, struct fh **fhp)
{
	int error;

	if (a->dfh != NULL) {
		error = fh_open(a->dfh, a->name, flags, mode, m, fhp);
		if (error != EMFILE)
			return error;
		/* That context is full: by path, in one with room. */
	}
	error = node_path(a->p, a->name, a->path);
	if (!error)
		error = fh_open(NULL, a->path, flags, mode, m, fhp);
	return error;
}

/* Stat the node: through the open descriptor if there is one (the name
 * may be gone), else by path, else through any descriptor open on it.
 * ns_lock held when fh is NULL. */
static int
stat_node(fuse_ino_t ino, struct fh *fh, struct anyk_stat *st)
{
	char path[ANYK_PATH_MAX];
	struct anyk_proc *old;
	struct fh *own = NULL;
	int r, error;

	if (fh == NULL && ino != 0 && (own = nfh_peek(ino_node(ino))) != NULL)
		fh = own; /* no walk */
	if (fh == NULL) {
		error = node_path(ino_node(ino), NULL, path);
		if (error != ENOENT || (fh = node_fh(ino_node(ino))) == NULL) {
			if (!error && anyk_sys_lstat(path, st) != 0)
				error = err_now();
			return error;
		}
	}
	old = anyk_proc_switch(fh->proc);
	r = anyk_sys_fstat(fh->fd, st);
	error = r != 0 ? err_now() : 0;
	anyk_proc_switch(old);
	if (own != NULL)
		nfh_put(own);
	return error;
}

static void
reply_attr_of(fuse_req_t req, fuse_ino_t ino, struct fh *fh)
{
	struct anyk_stat ast;
	struct stat st;
	int error;

	pthread_rwlock_rdlock(&ns_lock);
	error = stat_node(ino, fh, &ast);
	pthread_rwlock_unlock(&ns_lock);
	if (error) {
		fuse_reply_err(req, error);
		return;
	}
	node_note(ino_node(ino), &ast);
	stat_host(&ast, &st);
	fuse_reply_attr(req, &st, cfg.timeout);
}

static void
op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	reply_attr_of(req, ino, fi != NULL ? fi_fh(fi) : NULL);
}

static void
op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
	   struct fuse_file_info *fi)
{
	struct fh *fh = fi != NULL ? fi_fh(fi) : NULL;
	char path[ANYK_PATH_MAX];
	struct anyk_timespec ts[2];
	struct anyk_proc *old = NULL;
	anyk_uid_t uid;
	anyk_gid_t gid;
	int r = 0, error;

	pthread_rwlock_rdlock(&ns_lock);
	if (fh == NULL) {
		error = node_path(ino_node(ino), NULL, path);
		if (error == ENOENT && (fh = node_fh(ino_node(ino))) != NULL)
			error = 0;
		if (error)
			goto out;
	}
	if (fh != NULL)
		old = anyk_proc_switch(fh->proc);
	if (to_set & FUSE_SET_ATTR_MODE) {
		r = fh != NULL ? anyk_sys_fchmod(fh->fd, attr->st_mode & 07777)
			       : anyk_sys_fchmodat(ANYK_AT_FDCWD, path, attr->st_mode & 07777, 0);
		if (r != 0)
			goto fail;
	}
	if (to_set & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) {
		uid = (to_set & FUSE_SET_ATTR_UID) ? attr->st_uid : (anyk_uid_t)-1;
		gid = (to_set & FUSE_SET_ATTR_GID) ? attr->st_gid : (anyk_gid_t)-1;
		r = fh != NULL ? anyk_sys_fchown(fh->fd, uid, gid)
			       : anyk_sys_fchownat(ANYK_AT_FDCWD, path, uid, gid,
						   ANYK_AT_SYMLINK_NOFOLLOW);
		if (r != 0)
			goto fail;
	}
	if (to_set & FUSE_SET_ATTR_SIZE) {
		r = fh != NULL ? anyk_sys_ftruncate(fh->fd, attr->st_size)
			       : anyk_sys_truncate(path, attr->st_size);
		if (r != 0)
			goto fail;
	}
	if (to_set & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME)) {
		ts[0].tv_sec = attr->st_atim.tv_sec;
		ts[0].tv_nsec = (to_set & FUSE_SET_ATTR_ATIME_NOW) ? ANYK_UTIME_NOW
				: (to_set & FUSE_SET_ATTR_ATIME) ? attr->st_atim.tv_nsec
								 : ANYK_UTIME_OMIT;
		ts[1].tv_sec = attr->st_mtim.tv_sec;
		ts[1].tv_nsec = (to_set & FUSE_SET_ATTR_MTIME_NOW) ? ANYK_UTIME_NOW
				: (to_set & FUSE_SET_ATTR_MTIME) ? attr->st_mtim.tv_nsec
								 : ANYK_UTIME_OMIT;
		r = fh != NULL ? anyk_sys_futimens(fh->fd, ts)
			       : anyk_sys_utimensat(ANYK_AT_FDCWD, path, ts,
						    ANYK_AT_SYMLINK_NOFOLLOW);
		if (r != 0)
			goto fail;
	}
	goto out;
fail:
	error = err_now();
out:
	if (fh != NULL)
		anyk_proc_switch(old);
	pthread_rwlock_unlock(&ns_lock);
	if (error)
		fuse_reply_err(req, error);
	else
		reply_attr_of(req, ino, fh);
}

/*
 * File flags (lsattr, chattr, xfs_io): FS_IOC_GETFLAGS and FS_IOC_SETFLAGS,
 * an unsigned int each way whose values are anyk's ANYK_FL_*, and
 * FS_IOC_FSGETXATTR and FS_IOC_FSSETXATTR, a struct fsxattr whose xflags
 * name some of the same flags and which carries the project id. The host
 * has already checked ownership and, for IMMUTABLE and APPEND, its
 * capability.
 */
static const struct {
	uint32_t fl, xfl;
} xflag_map[] = {
	{ ANYK_FL_IMMUTABLE, FS_XFLAG_IMMUTABLE }, { ANYK_FL_APPEND, FS_XFLAG_APPEND },
	{ ANYK_FL_SYNC, FS_XFLAG_SYNC },	   { ANYK_FL_NOATIME, FS_XFLAG_NOATIME },
	{ ANYK_FL_NODUMP, FS_XFLAG_NODUMP },	   { ANYK_FL_PROJINHERIT, FS_XFLAG_PROJINHERIT },
};

/* The node's flags (ANYK_FL_*) and project id. ns_lock held. */
static int
node_flags(fuse_ino_t ino, struct fh *fh, uint32_t *fp, uint32_t *projp)
{
	struct anyk_stat st;
	int error = stat_node(ino, fh, &st);

	*fp = st.st_flags;
	*projp = st.st_projid;
	return error;
}

/* n's own descriptor was opened as its flags (IMMUTABLE, APPEND) then
 * allowed; now they have changed, the next request opens it afresh. One
 * pinned for an unlinked file stays. */
static void
nfh_drop(struct node *n)
{
	nfh_release(n, 1);
}

/* Set the node's flags, or (proj) its project id. ns_lock held. */
static int
node_setflags(fuse_ino_t ino, struct fh *fh, uint32_t v, int proj)
{
	char path[ANYK_PATH_MAX];
	struct anyk_proc *old;
	int r, error = 0;

	if (fh == NULL) {
		error = node_path(ino_node(ino), NULL, path);
		if (error == ENOENT && (fh = node_fh(ino_node(ino))) != NULL)
			error = 0;
		if (error)
			return error;
	}
	if (fh == NULL) {
		r = proj ? anyk_sys_setprojidat(ANYK_AT_FDCWD, path, v, ANYK_AT_SYMLINK_NOFOLLOW)
			 : anyk_sys_chflagsat(ANYK_AT_FDCWD, path, v, ANYK_AT_SYMLINK_NOFOLLOW);
	} else {
		old = anyk_proc_switch(fh->proc);
		r = proj ? anyk_sys_fsetprojid(fh->fd, v) : anyk_sys_fchflags(fh->fd, v);
		anyk_proc_switch(old);
	}
	error = r != 0 ? err_now() : 0;
	/* The kernel takes the flag on directories only (ENOTDIR). */
	if (!error && !proj)
		node_set_casefold(ino_node(ino), (v & ANYK_FL_CASEFOLD) != 0);
	if (!error)
		nfh_drop(ino_node(ino));
	return error;
}

static void
op_ioctl(fuse_req_t req, fuse_ino_t ino, int cmd, void *arg, struct fuse_file_info *fi, unsigned flags,
	 const void *in_buf, size_t in_bufsz, size_t out_bufsz)
{
	struct fh *fh = fi != NULL && fi->fh != 0 ? fi_fh(fi) : NULL;
	unsigned int c = (unsigned int)cmd, v;
	struct fsxattr fsx;
	uint32_t cur = 0, proj = 0;
	int error;

	(void)arg;
	if (flags & FUSE_IOCTL_COMPAT) {
		fuse_reply_err(req, ENOSYS);
		return;
	}
	if (c != (unsigned int)FS_IOC_GETFLAGS && c != (unsigned int)FS_IOC_SETFLAGS &&
	    c != (unsigned int)FS_IOC_FSGETXATTR && c != (unsigned int)FS_IOC_FSSETXATTR) {
		fuse_reply_err(req, ENOTTY);
		return;
	}
	if ((c == (unsigned int)FS_IOC_GETFLAGS && out_bufsz < sizeof(v)) ||
	    (c == (unsigned int)FS_IOC_SETFLAGS && in_bufsz < sizeof(v)) ||
	    (c == (unsigned int)FS_IOC_FSGETXATTR && out_bufsz < sizeof(fsx)) ||
	    (c == (unsigned int)FS_IOC_FSSETXATTR && in_bufsz < sizeof(fsx))) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	pthread_rwlock_rdlock(&ns_lock);
	if (c == (unsigned int)FS_IOC_SETFLAGS) {
		memcpy(&v, in_buf, sizeof(v));
		error = node_setflags(ino, fh, v, 0);
	} else {
		error = node_flags(ino, fh, &cur, &proj);
	}
	if (!error && c == (unsigned int)FS_IOC_FSSETXATTR) {
		uint32_t was = cur;

		memcpy(&fsx, in_buf, sizeof(fsx));
		if (fsx.fsx_extsize != 0 || fsx.fsx_cowextsize != 0) {
			error = EOPNOTSUPP;
		} else {
			for (size_t i = 0; i < sizeof(xflag_map) / sizeof(xflag_map[0]); i++) {
				cur &= ~xflag_map[i].fl;
				if (fsx.fsx_xflags & xflag_map[i].xfl)
					cur |= xflag_map[i].fl;
			}
			/* An immutable file refuses a new project: the flags
			 * change first when they were immutable, last when
			 * they become so. */
			if (!error && cur != was && (was & ANYK_FL_IMMUTABLE))
				error = node_setflags(ino, fh, cur, 0);
			if (!error && fsx.fsx_projid != proj)
				error = node_setflags(ino, fh, fsx.fsx_projid, 1);
			if (!error && cur != was && !(was & ANYK_FL_IMMUTABLE))
				error = node_setflags(ino, fh, cur, 0);
		}
	}
	pthread_rwlock_unlock(&ns_lock);
	if (error) {
		fuse_reply_err(req, error);
	} else if (c == (unsigned int)FS_IOC_GETFLAGS) {
		v = cur;
		fuse_reply_ioctl(req, 0, &v, sizeof(v));
	} else if (c == (unsigned int)FS_IOC_FSGETXATTR) {
		memset(&fsx, 0, sizeof(fsx));
		for (size_t i = 0; i < sizeof(xflag_map) / sizeof(xflag_map[0]); i++)
			if (cur & xflag_map[i].fl)
				fsx.fsx_xflags |= xflag_map[i].xfl;
		fsx.fsx_projid = proj;
		fuse_reply_ioctl(req, 0, &fsx, sizeof(fsx));
	} else {
		fuse_reply_ioctl(req, 0, NULL, 0);
	}
}

static void
op_readlink(fuse_req_t req, fuse_ino_t ino)
{
	char path[ANYK_PATH_MAX], buf[ANYK_PATH_MAX];
	anyk_ssize_t n = -1;
	int error;

	pthread_rwlock_rdlock(&ns_lock);
	error = node_path(ino_node(ino), NULL, path);
	if (!error) {
		n = anyk_sys_readlink(path, buf, sizeof(buf) - 1);
		if (n < 0)
			error = err_now();
	}
	pthread_rwlock_unlock(&ns_lock);
	if (error) {
		fuse_reply_err(req, error);
		return;
	}
	buf[n] = '\0';
	fuse_reply_readlink(req, buf);
}

/*
 * After creating name in p for the caller (ns_lock held): the anyk kernel acted as
 * root, so the new object is handed to the caller's uid and, unless the
 * directory's set-group-ID bit chose the group, gid. The mode is put back
 * if the kernel's chown cleared set-id bits the caller asked for.
 */
static int
give_to_caller(fuse_req_t req, struct node *p, const char *name)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	char parentpath[ANYK_PATH_MAX], path[ANYK_PATH_MAX];
	struct anyk_stat pst, st, nst;
	anyk_gid_t gid = ctx->gid;
	int error;

	if (ctx->uid == 0 && ctx->gid == 0)
		return 0;
	error = node_path(p, NULL, parentpath);
	if (!error)
		error = node_path(p, name, path);
	if (error)
		return error;
	if (anyk_sys_lstat(parentpath, &pst) != 0 || anyk_sys_lstat(path, &st) != 0)
		return err_now();
	if (pst.st_mode & ANYK_S_ISGID)
		gid = (anyk_gid_t)-1;
	if (anyk_sys_fchownat(ANYK_AT_FDCWD, path, ctx->uid, gid, ANYK_AT_SYMLINK_NOFOLLOW) != 0)
		return err_now();
	if (!ANYK_S_ISLNK(st.st_mode) && anyk_sys_lstat(path, &nst) == 0 &&
	    nst.st_mode != st.st_mode &&
	    anyk_sys_fchmodat(ANYK_AT_FDCWD, path, st.st_mode & 07777, 0) != 0)
		return err_now();
	return 0;
}

enum mkkind { MK_NOD, MK_DIR, MK_LNK };

static void
do_make(fuse_req_t req, fuse_ino_t parent, const char *name, enum mkkind kind,
	mode_t mode, dev_t rdev, const char *target)
{
	struct fuse_entry_param e;
	struct node *p = ino_node(parent);
	anyk_mode_t m = umask_of(req);
	const char *path;
	struct at a;
	int r, dirfd, error;

	memset(&e, 0, sizeof(e));
	at_init(&a, p, name);
	pthread_rwlock_rdlock(&ns_lock);
	error = at_enter(&a, &dirfd, &path);
	if (!error) {
		umask_begin(m);
		if (kind == MK_DIR)
			r = anyk_sys_mkdirat(dirfd, path, mode & 07777);
		else if (kind == MK_LNK)
			r = anyk_sys_symlinkat(target, dirfd, path);
		else
			r = anyk_sys_mknodat(dirfd, path, mode,
					     ANYK_MAKEDEV(major(rdev), minor(rdev)));
		error = r != 0 ? err_now() : 0;
		umask_end(m);
	}
	at_leave(&a);
	if (!error)
		error = give_to_caller(req, p, name);
	if (!error)
		error = do_lookup(&a, &e);
	pthread_rwlock_unlock(&ns_lock);
	at_fini(&a);
	if (error)
		fuse_reply_err(req, error);
	else
		reply_entry_or_err(req, 0, &e, true);
}

static void
op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev)
{
	do_make(req, parent, name, MK_NOD, mode, rdev, NULL);
}

static void
op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	do_make(req, parent, name, MK_DIR, mode, 0, NULL);
}

static void
op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
	do_make(req, parent, name, MK_LNK, 0, 0, link);
}

/*
 * The name (p, name) is about to go, or to name something else: the node
 * that carries it loses it, and leaves the table when the inode goes with
 * its last name. ns_lock held exclusive.
 */
static void
name_removed(struct node *p, const char *name, const struct anyk_stat *st)
{
	struct node *n;

	pthread_mutex_lock(&node_lock);
	n = node_find(st->st_ino, st->st_mode & ANYK_S_IFMT);
	if (n != NULL) {
		if (ANYK_S_ISDIR(st->st_mode) || st->st_nlink <= 1)
			node_unhash(n);
		n->nlookup++; /* keep n through the drop */
		node_delname(n, p, name);
		n->nlookup--;
		node_maybe_free(n);
	}
	pthread_mutex_unlock(&node_lock);
}

/* The file st is about to lose its name a: if the host may have it open
 * without an OPEN, its node keeps a descriptor (see nfh_get). ns_lock
 * held exclusive. */
static void
keep_open(const struct anyk_stat *st, struct at *a)
{
	struct node *n;

	if (!no_open || !ANYK_S_ISREG(st->st_mode))
		return;
	pthread_mutex_lock(&node_lock);
	n = node_find(st->st_ino, ANYK_S_IFREG);
	if (n != NULL)
		n->nlookup++; /* held across the open */
	pthread_mutex_unlock(&node_lock);
	if (n == NULL)
		return;
	nfh_pin(n, a);
	node_forget(n, 1);
}

static void
do_remove(fuse_req_t req, fuse_ino_t parent, const char *name, int flags)
{
	struct node *p = ino_node(parent);
	struct anyk_stat st;
	const char *path;
	struct at a;
	int dirfd, error;

	at_init(&a, p, name);
	pthread_rwlock_wrlock(&ns_lock);
	error = at_lstat(&a, &st);
	if (!error)
		keep_open(&st, &a);
	if (!error) {
		error = at_enter(&a, &dirfd, &path);
		if (!error && anyk_sys_unlinkat(dirfd, path, flags) != 0)
			error = err_now();
		at_leave(&a);
	}
	if (!error)
		name_removed(p, name, &st);
	pthread_rwlock_unlock(&ns_lock);
	at_fini(&a);
	fuse_reply_err(req, error);
}

static void
op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	do_remove(req, parent, name, 0);
}

static void
op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	do_remove(req, parent, name, ANYK_AT_REMOVEDIR);
}

/* Move the name (from, fname) of the node with inode st to (to, tname).
 * ns_lock held exclusive. */
static void
name_moved(struct node *from, const char *fname, struct node *to, const char *tname,
	   const struct anyk_stat *st)
{
	struct node *n;

	pthread_mutex_lock(&node_lock);
	n = node_find(st->st_ino, st->st_mode & ANYK_S_IFMT);
	if (n != NULL && alias_find(n, from, fname) != NULL) {
		n->nlookup++;
		/* Out of memory: the node loses the name, it is not wrong. */
		(void)node_addname(n, to, tname);
		node_delname(n, from, fname);
		n->nlookup--;
		node_maybe_free(n);
	}
	pthread_mutex_unlock(&node_lock);
}

static void
op_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
	  const char *newname, unsigned int flags)
{
	char from[ANYK_PATH_MAX], to[ANYK_PATH_MAX];
	struct node *p = ino_node(parent), *np = ino_node(newparent);
	struct anyk_stat sst, tst;
	struct at ta;
	unsigned kflags = 0;
	int error, have_target = 0;

	if (flags & ~(unsigned int)(RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT)) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	if (flags & RENAME_NOREPLACE)
		kflags |= ANYK_RENAME_NOREPLACE;
	if (flags & RENAME_EXCHANGE)
		kflags |= ANYK_RENAME_EXCHANGE;
	if (flags & RENAME_WHITEOUT)
		kflags |= ANYK_RENAME_WHITEOUT;
	pthread_rwlock_wrlock(&ns_lock);
	error = node_path(p, name, from);
	if (!error)
		error = node_path(np, newname, to);
	if (!error && anyk_sys_lstat(from, &sst) != 0)
		error = err_now();
	if (error)
		goto out;
	if (anyk_sys_lstat(to, &tst) == 0)
		have_target = 1;
	else if (errno != ENOENT) {
		error = err_now();
		goto out;
	}
	/* A replaced file stays readable where the host has it open. */
	if (have_target && tst.st_ino != sst.st_ino && !(flags & (RENAME_EXCHANGE | RENAME_NOREPLACE))) {
		at_bypath(&ta, np, newname);
		keep_open(&tst, &ta);
	}
	if (anyk_sys_renameat2(ANYK_AT_FDCWD, from, ANYK_AT_FDCWD, to, kflags) != 0) {
		error = err_now();
		goto out;
	}
	/* The whiteout left behind is the caller's, as a new node is (if that
	 * fails it stays root's: the rename has happened and stands). */
	if (flags & RENAME_WHITEOUT)
		(void)give_to_caller(req, p, name);
	if (!have_target || tst.st_ino == sst.st_ino) {
		name_moved(p, name, np, newname, &sst);
	} else if (flags & RENAME_EXCHANGE) {
		/* Both nodes hold on while they trade names. */
		name_moved(p, name, np, newname, &sst);
		name_moved(np, newname, p, name, &tst);
	} else {
		name_removed(np, newname, &tst);
		name_moved(p, name, np, newname, &sst);
	}
out:
	pthread_rwlock_unlock(&ns_lock);
	fuse_reply_err(req, error);
}

static void
op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname)
{
	char from[ANYK_PATH_MAX], to[ANYK_PATH_MAX];
	struct fuse_entry_param e;
	struct at a;
	int error;

	memset(&e, 0, sizeof(e));
	at_bypath(&a, ino_node(newparent), newname);
	pthread_rwlock_rdlock(&ns_lock);
	error = node_path(ino_node(ino), NULL, from);
	if (!error)
		error = node_path(ino_node(newparent), newname, to);
	if (!error && anyk_sys_link(from, to) != 0)
		error = err_now();
	if (!error)
		error = do_lookup(&a, &e);
	pthread_rwlock_unlock(&ns_lock);
	if (error)
		fuse_reply_err(req, error);
	else
		reply_entry_or_err(req, 0, &e, true);
}

/* Open node ino with anyk flags (an existing file or directory). */
static int
node_open(fuse_ino_t ino, int flags, struct fh **fhp)
{
	char path[ANYK_PATH_MAX];
	int error;

	pthread_rwlock_rdlock(&ns_lock);
	error = node_path(ino_node(ino), NULL, path);
	if (!error)
		error = fh_open(NULL, path, flags, 0, 0, fhp);
	pthread_rwlock_unlock(&ns_lock);
	if (!error)
		(*fhp)->node = ino_node(ino);
	return error;
}

static void
op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fh *fh = NULL;
	int error;

	if (no_open) {
		fuse_reply_err(req, ENOSYS); /* see nfh_get */
		return;
	}
	error = node_open(ino, open_flags(fi->flags) & ~(ANYK_O_CREAT | ANYK_O_EXCL), &fh);
	/* An append-only file opens for writing only with O_APPEND, which
	 * the kernel then keeps to: writes at its end (see op_write). */
	if (error == EPERM && (fi->flags & O_APPEND) && (fi->flags & O_ACCMODE) != O_RDONLY &&
	    node_open(ino, (open_flags(fi->flags) & ~(ANYK_O_CREAT | ANYK_O_EXCL)) | ANYK_O_APPEND, &fh) == 0) {
		fh->append = 1;
		error = 0;
	}
	if (error) {
		fuse_reply_err(req, error);
		return;
	}
	fi->fh = (uintptr_t)fh;
	/* Only this mount changes the image, and the host drops the pages
	 * of what it writes or truncates: cached pages stay true. */
	fi->keep_cache = 1;
	if (fuse_reply_open(req, fi) == -ENOENT)
		fh_close(fh);
}

static void
op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
	  struct fuse_file_info *fi)
{
	struct fuse_entry_param e;
	struct node *p = ino_node(parent);
	struct anyk_stat st;
	struct fh *fh = NULL;
	struct at a;
	int error;

	/* Where the host opens without asking (see nfh_get), it creates
	 * with MKNOD once CREATE is refused, and then opens the new file
	 * by itself: no file handle, so no RELEASE when it is closed, a
	 * request saved on every file made. The host checks nothing on
	 * the open of a file it has just made (O_EXCL came with the
	 * MKNOD), as an atomic create. */
	if (no_open) {
		fuse_reply_err(req, ENOSYS);
		return;
	}
	memset(&e, 0, sizeof(e));
	at_init(&a, p, name);
	pthread_rwlock_rdlock(&ns_lock);
	error = at_open(&a, open_flags(fi->flags) | ANYK_O_CREAT, mode & 07777, umask_of(req), &fh);
	if (!error)
		error = give_to_caller(req, p, name);
	/* By the new descriptor: the path need not be walked again. */
	if (!error)
		error = stat_node(0, fh, &st);
	if (!error)
		error = entry_of(p, name, &st, &e);
	pthread_rwlock_unlock(&ns_lock);
	at_fini(&a);
	if (error) {
		if (fh != NULL)
			fh_close(fh);
		fuse_reply_err(req, error);
		return;
	}
	fh->node = ino_node(e.ino);
	fi->fh = (uintptr_t)fh;
	fi->keep_cache = 1;
	if (fuse_reply_create(req, &e, fi) == -ENOENT) {
		fh_close(fh);
		node_forget(ino_node(e.ino), 1);
	}
}

/*
 * The calling worker's read buffer, IO_MAX bytes, kept for the thread's
 * life: a fresh megabyte per request would be mapped, faulted in page by
 * page and unmapped again each time.
 */
static pthread_key_t iobuf_key;
static int iobuf_made;

static char *
iobuf(void)
{
	char *buf = pthread_getspecific(iobuf_key);

	if (buf == NULL) {
		buf = malloc(IO_MAX);
		if (buf != NULL && pthread_setspecific(iobuf_key, buf) != 0) {
			free(buf);
			buf = NULL;
		}
	}
	return buf;
}

/*
 * Answering reads without copying: over /dev/fuse, libfuse can splice an
 * answer from a pipe into the host kernel (FUSE_CAP_SPLICE_WRITE). The
 * anyk kernel fills the calling thread's pipe straight from the image
 * (anyk_sys_pread_host: splice(2) of the image's cached pages), so the
 * data reaches the FUSE page cache in one copy, as a loop mount's does,
 * instead of three. Requests are then kept a little under IO_MAX, so
 * that libfuse's own pipe can hold an answer with its header within
 * /proc/sys/fs/pipe-max-size. The pipe's write end does not block: data
 * that does not fit (small pieces of a fragmented file each take a slot)
 * comes through memory behind what the pipe holds.
 */
static pthread_key_t rpipe_key;

struct rpipe {
	int fd[2];
};

static void
rpipe_free(void *arg)
{
	struct rpipe *p = arg;

	close(p->fd[0]);
	close(p->fd[1]);
	free(p);
}

/* May this process have pipes of IO_MAX bytes? */
static int
pipe_room_ok(void)
{
	int fd[2], ok;

	if (pipe2(fd, O_CLOEXEC) != 0)
		return 0;
	ok = fcntl(fd[0], F_SETPIPE_SZ, IO_MAX) >= (int)IO_MAX;
	close(fd[0]);
	close(fd[1]);
	return ok;
}

static struct rpipe *
rpipe(void)
{
	struct rpipe *p = pthread_getspecific(rpipe_key);

	if (p != NULL)
		return p;
	p = malloc(sizeof(*p));
	if (p == NULL)
		return NULL;
	if (pipe2(p->fd, O_CLOEXEC) != 0) {
		free(p);
		return NULL;
	}
	if (fcntl(p->fd[1], F_SETFL, O_NONBLOCK) != 0 || fcntl(p->fd[0], F_SETPIPE_SZ, IO_MAX) < (int)IO_MAX ||
	    pthread_setspecific(rpipe_key, p) != 0) {
		rpipe_free(p);
		return NULL;
	}
	return p;
}

/* Empty the pipe after an answer that did not take all of it (the request
 * was interrupted, or the reply failed). */
static void
rpipe_drain(struct rpipe *p)
{
	char junk[4096];
	int left = 0;

	while (ioctl(p->fd[0], FIONREAD, &left) == 0 && left > 0)
		if (read(p->fd[0], junk, sizeof(junk)) <= 0)
			break;
}

/* Answer a read of size bytes at off through the thread's pipe. 0: done
 * (answered); else not answered, and the caller reads through memory. */
static int
read_spliced(fuse_req_t req, struct fh *fh, size_t size, off_t off)
{
	struct fuse_bufvec *bv;
	struct rpipe *p = rpipe();
	anyk_ssize_t n, m = 0;
	char *buf = NULL;
	int error = 0;

	if (p == NULL)
		return -1;
	n = anyk_sys_pread_host(fh->fd, p->fd[1], size, off);
	if (n < 0) {
		error = err_now();
		if (error != EAGAIN) {
			fuse_reply_err(req, error);
			return 0;
		}
		n = 0;
	}
	if ((size_t)n < size && n > 0) {
		/* The pipe filled up, or the file ended: the rest, if any,
		 * through memory. */
		buf = iobuf();
		m = buf == NULL ? -1 : anyk_sys_pread(fh->fd, buf, size - (size_t)n, off + n);
		if (m < 0) {
			error = buf == NULL ? ENOMEM : err_now();
			rpipe_drain(p);
			fuse_reply_err(req, error);
			return 0;
		}
	} else if (n == 0) {
		return -1; /* nothing in the pipe: the ordinary way */
	}
	bv = alloca(sizeof(*bv) + sizeof(struct fuse_buf));
	memset(bv, 0, sizeof(*bv) + sizeof(struct fuse_buf));
	bv->count = m > 0 ? 2 : 1;
	bv->buf[0].size = (size_t)n;
	bv->buf[0].flags = FUSE_BUF_IS_FD;
	bv->buf[0].fd = p->fd[0];
	if (m > 0) {
		bv->buf[1].size = (size_t)m;
		bv->buf[1].mem = buf;
	}
	/* Splicing moves page references; the host kernel then copies the
	 * data once, into the FUSE page cache. */
	fuse_reply_data(req, bv, 0);
	rpipe_drain(p);
	return 0;
}

/* Read size bytes at off from fh and answer req, in the calling thread. */
static void
do_read(fuse_req_t req, struct fh *fh, size_t size, off_t off, char *buf)
{
	struct anyk_proc *old;
	anyk_ssize_t n;
	int error = 0;

	if (size > IO_MAX)
		size = IO_MAX;
	if (buf == NULL && splice_reads && size > READ_INLINE) {
		old = anyk_proc_switch(fh->proc);
		error = read_spliced(req, fh, size, off);
		anyk_proc_switch(old);
		if (error == 0)
			return;
	}
	if (buf == NULL)
		buf = iobuf();
	if (buf == NULL) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	old = anyk_proc_switch(fh->proc);
	n = anyk_sys_pread(fh->fd, buf, size, off);
	if (n < 0)
		error = err_now();
	anyk_proc_switch(old);
	if (error)
		fuse_reply_err(req, error);
	else
		fuse_reply_buf(req, buf, (size_t)n);
}

/*
 * The session is served by one thread (cmd_mount.c), so that the next
 * request of a client that waits for each answer finds the thread that
 * just answered it still running, instead of waking another sleeping
 * worker each time: a metadata request takes the anyk kernel a few
 * microseconds, less than a wake-up. What waits on the disk goes to this
 * pool instead, so that the session thread goes on serving other callers
 * meanwhile: large reads (the host's read-ahead sends several at once,
 * and they then read the image in parallel) and fsync (a journal commit
 * and a flush of the image). The host holds the open file until such a
 * request is answered, so fh stays valid.
 */
enum { JOB_READ, JOB_FSYNC };

struct rjob {
	struct rjob *next;
	fuse_req_t req;
	struct fh *fh;
	struct fh *held; /* for nfh_put after the answer (nfh_held) */
	int kind;     /* JOB_* */
	int datasync; /* JOB_FSYNC */
	size_t size;  /* JOB_READ */
	off_t off;
	char *buf;    /* where to read, or NULL */
};

static void do_fsync(fuse_req_t req, struct fh *fh, int datasync);

static pthread_mutex_t rq_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t rq_cond = PTHREAD_COND_INITIALIZER;
static struct rjob *rq_head, **rq_tail = &rq_head;
static int rq_stop, nreaders;
static _Thread_local int deferred; /* see fuseops_take_deferred */
void *(*fuseops_reply_room)(size_t size);
int (*fuseops_rings_planned)(void);

int
fuseops_take_deferred(void)
{
	int d = deferred;

	deferred = 0;
	return d;
}
static pthread_t readers[READERS];

static void *
reader_main(void *arg)
{
	struct rjob *j;

	for (;;) {
		pthread_mutex_lock(&rq_lock);
		while (rq_head == NULL && !rq_stop)
			pthread_cond_wait(&rq_cond, &rq_lock);
		j = rq_head;
		if (j != NULL) {
			rq_head = j->next;
			if (rq_head == NULL)
				rq_tail = &rq_head;
		}
		pthread_mutex_unlock(&rq_lock);
		if (j == NULL)
			return arg; /* stopped, and nothing left */
		if (j->kind == JOB_FSYNC)
			do_fsync(j->req, j->fh, j->datasync);
		else
			do_read(j->req, j->fh, j->size, j->off, j->buf);
		if (j->held != NULL)
			nfh_put(j->held);
		free(j);
	}
}

/* Hand j to the pool. */
static void
rq_push(struct rjob *j)
{
	deferred = 1;
	j->next = NULL;
	pthread_mutex_lock(&rq_lock);
	*rq_tail = j;
	rq_tail = &j->next;
	pthread_cond_signal(&rq_cond);
	pthread_mutex_unlock(&rq_lock);
}

static void
op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
	char *room;
	struct rjob *j;
	struct fh *fh;
	int error = nfh_get(ino, fi, 0, &fh);

	if (error) {
		fuse_reply_err(req, error);
		return;
	}
	room = fuseops_reply_room != NULL ? fuseops_reply_room(size) : NULL;
	/* A small read is over sooner than a hand-over would take. */
	if (size <= READ_INLINE || nreaders == 0 || (j = malloc(sizeof(*j))) == NULL) {
		struct fh *held = nfh_held(fh);

		do_read(req, fh, size, off, room);
		if (held != NULL)
			nfh_put(held);
		return;
	}
	j->req = req;
	j->fh = fh;
	j->held = nfh_held(fh);
	j->kind = JOB_READ;
	j->size = size;
	j->off = off;
	j->buf = room;
	rq_push(j);
}

static void
op_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
	 struct fuse_file_info *fi)
{
	struct anyk_proc *old;
	anyk_ssize_t n;
	size_t done = 0;
	struct fh *fh;
	int error = nfh_get(ino, fi, 1, &fh);

	if (error) {
		fuse_reply_err(req, error);
		return;
	}
	old = anyk_proc_switch(fh->proc);
	if (fh->append) {
		/* The host sends an O_APPEND writer's data at the end; anything
		 * else would be written there too, so it is refused, as the
		 * host's open would have refused it. */
		struct anyk_stat st;

		if (anyk_sys_fstat(fh->fd, &st) != 0)
			error = err_now();
		else if (off < st.st_size)
			error = EPERM;
		if (error)
			size = 0;
	}
	while (done < size) {
		n = anyk_sys_pwrite(fh->fd, buf + done, size - done, off + (off_t)done);
		if (n <= 0) {
			error = n < 0 ? err_now() : EIO;
			break;
		}
		done += (size_t)n;
	}
	anyk_proc_switch(old);
	nfh_put(fh);
	if (done == 0 && error)
		fuse_reply_err(req, error);
	else
		fuse_reply_write(req, done);
}

static void
op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	if (fi->fh != 0) /* else opened without OPEN: nothing of its own */
		fh_close(fi_fh(fi));
	fuse_reply_err(req, 0);
}

static void
do_fsync(fuse_req_t req, struct fh *fh, int datasync)
{
	struct anyk_proc *old;
	int r, error;

	old = anyk_proc_switch(fh->proc);
	r = datasync ? anyk_sys_fdatasync(fh->fd) : anyk_sys_fsync(fh->fd);
	error = r != 0 ? err_now() : 0;
	anyk_proc_switch(old);
	fuse_reply_err(req, error);
}

static void
op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	struct rjob *j;
	struct fh *fh;
	int error = nfh_get(ino, fi, 0, &fh);

	if (error) {
		fuse_reply_err(req, error);
		return;
	}
	if (nreaders == 0 || (j = malloc(sizeof(*j))) == NULL) {
		struct fh *held = nfh_held(fh);

		do_fsync(req, fh, datasync);
		if (held != NULL)
			nfh_put(held);
		return;
	}
	j->req = req;
	j->fh = fh;
	j->held = nfh_held(fh);
	j->kind = JOB_FSYNC;
	j->datasync = datasync;
	rq_push(j);
}

static void
op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fh *fh = NULL;
	int error;

	error = node_open(ino, ANYK_O_RDONLY | ANYK_O_DIRECTORY, &fh);
	if (!error && (fh->buf = malloc(DIRBUF)) == NULL) {
		fh_close(fh);
		error = ENOMEM;
	}
	if (error) {
		fuse_reply_err(req, error);
		return;
	}
	fi->fh = (uintptr_t)fh;
	fi->cache_readdir = 1;
	fi->keep_cache = 1;
	if (fuse_reply_open(req, fi) == -ENOENT)
		fh_close(fh);
}

/* One entry for readdirplus: looked up (one count) unless "." or "..". */
static int
plus_entry(struct node *dir, struct fh *fh, const struct anyk_dirent *d,
	   struct fuse_entry_param *e)
{
	struct anyk_stat st;
	int error;

	if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0) {
		memset(e, 0, sizeof(*e));
		e->attr.st_ino = d->d_ino;
		e->attr.st_mode = (mode_t)d->d_type << 12;
		return 0;
	}
	/* By the open directory, in its context (the caller switched to
	 * it): no path to build and walk for every entry. */
	pthread_rwlock_rdlock(&ns_lock);
	if (anyk_sys_fstatat(fh->fd, d->d_name, &st, ANYK_AT_SYMLINK_NOFOLLOW) != 0)
		error = err_now();
	else
		error = entry_of(dir, d->d_name, &st, e);
	pthread_rwlock_unlock(&ns_lock);
	return error;
}

static void
do_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
	   struct fuse_file_info *fi, int plus)
{
	struct fh *fh = fi_fh(fi);
	struct fuse_entry_param e;
	const struct anyk_dirent *d;
	struct anyk_proc *old;
	struct stat st;
	anyk_ssize_t n;
	size_t used = 0, want;
	char *out;
	int error = 0;

	if (size > IO_MAX)
		size = IO_MAX;
	out = malloc(size ? size : 1);
	if (out == NULL) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	pthread_mutex_lock(&fh->lock);
	old = anyk_proc_switch(fh->proc);
	if (off != fh->pos) {
		/* The host went back (rewinddir, seekdir): start over at the
		 * kernel's cookie. */
		if (anyk_sys_lseek(fh->fd, off, ANYK_SEEK_SET) < 0) {
			error = err_now();
			goto out;
		}
		fh->len = fh->at = 0;
		fh->pos = off;
	}
	for (;;) {
		if (fh->at >= fh->len) {
			n = anyk_sys_getdents(fh->fd, fh->buf, DIRBUF);
			if (n < 0)
				error = err_now();
			if (n <= 0)
				break;
			fh->len = (size_t)n;
			fh->at = 0;
		}
		d = (const struct anyk_dirent *)(fh->buf + fh->at);
		if (d->d_reclen == 0 || d->d_reclen > fh->len - fh->at) {
			error = EIO;
			break;
		}
		if (plus) {
			error = plus_entry(ino_node(ino), fh, d, &e);
			if (error == ENOENT) {
				/* Gone since it was read: leave it out. */
				error = 0;
				fh->at += d->d_reclen;
				fh->pos = d->d_off;
				continue;
			}
			if (error)
				break;
			want = fuse_add_direntry_plus(req, out + used, size - used,
						      d->d_name, &e, d->d_off);
			if (want > size - used) {
				if (e.ino != 0)
					node_forget(ino_node(e.ino), 1);
				break;
			}
		} else {
			memset(&st, 0, sizeof(st));
			st.st_ino = d->d_ino;
			st.st_mode = (mode_t)d->d_type << 12;
			want = fuse_add_direntry(req, out + used, size - used, d->d_name,
						 &st, d->d_off);
			if (want > size - used)
				break;
		}
		used += want;
		fh->at += d->d_reclen;
		fh->pos = d->d_off;
	}
out:
	anyk_proc_switch(old);
	pthread_mutex_unlock(&fh->lock);
	/* What was gathered goes out; an error only if there is nothing. */
	if (error && used == 0)
		fuse_reply_err(req, error);
	else
		fuse_reply_buf(req, out, used);
	free(out);
}

static void
op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, fi, 0);
}

static void
op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
	       struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, fi, 1);
}

static void
op_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	fh_close(fi_fh(fi));
	fuse_reply_err(req, 0);
}

static void
op_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	op_fsync(req, ino, datasync, fi);
}

static void
op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct anyk_statvfs a;
	struct statvfs st;

	/* Every node is on the one file system: ask at its root. */
	if (anyk_sys_statvfs("/", &a) != 0) {
		fuse_reply_err(req, err_now());
		return;
	}
	memset(&st, 0, sizeof(st));
	st.f_bsize = a.f_bsize;
	st.f_frsize = a.f_frsize;
	st.f_blocks = a.f_blocks;
	st.f_bfree = a.f_bfree;
	st.f_bavail = a.f_bavail;
	st.f_files = a.f_files;
	st.f_ffree = a.f_ffree;
	st.f_favail = a.f_favail;
	st.f_fsid = a.f_fsid;
	st.f_namemax = a.f_namemax;
	fuse_reply_statfs(req, &st);
}

static void
op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
	    size_t size, int flags)
{
	char path[ANYK_PATH_MAX];
	int aflags = 0, error;

	if (flags & ~(XATTR_CREATE | XATTR_REPLACE)) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	if (flags & XATTR_CREATE)
		aflags |= ANYK_XATTR_CREATE;
	if (flags & XATTR_REPLACE)
		aflags |= ANYK_XATTR_REPLACE;
	pthread_rwlock_rdlock(&ns_lock);
	error = node_path(ino_node(ino), NULL, path);
	if (!error && anyk_sys_lsetxattr(path, name, value, size, aflags) != 0)
		error = err_now();
	pthread_rwlock_unlock(&ns_lock);
	fuse_reply_err(req, error);
}

/* getxattr and listxattr: size 0 asks how much is needed. */
static void
reply_xattr_call(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	char path[ANYK_PATH_MAX];
	anyk_ssize_t n = -1;
	char *buf = NULL;
	int error;

	if (size > 0 && (buf = malloc(size)) == NULL) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	pthread_rwlock_rdlock(&ns_lock);
	error = node_path(ino_node(ino), NULL, path);
	if (!error) {
		n = name != NULL ? anyk_sys_lgetxattr(path, name, buf, size)
				 : anyk_sys_llistxattr(path, buf, size);
		if (n < 0)
			error = err_now();
	}
	pthread_rwlock_unlock(&ns_lock);
	if (error)
		fuse_reply_err(req, error);
	else if (size == 0)
		fuse_reply_xattr(req, (size_t)n);
	else
		fuse_reply_buf(req, buf, (size_t)n);
	free(buf);
}

static void
op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	reply_xattr_call(req, ino, name, size);
}

static void
op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	reply_xattr_call(req, ino, NULL, size);
}

static void
op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	char path[ANYK_PATH_MAX];
	int error;

	pthread_rwlock_rdlock(&ns_lock);
	error = node_path(ino_node(ino), NULL, path);
	if (!error && anyk_sys_lremovexattr(path, name) != 0)
		error = err_now();
	pthread_rwlock_unlock(&ns_lock);
	fuse_reply_err(req, error);
}

static void
op_access(fuse_req_t req, fuse_ino_t ino, int mask)
{
	char path[ANYK_PATH_MAX];
	int amask = 0, error;

	/* Only reached without default_permissions, when every caller is
	 * root: answered as root would be (execute needs an execute bit). */
	if (mask & R_OK)
		amask |= ANYK_R_OK;
	if (mask & W_OK)
		amask |= ANYK_W_OK;
	if (mask & X_OK)
		amask |= ANYK_X_OK;
	pthread_rwlock_rdlock(&ns_lock);
	error = node_path(ino_node(ino), NULL, path);
	if (!error && anyk_sys_faccessat(ANYK_AT_FDCWD, path, amask, ANYK_AT_SYMLINK_NOFOLLOW) != 0)
		error = err_now();
	pthread_rwlock_unlock(&ns_lock);
	fuse_reply_err(req, error);
}

static void
op_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence, struct fuse_file_info *fi)
{
	struct fh *fh;
	struct anyk_proc *old;
	anyk_off_t r;
	int w, error = 0;

	switch (whence) {
	case SEEK_SET: w = ANYK_SEEK_SET; break;
	case SEEK_CUR: w = ANYK_SEEK_CUR; break;
	case SEEK_END: w = ANYK_SEEK_END; break;
	case SEEK_DATA: w = ANYK_SEEK_DATA; break;
	case SEEK_HOLE: w = ANYK_SEEK_HOLE; break;
	default:
		fuse_reply_err(req, EINVAL);
		return;
	}
	error = nfh_get(ino, fi, 0, &fh);
	if (error) {
		fuse_reply_err(req, error);
		return;
	}
	old = anyk_proc_switch(fh->proc);
	r = anyk_sys_lseek(fh->fd, off, w);
	if (r < 0)
		error = err_now();
	anyk_proc_switch(old);
	nfh_put(fh);
	if (error)
		fuse_reply_err(req, error);
	else
		fuse_reply_lseek(req, r);
}

static void
op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset, off_t length,
	     struct fuse_file_info *fi)
{
	struct anyk_proc *old;
	struct fh *fh;
	int error = 0, m = 0;

	/* A mode anyk does not know gets EOPNOTSUPP, never ENOSYS, which
	 * the host would remember for the whole mount. */
	if (mode & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE |
		     FALLOC_FL_COLLAPSE_RANGE | FALLOC_FL_INSERT_RANGE)) {
		fuse_reply_err(req, EOPNOTSUPP);
		return;
	}
	if (mode & FALLOC_FL_KEEP_SIZE)
		m |= ANYK_FALLOC_FL_KEEP_SIZE;
	if (mode & FALLOC_FL_PUNCH_HOLE)
		m |= ANYK_FALLOC_FL_PUNCH_HOLE;
	if (mode & FALLOC_FL_ZERO_RANGE)
		m |= ANYK_FALLOC_FL_ZERO_RANGE;
	if (mode & FALLOC_FL_COLLAPSE_RANGE)
		m |= ANYK_FALLOC_FL_COLLAPSE_RANGE;
	if (mode & FALLOC_FL_INSERT_RANGE)
		m |= ANYK_FALLOC_FL_INSERT_RANGE;
	error = nfh_get(ino, fi, 1, &fh);
	if (error) {
		fuse_reply_err(req, error);
		return;
	}
	old = anyk_proc_switch(fh->proc);
	if (anyk_sys_fallocate(fh->fd, m, offset, length) != 0)
		error = err_now();
	anyk_proc_switch(old);
	nfh_put(fh);
	fuse_reply_err(req, error);
}

const struct fuse_lowlevel_ops fuseops = {
	.init = op_init,
	.lookup = op_lookup,
	.forget = op_forget,
	.forget_multi = op_forget_multi,
	.getattr = op_getattr,
	.setattr = op_setattr,
	.readlink = op_readlink,
	.mknod = op_mknod,
	.mkdir = op_mkdir,
	.unlink = op_unlink,
	.ioctl = op_ioctl,
	.rmdir = op_rmdir,
	.symlink = op_symlink,
	.rename = op_rename,
	.link = op_link,
	.open = op_open,
	.read = op_read,
	.write = op_write,
	/* No flush: writes reached the kernel when they were answered, and
	 * the ENOSYS libfuse answers the first one with tells the host to
	 * stop sending them, a round trip saved on every close. */
	.release = op_release,
	.fsync = op_fsync,
	.opendir = op_opendir,
	.readdir = op_readdir,
	.readdirplus = op_readdirplus,
	.releasedir = op_releasedir,
	.fsyncdir = op_fsyncdir,
	.statfs = op_statfs,
	.setxattr = op_setxattr,
	.getxattr = op_getxattr,
	.listxattr = op_listxattr,
	.removexattr = op_removexattr,
	.access = op_access,
	.create = op_create,
	.lseek = op_lseek,
	.fallocate = op_fallocate,
};

/* --- set-up ----------------------------------------------------------------- */

int
fuseops_init(const struct fuseops_config *c)
{
	struct anyk_stat st;

	cfg = *c;
	if (anyk_sys_lstat("/", &st) != 0)
		return err_now();
	if (!iobuf_made) {
		if (pthread_key_create(&iobuf_key, free) != 0)
			return ENOMEM;
		iobuf_made = 1;
	}
	if (!rpipe_made && pthread_key_create(&rpipe_key, rpipe_free) == 0)
		rpipe_made = 1;
	/* Fewer readers, or none, only cost speed: reads then stay inline. */
	rq_stop = 0;
	for (nreaders = 0; nreaders < READERS; nreaders++)
		if (pthread_create(&readers[nreaders], NULL, reader_main, NULL) != 0)
			break;
	memset(&root, 0, sizeof(root));
	root.kino = st.st_ino;
	root.type = ANYK_S_IFDIR;
	root.nlookup = 1;
	umask_zero();
	return 0;
}

void
fuseops_drain(void)
{
	int k;

	pthread_mutex_lock(&rq_lock);
	rq_stop = 1;
	pthread_cond_broadcast(&rq_cond);
	pthread_mutex_unlock(&rq_lock);
	for (k = 0; k < nreaders; k++)
		pthread_join(readers[k], NULL);
	nreaders = 0;
}

void
fuseops_fini(void)
{
	struct node *n, *next;
	int k;

	fuseops_drain();
	if (iobuf_made) {
		free(pthread_getspecific(iobuf_key));
		pthread_setspecific(iobuf_key, NULL);
	}
	if (rpipe_made) {
		struct rpipe *p = pthread_getspecific(rpipe_key);

		if (p != NULL)
			rpipe_free(p);
		pthread_setspecific(rpipe_key, NULL);
	}

	while (open_fhs != NULL)
		fh_close(open_fhs);
	lru_head = lru_tail = NULL; /* they were among them */
	nfh_unpinned = 0;
	for (k = 1; k < nprocs; k++)
		anyk_proc_release(procs[k]);
	nprocs = 1;
	for (n = all_nodes; n != NULL; n = next) {
		next = n->anext;
		while (n->names != NULL) {
			struct alias *a = n->names;

			n->names = a->next;
			free(a);
		}
		free(n);
	}
	all_nodes = NULL;
	nnodes = 0;
	memset(hash, 0, sizeof(hash));
}

#else
typedef int fuse_ops_unused; /* ISO C wants something in the file */
#endif /* ANYK_HAVE_FUSE */
