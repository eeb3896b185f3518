#!/bin/sh
# exports.sh LIB - libspanprof.so exports its API (sp_*, including the
# sp__* internals the macros call), the two instrumentation hooks and the
# dlclose, sigaction and signal wrappers; nothing else may leak into the
# programs it is linked to. Among the sp__* internals: the entry points of
# the hook stub that pkg-config links into the program (sp__hook_enter,
# sp__hook_exit, sp__hooks_register, sp__hooks_unregister; runtime/hooks.c).
# The library's own hooks are weak (a static link with the stub keeps the
# stub's), but exported all the same, for programs linked -lspanprof only.
set -eu
extra=$(nm -D --defined-only "$1" | awk '{print $3}' | grep -vE '^(sp_|__cyg_profile_func_(enter|exit)$|(dlclose|sigaction|signal)$)' || true)
if [ -n "$extra" ]; then
	echo "not ok 1 - unexpected exports:"
	echo "$extra" | sed 's/^/# /'
	exit 1
fi
for want in sp_dump sp_set_enabled sp__span_begin __cyg_profile_func_enter __cyg_profile_func_exit \
	sp__hook_enter sp__hook_exit sp__hooks_register sp__hooks_unregister; do
	nm -D --defined-only "$1" | grep -q " $want\$" || { echo "not ok 1 - $want is not exported"; exit 1; }
done
echo "1..1"
echo "ok 1 - exports are the API, the hooks, the stub's entry points and the wrappers"
