/* test_hooks.c - functions as spans through -finstrument-functions.
 *
 * Built with -finstrument-functions at -O2 and run with (tests/meson.build):
 *   SPANPROF_TRACE_CALLS=calls_root,span_in_fn_root,rec_root,jmp_root,sjmp_root,sig_root,
 *                        thr_root,fork_root,dl_root,inl_root
 * (exit() from deep in the stack is checked through the CLI, tests/e2e.)
 *   SPANPROF_TRACE_ALL=file:grid.c,grid_*   SPANPROF_EXCLUDE=grid_secret,calls_excluded
 *   SPANPROF_CUMULATIVE=calls_cumul
 *   SPANPROF_TRACE=trace_root,trace_by_name@req,trace_by_num@ticket,trace_no_param@nope
 * Function nodes are named by the runtime from the ELF symbol tables.
 */
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <spanprof.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hooks/hooks.h"
#include "test_util.h"

static volatile int sink;

static size_t count_named(const sp_node *n, const char *name)
{
	size_t c = n->name && !strcmp(n->name, name);
	for (const sp_node *k = n->first_child; k; k = k->next_sibling)
		c += count_named(k, name);
	return c;
}

static size_t count_abandoned(const sp_node *n)
{
	size_t c = n->abandoned;
	for (const sp_node *k = n->first_child; k; k = k->next_sibling)
		c += count_abandoned(k);
	return c;
}

/* The only trace of the snapshot whose name is `name`. */
static const sp_trace_info *only_trace(sp_snapshot *s, const char *name)
{
	const sp_trace_info *hit = NULL;
	for (size_t i = 0; i < sp_snapshot_count(s); i++)
		if (!strcmp(sp_snapshot_trace(s, i)->name, name)) {
			cr_assert_null(hit, "one trace named %s", name);
			hit = sp_snapshot_trace(s, i);
		}
	cr_assert_not_null(hit, "a trace named %s", name);
	return hit;
}

/* ------------------------------------------------------------------------
 * trace_calls
 */
NOINLINE int calls_c(int x) { return x + 1; }
NOINLINE int calls_d(int x) { return x * 3; }
NOINLINE int calls_a(int x) { return calls_c(x) + 1; }
NOINLINE int calls_excluded(int x) { return calls_d(x) + 2; }
NOINLINE int calls_cumul(int x) { return calls_c(x) ^ 1; }
NOINLINE int calls_b(int x)
{
	int s = calls_c(x) + calls_excluded(x);
	for (int i = 0; i < 5; i++)
		s += calls_cumul(i);
	return s;
}
NOINLINE int calls_root(int x) { return calls_a(x) + calls_b(x); }

Test(hooks, test_i_can_use_trace_calls_on_function)
{
	sp_set_enabled(true);
	sink = calls_a(1); /* outside the root: not traced */
	sink = calls_root(2);
	sink = calls_b(3); /* outside again */
	sp_snapshot *s = sp_snapshot_take();
	cr_assert_eq(sp_snapshot_count(s), 1, "only the root's call is a trace");
	const sp_trace_info *t = sp_snapshot_trace(s, 0);
	cr_assert_str_eq(t->name, "calls_root");
	cr_assert_str_eq(t->id, "1", "a function-rooted trace's id is its call number");
	/* calls_excluded is not a span; its callee calls_d hangs under calls_b.
	 * calls_cumul is one cumulative node; its callee calls_c aggregates. */
	assert_shape(t->root, "calls_root(calls_a(calls_c),calls_b(calls_c,calls_d,*calls_cumul(*calls_c)))");
	const sp_node *cum = sp_node_find(t->root, "calls_b/calls_cumul");
	cr_assert_eq(cum->count, 5);
	cr_assert_eq(sp_node_child(cum, "calls_c")->count, 5);
	cr_assert_eq(count_abandoned(t->root), 0);
	cr_assert_not_null(t->root->function);
	cr_assert_neq(t->root->address, 0);
	cr_assert_not_null(t->root->module);
	sp_snapshot_free(s);
}

Test(hooks, hook_spans_and_manual_probes_nest_in_one_tree)
{
	sp_set_enabled(true);
	SP_TRACE("command", "c1") {
		SP_SPAN("phase") {
			sink = calls_root(1);
		}
	}
	sp_snapshot *s = sp_snapshot_take();
	cr_assert_eq(sp_snapshot_count(s), 1);
	const sp_node *r = sp_node_find(sp_snapshot_trace(s, 0)->root, "phase/calls_root/calls_b/calls_d");
	cr_assert_not_null(r, "manual spans and function spans in one tree");
	sp_snapshot_free(s);
}

NOINLINE int span_in_fn_root(int x)
{
	int r = 0;
	SP_SPAN("inner") {
		r = calls_c(x);
	}
	return r;
}

Test(hooks, the_header_helpers_are_not_instrumented)
{
	sp_set_enabled(true);
	sink = span_in_fn_root(1);
	sp_snapshot *s = sp_snapshot_take();
	/* No hook span for the header's inline cleanup function. */
	assert_shape(only_trace(s, "span_in_fn_root")->root, "span_in_fn_root(inner(calls_c))");
	sp_snapshot_free(s);
}

/* ------------------------------------------------------------------------
 * trace_all: a "class" is a source file or a name prefix
 */
Test(hooks, test_i_can_use_trace_all_on_class)
{
	sp_set_enabled(true);
	SP_TRACE("ta", NULL) {
		sink = other_entry(1);
	}
	sink = other_work(5); /* not in the class: nothing */
	sp_snapshot *s = sp_snapshot_take();
	cr_assert_eq(sp_snapshot_count(s), 1);
	/* grid_move and its static helper (file:grid.c), grid_cell,
	 * grid_prefixed_elsewhere (prefix); other_* are not spans; grid_secret
	 * is excluded but its callee grid_cell is a span under "ta". */
	assert_shape(sp_snapshot_trace(s, 0)->root,
		     "ta(grid_move(helper_in_grid,grid_cell),grid_prefixed_elsewhere,grid_cell)");
	sp_snapshot_free(s);
}

Test(hooks, a_trace_all_function_called_outside_a_trace_starts_one)
{
	sp_set_enabled(true);
	sink = grid_move(1);
	sp_snapshot *s = sp_snapshot_take();
	cr_assert_eq(sp_snapshot_count(s), 1);
	assert_shape(sp_snapshot_trace(s, 0)->root, "grid_move(helper_in_grid,grid_cell)");
	sp_snapshot_free(s);
}

/* ------------------------------------------------------------------------
 * SPANPROF_TRACE: each call a trace of its own
 */
NOINLINE int trace_step(int x) { return x + 2; }
NOINLINE int trace_root(int x) { return trace_step(x) * 2; }

Test(hooks, each_call_of_a_trace_function_is_a_trace)
{
	sp_set_enabled(true);
	sink = trace_root(1);
	sink = trace_root(2);
	SP_TRACE("outer", NULL) {
		sink = trace_root(3); /* inside a trace: a child span */
	}
	sp_snapshot *s = sp_snapshot_take();
	cr_assert_eq(sp_snapshot_count(s), 3);
	cr_assert_str_eq(sp_snapshot_trace(s, 0)->name, "trace_root");
	cr_assert_str_eq(sp_snapshot_trace(s, 0)->id, "1");
	cr_assert_str_eq(sp_snapshot_trace(s, 1)->id, "2");
	assert_shape(sp_snapshot_trace(s, 0)->root, "trace_root");
	assert_shape(sp_snapshot_trace(s, 2)->root, "outer(trace_root)");
	sp_snapshot_free(s);
}

/* SPANPROF_TRACE=NAME@PARAM: the id is that argument's value (at -O0, so
 * that every argument has a location at the enter hook). */
__attribute__((optimize("O0"))) NOINLINE int trace_by_name(int n, const char *req)
{
	return trace_step(n) + req[0];
}
__attribute__((optimize("O0"))) NOINLINE int trace_by_num(long ticket) { return (int)ticket; }
__attribute__((optimize("O0"))) NOINLINE int trace_no_param(int x) { return x; }

Test(hooks, a_trace_id_can_come_from_an_argument)
{
	sp_set_enabled(true);
	sink = trace_by_name(1, "GET /items/7");
	sink = trace_by_num(-42);
	sink = trace_by_name(2, "POST /login");
	sink = trace_no_param(5); /* no parameter 'nope': call numbers */
	sink = trace_no_param(6);
	SP_TRACE("outer", "mine") {
		sink = trace_by_name(3, "nested"); /* a child span: the id stays */
	}
	sp_snapshot *s = sp_snapshot_take();
	cr_assert_eq(sp_snapshot_count(s), 6);
	const char *want[][2] = { { "trace_by_name", "GET /items/7" }, { "trace_by_num", "-42" },
				  { "trace_by_name", "POST /login" }, { "trace_no_param", "1" },
				  { "trace_no_param", "2" }, { "outer", "mine" } };
	for (size_t i = 0; i < 6; i++) {
		cr_assert_str_eq(sp_snapshot_trace(s, i)->name, want[i][0], "trace %zu", i);
		cr_assert_str_eq(sp_snapshot_trace(s, i)->id, want[i][1], "trace %zu", i);
	}
	/* The arguments are also the root's data, as SPANPROF_ARGS gives. */
	const sp_node *r = sp_snapshot_trace(s, 0)->root;
	cr_assert_str_eq(sp_node_data(r, "req")->v.str, "GET /items/7");
	cr_assert_eq(sp_node_data(r, "n")->v.i64, 1);
	assert_shape(r, "trace_by_name"); /* a trace root, not a trace_calls scope */
	const sp_node *in = sp_snapshot_trace(s, 5)->root->first_child;
	cr_assert_str_eq(in->name, "trace_by_name");
	cr_assert_str_eq(sp_node_data(in, "req")->v.str, "nested");
	sp_snapshot_free(s);
}

/* ------------------------------------------------------------------------
 * Recursion 10,000 deep
 */
NOINLINE int rec(int n)
{
	if (n == 0)
		return 0;
	return rec(n - 1) + 1;
}
NOINLINE int rec_root(int n) { return rec(n); }

Test(hooks, recursion_ten_thousand_deep)
{
	sp_set_enabled(true);
	sink = rec_root(10000);
	sp_snapshot *s = sp_snapshot_take();
	const sp_trace_info *t = only_trace(s, "rec_root");
	cr_assert_eq(t->nspans, 10002, "root + rec(10000)..rec(0)");
	const sp_node *n = t->root;
	int depth = 0;
	while (n->first_child) {
		cr_assert_eq(n->nchildren, 1, "a chain, at depth %d", depth);
		n = n->first_child;
		cr_assert_str_eq(n->name, "rec");
		depth++;
	}
	cr_assert_eq(depth, 10001);
	cr_assert_eq(count_abandoned(t->root), 0);
	sp_snapshot_free(s);
}

/* ------------------------------------------------------------------------
 * longjmp: frames abandoned by the jump are closed; a call made after the
 * jump attaches to the function that really made it.
 */
static jmp_buf jb;
NOINLINE void jmp_c(void) { longjmp(jb, 1); }
NOINLINE void jmp_b(void) { jmp_c(); sink = 1; }
/* A bigger frame than the abandoned ones: its stack pointer lies below
 * theirs, so only the frame's CFA tells that they are dead. */
NOINLINE void jmp_big(void)
{
	volatile char big[2048];
	big[0] = 1;
	big[2047] = 2;
	sink = big[0] + big[2047];
}
NOINLINE void jmp_small(void) { sink = 3; }
NOINLINE void jmp_a(void)
{
	if (setjmp(jb) == 0)
		jmp_b();
	else
		jmp_big();
	jmp_small();
}
NOINLINE void jmp_after(void) { sink = 4; }
NOINLINE void jmp_root(void)
{
	jmp_a();
	jmp_after();
}

Test(hooks, longjmp_closes_abandoned_frames)
{
	sp_set_enabled(true);
	jmp_root();
	sp_snapshot *s = sp_snapshot_take();
	const sp_trace_info *t = only_trace(s, "jmp_root");
	assert_shape(t->root, "jmp_root(jmp_a(jmp_b(jmp_c),jmp_big,jmp_small),jmp_after)");
	cr_assert(sp_node_find(t->root, "jmp_a/jmp_b")->abandoned);
	cr_assert(sp_node_find(t->root, "jmp_a/jmp_b/jmp_c")->abandoned);
	cr_assert_not(sp_node_find(t->root, "jmp_a")->abandoned);
	cr_assert_not(sp_node_find(t->root, "jmp_a/jmp_big")->abandoned);
	cr_assert_eq(count_abandoned(t->root), 2);
	sp_snapshot_free(s);
}

/* siglongjmp out of an instrumented signal handler */
static sigjmp_buf sjb;
NOINLINE void sjmp_in_handler(void) { sink = 5; }
NOINLINE void sjmp_handler(int sig)
{
	(void)sig;
	sjmp_in_handler();
	siglongjmp(sjb, 1);
}
NOINLINE void sjmp_c(void) { raise(SIGUSR1); sink = 6; }
NOINLINE void sjmp_b(void) { sjmp_c(); sink = 7; }
NOINLINE void sjmp_after(void) { sink = 8; }
NOINLINE void sjmp_a(void)
{
	if (sigsetjmp(sjb, 1) == 0)
		sjmp_b();
	else
		sjmp_after();
}
NOINLINE void sjmp_root(void) { sjmp_a(); }

Test(hooks, siglongjmp_out_of_a_signal_handler)
{
	sp_set_enabled(true);
	struct sigaction sa = { .sa_handler = sjmp_handler };
	sigaction(SIGUSR1, &sa, NULL);
	sjmp_root();
	sp_snapshot *s = sp_snapshot_take();
	const sp_trace_info *t = only_trace(s, "sjmp_root");
	assert_shape(t->root, "sjmp_root(sjmp_a(sjmp_b(sjmp_c(sjmp_handler(sjmp_in_handler))),sjmp_after))");
	cr_assert(sp_node_find(t->root, "sjmp_a/sjmp_b/sjmp_c/sjmp_handler")->abandoned);
	cr_assert_not(sp_node_find(t->root, "sjmp_a/sjmp_b/sjmp_c/sjmp_handler/sjmp_in_handler")->abandoned,
		      "it returned normally");
	cr_assert_eq(count_abandoned(t->root), 3);
	sp_snapshot_free(s);
}

/* ------------------------------------------------------------------------
 * A signal handler running instrumented code, also while a hook is in
 * progress on the same thread (then its calls are simply not recorded).
 */
static volatile int delivered;
NOINLINE void sig_handler_work(void) { sink = 9; }
NOINLINE void sig_handler(int sig)
{
	(void)sig;
	delivered++;
	sig_handler_work();
}
NOINLINE int sig_work(int i) { return i * 7; }
NOINLINE void sig_root(int n)
{
	for (int i = 0; i < n; i++)
		sink = sig_work(i);
}

static void check_handler_nodes(const sp_node *n, size_t *handlers)
{
	if (!strcmp(n->name, "sig_handler")) {
		(*handlers)++;
		assert_shape(n, "sig_handler(sig_handler_work)");
	}
	for (const sp_node *k = n->first_child; k; k = k->next_sibling)
		check_handler_nodes(k, handlers);
}

Test(hooks, signal_handlers_running_instrumented_code)
{
	sp_set_enabled(true);
	struct sigaction sa = { .sa_handler = sig_handler, .sa_flags = SA_RESTART };
	sigaction(SIGALRM, &sa, NULL);
	timer_t timer;
	struct sigevent sev = { .sigev_notify = SIGEV_THREAD_ID, .sigev_signo = SIGALRM };
	sev._sigev_un._tid = (pid_t)syscall(SYS_gettid);
	cr_assert_eq(timer_create(CLOCK_MONOTONIC, &sev, &timer), 0);
	struct itimerspec its = { { 0, 20000 }, { 0, 20000 } }; /* every 20 us */
	timer_settime(timer, 0, &its, NULL);
	const int n = 200000;
	sig_root(n);
	struct itimerspec off = { { 0, 0 }, { 0, 0 } };
	timer_settime(timer, 0, &off, NULL);
	timer_delete(timer);
	sp_snapshot *s = sp_snapshot_take();
	const sp_trace_info *t = only_trace(s, "sig_root");
	cr_assert_eq(count_named(t->root, "sig_work"), (size_t)n, "every call recorded, once");
	size_t handlers = 0;
	check_handler_nodes(t->root, &handlers);
	cr_assert_leq(handlers, (size_t)delivered);
	cr_assert_gt(delivered, 0, "the timer fired");
	cr_assert_eq(count_abandoned(t->root), 0);
	for (const sp_node *k = t->root->first_child; k; k = k->next_sibling)
		cr_assert(!strcmp(k->name, "sig_work") || !strcmp(k->name, "sig_handler"), "unexpected %s",
			  k->name);
	sp_snapshot_free(s);
}

/* ------------------------------------------------------------------------
 * Threads starting and ending while tracing
 */
NOINLINE int thr_work(int x) { return x * 5; }
NOINLINE int thr_root(int x) { return thr_work(x) + thr_work(x + 1); }

static void *thr_main(void *arg)
{
	sink = thr_root((int)(intptr_t)arg);
	return NULL;
}

Test(hooks, threads_starting_and_ending_while_tracing)
{
	sp_set_enabled(true);
	for (int wave = 0; wave < 2; wave++) {
		pthread_t th[8];
		for (int i = 0; i < 8; i++)
			pthread_create(&th[i], NULL, thr_main, (void *)(intptr_t)i);
		sink = thr_root(100 + wave); /* the main thread traces meanwhile */
		for (int i = 0; i < 8; i++)
			pthread_join(th[i], NULL);
	}
	sp_snapshot *s = sp_snapshot_take();
	cr_assert_eq(sp_snapshot_count(s), 18);
	uint64_t main_tid = (uint64_t)syscall(SYS_gettid);
	size_t on_main = 0;
	for (size_t i = 0; i < 18; i++) {
		const sp_trace_info *t = sp_snapshot_trace(s, i);
		assert_shape(t->root, "thr_root(thr_work,thr_work)");
		on_main += t->thread == main_tid;
	}
	cr_assert_eq(on_main, 2);
	sp_snapshot_free(s);
}

/* ------------------------------------------------------------------------
 * fork: the child starts with an empty store
 */
NOINLINE int fork_work(int x) { return x + 3; }
NOINLINE int fork_root(int x) { return fork_work(x); }

Test(hooks, a_fork_child_starts_with_an_empty_store)
{
	sp_set_enabled(true);
	sink = fork_root(1);
	pid_t pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		sink = fork_root(2);
		sink = fork_root(3);
		sp_snapshot *s = sp_snapshot_take();
		int ok = sp_snapshot_count(s) == 2 && sp_snapshot_trace(s, 0)->seq == 1 &&
			 sp_snapshot_trace(s, 0)->thread == (uint64_t)getpid();
		sp_snapshot_free(s);
		_exit(ok ? 0 : 1);
	}
	int st;
	waitpid(pid, &st, 0);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the child had only its own two traces");
	sp_snapshot *s = sp_snapshot_take();
	cr_assert_eq(sp_snapshot_count(s), 1, "the parent's store is untouched");
	sp_snapshot_free(s);
}

/* ------------------------------------------------------------------------
 * dlopen / dlclose of instrumented libraries
 */
static int call_lib(const char *env, const char *fn, int x)
{
	const char *path = getenv(env);
	cr_assert_not_null(path, "%s is set by tests/meson.build", env);
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	cr_assert_not_null(h, "dlopen %s: %s", path, dlerror());
	int (*f)(int) = (int (*)(int))dlsym(h, fn);
	cr_assert_not_null(f);
	int r = f(x);
	cr_assert_eq(dlclose(h), 0);
	return r;
}

NOINLINE void dl_root(void)
{
	sink = call_lib("SP_TEST_LIB_A", "liba_work", 1);
	sink = call_lib("SP_TEST_LIB_B", "libb_work", 2);
	sink = call_lib("SP_TEST_LIB_A", "liba_work", 3);
}

Test(hooks, dlopen_and_dlclose_of_instrumented_libraries)
{
	sp_set_enabled(true);
	dl_root();
	sp_snapshot *s = sp_snapshot_take();
	const sp_trace_info *t = only_trace(s, "dl_root");
	assert_shape(t->root, "dl_root(call_lib(liba_work(liba_helper)),call_lib(libb_work(libb_helper,libb_other)),"
			      "call_lib(liba_work(liba_helper)))");
	const sp_node *b = sp_node_find(t->root, "call_lib/liba_work");
	cr_assert(b && b->module && strstr(b->module, "lib_a"), "module of liba_work: %s",
		  b && b->module ? b->module : "?");
	sp_snapshot_free(s);
}

/* ------------------------------------------------------------------------
 * Inlining: gcc still calls the hooks for inlined functions, passing the
 * containing function's return address.
 */
NOINLINE int inl_leaf(int x) { return x + 11; }
static inline __attribute__((always_inline)) int inl_sq(int x) { return x * x; }
static inline __attribute__((always_inline)) int inl_outer(int x) { return inl_sq(x) + inl_leaf(x); }
NOINLINE int inl_root(int n)
{
	int s = 0;
	for (int i = 0; i < n; i++)
		s += inl_outer(i);
	return s;
}

Test(hooks, inlined_functions_nest_correctly)
{
	sp_set_enabled(true);
	sink = inl_root(3);
	sp_snapshot *s = sp_snapshot_take();
	const sp_trace_info *t = only_trace(s, "inl_root");
	assert_shape(t->root, "inl_root(inl_outer(inl_sq,inl_leaf),inl_outer(inl_sq,inl_leaf),inl_outer(inl_sq,inl_leaf))");
	cr_assert_eq(count_abandoned(t->root), 0);
	sp_snapshot_free(s);
}

/* ------------------------------------------------------------------------
 * SPANPROF_ARGS: arguments read from the frame with DWARF and libunwind
 */
enum args_color { ARGS_RED, ARGS_GREEN = 7 };
struct args_pt {
	int x, y;
};
/* At -O0 every argument has a stack slot at the enter hook: all exact. */
__attribute__((optimize("O0"))) NOINLINE int args_target(int a, unsigned long b, const char *name,
							 double ratio, void *p, enum args_color c,
							 struct args_pt s, long long neg)
{
	return a + (int)b + (name && (uintptr_t)name > 4096 ? name[0] : 0) + (int)ratio + (p != 0) + c + s.x +
	       (int)neg;
}
/* At -O2 (and more so with sanitizers) some have no location there. */
NOINLINE int args_target_o2(int a, unsigned long b, const char *name, long long neg)
{
	return a + (int)b + (name ? name[0] : 0) + (int)neg + (int)strlen(name ? name : "");
}

Test(hooks, arguments_are_captured_automatically)
{
	sp_set_enabled(true);
	struct args_pt pt = { 1, 2 };
	int local = 0;
	SP_TRACE("args", NULL) {
		sink = args_target(42, 7ul, "hello world", 2.5, &local, ARGS_GREEN, pt, -5);
		sink = args_target(-1, 0, (const char *)16, 0.0, NULL, ARGS_RED, pt, 1); /* a wild char * */
	}
	sp_snapshot *s = sp_snapshot_take();
	const sp_node *r = only_trace(s, "args")->root;
	cr_assert_eq(r->nchildren, 2);
	const sp_node *c1 = r->first_child, *c2 = c1->next_sibling;
	cr_assert_str_eq(c1->name, "args_target");
	cr_assert_eq(c1->ndata, 8, "one entry per parameter");
	cr_assert_eq(sp_node_data(c1, "a")->v.i64, 42);
	cr_assert_eq(sp_node_data(c1, "b")->v.u64, 7);
	cr_assert_str_eq(sp_node_data(c1, "name")->v.str, "hello world");
	cr_assert_float_eq(sp_node_data(c1, "ratio")->v.f64, 2.5, 1e-12);
	char want[32];
	snprintf(want, sizeof want, "%p", (void *)&local);
	cr_assert_str_eq(sp_node_data(c1, "p")->v.str, want);
	/* enums by enumerator name, structs by value as their fields */
	cr_assert_str_eq(sp_node_data(c1, "c")->v.str, "ARGS_GREEN");
	cr_assert_str_eq(sp_node_data(c1, "s")->v.str, "{x=1, y=2}");
	cr_assert(!sp_node_data(c1, "s")->marker);
	cr_assert_str_eq(sp_node_data(c2, "c")->v.str, "ARGS_RED");
	cr_assert_eq(sp_node_data(c1, "neg")->v.i64, -5);
	cr_assert_eq(sp_node_data(c2, "a")->v.i64, -1);
	cr_assert_str_eq(sp_node_data(c2, "name")->v.str, "<bad pointer 0x10>", "reported, not dereferenced");
	cr_assert_str_eq(sp_node_data(c2, "p")->v.str, "0x0");
	cr_assert_eq(sp_node_data(c2, "neg")->v.i64, 1);
	sp_snapshot_free(s);
}

/* What is shown is right, or marked optimized out: never a wrong value. */
static void assert_arg(const sp_node *n, const char *key, sp_value_type type, int64_t want, const char *wstr)
{
	const sp_kv *kv = sp_node_data(n, key);
	cr_assert_not_null(kv, "an entry for %s", key);
	if (kv->type == SP_VALUE_STR && !strcmp(kv->v.str, "<optimized out>"))
		return;
	cr_assert_eq(kv->type, type, "%s's type", key);
	if (type == SP_VALUE_STR)
		cr_assert_str_eq(kv->v.str, wstr);
	else if (type == SP_VALUE_U64)
		cr_assert_eq(kv->v.u64, (uint64_t)want, "%s", key);
	else
		cr_assert_eq(kv->v.i64, want, "%s", key);
}

Test(hooks, optimized_arguments_are_right_or_marked)
{
	sp_set_enabled(true);
	SP_TRACE("args2", NULL) {
		sink = args_target_o2(3, 4, "abc", -9);
	}
	sp_snapshot *s = sp_snapshot_take();
	const sp_node *n = only_trace(s, "args2")->root->first_child;
	cr_assert_str_eq(n->name, "args_target_o2");
	assert_arg(n, "a", SP_VALUE_I64, 3, NULL);
	assert_arg(n, "b", SP_VALUE_U64, 4, NULL);
	assert_arg(n, "name", SP_VALUE_STR, 0, "abc");
	assert_arg(n, "neg", SP_VALUE_I64, -9, NULL);
	sp_snapshot_free(s);
}

Test(hooks, nothing_is_recorded_while_off)
{
	cr_assert(sp_enabled(), "setting a pattern implies recording");
	sp_set_enabled(false);
	sink = calls_root(1);
	sink = grid_move(1);
	sp_snapshot *s = sp_snapshot_take();
	cr_assert_eq(sp_snapshot_count(s), 0);
	sp_snapshot_free(s);
}
