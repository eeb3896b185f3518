/* init.c - start-up, the dump at exit, fork, and the control API.
 *
 * The constructor reads the environment once (config.c), picks the clock,
 * takes the first picture of the loaded modules, and switches recording on
 * if asked. At normal exit (atexit, also reached by exit() from deep in
 * the stack) the calling thread's open spans are closed, marked abandoned,
 * their trace is stored. With a flight file (flight.c) the store is
 * already in SPANPROF_OUTPUT: the exit only marks it closed, and _exit,
 * abort, a kill or a crash leave it readable too. Without one (the file
 * could not be made, or the name at SPANPROF_OUTPUT is no longer ours),
 * the store is written there if it holds anything, as a dump.
 *
 * After fork the child starts with an empty store and no open span, and
 * writes its own file at exit: SPANPROF_OUTPUT's %p, or ".PID" appended
 * when the name has no %p.
 */
#include "stack.h"
#include "control.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct sp__global sp__g;
static bool forked; /* this process is a fork child of the one that started */

void sp__update_hooks(void)
{
	sp__hooks_publish(sp__recording() && sp__cfg.any_globs && !atomic_load(&sp__g.exiting));
}

static int output_path(const char *pattern, char *out, size_t size)
{
	return sp__output_name(pattern, (unsigned long)getpid(), forked, out, size);
}

static void at_exit(void)
{
	atomic_store(&sp__g.exiting, 1);
	sp__update_hooks(); /* nothing records during the rest of the exit */
	/* A live dump in progress ends first (no temporary file is left
	 * behind by a thread killed at exit); none starts after this. */
	sp__dump_quiesce();
	sp__patterns_report();
	struct sp__thread *t = sp__tls;
	if (t && !t->dead && !t->busy && t->depth) {
		t->busy = 1;
		sp__close_all(t, SP_TRACE_CLOSED);
		t->busy = 0;
	}
	if (!sp__cfg.output)
		return;
	struct sp__store_stats st;
	sp__store_stats(&st);
	bool empty = st.committed == st.evicted && st.spans == 0;
	char path[PATH_MAX];
	int rc = output_path(sp__cfg.output, path, sizeof path);
	if (!rc && sp__flight_is(path)) {
		sp__flight_finalize(empty && st.committed == 0);
		return; /* the store is the file */
	}
	if (empty)
		return; /* nothing stored */
	if (!rc)
		rc = sp__dump_write(path);
	if (rc)
		sp__warn("cannot write %s: %s", rc == -ENAMETOOLONG ? sp__cfg.output : path, sp_strerror(rc));
}

static void fork_prepare(void)
{
	/* Hold every lock across fork, so the child gets them free. */
	sp__lock(&sp__site_lock);
	sp__lock(&sp__mod_lock);
	sp__lock(&sp__store_lock);
	sp__store_atfork_prepare();
	sp__flight_atfork_prepare();
	sp__lock(&sp__arena_lock);
}

static void fork_parent(void)
{
	sp__unlock(&sp__arena_lock);
	sp__flight_atfork_parent();
	sp__store_atfork_parent();
	sp__unlock(&sp__store_lock);
	sp__unlock(&sp__mod_lock);
	sp__unlock(&sp__site_lock);
}

static void fork_child(void)
{
	sp__lock_reset(&sp__arena_lock);
	sp__lock_reset(&sp__store_lock);
	sp__lock_reset(&sp__mod_lock);
	sp__lock_reset(&sp__site_lock);
	forked = true;
	sp__g.pid = getpid();
	sp__flight_fork_child();
	sp__thread_fork_child();
	sp__store_fork_child();
	sp__hist_fork_child();
	sp__dump_fork_child();
	sp__control_fork_child();
}

void sp__init(void)
{
	if (sp__g.initialized)
		return;
	sp__g.pid = getpid();
	sp__clock_init();
	sp__config_load();
	sp__sites_init();
	sp__flight_init();
	sp__store_init();
	sp__threads_init();
	sp__modules_scan();
	pthread_atfork(fork_prepare, fork_parent, fork_child);
	atexit(at_exit);
	sp__control_init();
	sp__flight_control_start();
	if (sp__cfg.any_files) /* read DWARF now, not in a hook */
		for (uint32_t i = 0; i < sp__module_count(); i++)
			sp__module_file_lists((int)i, 0);
	sp__g.initialized = true;
	sp__set_recording(sp__cfg.enabled);
	sp__update_hooks();
}

__attribute__((constructor(102))) static void constructor(void)
{
	sp__init();
}

/* ------------------------------------------------------------------------
 * Control API
 */
SP_API void sp_set_enabled(bool on)
{
	sp__set_recording(on);
	sp__update_hooks();
}

SP_API bool sp_enabled(void)
{
	return sp__recording();
}

SP_API void sp_clear(void)
{
	sp__store_clear();
}

SP_API int sp_dump(const char *path)
{
	char buf[PATH_MAX];
	if (!path) {
		int rc = output_path(sp__cfg.output ? sp__cfg.output : SP_DEFAULT_OUTPUT, buf, sizeof buf);
		if (rc)
			return rc;
		path = buf;
	}
	if (sp__flight_is(path)) { /* the store is that file, current */
		sp__flight_sync(true);
		return 0;
	}
	return sp__dump_write(path);
}

/* A dump asked for by live control (control.c's thread): as sp_dump(NULL),
 * but never once the exit dump has begun. */
int sp__dump_live(void)
{
	char buf[PATH_MAX];
	int rc = output_path(sp__cfg.output ? sp__cfg.output : SP_DEFAULT_OUTPUT, buf, sizeof buf);
	if (!rc && sp__flight_is(buf)) {
		sp__flight_sync(true);
		return 0;
	}
	return rc ? rc : sp__dump_write_live(buf);
}

SP_API const char *sp_strerror(int err)
{
	if (err == 0)
		return "success";
	return strerror(err < 0 ? -err : err);
}

SP_API const char *sp_version(void)
{
	return SP_VERSION_STRING;
}

/* ------------------------------------------------------------------------
 * dlclose: after a library goes, its address range may be reused by the
 * next one, so the decisions cached for its functions are dropped and the
 * module list updated. (dlopen needs nothing: unknown addresses trigger a
 * rescan.) The real dlclose is the next definition after ours.
 */
SP_API int dlclose(void *handle)
{
	static int (*real)(void *);
	if (!real) {
		real = (int (*)(void *))dlsym(RTLD_NEXT, "dlclose");
		if (!real)
			return -1;
	}
	int rc = real(handle);
	if (rc == 0 && sp__g.initialized) {
		int e = errno;
		sp__modules_after_dlclose();
		sp__cache_flush();
		errno = e;
	}
	return rc;
}
