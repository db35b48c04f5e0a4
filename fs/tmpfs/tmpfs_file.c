/*
 * tmpfs regular file data: 4 KiB pages found through a radix tree of
 * 512-slot nodes (one page each), as a page table does. A missing page is a
 * hole and reads as zeros; only written pages take memory, and each is
 * charged to the mount's size limit. Reads and writes copy straight between
 * the caller's buffers and the pages, and walk the tree once per 512 pages.
 * Pages come from the kernel page allocator (kern/page.c) in batches, so a
 * long write takes its lock once per batch, and are freed a leaf at a time.
 *
 * Invariant kept by write and truncate: every byte of a page beyond the end
 * of file is zero, so that growing a file never exposes old data.
 *
 * The vnode lock serialises writers and truncation against everything else;
 * readers share it.
 */
#include "fs/tmpfs/tmpfs.h"

struct radix_node {
	void *slot[TMPFS_RADIX_FANOUT];
};

_Static_assert(sizeof(struct radix_node) == 4096, "radix node is one page");
_Static_assert(TMPFS_PAGE_SIZE == PAGE_SIZE, "file pages are kernel pages");

/* Pages a write takes from the allocator at once (and reserves at once). */
#define WRITE_BATCH 64

static uint64_t
span_pages(unsigned level) /* pages under one slot of a node at level */
{
	return (uint64_t)1 << ((level - 1) * TMPFS_RADIX_SHIFT);
}

static uint64_t
capacity(unsigned height)
{
	return height == 0 ? 0 : (uint64_t)1 << (height * TMPFS_RADIX_SHIFT);
}

/*
 * The leaf slot for page idx, or NULL if the path to it does not exist and
 * alloc is false. With alloc the tree grows (ENOMEM in *errp on failure).
 */
static void **
radix_slot(struct tmpfs_reg *r, uint64_t idx, bool alloc, int *errp)
{
	struct radix_node *nd;
	void **p;
	unsigned level;

	if (idx >= capacity(r->tr_height)) {
		if (!alloc)
			return NULL;
		while (idx >= capacity(r->tr_height)) {
			if (r->tr_root != NULL) {
				nd = kmem_zalloc(&tmpfs_kmem, sizeof(*nd));
				if (nd == NULL) {
					*errp = ENOMEM;
					return NULL;
				}
				nd->slot[0] = r->tr_root;
				r->tr_root = nd;
			}
			r->tr_height++;
		}
	}
	p = &r->tr_root;
	for (level = r->tr_height; level > 0; level--) {
		if (*p == NULL) {
			if (!alloc)
				return NULL;
			*p = kmem_zalloc(&tmpfs_kmem, sizeof(struct radix_node));
			if (*p == NULL) {
				*errp = ENOMEM;
				return NULL;
			}
		}
		nd = *p;
		p = &nd->slot[(idx >> ((level - 1) * TMPFS_RADIX_SHIFT)) & (TMPFS_RADIX_FANOUT - 1)];
	}
	return p;
}

/* Free the pages in slots [from, FANOUT) of a leaf; returns how many. */
static uint64_t
leaf_free(struct radix_node *nd, size_t from)
{
	uint64_t freed = 0;
	size_t i;

	for (i = from; i < TMPFS_RADIX_FANOUT; i++)
		if (nd->slot[i] != NULL)
			freed++;
	page_free_n(&tmpfs_kmem, &nd->slot[from], TMPFS_RADIX_FANOUT - from);
	for (i = from; i < TMPFS_RADIX_FANOUT; i++)
		nd->slot[i] = NULL;
	return freed;
}

/* Free a whole subtree; returns the pages freed. */
static uint64_t
subtree_free(struct radix_node *nd, unsigned level)
{
	uint64_t freed = 0;
	size_t i;

	if (level == 1)
		freed = leaf_free(nd, 0);
	else
		for (i = 0; i < TMPFS_RADIX_FANOUT; i++)
			if (nd->slot[i] != NULL)
				freed += subtree_free(nd->slot[i], level - 1);
	kmem_free(&tmpfs_kmem, nd, sizeof(*nd));
	return freed;
}

/* Free every page at index >= first under nd, which covers pages from base. */
static uint64_t
range_free(struct radix_node *nd, unsigned level, uint64_t base, uint64_t first)
{
	uint64_t span = span_pages(level), freed = 0, start;
	size_t i;

	if (level == 1)
		return leaf_free(nd, first > base ? (size_t)(first - base) : 0);
	for (i = 0; i < TMPFS_RADIX_FANOUT; i++) {
		start = base + i * span;
		if (nd->slot[i] == NULL || start + span <= first)
			continue;
		if (start >= first) {
			freed += subtree_free(nd->slot[i], level - 1);
			nd->slot[i] = NULL;
		} else {
			freed += range_free(nd->slot[i], level - 1, start, first);
		}
	}
	return freed;
}

static void
pages_free_from(struct tmpfs_mount *tm, struct tmpfs_reg *r, uint64_t first)
{
	uint64_t freed = 0;

	if (r->tr_root == NULL)
		return;
	if (first == 0) {
		freed = subtree_free(r->tr_root, r->tr_height);
		r->tr_root = NULL;
		r->tr_height = 0;
	} else if (first < capacity(r->tr_height)) {
		freed = range_free(r->tr_root, r->tr_height, 0, first);
	}
	r->tr_npages -= freed;
	tmpfs_pages_release(tm, freed);
}

void
tmpfs_file_free(struct tmpfs_mount *tm, struct tmpfs_node *n)
{
	pages_free_from(tm, &n->tn_reg, 0);
}

int
tmpfs_file_read(struct tmpfs_node *n, struct uio *uio)
{
	struct tmpfs_reg *r = &n->tn_reg;
	anyk_off_t off, end;
	uint64_t idx;
	size_t pgoff, len;
	void **slot = NULL;
	int error = 0, dummy;

	if (uio->uio_offset < 0)
		return EINVAL;
	if (uio->uio_offset >= n->tn_size || uio->uio_resid == 0)
		return 0;
	end = n->tn_size;
	if ((anyk_off_t)uio->uio_resid < end - uio->uio_offset)
		end = uio->uio_offset + (anyk_off_t)uio->uio_resid;
	while ((off = uio->uio_offset) < end) {
		idx = (uint64_t)off >> TMPFS_PAGE_SHIFT;
		pgoff = (size_t)(off & TMPFS_PAGE_MASK);
		len = (size_t)MIN((anyk_off_t)(TMPFS_PAGE_SIZE - pgoff), end - off);
		/* Step within a leaf; walk the tree again at its edge. */
		if (slot == NULL || (idx & (TMPFS_RADIX_FANOUT - 1)) == 0)
			slot = radix_slot(r, idx, false, &dummy);
		else
			slot++;
		if (slot != NULL && *slot != NULL)
			error = uiomove((char *)*slot + pgoff, len, uio);
		else
			error = uiozero(len, uio);
		if (error)
			break;
	}
	return error;
}

/*
 * Take up to want (>= 1) pages for a write, each charged to the mount
 * already: many at once while the mount has room, else one at a time, so
 * that a write near the size limit still fills it to the last page.
 */
static int
stash_fill(struct tmpfs_mount *tm, void **stash, size_t *np, uint64_t want)
{
	size_t n = (size_t)MIN(want, (uint64_t)WRITE_BATCH), got;
	int error;

	*np = 0;
	if (n > 1 && tmpfs_pages_reserve(tm, n) != 0)
		n = 1;
	if (n == 1) {
		error = tmpfs_pages_reserve(tm, 1);
		if (error)
			return error;
	}
	got = page_alloc_n(&tmpfs_kmem, stash, n);
	if (got < n)
		tmpfs_pages_release(tm, n - got);
	*np = got;
	return got == 0 ? ENOMEM : 0;
}

int
tmpfs_file_write(struct tmpfs_mount *tm, struct tmpfs_node *n, struct uio *uio, int ioflag)
{
	struct tmpfs_reg *r = &n->tn_reg;
	anyk_off_t off, end, zfrom, start;
	uint64_t idx;
	size_t pgoff, len;
	void **slot = NULL;
	void *pg, *stash[WRITE_BATCH];
	size_t nstash = 0, used = 0;
	bool fresh;
	int error = 0;

	if (ioflag & IO_APPEND)
		uio->uio_offset = n->tn_size;
	start = uio->uio_offset;
	if (start < 0)
		return EINVAL;
	if (uio->uio_resid == 0)
		return 0;
	if (start >= TMPFS_MAXFILESIZE)
		return EFBIG;
	end = TMPFS_MAXFILESIZE;
	if ((anyk_off_t)uio->uio_resid < end - start)
		end = start + (anyk_off_t)uio->uio_resid;

	while ((off = uio->uio_offset) < end) {
		idx = (uint64_t)off >> TMPFS_PAGE_SHIFT;
		pgoff = (size_t)(off & TMPFS_PAGE_MASK);
		len = (size_t)MIN((anyk_off_t)(TMPFS_PAGE_SIZE - pgoff), end - off);
		if (slot == NULL || (idx & (TMPFS_RADIX_FANOUT - 1)) == 0) {
			slot = radix_slot(r, idx, true, &error);
			if (slot == NULL)
				break;
		} else {
			slot++;
		}
		pg = *slot;
		fresh = pg == NULL;
		if (fresh) {
			if (used == nstash) {
				error = stash_fill(tm, stash, &nstash,
				    (((uint64_t)end - 1) >> TMPFS_PAGE_SHIFT) - idx + 1);
				used = 0;
				if (error)
					break;
			}
			pg = stash[used++];
			/* Only what the copy will not cover needs zeros. */
			if (pgoff > 0)
				memset(pg, 0, pgoff);
			if (pgoff + len < TMPFS_PAGE_SIZE)
				memset((char *)pg + pgoff + len, 0, TMPFS_PAGE_SIZE - pgoff - len);
			*slot = pg;
			r->tr_npages++;
		}
		error = uiomove((char *)pg + pgoff, len, uio);
		if (error) {
			/* Keep the zero-beyond-EOF invariant for what did not
			 * arrive; a fresh page is a hole, which reads as zeros. */
			zfrom = fresh ? uio->uio_offset : MAX(uio->uio_offset, n->tn_size);
			if (zfrom < off + (anyk_off_t)len)
				memset((char *)pg + pgoff + (size_t)(zfrom - off), 0,
				       (size_t)(off + (anyk_off_t)len - zfrom));
			break;
		}
	}
	if (used < nstash) {
		page_free_n(&tmpfs_kmem, &stash[used], nstash - used);
		tmpfs_pages_release(tm, nstash - used);
	}
	if (uio->uio_offset > n->tn_size)
		n->tn_size = uio->uio_offset;
	if (uio->uio_offset > start) {
		tmpfs_node_touch(n, true, true);
		error = 0; /* a short write reports what it wrote */
	}
	return error;
}

int
tmpfs_file_truncate(struct tmpfs_mount *tm, struct tmpfs_node *n, anyk_off_t size)
{
	struct tmpfs_reg *r = &n->tn_reg;
	void **slot;
	size_t pgoff;
	int dummy;

	if (size < 0)
		return EINVAL;
	if (size > TMPFS_MAXFILESIZE)
		return EFBIG;
	/* Also to the same size: pages allocated past the end go. */
	if (size <= n->tn_size) {
		pages_free_from(tm, r, ((uint64_t)size + TMPFS_PAGE_SIZE - 1) >> TMPFS_PAGE_SHIFT);
		pgoff = (size_t)(size & TMPFS_PAGE_MASK);
		if (pgoff != 0) {
			slot = radix_slot(r, (uint64_t)size >> TMPFS_PAGE_SHIFT, false, &dummy);
			if (slot != NULL && *slot != NULL)
				memset((char *)*slot + pgoff, 0, TMPFS_PAGE_SIZE - pgoff);
		}
	}
	if (size == n->tn_size)
		return 0;
	n->tn_size = size;
	tmpfs_node_touch(n, true, true);
	return 0;
}

/*
 * First page at or after start that is present (data) or absent (hole)
 * under nd, which covers pages from base. False if there is none there.
 */
static bool
radix_find(struct radix_node *nd, unsigned level, uint64_t base, uint64_t start, bool data,
	   uint64_t *out)
{
	uint64_t span = span_pages(level), cbase;
	size_t i;

	i = start > base ? (size_t)((start - base) / span) : 0;
	for (; i < TMPFS_RADIX_FANOUT; i++) {
		cbase = base + i * span;
		if (nd->slot[i] == NULL) {
			if (!data) {
				*out = MAX(cbase, start);
				return true;
			}
			continue;
		}
		if (level == 1) {
			if (data) {
				*out = MAX(cbase, start);
				return true;
			}
			continue;
		}
		if (radix_find(nd->slot[i], level - 1, cbase, MAX(cbase, start), data, out))
			return true;
	}
	return false;
}

int
tmpfs_file_seek(struct tmpfs_node *n, int whence, anyk_off_t *offp)
{
	struct tmpfs_reg *r = &n->tn_reg;
	anyk_off_t off = *offp, res;
	uint64_t idx, found;
	bool data = whence == ANYK_SEEK_DATA, ok;

	if (whence != ANYK_SEEK_DATA && whence != ANYK_SEEK_HOLE)
		return EINVAL;
	if (off < 0 || off >= n->tn_size)
		return ENXIO;
	idx = (uint64_t)off >> TMPFS_PAGE_SHIFT;
	if (r->tr_root == NULL || idx >= capacity(r->tr_height)) {
		ok = !data;
		found = idx;
	} else {
		ok = radix_find(r->tr_root, r->tr_height, 0, idx, data, &found);
		if (!ok && !data) {
			ok = true;
			found = capacity(r->tr_height);
		}
	}
	if (!ok)
		return ENXIO;
	res = found >= ((uint64_t)TMPFS_MAXFILESIZE >> TMPFS_PAGE_SHIFT)
		      ? TMPFS_MAXFILESIZE
		      : MAX(off, (anyk_off_t)(found << TMPFS_PAGE_SHIFT));
	if (data) {
		if (res >= n->tn_size)
			return ENXIO;
	} else if (res > n->tn_size) {
		res = n->tn_size;
	}
	*offp = res;
	return 0;
}

/* Free the pages at indexes [first, last); returns how many there were. */
static uint64_t
pages_free_range(struct tmpfs_mount *tm, struct tmpfs_reg *r, uint64_t first, uint64_t last)
{
	uint64_t idx = first, found, freed = 0;
	void **slot;
	int dummy;

	while (idx < last && r->tr_root != NULL && idx < capacity(r->tr_height) &&
	       radix_find(r->tr_root, r->tr_height, 0, idx, true, &found) && found < last) {
		slot = radix_slot(r, found, false, &dummy);
		if (slot != NULL && *slot != NULL) {
			page_free_n(&tmpfs_kmem, slot, 1);
			*slot = NULL;
			freed++;
		}
		idx = found + 1;
	}
	r->tr_npages -= freed;
	tmpfs_pages_release(tm, freed);
	return freed;
}

/* Give every hole among the pages [first, last) a zeroed page. On failure
 * the pages already given stay: they read as the holes did. */
static int
pages_alloc_range(struct tmpfs_mount *tm, struct tmpfs_reg *r, uint64_t first, uint64_t last)
{
	void *stash[WRITE_BATCH], **slot;
	size_t nstash = 0, used = 0;
	uint64_t idx = first, found;
	int error = 0;

	while (idx < last) {
		/* Skip to the next hole. */
		if (r->tr_root != NULL && idx < capacity(r->tr_height) &&
		    !radix_find(r->tr_root, r->tr_height, 0, idx, false, &found))
			found = capacity(r->tr_height);
		else if (r->tr_root == NULL || idx >= capacity(r->tr_height))
			found = idx;
		idx = found;
		if (idx >= last)
			break;
		slot = radix_slot(r, idx, true, &error);
		if (slot == NULL)
			break;
		if (used == nstash) {
			error = stash_fill(tm, stash, &nstash, last - idx);
			used = 0;
			if (error)
				break;
		}
		memset(stash[used], 0, TMPFS_PAGE_SIZE);
		*slot = stash[used++];
		r->tr_npages++;
		idx++;
	}
	if (used < nstash) {
		page_free_n(&tmpfs_kmem, &stash[used], nstash - used);
		tmpfs_pages_release(tm, nstash - used);
	}
	return error;
}

/* Zero bytes [from, to) of the page idx, if it is there (to <= page size). */
static void
page_zero(struct tmpfs_reg *r, uint64_t idx, size_t from, size_t to)
{
	void **slot;
	int dummy;

	slot = radix_slot(r, idx, false, &dummy);
	if (slot != NULL && *slot != NULL && from < to)
		memset((char *)*slot + from, 0, to - from);
}

int
tmpfs_file_fallocate(struct tmpfs_mount *tm, struct tmpfs_node *n, int mode, anyk_off_t off,
		     anyk_off_t len)
{
	struct tmpfs_reg *r = &n->tn_reg;
	anyk_off_t end = off + len;
	uint64_t first = (uint64_t)off >> TMPFS_PAGE_SHIFT, last = ((uint64_t)end - 1) >> TMPFS_PAGE_SHIFT;
	int error;

	/* As Linux's tmpfs: allocation and hole punching, no zeroing. */
	if (mode & ~(ANYK_FALLOC_FL_KEEP_SIZE | ANYK_FALLOC_FL_PUNCH_HOLE))
		return EOPNOTSUPP;
	if (mode & ANYK_FALLOC_FL_PUNCH_HOLE) {
		/* The whole pages go; those the range covers in part keep
		 * their other bytes. */
		size_t head = (size_t)(off & TMPFS_PAGE_MASK), tail = (size_t)(end & TMPFS_PAGE_MASK);
		uint64_t from = ((uint64_t)off + TMPFS_PAGE_SIZE - 1) >> TMPFS_PAGE_SHIFT;
		uint64_t to = (uint64_t)end >> TMPFS_PAGE_SHIFT;

		if (from > to) {
			page_zero(r, first, head, tail); /* inside one page */
			return 0;
		}
		if (head)
			page_zero(r, first, head, TMPFS_PAGE_SIZE);
		if (tail)
			page_zero(r, to, 0, tail);
		pages_free_range(tm, r, from, to);
		return 0;
	}
	if (end > TMPFS_MAXFILESIZE)
		return EFBIG;
	error = pages_alloc_range(tm, r, first, last + 1);
	if (error)
		return error;
	if (!(mode & ANYK_FALLOC_FL_KEEP_SIZE) && end > n->tn_size)
		n->tn_size = end;
	return 0;
}
