/*
 * tmpfs directories. Each entry sits in two red-black trees of its
 * directory: one ordered by (hash of name, name) for lookup, so that a
 * directory of a hundred thousand entries costs a few dozen comparisons per
 * lookup, and one ordered by cookie for readdir. Cookies are handed out in
 * increasing order and never reused within a directory, so a readdir that
 * resumes at a cookie continues after the last entry it returned even if
 * entries were removed in between. "." and ".." are cookies 0 and 1.
 *
 * Callers hold the directory's vnode lock: shared to read, exclusive to
 * change (see vfs/vfs.h), so the trees need no lock of their own.
 */
#include "fs/tmpfs/tmpfs.h"

#define DIRHASH_SEED 0x746d7066735f6469ull /* any constant */
#define FIRST_COOKIE 2

struct name_key {
	uint64_t hash;
	const char *name;
	size_t len;
};

static int
name_cmp(uint64_t ha, const char *na, size_t la, uint64_t hb, const char *nb, size_t lb)
{
	int c;

	if (ha != hb)
		return ha < hb ? -1 : 1;
	c = memcmp(na, nb, MIN(la, lb));
	if (c != 0)
		return c;
	return la < lb ? -1 : la > lb;
}

static int
byname_cmp_nodes(const struct rb_node *a, const struct rb_node *b)
{
	const struct tmpfs_dirent *x = container_of(a, struct tmpfs_dirent, td_byname);
	const struct tmpfs_dirent *y = container_of(b, struct tmpfs_dirent, td_byname);

	return name_cmp(x->td_hash, x->td_name, x->td_namelen, y->td_hash, y->td_name, y->td_namelen);
}

static int
byname_cmp_key(const struct rb_node *a, const void *key)
{
	const struct tmpfs_dirent *x = container_of(a, struct tmpfs_dirent, td_byname);
	const struct name_key *k = key;

	return name_cmp(x->td_hash, x->td_name, x->td_namelen, k->hash, k->name, k->len);
}

static int
bycookie_cmp_nodes(const struct rb_node *a, const struct rb_node *b)
{
	int64_t x = container_of(a, struct tmpfs_dirent, td_bycookie)->td_cookie;
	int64_t y = container_of(b, struct tmpfs_dirent, td_bycookie)->td_cookie;

	return x < y ? -1 : x > y;
}

static int
bycookie_cmp_key(const struct rb_node *a, const void *key)
{
	int64_t x = container_of(a, struct tmpfs_dirent, td_bycookie)->td_cookie;
	int64_t y = *(const int64_t *)key;

	return x < y ? -1 : x > y;
}

static uint64_t
name_hash(const char *name, size_t len)
{
	return hash_bytes(name, len, DIRHASH_SEED);
}

void
tmpfs_dir_init(struct tmpfs_node *dn, struct tmpfs_node *parent)
{
	struct tmpfs_dir *d = &dn->tn_dir;

	rb_init(&d->td_names, byname_cmp_nodes, byname_cmp_key);
	rb_init(&d->td_cookies, bycookie_cmp_nodes, bycookie_cmp_key);
	d->td_nextcookie = FIRST_COOKIE;
	d->td_parent = parent;
}

struct tmpfs_dirent *
tmpfs_dir_lookup(struct tmpfs_node *dn, const char *name, size_t namelen)
{
	struct name_key k = { name_hash(name, namelen), name, namelen };
	struct rb_node *rn;

	rn = rb_find(&dn->tn_dir.td_names, &k);
	return rn ? container_of(rn, struct tmpfs_dirent, td_byname) : NULL;
}

int
tmpfs_dirent_alloc(const char *name, size_t namelen, struct tmpfs_dirent **dep)
{
	struct tmpfs_dirent *de;

	if (namelen == 0 || namelen > ANYK_NAME_MAX)
		return namelen ? ENAMETOOLONG : EINVAL;
	de = kmem_alloc(&tmpfs_kmem, sizeof(*de) + namelen);
	if (de == NULL)
		return ENOMEM;
	memcpy(de->td_name, name, namelen);
	de->td_namelen = (uint16_t)namelen;
	de->td_hash = name_hash(name, namelen);
	de->td_node = NULL;
	de->td_cookie = 0;
	*dep = de;
	return 0;
}

void
tmpfs_dirent_free(struct tmpfs_dirent *de)
{
	kmem_free(&tmpfs_kmem, de, sizeof(*de) + de->td_namelen);
}

void
tmpfs_dir_attach(struct tmpfs_node *dn, struct tmpfs_dirent *de, struct tmpfs_node *n)
{
	struct tmpfs_dir *d = &dn->tn_dir;
	struct rb_node *dup;

	de->td_node = n;
	de->td_cookie = d->td_nextcookie++;
	dup = rb_insert(&d->td_names, &de->td_byname);
	KASSERT(dup == NULL);
	dup = rb_insert(&d->td_cookies, &de->td_bycookie);
	KASSERT(dup == NULL);
}

void
tmpfs_dir_detach(struct tmpfs_node *dn, struct tmpfs_dirent *de)
{
	rb_remove(&dn->tn_dir.td_names, &de->td_byname);
	rb_remove(&dn->tn_dir.td_cookies, &de->td_bycookie);
}

bool
tmpfs_dir_empty(struct tmpfs_node *dn)
{
	return dn->tn_dir.td_names.count == 0;
}

size_t
tmpfs_dir_count(struct tmpfs_node *dn)
{
	return dn->tn_dir.td_names.count;
}

/* The cookie that follows entry rn (or EOF after the last one). */
static int64_t
next_cookie(struct rb_node *rn)
{
	struct rb_node *next = rb_next(rn);

	return next ? container_of(next, struct tmpfs_dirent, td_bycookie)->td_cookie : DIRCOOKIE_EOF;
}

int
tmpfs_dir_readdir(struct tmpfs_node *dn, int64_t cookie, readdir_fill_fn fill, void *ctx)
{
	struct tmpfs_dir *d = &dn->tn_dir;
	struct tmpfs_dirent *de;
	struct rb_node *rn, *first;
	struct tmpfs_node *parent;
	int64_t next;

	if (cookie < 0)
		return EINVAL;
	if (cookie == DIRCOOKIE_EOF)
		return 0;
	first = rb_min(&d->td_cookies);
	if (cookie == 0) {
		if (fill(ctx, ".", 1, dn->tn_ino, ANYK_DT_DIR, 1))
			return 0;
		cookie = 1;
	}
	if (cookie == 1) {
		/* A removed directory has no parent; name itself then. */
		parent = d->td_parent ? d->td_parent : dn;
		next = first ? container_of(first, struct tmpfs_dirent, td_bycookie)->td_cookie
			     : DIRCOOKIE_EOF;
		if (fill(ctx, "..", 2, parent->tn_ino, ANYK_DT_DIR, next))
			return 0;
		cookie = FIRST_COOKIE;
	}
	for (rn = rb_lower_bound(&d->td_cookies, &cookie); rn != NULL; rn = rb_next(rn)) {
		de = container_of(rn, struct tmpfs_dirent, td_bycookie);
		if (fill(ctx, de->td_name, de->td_namelen, de->td_node->tn_ino,
			 vtype_to_dtype(de->td_node->tn_type), next_cookie(rn)))
			break;
	}
	return 0;
}

void
tmpfs_dir_destroy(struct tmpfs_node *dn)
{
	struct rb_node *rn;
	struct tmpfs_dirent *de;

	while ((rn = rb_min(&dn->tn_dir.td_cookies)) != NULL) {
		de = container_of(rn, struct tmpfs_dirent, td_bycookie);
		tmpfs_dir_detach(dn, de);
		tmpfs_dirent_free(de);
	}
}
