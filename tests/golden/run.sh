#!/bin/sh
# Golden-text tests: the CLI's text output on a fixed dump (golden.out,
# written by mkdump.py), compared byte for byte with expected/NAME.txt, so
# that any change in what a user reads shows in review as a diff of those
# files. TAP on stdout.
#
#   tests/golden/run.sh SPANPROF            compare (meson test golden)
#   tests/golden/run.sh --update SPANPROF   rewrite expected/*.txt from SPANPROF
#
# e.g. after changing a column: tests/golden/run.sh --update build/tools/spanprof,
# then read `git diff tests/golden/expected` and commit it with the change.
# The output does not depend on the terminal, the machine or the time:
# colors off, no terminal (stdout is a file), TZ=UTC for the start times,
# and the dump names its functions itself (see mkdump.py).
set -u
update=0
if [ "${1:-}" = "--update" ]; then
	update=1
	shift
fi
if [ $# -ne 1 ]; then
	echo "usage: $0 [--update] SPANPROF" >&2
	exit 2
fi
spanprof=$1
here=$(cd "$(dirname "$0")" && pwd)
dump=$here/golden.out
expected=$here/expected
export TZ=UTC LC_ALL=C COLUMNS=80 NO_COLOR=1
unset SPANPROF_OUTPUT

# name: arguments (after the subcommand's -f DUMP)
cases='list		list --color never
list-by-duration	list --color never --sort duration
list-name	list --color never --name batch*
show-1		show --color never 1
show-3		show --color never 3
show-zoom	show --color never --zoom batch_job/load_batch 3
show-depth	show --color never --depth 1 slowest
top		top
top-function	top --by function
pie-1		pie --color never 1
pie-3		pie --color never --min-pct 10 3
diff		diff 1 2
diff-min	diff --min-ms 0.1 2 1'

tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
n=$(printf '%s\n' "$cases" | wc -l)
echo "1..$n"
i=0 failed=0
printf '%s\n' "$cases" | {
	while IFS='	' read -r name rest; do
		i=$((i + 1))
		# Tabs align the table above; the arguments follow the last one.
		args=$(printf '%s' "$rest" | sed 's/^	*//')
		cmd=${args%% *}
		opts=${args#"$cmd"}
		# shellcheck disable=SC2086 # the options are words
		"$spanprof" $cmd -f "$dump" $opts >"$tmp/$name.txt" 2>"$tmp/$name.err"
		rc=$?
		if [ $update = 1 ]; then
			cp "$tmp/$name.txt" "$expected/$name.txt"
		fi
		if [ $rc -ne 0 ] || [ -s "$tmp/$name.err" ]; then
			echo "not ok $i - $name: exit status $rc"
			sed 's/^/# /' "$tmp/$name.err"
			failed=1
		elif ! diff -u "$expected/$name.txt" "$tmp/$name.txt" >"$tmp/$name.diff"; then
			echo "not ok $i - $name: the output differs from expected/$name.txt (run.sh --update to accept it)"
			sed 's/^/# /' "$tmp/$name.diff"
			failed=1
		else
			echo "ok $i - $name"
		fi
	done
	exit $failed
}
