/* test_dlchurn.c - an instrumented library loaded and unloaded in a loop
 * (issue 8, defects 1 and 2).
 *
 * Each dlclose used to leave the runtime's old decision cache mapped, and
 * each load took a new module entry, out of 4,096: memory grew without
 * bound, with recording off as well as on, and the loads past the 4,096th
 * had no module, hence no name and no span. tests/meson.build runs this
 * binary once per setting (the runtime reads its variables once):
 *   dlchurn-off    nothing set:                    memory flat
 *   dlchurn-calls  SPANPROF_TRACE_CALLS=plug_fn:   memory flat, traces named
 *   dlchurn-names  SPANPROF_TRACE_ALL=plug_fn:     every one of 5,000 loads named
 *   dlchurn-files  SPANPROF_TRACE_ALL=plug_fn:     4,300 distinct files loaded and
 *                  unloaded, none called, then the plugin: still named
 *   dlchurn-threads  SPANPROF_TRACE_ALL=plug_fn,liba_work: a thread calls a
 *                  library that stays loaded while the plugin churns: every
 *                  trace of both named right (the hooks read the decision
 *                  cache while each dlclose changes it)
 */
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <spanprof.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int cycle(void)
{
	const char *path = getenv("SP_TEST_CHURN_PLUG");
	cr_assert_not_null(path, "SP_TEST_CHURN_PLUG is set by tests/meson.build");
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	cr_assert_not_null(h, "dlopen %s: %s", path, dlerror());
	int (*f)(int) = (int (*)(int))dlsym(h, "plug_fn");
	cr_assert_not_null(f);
	int r = f(2);
	cr_assert_eq(dlclose(h), 0);
	return r;
}

/* Virtual and resident size in bytes, from /proc/self/statm. */
static void statm(long *vsz, long *rss)
{
	FILE *f = fopen("/proc/self/statm", "r");
	cr_assert_not_null(f);
	long pages_v = 0, pages_r = 0;
	cr_assert_eq(fscanf(f, "%ld %ld", &pages_v, &pages_r), 2);
	fclose(f);
	long ps = sysconf(_SC_PAGESIZE);
	*vsz = pages_v * ps;
	*rss = pages_r * ps;
}

/* Every trace is one call of plug_fn, named, in the plugin; under
 * trace_calls, with its callee named too (trace_all makes plug_fn alone a
 * span). */
static void assert_named(size_t expected_min, size_t expected_max)
{
	bool calls = getenv("SPANPROF_TRACE_CALLS") != NULL;
	sp_snapshot *s = sp_snapshot_take();
	size_t n = sp_snapshot_count(s);
	cr_assert(n >= expected_min && n <= expected_max, "%zu traces, expected %zu to %zu", n, expected_min,
		  expected_max);
	for (size_t i = 0; i < n; i++) {
		const sp_trace_info *t = sp_snapshot_trace(s, i);
		cr_assert(t->root && t->root->name && !strcmp(t->root->name, "plug_fn"), "trace %zu is named %s", i,
			  t->root && t->root->name ? t->root->name : "(null)");
		cr_assert(t->root->module && strstr(t->root->module, "churn_plug"), "trace %zu: module %s", i,
			  t->root->module ? t->root->module : "(null)");
		const sp_node *c = t->root->first_child;
		if (!calls) {
			cr_assert_null(c, "trace %zu: plug_fn alone", i);
			continue;
		}
		cr_assert(c && c->name && !strcmp(c->name, "plug_helper"), "trace %zu: plug_helper under plug_fn", i);
		cr_assert_null(c->next_sibling, "trace %zu: one child", i);
	}
	sp_snapshot_free(s);
}

#define MB (1024L * 1024L)

Test(churn, memory_flat)
{
	long v0 = 0, r0 = 0, v1, r1;
	for (int i = 1; i <= 3000; i++) {
		cr_assert_eq(cycle(), 8);
		if (i == 100)
			statm(&v0, &r0);
	}
	statm(&v1, &r1);
	cr_assert(v1 - v0 <= 2 * MB, "VSZ grew by %ld KiB from cycle 100 to 3,000", (v1 - v0) / 1024);
	cr_assert(r1 - r0 <= 2 * MB, "RSS grew by %ld KiB from cycle 100 to 3,000", (r1 - r0) / 1024);
	if (getenv("SPANPROF_TRACE_CALLS")) /* recording: the store keeps the last SPANPROF_MAX_TRACES */
		assert_named(50, 50);
	else
		assert_named(0, 0);
}

Test(churn, every_load_named)
{
	for (int i = 0; i < 5000; i++)
		cr_assert_eq(cycle(), 8);
	assert_named(5000, 5000);
}

/* Files whose functions were never seen leave nothing that a dump needs:
 * their module entries go to the next files. (A symlink per file: the
 * loader loads each name as its own object. A dlclose of the program's
 * own handle, while one is open, has the runtime take a picture of the
 * loaded objects, this one included.) */
Test(churn, many_files)
{
	const char *plug = getenv("SP_TEST_CHURN_PLUG");
	cr_assert_not_null(plug);
	char dir[] = "/tmp/sp_dlchurn_XXXXXX";
	cr_assert_not_null(mkdtemp(dir));
	enum { NFILES = 4300 };
	char path[PATH_MAX];
	for (int i = 0; i < NFILES; i++) {
		snprintf(path, sizeof path, "%s/f%d.so", dir, i);
		cr_assert_eq(symlink(plug, path), 0);
		void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
		cr_assert_not_null(h, "dlopen %s: %s", path, dlerror());
		void *self = dlopen(NULL, RTLD_NOW);
		cr_assert_eq(dlclose(self), 0);
		cr_assert_eq(dlclose(h), 0);
		unlink(path);
	}
	rmdir(dir);
	cr_assert_eq(cycle(), 8);
	assert_named(1, 1);
}

enum { THREAD_CALLS = 20000, CHURN_CYCLES = 2000 };

static atomic_int cycles_done;

/* Ten calls per churn cycle done, so that the calls run all along the
 * churn, whatever the scheduling; THREAD_CALLS in all. */
static void *lib_caller(void *arg)
{
	int (*work)(int) = (int (*)(int))arg;
	for (int calls = 0; calls < THREAD_CALLS;) {
		if (calls >= atomic_load(&cycles_done) * (THREAD_CALLS / CHURN_CYCLES)) {
			sched_yield();
			continue;
		}
		if (work(1) != 202)
			return (void *)1;
		calls++;
	}
	return NULL;
}

Test(churn, concurrent_calls)
{
	const char *liba = getenv("SP_TEST_LIB_A");
	cr_assert_not_null(liba);
	void *h = dlopen(liba, RTLD_NOW | RTLD_LOCAL);
	cr_assert_not_null(h, "dlopen %s: %s", liba, dlerror());
	void *work = dlsym(h, "liba_work");
	cr_assert_not_null(work);
	pthread_t th;
	cr_assert_eq(pthread_create(&th, NULL, lib_caller, work), 0);
	for (int i = 0; i < CHURN_CYCLES; i++) {
		cr_assert_eq(cycle(), 8);
		atomic_store(&cycles_done, i + 1);
	}
	void *ret;
	cr_assert_eq(pthread_join(th, &ret), 0);
	cr_assert_null(ret);
	sp_snapshot *s = sp_snapshot_take();
	size_t n = sp_snapshot_count(s), plug = 0, lib = 0;
	for (size_t i = 0; i < n; i++) {
		const sp_trace_info *t = sp_snapshot_trace(s, i);
		const char *name = t->root && t->root->name ? t->root->name : "(null)";
		const char *mod = t->root && t->root->module ? t->root->module : "(null)";
		if (!strcmp(name, "plug_fn") && strstr(mod, "churn_plug"))
			plug++;
		else if (!strcmp(name, "liba_work") && strstr(mod, "lib_a"))
			lib++;
		else
			cr_assert_fail("trace %zu: %s in %s", i, name, mod);
		cr_assert_null(t->root->first_child, "trace %zu: %s alone", i, name);
	}
	sp_snapshot_free(s);
	cr_assert_eq(plug, CHURN_CYCLES);
	cr_assert_eq(lib, THREAD_CALLS);
	dlclose(h);
}

/* An address that changes hands (issue 15, the out-of-scope filter): the
 * plugin's plug_fn, out of scope, goes into the hooks' filter of functions
 * that record nothing; after its dlclose, another file built from the same
 * source with other names (churn_plug_b: plugb_fn, a trace_calls root)
 * loads at the same address. Its calls must be traces: the dlclose clears
 * the filter with the cache. */
Test(churn, address_reused)
{
	const char *a = getenv("SP_TEST_CHURN_PLUG"), *b = getenv("SP_TEST_CHURN_PLUG_B");
	cr_assert(a && b, "set by tests/meson.build");
	void *ha = dlopen(a, RTLD_NOW | RTLD_LOCAL);
	cr_assert_not_null(ha, "dlopen %s: %s", a, dlerror());
	int (*fa)(int) = (int (*)(int))dlsym(ha, "plug_fn");
	cr_assert_not_null(fa);
	for (int i = 0; i < 3; i++) /* decided, then seen in the filter */
		cr_assert_eq(fa(2), 8);
	cr_assert_eq(dlclose(ha), 0);
	void *hb = dlopen(b, RTLD_NOW | RTLD_LOCAL);
	cr_assert_not_null(hb, "dlopen %s: %s", b, dlerror());
	int (*fb)(int) = (int (*)(int))dlsym(hb, "plugb_fn");
	cr_assert_not_null(fb);
	/* The loader reuses the hole the first file left: the case tested. */
	cr_assert_eq((void *)fb, (void *)fa, "plugb_fn at %p, plug_fn was at %p", (void *)fb, (void *)fa);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(fb(2), 8);
	sp_snapshot *s = sp_snapshot_take();
	cr_assert_eq(sp_snapshot_count(s), 3, "%zu traces", sp_snapshot_count(s));
	for (size_t i = 0; i < 3; i++) {
		const sp_trace_info *t = sp_snapshot_trace(s, i);
		cr_assert(t->root && t->root->name && !strcmp(t->root->name, "plugb_fn"), "trace %zu is named %s", i,
			  t->root && t->root->name ? t->root->name : "(null)");
		const sp_node *c = t->root->first_child;
		cr_assert(c && c->name && !strcmp(c->name, "plugb_helper"), "trace %zu: plugb_helper under plugb_fn", i);
	}
	sp_snapshot_free(s);
	cr_assert_eq(dlclose(hb), 0);
	/* Both files had a hook stub (libspanprof_hooks.a, through the
	 * dependency), registered with the runtime: their flags went away
	 * with them, and switching the hooks writes none of them. */
	sp_set_enabled(false);
	sp_set_enabled(true);
	cr_assert(sp_enabled());
}
