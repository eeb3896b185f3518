#!/bin/sh
# exports.sh LIB - libspanprof.so exports its API (sp_*, including the
# sp__* internals the macros call), the two instrumentation hooks and the
# dlclose, sigaction and signal wrappers; nothing else may leak into the
# programs it is linked to.
set -eu
extra=$(nm -D --defined-only "$1" | awk '{print $3}' | grep -vE '^(sp_|__cyg_profile_func_(enter|exit)$|(dlclose|sigaction|signal)$)' || true)
if [ -n "$extra" ]; then
	echo "not ok 1 - unexpected exports:"
	echo "$extra" | sed 's/^/# /'
	exit 1
fi
for want in sp_dump sp_set_enabled sp__span_begin __cyg_profile_func_enter __cyg_profile_func_exit; do
	nm -D --defined-only "$1" | grep -q " $want\$" || { echo "not ok 1 - $want is not exported"; exit 1; }
done
echo "1..1"
echo "ok 1 - exports are the API, the hooks and the wrappers"
