/* hooks_stub.h - between the hook stub linked into an instrumented program
 * (hooks_stub.c, libspanprof_hooks.a) and the runtime (hooks.c): why, in
 * hooks.c. Exported by libspanprof.so; not part of the public API. */
#ifndef SPANPROF_HOOKS_STUB_H
#define SPANPROF_HOOKS_STUB_H

#include <stdint.h>

/* `cfa`: the stub's __builtin_dwarf_cfa(); `ret`: its return address
 * (at an exit, the call site when the hook was called as a tail call: the
 * library compares them, only when it needs to). Both check that the
 * runtime records. */
__attribute__((visibility("default"))) void sp__hook_enter(void *fn, void *call_site, uintptr_t cfa, uintptr_t ret);
__attribute__((visibility("default"))) void sp__hook_exit(void *fn, void *call_site, uintptr_t cfa, uintptr_t ret);
/* The runtime writes *flag (0 or 1, relaxed) whenever the hooks are
 * switched, from now until sp__hooks_unregister. */
__attribute__((visibility("default"))) void sp__hooks_register(int *flag);
__attribute__((visibility("default"))) void sp__hooks_unregister(int *flag);

#endif
