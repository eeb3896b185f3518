// test_hooks_cxx.cc - C++ exceptions through instrumented frames.
// g++ runs the exit hooks of instrumented C++ frames while unwinding; an
// instrumented C frame in between is skipped, and is closed as abandoned.
// Run with SPANPROF_TRACE_CALLS=cxx_root,cxx_c_root.
#include <criterion/criterion.h>
#include <spanprof.h>
#include <stdexcept>
#include <string.h>

#define NOINLINE __attribute__((noinline))

extern "C" int c_passthrough(int (*fn)(int), int x);

static volatile int sink;

NOINLINE int cxx_thrower(int x)
{
	if (x > 0)
		throw std::runtime_error("boom");
	return x;
}
NOINLINE int cxx_middle(int x) { return cxx_thrower(x) + 1; }
NOINLINE int cxx_after(int x) { return x * 2; }
NOINLINE int cxx_catcher(int x)
{
	try {
		sink = cxx_middle(x);
	} catch (const std::exception &) {
		sink = cxx_after(x);
	}
	return sink;
}
NOINLINE void cxx_root() { sink = cxx_catcher(1); }

NOINLINE int cxx_c_catcher(int x)
{
	try {
		sink = c_passthrough(cxx_thrower, x);
	} catch (const std::exception &) {
		sink = cxx_after(x);
	}
	return sink;
}
NOINLINE void cxx_c_root() { sink = cxx_c_catcher(1); }

static const sp_trace_info *only(sp_snapshot *s, const char *name)
{
	const sp_trace_info *hit = NULL;
	for (size_t i = 0; i < sp_snapshot_count(s); i++)
		if (!strcmp(sp_snapshot_trace(s, i)->name, name))
			hit = sp_snapshot_trace(s, i);
	cr_assert_not_null(hit, "trace %s", name);
	return hit;
}

// Function names are mangled C++ symbols; find children by prefix.
static const sp_node *child(const sp_node *n, const char *prefix)
{
	for (const sp_node *c = n ? n->first_child : NULL; c; c = c->next_sibling)
		if (c->name && strstr(c->name, prefix))
			return c;
	return NULL;
}

Test(cxx, exceptions_through_instrumented_frames)
{
	sp_set_enabled(true);
	cxx_root();
	sp_snapshot *s = sp_snapshot_take();
	const sp_trace_info *t = only(s, "_Z8cxx_rootv");
	const sp_node *catcher = child(t->root, "cxx_catcher");
	cr_assert_not_null(catcher);
	cr_assert_eq(catcher->nchildren, 2, "middle, then after");
	const sp_node *middle = child(catcher, "cxx_middle");
	const sp_node *after = child(catcher, "cxx_after");
	cr_assert(middle && after);
	cr_assert_not_null(child(middle, "cxx_thrower"));
	cr_assert_not(middle->abandoned, "g++ ran its exit hook while unwinding");
	cr_assert_not(child(middle, "cxx_thrower")->abandoned);
	cr_assert_eq(after->parent, catcher, "the call after the catch attaches to the catcher");
	sp_snapshot_free(s);
}

Test(cxx, an_exception_through_a_c_frame_leaves_it_abandoned)
{
	sp_set_enabled(true);
	cxx_c_root();
	sp_snapshot *s = sp_snapshot_take();
	const sp_trace_info *t = only(s, "_Z10cxx_c_rootv");
	const sp_node *catcher = child(t->root, "cxx_c_catcher");
	cr_assert_not_null(catcher);
	const sp_node *pass = child(catcher, "c_passthrough");
	const sp_node *after = child(catcher, "cxx_after");
	cr_assert_not_null(pass);
	cr_assert_not_null(after, "cxx_after is the catcher's child, not the dead C frame's");
	cr_assert_eq(catcher->nchildren, 2);
	cr_assert(pass->abandoned, "the C frame's exit hook never ran");
	cr_assert_not_null(child(pass, "cxx_thrower"));
	cr_assert_not(child(pass, "cxx_thrower")->abandoned);
	sp_snapshot_free(s);
}

Test(cxx, the_macros_work_in_cxx)
{
	sp_set_enabled(true);
	SP_TRACE("cxx", "1") {
		SP_SPAN("a") {
			sp_span_set_i64(sp_current_span(), "n", 1);
		}
		SP_SCOPE("b");
	}
	sp_snapshot *s = sp_snapshot_take();
	const sp_trace_info *t = only(s, "cxx");
	cr_assert_eq(t->root->nchildren, 2);
	cr_assert_eq(sp_node_data(sp_node_child(t->root, "a"), "n")->v.i64, 1);
	sp_snapshot_free(s);
}
