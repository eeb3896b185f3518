#!/bin/sh
# packaging.sh SRCDIR - spanprof as another project sees it. Builds
# spanprof from SRCDIR with tests and samples off, installs it to a
# temporary prefix, and builds tests/packaging/outside against it three
# ways: installed + pkg-config, installed + dependency('spanprof'), and as
# a subproject (dependency('spanprof', fallback: 'spanprof'), with
# subprojects/spanprof a symlink to SRCDIR). Each program must run and
# write a dump that `spanprof list` and `show` read.
#
# The temporary prefix is not in ld.so.conf, so the programs linked against
# the installed library run with LD_LIBRARY_PATH naming it: the stand-in
# for /usr/local/lib/x86_64-linux-gnu, which is in Debian's ld.so.conf
# (libc.conf, x86_64-linux-gnu.conf). What is checked is that nothing else
# is needed: pkg-config gives no rpath and the program carries none.
set -u
src=$(cd "$1" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/spanprof-packaging.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
unset $(env | sed -n 's/^\(SPANPROF_[A-Z_]*\)=.*/\1/p') PKG_CONFIG_PATH 2>/dev/null
prefix=$tmp/prefix
n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
fail() { # message, log file to show
	n=$((n + 1))
	failed=1
	echo "not ok $n - $1"
	[ -n "${2:-}" ] && [ -f "$2" ] && tail -30 "$2" | sed 's/^/# /'
}
echo "1..11"

# 1. Build and install.
if meson setup "$tmp/sp" "$src" --prefix="$prefix" -Dtests=disabled -Dsamples=disabled \
	-Dbuildtype=plain >"$tmp/log" 2>&1 &&
	ninja -C "$tmp/sp" >>"$tmp/log" 2>&1 && meson install -C "$tmp/sp" --no-rebuild >>"$tmp/log" 2>&1; then
	ok "spanprof builds with tests and samples off and installs to a prefix"
else
	fail "spanprof builds and installs" "$tmp/log"
	exit 1
fi
libdir=$(dirname "$(find "$prefix" -name libspanprof.so.0 | head -1)")
spanprof=$prefix/bin/spanprof
export PKG_CONFIG_PATH=$libdir/pkgconfig

# 2. One man page per command of the table, the program's and the
# environment's; each names exactly the options --help names.
cmds=$("$spanprof" --help | sed -n 's/^  \([a-z]*\)  .*/\1/p')
want="spanprof.1 spanprof-env.7"
for c in $cmds; do want="$want spanprof-$c.1"; done
have=$(cd "$prefix/share/man" && ls man1 man7 | grep '^spanprof' | sort | tr '\n' ' ')
want=$(echo "$want" | tr ' ' '\n' | sort | tr '\n' ' ')
bad=""
for c in $cmds; do
	h=$("$spanprof" "$c" --help | sed -n 's/^  \(-., \)\{0,1\} *--\([a-z-]*\).*/\2/p' | sort | tr '\n' ' ')
	m=$(sed -n '/^\.SH OPTIONS/,/^\.SH/p' "$prefix/share/man/man1/spanprof-$c.1" |
		sed -n 's/.*\\fB\\-\\-\([a-z\\-]*\)\\fR.*/\1/p' | sed 's/\\-/-/g' | sort | tr '\n' ' ')
	[ "$h" = "$m" ] || bad="$bad $c: --help [$h] man [$m];"
done
if [ -n "$cmds" ] && [ "$have" = "$want" ] && [ -z "$bad" ]; then
	ok "man pages: $have, options as in --help"
else
	fail "man pages: want [$want] have [$have]$bad"
fi

# 3. man finds them, and the completion script offers the table's words.
comp=$prefix/share/bash-completion/completions/spanprof
words=$(bash -c '. "$1"; COMP_WORDS=(spanprof list --so); COMP_CWORD=2; _spanprof; a=${COMPREPLY[*]}
	COMP_WORDS=(spanprof list --sort d); COMP_CWORD=3; _spanprof; echo "$a/${COMPREPLY[*]}"' - "$comp" 2>&1)
if ! command -v man >/dev/null; then
	echo "ok 3 # SKIP man is not installed"
	n=3
elif MANPATH=$prefix/share/man man -w spanprof-show 2>/dev/null | grep -q "^$prefix/share/man/man1/spanprof-show.1" &&
	MANPATH=$prefix/share/man man -w 7 spanprof-env >/dev/null 2>&1 && [ "$words" = "--sort/duration" ]; then
	ok "man spanprof-show and spanprof-env find the installed pages; completion: $words"
else
	fail "man -w spanprof-show with MANPATH=$prefix/share/man; completion gave '$words'"
fi

# 4. pkg-config gives the include and library directories, no rpath.
libs=$(echo $(pkg-config --libs spanprof))
cflags=$(echo $(pkg-config --cflags spanprof)) # libunwind's Requires.private adds its own -I
if [ "$libs" = "-L$libdir -lspanprof_hooks -lspanprof" ] && [ "${cflags#-I$prefix/include}" != "$cflags" ]; then
	ok "pkg-config: $cflags $libs"
else
	fail "pkg-config --cflags --libs spanprof: '$cflags' '$libs'"
fi

# run_outside NAME PROGRAM [LIBRARY_PATH] CLI: the program writes a dump
# with its manual trace and an instrumented one, and the CLI reads both.
run_outside() {
	out=$tmp/$1.out
	(
		[ -n "$3" ] && export LD_LIBRARY_PATH="$3"
		SPANPROF_OUTPUT=$out SPANPROF_TRACE_CALLS=outside_work "$2"
	) >"$tmp/$1.log" 2>&1 || { echo "# $1: the program failed: $(cat "$tmp/$1.log")"; return 1; }
	names=$("$4" list -f "$out" --sort name --json | python3 -c \
		'import json,sys; print(" ".join(t["name"] for t in json.load(sys.stdin)))')
	leaves=$("$4" show -f "$out" --json slowest >/dev/null &&
		"$4" top -f "$out" --by function --json | python3 -c \
		'import json,sys; print([r for r in json.load(sys.stdin) if r["function"].split()[0] == "outside_leaf"][0]["count"])')
	[ "$names" = "outside_request outside_work" ] && [ "$leaves" = 3 ] ||
		{ echo "# $1: traces '$names', outside_leaf calls '$leaves'"; return 1; }
}
no_rpath() { ! readelf -d "$1" | grep -qE 'RPATH|RUNPATH'; }
# own_hooks PROGRAM: the hooks are defined in the program (the stub of
# libspanprof_hooks.a: a disabled hook is a direct call, runtime/hooks.c).
own_hooks() { nm "$1" | grep -q ' T __cyg_profile_func_enter$' && nm "$1" | grep -q ' T __cyg_profile_func_exit$'; }

# 5. Installed + pkg-config, by hand.
if cc -g -finstrument-functions "$src/tests/packaging/outside/app.c" $cflags $libs -o "$tmp/by_pc" \
	>"$tmp/cc.log" 2>&1 && no_rpath "$tmp/by_pc" && own_hooks "$tmp/by_pc" &&
	run_outside pc "$tmp/by_pc" "$libdir" "$spanprof"; then
	ok "installed + pkg-config: builds without rpath, hooks in the program, runs, its dump reads"
else
	fail "installed + pkg-config" "$tmp/cc.log"
fi

# 10. Linked the old way, -lspanprof only: the library's own hooks.
if cc -g -finstrument-functions "$src/tests/packaging/outside/app.c" $cflags -L"$libdir" -lspanprof -o "$tmp/old" \
	>"$tmp/old.log" 2>&1 && ! own_hooks "$tmp/old" && run_outside old "$tmp/old" "$libdir" "$spanprof"; then
	ok10="ok 10 - linked with -lspanprof only: the library's hooks, runs, its dump reads"
else
	ok10="not ok 10 - linked with -lspanprof only"
	failed=1
	tail -30 "$tmp/old.log" | sed 's/^/# /'
fi

# 11. The static runtime as pkg-config --static lists it: the stub and
# libspanprof.a's weak hooks link together, the stub's win.
slibs=$(pkg-config --static --libs spanprof | sed 's/-lspanprof_hooks -lspanprof/-Wl,-Bstatic -lspanprof_hooks -lspanprof -Wl,-Bdynamic/')
if cc -g -finstrument-functions "$src/tests/packaging/outside/app.c" $cflags $slibs -o "$tmp/static" \
	>"$tmp/static.log" 2>&1 && own_hooks "$tmp/static" && ! ldd "$tmp/static" | grep -q libspanprof &&
	run_outside static "$tmp/static" "" "$spanprof"; then
	ok11="ok 11 - pkg-config --static with libspanprof.a: stub and static runtime link, run, the dump reads"
else
	ok11="not ok 11 - pkg-config --static with libspanprof.a ($slibs)"
	failed=1
	tail -30 "$tmp/static.log" | sed 's/^/# /'
fi

# 6. Installed + dependency('spanprof') from Meson (no subprojects dir,
# no fallback allowed).
mkdir "$tmp/dep" && cp "$src/tests/packaging/outside/meson.build" "$src/tests/packaging/outside/app.c" "$tmp/dep/"
if meson setup "$tmp/dep/b" "$tmp/dep" --wrap-mode=nofallback >"$tmp/dep.log" 2>&1 &&
	grep -q "Run-time dependency spanprof found: YES" "$tmp/dep.log" &&
	ninja -C "$tmp/dep/b" >>"$tmp/dep.log" 2>&1 && run_outside dep "$tmp/dep/b/outside" "$libdir" "$spanprof"; then
	ok "installed + dependency('spanprof'): found by pkg-config, runs, its dump reads"
else
	fail "installed + dependency('spanprof')" "$tmp/dep.log"
fi

# 7. As a subproject: dependency('spanprof', fallback: 'spanprof') uses
# the override, and nothing but the library and the CLI is built of it.
unset PKG_CONFIG_PATH
mkdir -p "$tmp/sub/subprojects" && cp "$src/tests/packaging/outside/meson.build" "$src/tests/packaging/outside/app.c" "$tmp/sub/"
ln -s "$src" "$tmp/sub/subprojects/spanprof"
sub=$tmp/sub/b
if meson setup "$sub" "$tmp/sub" --force-fallback-for=spanprof -Dbuildtype=plain >"$tmp/sub.log" 2>&1 &&
	ninja -C "$sub" >>"$tmp/sub.log" 2>&1 && run_outside sub "$sub/outside" "" "$sub/subprojects/spanprof/tools/spanprof"; then
	ok "subproject with fallback: builds, runs, its dump reads"
else
	fail "subproject with fallback" "$tmp/sub.log"
fi

# 8. ... and only its own targets: of spanprof, the runtime, the CLI (and
# the C file of its embedded web page), its man pages and completion, and
# internal static libraries; no sample, test or benchmark.
targets=$(ninja -C "$sub" -t targets all 2>/dev/null | cut -d: -f1 | grep '^subprojects/spanprof/' |
	grep -v '\.p/' | sed 's|^subprojects/spanprof/||')
extra=$(echo "$targets" | grep -vE '^(runtime/libspanprof\.so[.0-9]*|tools/spanprof|tools/html_assets\.c|docs/.*|.*\.a)$' | tr '\n' ' ')
if echo "$targets" | grep -q '^runtime/libspanprof\.so' && echo "$targets" | grep -q '^tools/spanprof$' &&
	[ -z "$extra" ] && [ ! -d "$sub/subprojects/spanprof/samples" ] && [ ! -d "$sub/subprojects/spanprof/tests" ]; then
	ok "subproject: only spanprof's library, CLI and docs are built, no samples or tests"
else
	fail "subproject: unexpected targets of spanprof: $extra"
fi

# 9. spanprof's werror stays in spanprof: the outside program's compile
# command has no -Werror, spanprof's own have it.
werror=$(python3 - "$sub/compile_commands.json" <<'PY'
import json, sys
cmds = json.load(open(sys.argv[1]))
own = [c["command"] for c in cmds if c["file"].endswith("app.c")]
sp = [c["command"] for c in cmds if "subprojects/spanprof/runtime/" in c["file"]]
print("outside", any("-Werror" in c for c in own), len(own), "spanprof", all("-Werror" in c for c in sp), len(sp) > 0)
PY
)
if [ "$werror" = "outside False 1 spanprof True True" ]; then
	ok "subproject: -Werror on spanprof's files only"
else
	fail "subproject -Werror: $werror"
fi
n=$((n + 2))
echo "$ok10"
echo "$ok11"
exit $failed
