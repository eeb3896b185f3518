/* test_util.h - helpers shared by the Criterion suites.
 *
 * assert_shape(node, "cmd(a(b,c),*row(*cell))") compares a tree with a
 * compact picture of it: a node is its name, followed by its children in
 * parentheses; a cumulative node's name starts with '*'.
 */
#ifndef SP_TEST_UTIL_H
#define SP_TEST_UTIL_H

#include <criterion/criterion.h>
#include <spanprof.h>
#include <stdio.h>
#include <string.h>

/* Spend some CPU time in a way the compiler cannot remove. */
static __attribute__((unused, noinline)) unsigned burn(unsigned n)
{
	volatile unsigned x = 0;
	for (unsigned i = 0; i < n; i++)
		x += i * 2654435761u;
	return x;
}

static void __attribute__((unused)) shape_of(const sp_node *n, char *buf, size_t size, size_t *len)
{
	*len += (size_t)snprintf(buf + *len, *len < size ? size - *len : 0, "%s%s",
				 n->kind == SP_NODE_CUMULATIVE ? "*" : "", n->name ? n->name : "?");
	if (!n->first_child)
		return;
	*len += (size_t)snprintf(buf + *len, *len < size ? size - *len : 0, "(");
	for (const sp_node *c = n->first_child; c; c = c->next_sibling) {
		shape_of(c, buf, size, len);
		if (c->next_sibling)
			*len += (size_t)snprintf(buf + *len, *len < size ? size - *len : 0, ",");
	}
	*len += (size_t)snprintf(buf + *len, *len < size ? size - *len : 0, ")");
}

#define assert_shape(node, expected)                                                    \
	do {                                                                            \
		static char shape_buf_[1 << 16];                                        \
		size_t shape_len_ = 0;                                                  \
		cr_assert_not_null(node);                                               \
		shape_of((node), shape_buf_, sizeof shape_buf_, &shape_len_);           \
		cr_assert_str_eq(shape_buf_, (expected), "tree shape");                 \
	} while (0)

#endif
