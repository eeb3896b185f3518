/* hooks_stub.c - libspanprof_hooks.a: the instrumentation hooks, linked
 * into the program (or instrumented library) itself, so that a disabled
 * hook costs a direct call, one load and a branch, even with the shared
 * runtime. The design and its reasons: hooks.c, "The entry points".
 * Never instrumented; no state but the flag. */
#include "hooks_stub.h"

/* 1: ask the runtime (until the constructor registered the flag, or if
 * the runtime could not take it); then whatever the runtime writes. */
static int on = 1;

__attribute__((constructor, no_instrument_function)) static void stub_register(void)
{
	sp__hooks_register(&on);
}

__attribute__((destructor, no_instrument_function)) static void stub_unregister(void)
{
	sp__hooks_unregister(&on);
	__atomic_store_n(&on, 1, __ATOMIC_RELAXED);
}

__attribute__((no_instrument_function, hot)) void __cyg_profile_func_enter(void *fn, void *call_site)
{
	if (__builtin_expect(!__atomic_load_n(&on, __ATOMIC_RELAXED), 1))
		return;
	sp__hook_enter(fn, call_site, (uintptr_t)__builtin_dwarf_cfa(), (uintptr_t)__builtin_return_address(0));
}

__attribute__((no_instrument_function, hot)) void __cyg_profile_func_exit(void *fn, void *call_site)
{
	if (__builtin_expect(!__atomic_load_n(&on, __ATOMIC_RELAXED), 1))
		return;
	sp__hook_exit(fn, call_site, (uintptr_t)__builtin_dwarf_cfa(), (uintptr_t)__builtin_return_address(0));
}
