/*
 * anyk mount IMAGE[@PART] DIR: serve an ext2/3/4 image to the host through
 * FUSE, with the anyk kernel as the file system. anyk umount DIR undoes it.
 *
 * The process forks before anything else (the kernel starts threads, which
 * do not survive a fork): the child boots the kernel, attaches the image,
 * mounts it, chroots the kernel into it and mounts the FUSE file system,
 * then tells the waiting parent whether all that worked, so errors reach
 * the terminal and the exit status. With -f there is no fork.
 *
 * The image is locked (flock) for as long as the kernel may write to it:
 * a second mount of it is refused, and anyk umount waits for the lock so
 * that, when it returns, the kernel has synced and shut down and the image
 * is consistent for e2fsck or a loop mount.
 */
#ifdef ANYK_HAVE_FUSE

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tool.h"
#include "tools/fuse_ops.h"
#include "tools/fuse_prio.h"
#include "tools/fuse_uring.h"

int cmd_mount(int argc, char **argv);
int cmd_umount(int argc, char **argv);

#define MNT_DEV "/dev/sd0"
#define MNT_DIR "/mnt/fuse"
#define UMOUNT_WAIT_MS 60000
#define SPIN_US 50 /* default spin=: see prio_serve */

static const struct tool_cmd mount_cmd = {
	"mount", "[-f] [-d] [-o OPTIONS] IMAGE[@PART] DIR", "", NULL
};
static const struct tool_cmd umount_cmd = { "umount", "DIR", "", NULL };

struct mount_args {
	const char *image;  /* host path, without @PART */
	char imgabs[PATH_MAX];
	char dir[PATH_MAX];
	unsigned part;      /* 0: the whole image */
	int foreground, debug, rdonly;
	int norecovery;     /* mount without replaying the journal (implies ro) */
	unsigned spin_us;   /* see prio_serve */
	int uring;          /* FURING_*: see fuse_uring.h */
	int hostperms;      /* the host kernel checks permissions: see serve */
	struct fuseops_config fc;
	char fuseopts[2048]; /* options handed to libfuse */
};

#define SB_OFFSET 1024
#define SB_O_MAGIC 0x38
#define SB_O_REV 0x4C
#define SB_O_COMPAT 0x5C
#define SB_O_INCOMPAT 0x60
#define SB_O_RO_COMPAT 0x64

static uint32_t
le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

/* ext2, ext3 or ext4 on the kernel device dev, by its superblock; NULL if
 * it is none of them. */
static const char *
probe_ext(const char *dev)
{
	unsigned char sb[1024];
	anyk_ssize_t n;
	int fd;

	fd = anyk_sys_open(dev, ANYK_O_RDONLY | ANYK_O_CLOEXEC, 0);
	if (fd < 0)
		return NULL;
	n = anyk_sys_pread(fd, sb, sizeof(sb), SB_OFFSET);
	anyk_sys_close(fd);
	if (n != (anyk_ssize_t)sizeof(sb) || (sb[SB_O_MAGIC] | sb[SB_O_MAGIC + 1] << 8) != 0xEF53)
		return NULL;
	if (le32(sb + SB_O_REV) == 0)
		return "ext2";
	/* Features only ext4 has (extents, 64bit, flex_bg, huge_file,
	 * metadata_csum...), then the journal. */
	if ((le32(sb + SB_O_INCOMPAT) & 0xFFC0u) || (le32(sb + SB_O_RO_COMPAT) & 0xFFF8u))
		return "ext4";
	if (le32(sb + SB_O_COMPAT) & 0x4)
		return "ext3";
	return "ext2";
}

/* Append opt to the options for libfuse. 0 or -1 if they get too long. */
static int
add_fuseopt(struct mount_args *a, const char *opt)
{
	size_t len = strlen(a->fuseopts);
	int n;

	n = snprintf(a->fuseopts + len, sizeof(a->fuseopts) - len, "%s%s",
	    len ? "," : "", opt);
	return n < 0 || (size_t)n >= sizeof(a->fuseopts) - len ? -1 : 0;
}

/* Take the -o options anyk handles; pass the rest to libfuse. */
static int
parse_opts(struct mount_args *a, char *list)
{
	char *opt, *save = NULL;
	uint64_t v;

	for (opt = strtok_r(list, ",", &save); opt != NULL; opt = strtok_r(NULL, ",", &save)) {
		if (strcmp(opt, "ro") == 0) {
			a->rdonly = 1;
		} else if (strcmp(opt, "rw") == 0) {
			a->rdonly = 0;
		} else if (strcmp(opt, "norecovery") == 0 || strcmp(opt, "noload") == 0) {
			a->norecovery = 1;
		} else if (strncmp(opt, "uid=", 4) == 0) {
			if (parse_uint(opt + 4, UINT32_MAX - 1, &v) != 0)
				return err_usage(&mount_cmd, "bad option '%s'", opt);
			a->fc.set_uid = 1;
			a->fc.uid = (uid_t)v;
		} else if (strncmp(opt, "gid=", 4) == 0) {
			if (parse_uint(opt + 4, UINT32_MAX - 1, &v) != 0)
				return err_usage(&mount_cmd, "bad option '%s'", opt);
			a->fc.set_gid = 1;
			a->fc.gid = (gid_t)v;
		} else if (strncmp(opt, "timeout=", 8) == 0) {
			if (parse_uint(opt + 8, 3600, &v) != 0)
				return err_usage(&mount_cmd, "bad option '%s'", opt);
			a->fc.timeout = (double)v;
		} else if (strncmp(opt, "spin=", 5) == 0) {
			if (parse_uint(opt + 5, 1000000, &v) != 0)
				return err_usage(&mount_cmd, "bad option '%s'", opt);
			a->spin_us = (unsigned)v;
		} else if (strcmp(opt, "uring") == 0) {
			a->uring = FURING_ALWAYS;
		} else if (strcmp(opt, "nouring") == 0) {
			a->uring = FURING_NEVER;
		} else if (strncmp(opt, "max_read=", 9) == 0) {
			if (parse_uint(opt + 9, UINT32_MAX, &v) != 0 || v < 4096)
				return err_usage(&mount_cmd, "bad option '%s'", opt);
			a->fc.max_read = v < FUSEOPS_READ_MAX ? (unsigned)v : FUSEOPS_READ_MAX;
		} else if (strcmp(opt, "nosplice") == 0) {
			a->fc.nosplice = 1;
		} else if (strcmp(opt, "opens") == 0) {
			a->fc.opens = 1;
		} else if (strcmp(opt, "default_permissions") == 0) {
			a->hostperms = 1;
		} else {
			if (strcmp(opt, "allow_other") == 0 || strcmp(opt, "allow_root") == 0)
				a->hostperms = 1;
			if (add_fuseopt(a, opt) != 0)
				return err_usage(&mount_cmd, "too many options");
		}
	}
	return EXIT_OK;
}

static int
parse_args(struct mount_args *a, int argc, char **argv)
{
	char *opts, *at, *end;
	const char *ops[2] = { NULL, NULL };
	unsigned long part;
	int i, nops = 0, r;

	memset(a, 0, sizeof(*a));
	a->fc.timeout = 1.0;
	a->fc.max_read = FUSEOPS_READ_MAX;
	a->spin_us = SPIN_US;
	a->uring = FURING_AUTO;
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0) {
			cmd_print_help(stdout, &mount_cmd, "anyk ");
			return -1;
		} else if (strcmp(argv[i], "-f") == 0) {
			a->foreground = 1;
		} else if (strcmp(argv[i], "-d") == 0) {
			a->foreground = a->debug = 1;
		} else if (strncmp(argv[i], "-o", 2) == 0) {
			if (argv[i][2] != '\0')
				opts = argv[i] + 2;
			else if (++i < argc)
				opts = argv[i];
			else
				return err_usage(&mount_cmd, "-o needs options");
			r = parse_opts(a, opts);
			if (r != EXIT_OK)
				return r;
		} else if (strcmp(argv[i], "--") == 0) {
			for (i++; i < argc; i++) {
				if (nops == 2)
					return err_usage(&mount_cmd, "too many arguments");
				ops[nops++] = argv[i];
			}
		} else if (argv[i][0] == '-' && argv[i][1] != '\0') {
			return err_usage(&mount_cmd, "unknown option '%s'", argv[i]);
		} else {
			if (nops == 2)
				return err_usage(&mount_cmd, "too many arguments");
			ops[nops++] = argv[i];
		}
	}
	if (nops < 2)
		return err_usage(&mount_cmd, "IMAGE and DIR are needed");
	a->image = ops[0];
	at = strrchr(ops[0], '@');
	if (at != NULL && at[1] >= '1' && at[1] <= '9') {
		part = strtoul(at + 1, &end, 10);
		if (*end == '\0' && part <= 128) {
			/* IMAGE@N: a partition, unless a file has that name. */
			if (access(ops[0], F_OK) != 0) {
				a->part = (unsigned)part;
				*at = '\0';
			}
		}
	}
	if (realpath(a->image, a->imgabs) == NULL)
		return err_path(a->image);
	if (realpath(ops[1], a->dir) == NULL)
		return err_path(ops[1]);
	return EXIT_OK;
}

/* Boot the kernel and mount the image's file system, chrooted into. */
static int
kernel_setup(struct mount_args *a)
{
	char dev[64];
	const char *type;
	unsigned long flags;
	int r;

	if (boot_kernel() != EXIT_OK)
		return EXIT_FAIL;
	if (a->norecovery)
		a->rdonly = 1;
	if (anyk_disk_attach(MNT_DEV, a->imgabs, a->rdonly ? ANYK_DISK_RDONLY : 0) != 0) {
		if (a->rdonly || (errno != EACCES && errno != EROFS && errno != EPERM))
			return err_msg(a->image, "cannot attach: %s", strerror(errno));
		/* A file we may only read: mount it read-only. */
		a->rdonly = 1;
		if (anyk_disk_attach(MNT_DEV, a->imgabs, ANYK_DISK_RDONLY) != 0)
			return err_msg(a->image, "cannot attach: %s", strerror(errno));
	}
	if (a->part != 0)
		snprintf(dev, sizeof(dev), "%sp%u", MNT_DEV, a->part);
	else
		snprintf(dev, sizeof(dev), "%s", MNT_DEV);
	type = probe_ext(dev);
	if (type == NULL) {
		if (a->part != 0 && anyk_sys_access(dev, ANYK_F_OK) != 0)
			return err_msg(a->image, "no partition %u", a->part);
		return err_msg(a->image, "no ext2, ext3 or ext4 file system%s",
		    a->part ? " in that partition" : "");
	}
	if ((anyk_sys_mkdir("/mnt", 0755) != 0 && errno != EEXIST) ||
	    anyk_sys_mkdir(MNT_DIR, 0755) != 0)
		return err_path(MNT_DIR);
	flags = a->rdonly ? ANYK_MNT_RDONLY : 0;
	r = anyk_sys_mount(dev, MNT_DIR, type, flags, a->norecovery ? "norecovery" : "");
	if (r != 0 && errno == EROFS && !a->rdonly) {
		fprintf(stderr, "anyk: %s: the %s driver cannot write it; mounted read-only\n",
		    a->image, type);
		a->rdonly = 1;
		r = anyk_sys_mount(dev, MNT_DIR, type, ANYK_MNT_RDONLY, "");
	}
	if (r != 0)
		return err_msg(a->image, "cannot mount %s: %s", type, strerror(errno));
	/* Paths from the host are then paths in the image. */
	if (anyk_sys_chroot(MNT_DIR) != 0 || anyk_sys_chdir("/") != 0)
		return err_path(MNT_DIR);
	if (a->rdonly && add_fuseopt(a, "ro") != 0)
		return err_msg(a->image, "too many options");
	/* The host checks permissions (and then ACLs) unless only root can
	 * reach the mount: see serve(). */
	a->fc.hostperms = geteuid() != 0 || a->hostperms;
	return fuseops_init(&a->fc) == 0 ? EXIT_OK : err_path("/");
}

/* Sync and stop the kernel; EXIT_FAIL if the image may be inconsistent. */
static int
kernel_shutdown(void)
{
	int status = EXIT_OK;

	fuseops_fini();
	if (anyk_sys_sync() != 0) {
		err_msg("sync", "%s", strerror(errno));
		status = EXIT_FAIL;
	}
	if (anyk_fini() != 0) {
		err_msg("shutdown", "%s", strerror(errno));
		status = EXIT_FAIL;
	}
	return status;
}

/*
 * The host kernel offers FUSE at most its default read-ahead (128 KiB)
 * and keeps the smaller of that and what the server asks for, so a
 * sequential read would reach us in 128 KiB requests. Raising the
 * mount's own read-ahead (its backing device's read_ahead_kb, which
 * root may write) before the connection starts lets the server's 1 MiB
 * stand: an eighth of the round trips. Best effort: without root or
 * sysfs the host's default stays. Four requests' worth, so that several
 * are in flight at once and the server's threads overlap their reads of
 * the image.
 */
static void
raise_readahead(const char *dir, unsigned kib)
{
	char line[PATH_MAX * 2 + 256], mnt[PATH_MAX + 16], path[128];
	unsigned maj = 0, min = 0, m1, m2, cur;
	int found = 0;
	FILE *f;

	if (strpbrk(dir, " \t\n\\") != NULL)
		return; /* /proc/self/mountinfo would show it escaped */
	f = fopen("/proc/self/mountinfo", "re");
	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		/* id parent major:minor root mountpoint ... - fstype ...;
		 * the last wins, as the newest mount on the directory is
		 * ours. */
		if (sscanf(line, "%*u %*u %u:%u %*s %4111s", &m1, &m2, mnt) == 3 &&
		    strcmp(mnt, dir) == 0 && strstr(line, " - fuse") != NULL) {
			maj = m1;
			min = m2;
			found = 1;
		}
	}
	fclose(f);
	if (!found)
		return;
	snprintf(path, sizeof(path), "/sys/class/bdi/%u:%u/read_ahead_kb", maj, min);
	f = fopen(path, "r+e");
	if (f == NULL)
		return;
	if (fscanf(f, "%u", &cur) == 1 && cur < kib) {
		rewind(f);
		fprintf(f, "%u\n", kib);
	}
	fclose(f);
}

/* The FUSE session on a.dir; report (a byte to the parent) once it is
 * mounted. Returns when it is unmounted or a signal stops it. */
static int
serve(struct mount_args *a, int report)
{
	char fsname[PATH_MAX + 16], maxread[32], *fargv[5];
	struct fuse_args args;
	struct fuse_session *se;
	unsigned char ok = 0;
	int fargc = 0, r, devnull;

	/* The source shows in the mount table, where anyk umount finds the
	 * image; a name libfuse would have to quote is left out. */
	if (strpbrk(a->imgabs, ", \t\n\\") == NULL)
		snprintf(fsname, sizeof(fsname), "fsname=anyk:%s", a->imgabs);
	else
		snprintf(fsname, sizeof(fsname), "fsname=anyk");
	/* Without allow_other or allow_root the host kernel lets only
	 * processes of the mounting user in. When that user is root, every
	 * caller is root, whose rights the anyk kernel checks itself (it acts
	 * as root): the host need not check again, and not asking it to
	 * saves a GETATTR of the directory after each create or remove (the
	 * host forgets a changed directory's attributes, and its checks need
	 * them). Otherwise the host checks, against the owners and modes the
	 * server reports. */
	if (a->fc.hostperms && add_fuseopt(a, "default_permissions") != 0)
		return err_msg(a->image, "too many options");
	snprintf(maxread, sizeof(maxread), "max_read=%u", a->fc.max_read);
	if (add_fuseopt(a, fsname) != 0 || add_fuseopt(a, "subtype=anyk") != 0 || add_fuseopt(a, maxread) != 0)
		return err_msg(a->image, "too many options");
	fargv[fargc++] = (char *)"anyk";
	fargv[fargc++] = (char *)"-o";
	fargv[fargc++] = a->fuseopts;
	if (a->debug)
		fargv[fargc++] = (char *)"-d";
	fargv[fargc] = NULL;
	args.argc = fargc;
	args.argv = fargv;
	args.allocated = 0;
	se = fuse_session_new(&args, &fuseops, sizeof(fuseops), NULL);
	fuse_opt_free_args(&args);
	if (se == NULL)
		return err_msg(a->dir, "cannot start the FUSE session (bad -o option?)");
	if (fuse_set_signal_handlers(se) != 0) {
		fuse_session_destroy(se);
		return err_msg(a->dir, "cannot set signal handlers");
	}
	if (fuse_session_mount(se, a->dir) != 0) {
		fuse_remove_signal_handlers(se);
		fuse_session_destroy(se);
		return err_msg(a->dir, "cannot mount (is /dev/fuse there, fusermount3 installed?)");
	}
	raise_readahead(a->dir, 4 * a->fc.max_read / 1024);
	if (furing_attach(se, fuse_session_fd(se), a->uring, a->debug) != 0 && a->debug)
		fprintf(stderr, "anyk mount: no io_uring transport (libfuse refused a custom I/O)\n");
	if (report >= 0) {
		/* Mounted: the parent may go, and we leave the terminal. */
		if (write(report, &ok, 1) != 1)
			(void)0;
		close(report);
		devnull = open("/dev/null", O_RDWR);
		if (devnull >= 0) {
			dup2(devnull, 0);
			dup2(devnull, 1);
			dup2(devnull, 2);
			if (devnull > 2)
				close(devnull);
		}
		if (chdir("/") != 0)
			(void)0;
	}
	/* One thread: see fuse_ops.c on why, and on its pool for reads. */
	/* The governor of idle priority, for the ring threads and the
	 * thread that reads /dev/fuse (fuse_prio.h). */
	prio_debug(a->debug);
	prio_start((unsigned)sysconf(_SC_NPROCESSORS_CONF) + 2);
	r = prio_serve(se, a->spin_us, furing_active);
	fuseops_drain(); /* queued reads answer through se, or a ring */
	furing_stop();
	prio_stop();
	fuse_session_unmount(se);
	fuse_remove_signal_handlers(se);
	fuse_session_destroy(se);
	return r < 0 ? EXIT_FAIL : EXIT_OK;
}

/* The whole life of the mount, in the process that serves it. */
static int
run_mount(struct mount_args *a, int report)
{
	int lockfd, status;

	lockfd = open(a->imgabs, O_RDONLY | O_CLOEXEC);
	if (lockfd < 0)
		return err_path(a->image);
	if (flock(lockfd, LOCK_EX | LOCK_NB) != 0) {
		close(lockfd);
		if (errno == EWOULDBLOCK)
			return err_msg(a->image, "in use by another anyk mount");
		return err_path(a->image);
	}
	status = kernel_setup(a);
	if (status == EXIT_OK)
		status = serve(a, report);
	if (kernel_shutdown() != EXIT_OK)
		status = EXIT_FAIL;
	close(lockfd); /* the image is consistent: anyk umount may return */
	return status;
}

int
cmd_mount(int argc, char **argv)
{
	struct mount_args *a;
	int pfd[2], status, r;
	unsigned char byte;
	pid_t pid;

	a = malloc(sizeof(*a));
	if (a == NULL)
		return err_msg("mount", "out of memory");
	r = parse_args(a, argc, argv);
	if (r != EXIT_OK) {
		free(a);
		return r < 0 ? EXIT_OK : r;
	}
	if (a->foreground) {
		status = run_mount(a, -1);
		free(a);
		return status;
	}
	if (pipe(pfd) != 0) {
		free(a);
		return err_path("pipe");
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		free(a);
		return err_path("fork");
	}
	if (pid == 0) {
		close(pfd[0]);
		setsid();
		status = run_mount(a, pfd[1]);
		free(a);
		exit(status);
	}
	/* The parent: wait for the byte that says it is mounted; without it
	 * the child failed and said why on our shared stderr. */
	close(pfd[1]);
	free(a);
	do
		r = (int)read(pfd[0], &byte, 1);
	while (r < 0 && errno == EINTR);
	close(pfd[0]);
	if (r == 1)
		return EXIT_OK;
	if (waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) != 0)
		return WEXITSTATUS(status);
	return EXIT_FAIL;
}

/* --- anyk umount ------------------------------------------------------- */

/* The image behind the anyk mount on dir, from the mount table, into
 * img; 0, or -1 if dir is not one of ours or names no image. */
static int
mounted_image(const char *dir, char *img, size_t n)
{
	char line[PATH_MAX * 2 + 256], src[PATH_MAX + 16], mnt[PATH_MAX + 16];
	FILE *f;
	int found = -1;

	f = fopen("/proc/self/mounts", "re");
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "%4111s %4111s", src, mnt) != 2)
			continue;
		if (strcmp(mnt, dir) == 0 && strncmp(src, "anyk:", 5) == 0 &&
		    strlen(src + 5) < n) {
			strcpy(img, src + 5);
			found = 0;
		}
	}
	fclose(f);
	return found;
}

/* Wait until the server of img has shut the kernel down. */
static int
wait_image(const char *img)
{
	struct timespec ts = { 0, 20 * 1000 * 1000 };
	int fd, waited;

	fd = open(img, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0; /* gone: nothing to wait for */
	for (waited = 0; waited < UMOUNT_WAIT_MS; waited += 20) {
		if (flock(fd, LOCK_SH | LOCK_NB) == 0) {
			close(fd);
			return 0;
		}
		nanosleep(&ts, NULL);
	}
	close(fd);
	return err_msg(img, "the anyk server did not finish in %d s", UMOUNT_WAIT_MS / 1000);
}

int
cmd_umount(int argc, char **argv)
{
	char dir[PATH_MAX], img[PATH_MAX];
	int have_img, status;
	pid_t pid;

	if (argc == 2 && strcmp(argv[1], "--help") == 0) {
		cmd_print_help(stdout, &umount_cmd, "anyk ");
		return EXIT_OK;
	}
	if (argc != 2)
		return err_usage(&umount_cmd, "DIR is needed");
	if (realpath(argv[1], dir) == NULL)
		return err_path(argv[1]);
	have_img = mounted_image(dir, img, sizeof(img)) == 0;
	if (geteuid() == 0) {
		if (umount2(dir, 0) != 0)
			return err_path(dir);
	} else {
		fflush(NULL);
		pid = fork();
		if (pid < 0)
			return err_path("fork");
		if (pid == 0) {
			execlp("fusermount3", "fusermount3", "-u", "--", dir, (char *)NULL);
			err_msg("fusermount3", "%s", strerror(errno));
			_exit(127);
		}
		if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0)
			return EXIT_FAIL;
	}
	return have_img ? wait_image(img) : EXIT_OK;
}

#else
typedef int cmd_mount_unused; /* ISO C wants something in the file */
#endif /* ANYK_HAVE_FUSE */
