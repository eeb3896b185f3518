#!/bin/sh
# valgrind_init.sh PROG - the runtime's start-up under valgrind: a file:
# pattern makes it walk the DWARF of every module (libdwarf allocating and
# freeing), then PROG runs one command. No invalid read, write or free may
# happen in the host program. (The hooks' stack scan reads uninitialised
# stack words by design, so no span is recorded here: the pattern matches
# no file.) TAP, one check.
set -u
echo "1..1"
log=$(mktemp)
SPANPROF_OUTPUT= SPANPROF_TRACE_ALL=file:no_such_file.c \
	valgrind -q --error-exitcode=9 --leak-check=no "$1" 1 >/dev/null 2>"$log"
rc=$?
if [ $rc -eq 0 ]; then
	echo "ok 1 - start-up with file: patterns is clean under valgrind"
else
	echo "not ok 1 - valgrind: exit $rc"
	sed 's/^/# /' "$log" | head -40
fi
rm -f "$log"
[ $rc -eq 0 ]
