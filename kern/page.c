/*
 * Page allocator: whole 4 KiB pages for bulk data (file contents), carved
 * from 2 MiB chunks asked of the host in one piece. A host can map such a
 * chunk with a few large pages instead of 512 small ones that each fault on
 * first touch, which is most of the cost of writing new data.
 *
 * Each chunk keeps a bitmap of its free pages (never a list threaded through
 * the pages: freeing 1 GiB would then touch every page once more just to
 * drop it), so a chunk whose pages are all free goes straight back to the
 * host: memory is charged to kmem per chunk and
 * returns to where it was once the data is gone. So that anyk_memstats
 * still says who holds what, pages handed out move from the "pages" type to
 * the caller's type and back when freed; the total does not change. Chunks
 * sit in a
 * tree by address (to find a page's chunk on free) and, while they have a
 * free page, on a list that allocation takes from.
 *
 * Small amounts are better served one page at a time: until PAGE_SINGLES_MAX
 * pages are in use that way, no chunk is made, so a kernel holding a few
 * small files never maps, touches and gives back 2 MiB for each of them.
 * Single pages are also the fall-back when a chunk does not fit under
 * ANYK_MEMLIMIT or the host has none: small limits keep working to the byte.
 *
 * page_lock is a leaf lock: nothing is taken under it but kmem's atomics.
 */
#include "kern/kernel.h"

#define PAGE_CHUNK_SIZE ((size_t)2 << 20)
#define PAGE_CHUNK_PAGES ((uint32_t)(PAGE_CHUNK_SIZE / PAGE_SIZE))
#define PAGE_SINGLES_MAX 512
#define PAGE_MAP_WORDS (PAGE_CHUNK_PAGES / 32)

KMEM_TYPE(page_kmem, "pages");

struct page_chunk {
	struct rb_node pc_node; /* in page_chunks, by address */
	struct dlist pc_link;   /* in page_partial while pc_nfree > 0 */
	char *pc_base;
	uint32_t pc_map[PAGE_MAP_WORDS]; /* bit set: page free */
	uint32_t pc_hint;       /* no free page in words below this one */
	uint32_t pc_nfree;
};

static kmutex_t page_lock; /* made once per process, kept across boots */
static struct rb_tree page_chunks;
static struct dlist page_partial;
static uint64_t page_singles; /* atomic: single pages in use */

static int
chunk_cmp_nodes(const struct rb_node *a, const struct rb_node *b)
{
	const struct page_chunk *ca = container_of(a, struct page_chunk, pc_node);
	const struct page_chunk *cb = container_of(b, struct page_chunk, pc_node);

	return ca->pc_base < cb->pc_base ? -1 : ca->pc_base > cb->pc_base;
}

/* A chunk "equals" every address inside it. */
static int
chunk_cmp_key(const struct rb_node *n, const void *key)
{
	const struct page_chunk *c = container_of(n, struct page_chunk, pc_node);
	uintptr_t base = (uintptr_t)c->pc_base, k = (uintptr_t)key;

	if (k < base)
		return 1;
	if (k - base >= PAGE_CHUNK_SIZE)
		return -1;
	return 0;
}

static inline bool
chunk_holds(const struct page_chunk *c, const void *pg)
{
	return (uintptr_t)pg - (uintptr_t)c->pc_base < PAGE_CHUNK_SIZE;
}

/* Called with page_lock held; c has a free page. Lowest first, so that a
 * long write gets neighbouring pages. */
static void *
chunk_take(struct page_chunk *c)
{
	uint32_t w = c->pc_hint, bit;

	while (c->pc_map[w] == 0)
		w++;
	bit = (uint32_t)__builtin_ctz(c->pc_map[w]);
	c->pc_map[w] &= ~((uint32_t)1 << bit);
	c->pc_hint = w;
	if (--c->pc_nfree == 0)
		dlist_remove(&c->pc_link);
	return c->pc_base + (size_t)(w * 32 + bit) * PAGE_SIZE;
}

/* Called with page_lock held; pg is a page of c that is in use. */
static void
chunk_put(struct page_chunk *c, void *pg)
{
	size_t i = (size_t)((char *)pg - c->pc_base) / PAGE_SIZE;
	uint32_t w = (uint32_t)(i / 32), bit = (uint32_t)1 << (i % 32);

	if ((char *)pg != c->pc_base + i * PAGE_SIZE || (c->pc_map[w] & bit) != 0)
		panic("page: bad or double free of %p", pg);
	c->pc_map[w] |= bit;
	if (w < c->pc_hint)
		c->pc_hint = w;
	if (c->pc_nfree++ == 0)
		dlist_insert_tail(&page_partial, &c->pc_link);
}

/*
 * Make a chunk and offer its pages; false if singles should be used instead:
 * few pages are in use, the chunk would break the memory limit, or the host
 * has no memory. The limit is checked first so that an expected miss is not
 * counted as an allocation failure.
 */
static void chunk_release(struct page_chunk *c);

static bool
chunk_new(void)
{
	struct page_chunk *c;
	uint64_t limit;

	if (atomic_load_relaxed(&page_singles) < PAGE_SINGLES_MAX)
		return false;
	limit = kmem_limit();
	if (limit != 0 && kmem_inuse() + PAGE_CHUNK_SIZE + sizeof(*c) > limit)
		return false;
	c = kmem_alloc(&page_kmem, sizeof(*c));
	if (c == NULL)
		return false;
	c->pc_base = kmem_alloc_aligned(&page_kmem, PAGE_CHUNK_SIZE, PAGE_SIZE);
	if (c->pc_base == NULL) {
		kmem_free(&page_kmem, c, sizeof(*c));
		return false;
	}
	memset(c->pc_map, 0xff, sizeof(c->pc_map));
	c->pc_hint = 0;
	c->pc_nfree = PAGE_CHUNK_PAGES;
	mutex_enter(&page_lock);
	if (!dlist_empty(&page_partial)) {
		/* Another thread made one meanwhile: take its pages. A second
		 * chunk nobody took a page from would never be freed into,
		 * so never go back to the host. */
		mutex_exit(&page_lock);
		chunk_release(c);
		return true;
	}
	if (rb_insert(&page_chunks, &c->pc_node) != NULL)
		panic("page: host gave out chunk %p twice", (void *)c->pc_base);
	dlist_insert_head(&page_partial, &c->pc_link);
	mutex_exit(&page_lock);
	return true;
}

static void
chunk_release(struct page_chunk *c)
{
	kmem_free(&page_kmem, c->pc_base, PAGE_CHUNK_SIZE);
	kmem_free(&page_kmem, c, sizeof(*c));
}

/* Move the attribution of n pages from the chunks to t (or back). */
static void
attribute(struct kmem_type *t, size_t n, bool give)
{
	uint64_t bytes = (uint64_t)n * PAGE_SIZE;

	if (n == 0)
		return;
	if (give) {
		__atomic_sub_fetch(&page_kmem.bytes, bytes, __ATOMIC_RELAXED);
		atomic_add(&t->bytes, bytes);
		atomic_add(&t->allocs, (uint64_t)n);
	} else {
		__atomic_sub_fetch(&t->bytes, bytes, __ATOMIC_RELAXED);
		atomic_add(&t->frees, (uint64_t)n);
		atomic_add(&page_kmem.bytes, bytes);
	}
}

/* Pointer-aligned only: a host allocator pads page-aligned small blocks,
 * which would double the memory each single page takes. */
static void *
single_alloc(struct kmem_type *t)
{
	void *pg = kmem_alloc(t, PAGE_SIZE);

	if (pg != NULL)
		atomic_inc(&page_singles);
	return pg;
}

static void
single_free(struct kmem_type *t, void *pg)
{
	kmem_free(t, pg, PAGE_SIZE);
	__atomic_sub_fetch(&page_singles, 1, __ATOMIC_RELAXED);
}

size_t
page_alloc_n(struct kmem_type *t, void **pages, size_t n)
{
	struct page_chunk *c;
	size_t k = 0, from;
	void *pg;

	while (k < n) {
		from = k;
		mutex_enter(&page_lock);
		while (k < n && (c = dlist_first(&page_partial, struct page_chunk, pc_link)) != NULL)
			pages[k++] = chunk_take(c);
		mutex_exit(&page_lock);
		attribute(t, k - from, true);
		if (k == n || chunk_new())
			continue;
		pg = single_alloc(t);
		if (pg == NULL)
			break;
		pages[k++] = pg;
	}
	return k;
}

void *
page_alloc(struct kmem_type *t)
{
	void *pg;

	return page_alloc_n(t, &pg, 1) == 1 ? pg : NULL;
}

void
page_free_n(struct kmem_type *t, void **pages, size_t n)
{
	struct page_chunk *c = NULL, *dead;
	struct rb_node *rn;
	struct dlist empty;
	size_t i, chunked = 0;
	void *pg;

	dlist_init(&empty);
	mutex_enter(&page_lock);
	for (i = 0; i < n; i++) {
		pg = pages[i];
		if (pg == NULL)
			continue;
		/* Neighbouring pages usually share a chunk: look up only on a change. */
		if (c == NULL || !chunk_holds(c, pg)) {
			rn = rb_find(&page_chunks, pg);
			c = rn != NULL ? container_of(rn, struct page_chunk, pc_node) : NULL;
		}
		if (c == NULL) {
			single_free(t, pg);
			continue;
		}
		chunked++;
		chunk_put(c, pg);
		if (c->pc_nfree == PAGE_CHUNK_PAGES) {
			dlist_remove(&c->pc_link);
			rb_remove(&page_chunks, &c->pc_node);
			dlist_insert_tail(&empty, &c->pc_link);
			c = NULL;
		}
	}
	/* Under the lock: another thread may release the chunk as soon as
	 * it is out, and "pages" must hold these bytes before it does. */
	attribute(t, chunked, false);
	mutex_exit(&page_lock);
	/* The host calls that unmap whole chunks run without the lock. */
	while ((dead = dlist_first(&empty, struct page_chunk, pc_link)) != NULL) {
		dlist_remove(&dead->pc_link);
		chunk_release(dead);
	}
}

void
page_free(struct kmem_type *t, void *pg)
{
	page_free_n(t, &pg, 1);
}

static int
page_init(void)
{
	if (page_lock.hm == NULL) {
		mutex_init(&page_lock);
		rb_init(&page_chunks, chunk_cmp_nodes, chunk_cmp_key);
		dlist_init(&page_partial);
	}
	return 0;
}

ANYK_COMPONENT(page, LEVEL_KERN, page_init);
