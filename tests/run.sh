#!/bin/sh
# run.sh - install what is missing, build, and run every test twice: in the
# normal build (build/) and with AddressSanitizer + UBSan (build-asan/);
# then the suites where threads race (threads, stress, control), and
# sigwrap (the runtime's sigaction wrappers within TSan's), a third
# time with ThreadSanitizer (build-tsan/, clang), where any report fails.
# The last line counts the passed and failed tests (Criterion cases and
# end-to-end checks) over the three builds; the exit status is 0 only if
# none failed.
set -u
cd "$(dirname "$0")/.." || exit 1
# valgrind: valgrind-init; clang: the ThreadSanitizer build; protoc, libcurl:
# export-formats, push; libmicrohttpd: ui; chromium, selenium: the browser tests
.ci/install-deps valgrind clang protobuf-compiler libcurl4-openssl-dev \
	libmicrohttpd-dev chromium chromium-driver python3-selenium || exit 1

run_build() { # dir, meson options...
	dir=$1
	shift
	rm -f "$dir/meson-logs/testlog.json" # never count a stale log
	if [ ! -d "$dir" ]; then
		meson setup "$dir" "$@" >/dev/null || return 1
	fi
	ninja -C "$dir" >/dev/null || { ninja -C "$dir" | tail -20; return 1; }
	meson test -C "$dir" --print-errorlogs --num-processes 2
}

# ThreadSanitizer, with clang (installed above), and only these
# suites' targets, since the rest of the tree uses GCC-only attributes.
# b_lundef=false: clang links the TSan runtime into executables only, so
# the shared libspanprof has its __tsan_* symbols undefined until then.
# tests/meson.build sets TSAN_OPTIONS (a report fails the test).
run_tsan() {
	dir=build-tsan
	rm -f "$dir/meson-logs/testlog.json"
	if [ ! -d "$dir" ]; then
		CC=clang CXX=clang++ meson setup "$dir" -Db_sanitize=thread -Db_lundef=false \
			-Dbuildtype=debug >/dev/null || return 1
	fi
	targets="tests/test_threads tests/test_stress tests/test_control tests/hooks_sigwrap tests/hooks_sigwrap_static"
	# shellcheck disable=SC2086
	ninja -C "$dir" $targets >/dev/null || { ninja -C "$dir" $targets | tail -20; return 1; }
	# ThreadSanitizer runs them 5-15 times slower: thrice meson's timeouts
	meson test -C "$dir" --no-rebuild --print-errorlogs --num-processes 2 --timeout-multiplier 3 \
		threads stress control sigwrap sigwrap-static
}

status=0
run_build build || status=1
run_build build-asan -Db_sanitize=address,undefined -Dbuildtype=debug || status=1
run_tsan || status=1

python3 - build/meson-logs/testlog.json build-asan/meson-logs/testlog.json \
	build-tsan/meson-logs/testlog.json <<'PY' || status=1
import json, os, sys
passed = failed = 0
for path in sys.argv[1:]:
    if not os.path.exists(path):
        print(f"{path}: no test log (the build failed)")
        failed += 1
        continue
    for line in open(path):
        r = json.loads(line)
        ok = r["result"] in ("OK", "EXPECTEDFAIL")
        tap = [l for l in (r.get("stdout") or "").splitlines() if l.startswith(("ok ", "not ok "))]
        if tap:  # a Criterion binary: count its cases
            # a skipped case (ok N # SKIP) is not a pass
            p = sum(l.startswith("ok ") and "# SKIP" not in l for l in tap)
            skipped = sum("# SKIP" in l for l in tap)
            passed += p
            failed += len(tap) - p - skipped
            if not ok and len(tap) == p + skipped:
                failed += 1  # crashed, or exited badly after its cases
        elif ok:
            passed += 1
        elif r["result"] != "SKIP":
            failed += 1
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed or not passed else 0)
PY
exit $status
