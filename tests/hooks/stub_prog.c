/* stub_prog.c - the hook stub's flag follows the runtime (issue 15).
 * Linked as pkg-config links it (the stub in the program), started with
 * recording off (SPANPROF_ENABLED=0, SPANPROF_TRACE_CALLS=stub_root): the
 * stub's constructor registers its flag at 0. Calls of stub_root are then
 * traces exactly while sp_set_enabled(true) holds: 2 of 4. TAP output. */
#include <spanprof.h>
#include <stdio.h>
#include <string.h>

static volatile int sink;

__attribute__((noinline)) void stub_leaf(int x)
{
	sink += x;
}

__attribute__((noinline)) void stub_root(int x)
{
	stub_leaf(x);
	stub_leaf(x + 1);
}

__attribute__((no_instrument_function)) int main(void)
{
	stub_root(1); /* off: nothing */
	sp_set_enabled(true);
	stub_root(2);
	stub_root(3);
	sp_set_enabled(false);
	stub_root(4); /* off again */
	sp_set_enabled(true); /* for the snapshot */
	sp_snapshot *s = sp_snapshot_take();
	size_t n = sp_snapshot_count(s), good = 0;
	for (size_t i = 0; i < n; i++) {
		const sp_trace_info *t = sp_snapshot_trace(s, i);
		const sp_node *c = t->root ? t->root->first_child : NULL;
		if (t->root && t->root->name && !strcmp(t->root->name, "stub_root") && c && c->name &&
		    !strcmp(c->name, "stub_leaf") && c->next_sibling && !c->next_sibling->next_sibling)
			good++;
	}
	sp_snapshot_free(s);
	printf("1..1\n%s 1 - %zu traces of stub_root (with its two stub_leaf calls) of %zu, want 2 of 2\n",
	       n == 2 && good == 2 ? "ok" : "not ok", good, n);
	return n == 2 && good == 2 ? 0 : 1;
}
