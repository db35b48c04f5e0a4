/*
 * Intrusive red-black trees: ordered maps for extents, timers, mounts,
 * anything that needs ordered lookup with O(log n) insert and remove and no
 * allocation. The rules kept: the root is black, a red node has no red
 * child, and every path from a node down to a leaf passes the same number
 * of black nodes; together they keep the height below 2 log2(n + 1).
 * Missing children (NULL) count as black.
 */
#include "kern/lib/libkern.h"

static inline bool
is_red(const struct rb_node *n)
{
	return n != NULL && n->red;
}

/* Make child take old's place under old's parent (or as the root). */
static void
replace_child(struct rb_tree *t, struct rb_node *parent, struct rb_node *old, struct rb_node *child)
{
	if (parent == NULL)
		t->root = child;
	else if (parent->left == old)
		parent->left = child;
	else
		parent->right = child;
}

/*
 *     x              y
 *    / \            / \
 *   a   y    ->    x   c
 *      / \        / \
 *     b   c      a   b
 */
static void
rotate_left(struct rb_tree *t, struct rb_node *x)
{
	struct rb_node *y = x->right;

	x->right = y->left;
	if (y->left != NULL)
		y->left->parent = x;
	y->parent = x->parent;
	replace_child(t, x->parent, x, y);
	y->left = x;
	x->parent = y;
}

static void
rotate_right(struct rb_tree *t, struct rb_node *x)
{
	struct rb_node *y = x->left;

	x->left = y->right;
	if (y->right != NULL)
		y->right->parent = x;
	y->parent = x->parent;
	replace_child(t, x->parent, x, y);
	y->right = x;
	x->parent = y;
}

void
rb_init(struct rb_tree *t, int (*cmp_nodes)(const struct rb_node *, const struct rb_node *),
	int (*cmp_key)(const struct rb_node *, const void *))
{
	t->root = NULL;
	t->cmp_nodes = cmp_nodes;
	t->cmp_key = cmp_key;
	t->count = 0;
}

/* n was just linked in red; restore "no red node has a red child". */
static void
insert_fixup(struct rb_tree *t, struct rb_node *n)
{
	struct rb_node *parent, *gp, *uncle;

	while ((parent = n->parent) != NULL && parent->red) {
		/* A red parent is never the root, so gp exists. */
		gp = parent->parent;
		if (parent == gp->left) {
			uncle = gp->right;
			if (is_red(uncle)) {
				/* Push the grandparent's blackness down and
				 * continue the repair from it. */
				parent->red = 0;
				uncle->red = 0;
				gp->red = 1;
				n = gp;
				continue;
			}
			if (n == parent->right) {
				rotate_left(t, parent);
				n = parent;
				parent = n->parent;
			}
			parent->red = 0;
			gp->red = 1;
			rotate_right(t, gp);
		} else {
			uncle = gp->left;
			if (is_red(uncle)) {
				parent->red = 0;
				uncle->red = 0;
				gp->red = 1;
				n = gp;
				continue;
			}
			if (n == parent->left) {
				rotate_right(t, parent);
				n = parent;
				parent = n->parent;
			}
			parent->red = 0;
			gp->red = 1;
			rotate_left(t, gp);
		}
	}
	t->root->red = 0;
}

struct rb_node *
rb_insert(struct rb_tree *t, struct rb_node *n)
{
	struct rb_node *parent = NULL, **link = &t->root;

	while (*link != NULL) {
		int c = t->cmp_nodes(n, *link);
		parent = *link;
		if (c < 0)
			link = &parent->left;
		else if (c > 0)
			link = &parent->right;
		else
			return parent;
	}
	n->parent = parent;
	n->left = n->right = NULL;
	n->red = 1;
	*link = n;
	t->count++;
	insert_fixup(t, n);
	return NULL;
}

/*
 * A black node was removed from below parent, on the side where x (maybe
 * NULL) now sits: that side is one black short. Repair it by recolouring
 * and rotating, moving the deficit up when it cannot be fixed locally.
 */
static void
remove_fixup(struct rb_tree *t, struct rb_node *x, struct rb_node *parent)
{
	struct rb_node *w;

	while (x != t->root && !is_red(x)) {
		if (x == parent->left) {
			w = parent->right; /* non-NULL: its side has black height >= 1 */
			if (w->red) {
				w->red = 0;
				parent->red = 1;
				rotate_left(t, parent);
				w = parent->right;
			}
			if (!is_red(w->left) && !is_red(w->right)) {
				w->red = 1;
				x = parent;
				parent = x->parent;
				continue;
			}
			if (!is_red(w->right)) {
				w->left->red = 0;
				w->red = 1;
				rotate_right(t, w);
				w = parent->right;
			}
			w->red = parent->red;
			parent->red = 0;
			w->right->red = 0;
			rotate_left(t, parent);
			x = t->root;
		} else {
			w = parent->left;
			if (w->red) {
				w->red = 0;
				parent->red = 1;
				rotate_right(t, parent);
				w = parent->left;
			}
			if (!is_red(w->left) && !is_red(w->right)) {
				w->red = 1;
				x = parent;
				parent = x->parent;
				continue;
			}
			if (!is_red(w->left)) {
				w->right->red = 0;
				w->red = 1;
				rotate_left(t, w);
				w = parent->left;
			}
			w->red = parent->red;
			parent->red = 0;
			w->left->red = 0;
			rotate_right(t, parent);
			x = t->root;
		}
	}
	if (x != NULL)
		x->red = 0;
}

void
rb_remove(struct rb_tree *t, struct rb_node *n)
{
	struct rb_node *child, *parent;
	int removed_red;

	if (n->left != NULL && n->right != NULL) {
		/* Two children: n's successor y (leftmost of the right
		 * subtree, no left child) takes n's place and colour; the
		 * node that disappears from the structure is y's old slot. */
		struct rb_node *y = n->right;
		while (y->left != NULL)
			y = y->left;
		child = y->right;
		removed_red = y->red;
		if (y->parent == n) {
			parent = y;
		} else {
			parent = y->parent;
			parent->left = child;
			if (child != NULL)
				child->parent = parent;
			y->right = n->right;
			n->right->parent = y;
		}
		y->left = n->left;
		n->left->parent = y;
		y->parent = n->parent;
		replace_child(t, n->parent, n, y);
		y->red = n->red;
	} else {
		child = n->left != NULL ? n->left : n->right;
		parent = n->parent;
		removed_red = n->red;
		if (child != NULL)
			child->parent = parent;
		replace_child(t, parent, n, child);
	}
	t->count--;
	n->parent = n->left = n->right = NULL;
	if (!removed_red)
		remove_fixup(t, child, parent);
}

struct rb_node *
rb_find(const struct rb_tree *t, const void *key)
{
	struct rb_node *n = t->root;

	while (n != NULL) {
		int c = t->cmp_key(n, key);
		if (c < 0)
			n = n->right;
		else if (c > 0)
			n = n->left;
		else
			return n;
	}
	return NULL;
}

struct rb_node *
rb_lower_bound(const struct rb_tree *t, const void *key)
{
	struct rb_node *n = t->root, *best = NULL;

	while (n != NULL) {
		int c = t->cmp_key(n, key);
		if (c < 0) {
			n = n->right;
		} else {
			/* n >= key: a candidate; a smaller one may be left. */
			best = n;
			if (c == 0)
				break;
			n = n->left;
		}
	}
	return best;
}

struct rb_node *
rb_min(const struct rb_tree *t)
{
	struct rb_node *n = t->root;

	if (n != NULL)
		while (n->left != NULL)
			n = n->left;
	return n;
}

struct rb_node *
rb_max(const struct rb_tree *t)
{
	struct rb_node *n = t->root;

	if (n != NULL)
		while (n->right != NULL)
			n = n->right;
	return n;
}

struct rb_node *
rb_next(const struct rb_node *n)
{
	if (n->right != NULL) {
		n = n->right;
		while (n->left != NULL)
			n = n->left;
		return (struct rb_node *)(uintptr_t)n;
	}
	while (n->parent != NULL && n == n->parent->right)
		n = n->parent;
	return n->parent;
}

struct rb_node *
rb_prev(const struct rb_node *n)
{
	if (n->left != NULL) {
		n = n->left;
		while (n->right != NULL)
			n = n->right;
		return (struct rb_node *)(uintptr_t)n;
	}
	while (n->parent != NULL && n == n->parent->left)
		n = n->parent;
	return n->parent;
}
