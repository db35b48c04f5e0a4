/*
 * Stress: eight host threads hammer one kernel for about four seconds with
 * mixed file operations on names that overlap between threads, part of the
 * time each in a process context of its own. Races make some calls fail
 * with ENOENT, EEXIST, ENOTEMPTY and the like; those are counted. Any other
 * error, a crash or a hang fails. Afterwards the tree must be consistent
 * (link counts, sizes, directory listings) and removing it must give every
 * inode back.
 */
#include "../harness.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include "anyk/anyk.h"

#define NTHREADS 8
#define NDIRS 4
#define NNAMES 12
#define MAXFDS 8
#define SECONDS 4
#define MAX_ITERS 400000
#define ROUND 64 /* operations between context switches */
#define MAXSIZE (16 * 1024)

struct worker {
	int id;
	uint64_t rng;
	struct timespec deadline;
	long ops, expected_errs, bad;
	char first_bad[4][160];
	int fds[MAXFDS];
	int kind[MAXFDS]; /* K_* bits of each owned descriptor */
	int nfds;
};

#define K_READ 1
#define K_WRITE 2
#define K_DIR 4

static struct worker workers[NTHREADS];

static uint64_t rnd(struct worker *w)
{
	/* xorshift64*: cheap, per thread, reproducible choices */
	w->rng ^= w->rng >> 12;
	w->rng ^= w->rng << 25;
	w->rng ^= w->rng >> 27;
	return w->rng * 2685821657736338717ull;
}

static unsigned pick(struct worker *w, unsigned n) { return (unsigned)(rnd(w) % n); }

static void name1(struct worker *w, char *p, size_t n)
{
	snprintf(p, n, "/stress/d%u/n%u", pick(w, NDIRS), pick(w, NNAMES));
}

static void name2(struct worker *w, char *p, size_t n)
{
	snprintf(p, n, "/stress/d%u/n%u/m%u", pick(w, NDIRS), pick(w, NNAMES), pick(w, 4));
}

static void any_name(struct worker *w, char *p, size_t n)
{
	if (pick(w, 3) == 0)
		name2(w, p, n);
	else
		name1(w, p, n);
}

/* A failed call: is the error one a race can explain? extra is one more
 * error this particular call may give (EPERM for link on a directory). */
static void result(struct worker *w, long r, const char *what, int extra)
{
	int e = errno;

	if (r >= 0)
		return;
	if (e == ENOENT || e == EEXIST || e == ENOTEMPTY || e == ENOTDIR ||
	    e == EISDIR || (extra && e == extra)) {
		w->expected_errs++;
		return;
	}
	if (w->bad < 4)
		snprintf(w->first_bad[w->bad], sizeof(w->first_bad[0]),
			 "thread %d: %s: %s", w->id, what, strerrorname_np(e) ? strerrorname_np(e) : "?");
	w->bad++;
}

/* A call on a descriptor the thread owns: it must succeed. */
static void must(struct worker *w, long r, const char *what)
{
	if (r >= 0)
		return;
	if (w->bad < 4)
		snprintf(w->first_bad[w->bad], sizeof(w->first_bad[0]),
			 "thread %d: %s on an owned fd: %s", w->id, what,
			 strerrorname_np(errno) ? strerrorname_np(errno) : "?");
	w->bad++;
}

/* Keep fd as an owned descriptor of the given access, or close it. */
static void adopt(struct worker *w, int fd, int acc)
{
	struct anyk_stat st;
	int kind = acc == ANYK_O_RDONLY ? K_READ : acc == ANYK_O_WRONLY ? K_WRITE : K_READ | K_WRITE;

	if (w->nfds == MAXFDS) {
		must(w, anyk_sys_close(fd), "close");
		return;
	}
	must(w, anyk_sys_fstat(fd, &st), "fstat new fd");
	if (ANYK_S_ISDIR(st.st_mode))
		kind |= K_DIR;
	w->kind[w->nfds] = kind;
	w->fds[w->nfds++] = fd;
}

/* An owned descriptor's call: success, or exactly the error its kind
 * explains (no read on O_WRONLY, no write on O_RDONLY, no data I/O on a
 * directory). */
static void owned(struct worker *w, long r, int kind, int need, const char *what)
{
	int e = errno;

	if (r >= 0)
		return;
	if ((kind & K_DIR) && e == EISDIR)
		return;
	if (!(kind & need) && e == EBADF)
		return;
	/* ftruncate of an O_RDONLY descriptor: Linux says EINVAL */
	if (need == K_WRITE && !(kind & K_WRITE) && e == EINVAL && strcmp(what, "ftruncate") == 0)
		return;
	must(w, r, what);
}

static void close_all(struct worker *w)
{
	int i;

	for (i = 0; i < w->nfds; i++)
		must(w, anyk_sys_close(w->fds[i]), "close");
	w->nfds = 0;
}

static void do_op(struct worker *w)
{
	char a[96], b[96], buf[1024];
	struct anyk_stat st;
	int fd, i;

	memset(buf, 'A' + w->id, sizeof(buf));
	switch (pick(w, 16)) {
	case 0: /* create */
		any_name(w, a, sizeof(a));
		fd = anyk_sys_open(a, ANYK_O_CREAT | ANYK_O_RDWR | (pick(w, 4) == 0 ? ANYK_O_EXCL : 0), 0644);
		result(w, fd, "create", 0);
		if (fd >= 0)
			adopt(w, fd, ANYK_O_RDWR);
		break;
	case 1: /* open an existing name for reading or writing */
		any_name(w, a, sizeof(a));
		i = pick(w, 2) ? ANYK_O_RDONLY : ANYK_O_WRONLY;
		fd = anyk_sys_open(a, i | (i == ANYK_O_WRONLY ? ANYK_O_APPEND : 0), 0);
		result(w, fd, "open", 0);
		if (fd >= 0)
			adopt(w, fd, i);
		break;
	case 2: /* write or append through an owned descriptor */
		if (w->nfds == 0)
			break;
		i = (int)pick(w, (unsigned)w->nfds);
		owned(w, anyk_sys_pwrite(w->fds[i], buf, 1 + pick(w, sizeof(buf)), pick(w, MAXSIZE / 2)),
		      w->kind[i], K_WRITE, "pwrite");
		break;
	case 3: /* read through an owned descriptor */
		if (w->nfds == 0)
			break;
		i = (int)pick(w, (unsigned)w->nfds);
		owned(w, anyk_sys_pread(w->fds[i], buf, sizeof(buf), pick(w, MAXSIZE)), w->kind[i], K_READ, "pread");
		must(w, anyk_sys_fstat(w->fds[i], &st), "fstat");
		break;
	case 4: /* close or dup */
		if (w->nfds == 0)
			break;
		i = (int)pick(w, (unsigned)w->nfds);
		if (pick(w, 2) && w->nfds < MAXFDS) {
			fd = anyk_sys_dup(w->fds[i]);
			must(w, fd, "dup");
			if (fd >= 0) {
				w->kind[w->nfds] = w->kind[i];
				w->fds[w->nfds++] = fd;
			}
		} else {
			must(w, anyk_sys_close(w->fds[i]), "close");
			w->nfds--;
			w->fds[i] = w->fds[w->nfds];
			w->kind[i] = w->kind[w->nfds];
		}
		break;
	case 5: /* rename within and across directories */
		name1(w, a, sizeof(a));
		name1(w, b, sizeof(b));
		result(w, anyk_sys_rename(a, b), "rename", 0);
		break;
	case 6: /* hard link */
		name1(w, a, sizeof(a));
		any_name(w, b, sizeof(b));
		result(w, anyk_sys_link(a, b), "link", EPERM);
		break;
	case 7: /* unlink */
		any_name(w, a, sizeof(a));
		result(w, anyk_sys_unlink(a), "unlink", 0);
		break;
	case 8: /* mkdir */
		name1(w, a, sizeof(a));
		result(w, anyk_sys_mkdir(a, 0755), "mkdir", 0);
		break;
	case 9: /* rmdir */
		name1(w, a, sizeof(a));
		result(w, anyk_sys_rmdir(a), "rmdir", 0);
		break;
	case 10: /* stat */
	case 11:
		any_name(w, a, sizeof(a));
		result(w, pick(w, 2) ? anyk_sys_stat(a, &st) : anyk_sys_lstat(a, &st), "stat", 0);
		break;
	case 12: /* list a directory */
		snprintf(a, sizeof(a), "/stress/d%u", pick(w, NDIRS));
		if (pick(w, 2))
			name1(w, a, sizeof(a));
		fd = anyk_sys_open(a, ANYK_O_RDONLY | ANYK_O_DIRECTORY, 0);
		result(w, fd, "opendir", 0);
		if (fd >= 0) {
			anyk_ssize_t n;
			while ((n = anyk_sys_getdents(fd, buf, sizeof(buf))) > 0) {
				anyk_ssize_t pos = 0;
				while (pos < n) {
					struct anyk_dirent *d = (struct anyk_dirent *)(buf + pos);
					if (d->d_reclen == 0 || d->d_reclen % 8 || pos + d->d_reclen > n ||
					    d->d_name[0] == 0) {
						must(w, -1, "getdents record");
						break;
					}
					pos += d->d_reclen;
				}
				if (pos < n)
					break;
			}
			/* a directory removed while listed reads ENOENT on Linux */
			if (n < 0 && errno != ENOENT)
				must(w, n, "getdents");
			must(w, anyk_sys_close(fd), "close dir");
		}
		break;
	case 13: /* truncate by path or descriptor */
		if (pick(w, 2) || w->nfds == 0) {
			any_name(w, a, sizeof(a));
			result(w, anyk_sys_truncate(a, pick(w, MAXSIZE)), "truncate", 0);
		} else {
			i = (int)pick(w, (unsigned)w->nfds);
			owned(w, anyk_sys_ftruncate(w->fds[i], pick(w, MAXSIZE)), w->kind[i], K_WRITE, "ftruncate");
		}
		break;
	case 14: /* write a whole small file by path */
		any_name(w, a, sizeof(a));
		fd = anyk_sys_open(a, ANYK_O_WRONLY | ANYK_O_CREAT | ANYK_O_TRUNC, 0644);
		result(w, fd, "open O_TRUNC", 0);
		if (fd >= 0) {
			must(w, anyk_sys_write(fd, buf, 1 + pick(w, sizeof(buf))), "write");
			must(w, anyk_sys_close(fd), "close");
		}
		break;
	case 15: /* create a file inside a subdirectory tree */
		name2(w, a, sizeof(a));
		fd = anyk_sys_open(a, ANYK_O_CREAT | ANYK_O_WRONLY | ANYK_O_APPEND, 0644);
		result(w, fd, "create deep", 0);
		if (fd >= 0) {
			must(w, anyk_sys_write(fd, buf, 100), "append");
			must(w, anyk_sys_close(fd), "close");
		}
		break;
	}
	w->ops++;
}

static int past(const struct timespec *d)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > d->tv_sec || (now.tv_sec == d->tv_sec && now.tv_nsec >= d->tv_nsec);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct anyk_proc *own = anyk_proc_create(NULL, 0), *prev = NULL;
	long iter = 0;
	int round = 0;

	if (!own)
		must(w, -1, "anyk_proc_create");
	while (iter < MAX_ITERS && !past(&w->deadline)) {
		int k;
		/* odd rounds in a context of its own, even ones in the shared one */
		if (own && (round & 1))
			prev = anyk_proc_switch(own);
		for (k = 0; k < ROUND; k++, iter++)
			do_op(w);
		close_all(w);
		if (own && (round & 1))
			anyk_proc_switch(prev);
		round++;
	}
	if (own)
		anyk_proc_release(own);
	return NULL;
}

/* --- consistency check ------------------------------------------------------ */

#define MAXINODES 8192

struct inode_seen {
	anyk_ino_t ino;
	uint64_t nlink;
	int names;
};

static struct inode_seen seen[MAXINODES];
static int nseen;
static long bad_dir_nlink, bad_file_nlink, bad_size, dup_names, walk_errors, bad_bytes;

static struct inode_seen *seen_of(anyk_ino_t ino)
{
	int i;

	for (i = 0; i < nseen; i++)
		if (seen[i].ino == ino)
			return &seen[i];
	if (nseen == MAXINODES)
		return NULL;
	seen[nseen].ino = ino;
	return &seen[nseen++];
}

static void check_file(const char *path, const struct anyk_stat *st)
{
	static char buf[65536];
	struct anyk_stat fst;
	anyk_ssize_t n, total = 0, i;
	int fd = anyk_sys_open(path, ANYK_O_RDONLY, 0);

	if (fd < 0) {
		walk_errors++;
		return;
	}
	if (anyk_sys_fstat(fd, &fst) != 0 || fst.st_size != st->st_size || fst.st_ino != st->st_ino)
		bad_size++;
	while ((n = anyk_sys_read(fd, buf, sizeof(buf))) > 0) {
		for (i = 0; i < n; i++)
			if (buf[i] != 0 && (buf[i] < 'A' || buf[i] >= 'A' + NTHREADS))
				bad_bytes++;
		total += n;
	}
	if (n < 0 || total != st->st_size)
		bad_size++;
	anyk_sys_close(fd);
}

/* Walk dir; returns the number of subdirectories. */
static int walk(const char *dir)
{
	char buf[4096], path[512];
	char names[64][16];
	int nnames = 0, subdirs = 0, fd, i;
	anyk_ssize_t n;
	struct anyk_stat st;

	fd = anyk_sys_open(dir, ANYK_O_RDONLY | ANYK_O_DIRECTORY, 0);
	if (fd < 0) {
		walk_errors++;
		return 0;
	}
	while ((n = anyk_sys_getdents(fd, buf, sizeof(buf))) > 0) {
		anyk_ssize_t pos = 0;
		while (pos < n) {
			struct anyk_dirent *d = (struct anyk_dirent *)(buf + pos);
			pos += d->d_reclen ? d->d_reclen : n;
			if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
				continue;
			for (i = 0; i < nnames; i++)
				if (strcmp(names[i], d->d_name) == 0)
					dup_names++;
			if (nnames < 64 && strlen(d->d_name) < 16)
				strcpy(names[nnames++], d->d_name);
			snprintf(path, sizeof(path), "%s/%s", dir, d->d_name);
			if (anyk_sys_lstat(path, &st) != 0) {
				walk_errors++;
				continue;
			}
			if (ANYK_S_ISDIR(st.st_mode)) {
				int sub = walk(path);
				subdirs++;
				if (st.st_nlink != (uint64_t)(2 + sub))
					bad_dir_nlink++;
			} else {
				struct inode_seen *s = seen_of(st.st_ino);
				if (!s) {
					walk_errors++;
					continue;
				}
				if (s->names++ == 0)
					check_file(path, &st);
				s->nlink = st.st_nlink;
			}
		}
	}
	if (n < 0)
		walk_errors++;
	anyk_sys_close(fd);
	return subdirs;
}

/* Remove everything under dir, depth first. */
static long rm_tree(const char *dir)
{
	char buf[4096], path[512];
	anyk_ssize_t n;
	long errs = 0;
	int fd, again = 1;
	struct anyk_stat st;

	while (again) {
		again = 0;
		fd = anyk_sys_open(dir, ANYK_O_RDONLY | ANYK_O_DIRECTORY, 0);
		if (fd < 0)
			return errs + 1;
		while ((n = anyk_sys_getdents(fd, buf, sizeof(buf))) > 0) {
			anyk_ssize_t pos = 0;
			while (pos < n) {
				struct anyk_dirent *d = (struct anyk_dirent *)(buf + pos);
				pos += d->d_reclen ? d->d_reclen : n;
				if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
					continue;
				snprintf(path, sizeof(path), "%s/%s", dir, d->d_name);
				if (anyk_sys_lstat(path, &st) == 0 && ANYK_S_ISDIR(st.st_mode)) {
					errs += rm_tree(path);
					errs += anyk_sys_rmdir(path) != 0;
				} else {
					errs += anyk_sys_unlink(path) != 0;
				}
				again = 1;
			}
		}
		anyk_sys_close(fd);
	}
	return errs;
}

int main(void)
{
	pthread_t th[NTHREADS];
	struct anyk_statvfs v0, v1;
	struct timespec start;
	long ops = 0, expected = 0, bad = 0;
	int i, t, file_inodes = 0;
	char p[64];

	signal(SIGPIPE, SIG_IGN);
	alarm(300); /* a hang fails by SIGALRM, well inside the runner's limit */
	memset(&v0, 0, sizeof(v0));
	memset(&v1, 0, sizeof(v1));
	i = anyk_init();
	T_EQ(i, 0, "anyk_init");
	if (i != 0)
		return t_done();
	T_EQ(anyk_sys_statvfs("/", &v0), 0, "statvfs / before");
	T_EQ(anyk_sys_mkdir("/stress", 0755), 0, "mkdir /stress");
	for (i = 0; i < NDIRS; i++) {
		snprintf(p, sizeof(p), "/stress/d%d", i);
		anyk_sys_mkdir(p, 0755);
	}

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (t = 0; t < NTHREADS; t++) {
		workers[t].id = t;
		workers[t].rng = 0x9e3779b97f4a7c15ull * (uint64_t)(t + 1);
		workers[t].deadline = start;
		workers[t].deadline.tv_sec += SECONDS;
		pthread_create(&th[t], NULL, worker_main, &workers[t]);
	}
	for (t = 0; t < NTHREADS; t++)
		pthread_join(th[t], NULL);
	for (t = 0; t < NTHREADS; t++) {
		ops += workers[t].ops;
		expected += workers[t].expected_errs;
		bad += workers[t].bad;
		for (i = 0; i < 4 && i < workers[t].bad; i++)
			printf("# %s\n", workers[t].first_bad[i]);
	}
	printf("# %ld operations, %ld expected race errors\n", ops, expected);
	T_OK(ops >= NTHREADS * ROUND, "every thread ran (%ld operations)", ops);
	T_EQ(bad, 0, "no unexpected errors");
	T_OK(expected > 0, "races happened (%ld expected errors)", expected);

	/* consistency of what is left */
	{
		int top = walk("/stress");
		struct anyk_stat st;
		T_EQ(anyk_sys_stat("/stress", &st), 0, "stat /stress");
		T_EQ(st.st_nlink, 2 + top, "/stress nlink is 2 + its subdirectories");
	}
	for (i = 0; i < nseen; i++) {
		if (seen[i].nlink != (uint64_t)seen[i].names)
			bad_file_nlink++;
		file_inodes++;
	}
	printf("# %d file inodes left in the tree\n", file_inodes);
	T_EQ(walk_errors, 0, "the walk met no errors");
	T_EQ(bad_dir_nlink, 0, "every directory's nlink is 2 + its subdirectories");
	T_EQ(bad_file_nlink, 0, "every file's nlink equals the names found for it");
	T_EQ(bad_size, 0, "fstat agrees with stat and reads return exactly st_size bytes");
	T_EQ(bad_bytes, 0, "file contents are only what the writers wrote (or zeros)");
	T_EQ(dup_names, 0, "getdents lists no name twice");

	T_EQ(rm_tree("/stress"), 0, "remove every file and directory");
	T_EQ(anyk_sys_rmdir("/stress"), 0, "rmdir /stress");
	anyk_run_pending();
	T_EQ(anyk_sys_statvfs("/", &v1), 0, "statvfs / after");
	T_EQ(v1.f_ffree, v0.f_ffree, "free inodes are back to the starting value");
	T_EQ(v1.f_bfree, v0.f_bfree, "free blocks are back to the starting value");
	T_EQ(anyk_fini(), 0, "anyk_fini");
	return t_done();
}
