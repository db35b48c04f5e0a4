/*
 * Copying whole trees between the host and the running kernel, in either
 * direction, through the public API only: anyk mkfs -d fills a new image
 * with it, and anyk cp -r -p uses it to bring trees in and out of images.
 *
 * What is kept: file types (regular, directory, symlink, character and block
 * devices, fifos, sockets), modes with the set-id and sticky bits, numeric
 * owners, nanosecond atime and mtime, hard links, holes, and extended
 * attributes. Directories are read whole and visited in byte order of their
 * names, so the same tree gives the same sequence of operations every time.
 *
 * The walk keeps an explicit stack and a bounded number of open directories,
 * so a tree as deep as the file systems allow is copied without recursion
 * and without running out of descriptors.
 *
 * Writing to the host (hostcopy_out) follows these rules: nothing is written
 * outside the destination; names that are empty, ".", ".." or contain '/'
 * are skipped; symbolic links already in the destination are never
 * followed; device nodes are made only with HOSTCOPY_DEVICES and as root;
 * each skipped entry is reported and counted.
 */
#ifndef ANYK_TOOLS_HOSTCOPY_H
#define ANYK_TOOLS_HOSTCOPY_H

#include <stdint.h>

/* Go on after an error (each is reported) and fail at the end. */
#define HOSTCOPY_KEEP_GOING 0x1
/* Replace non-directories that already exist in the destination. */
#define HOSTCOPY_OVERWRITE 0x2
/* hostcopy_out: make device nodes on the host (only as root). */
#define HOSTCOPY_DEVICES 0x4
/* Leave owners, or extended attributes, as the destination makes them. */
#define HOSTCOPY_NO_OWNER 0x8
#define HOSTCOPY_NO_XATTR 0x10
/*
 * hostcopy_out: leave out (and report as skipped) every symbolic link that
 * is absolute or whose target, resolved in the kernel through the source's
 * own links, leads outside the copied tree, so nothing later following it
 * on the host is led outside the destination. Each link is judged before
 * it is made: an unsafe one never exists on the host, not even for a
 * moment.
 */
#define HOSTCOPY_SAFE_LINKS 0x20

enum hostcopy_level {
	HOSTCOPY_ERROR, /* the entry was not copied (or not fully) */
	HOSTCOPY_WARN,  /* copied, less something the target refused */
	HOSTCOPY_SKIP,  /* left out on purpose (unsafe name, device, ...) */
};

struct hostcopy_stats {
	uint64_t files;    /* entries made, directories included */
	uint64_t bytes;    /* file data copied (holes not counted) */
	uint64_t links;    /* hard links made */
	uint64_t errors;
	uint64_t warnings;
	uint64_t skipped;
};

struct hostcopy_opts {
	unsigned flags; /* HOSTCOPY_* */
	/* Called for every error, warning and skip with the host path and
	 * the reason; NULL prints "anyk: PATH: reason" on stderr. */
	void (*report)(void *arg, enum hostcopy_level level, const char *hostpath, const char *msg);
	/* Called after each entry and each chunk of data; may be NULL. */
	void (*progress)(void *arg, const struct hostcopy_stats *st);
	void *arg;
};

/*
 * Copy the contents of host directory hostdir into kernel directory kdir
 * (made if missing); kdir takes hostdir's mode, owner, times and extended
 * attributes. Returns 0, or -1 if anything failed (errno is then that of
 * the first error). st (may be NULL) receives the counts. opts may be NULL.
 */
int hostcopy_in(const char *hostdir, const char *kdir, const struct hostcopy_opts *opts,
		struct hostcopy_stats *st);
/* The reverse: kernel directory kdir into host directory hostdir. */
int hostcopy_out(const char *kdir, const char *hostdir, const struct hostcopy_opts *opts,
		 struct hostcopy_stats *st);

#endif /* ANYK_TOOLS_HOSTCOPY_H */
