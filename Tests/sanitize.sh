#!/usr/bin/env bash
# libscore's C interface and Python bindings under the sanitizers.
#
#     Tests/sanitize.sh [address] [thread]        (default: both)
#
# address  `swift build -c release --sanitize=address` of the `score` product (scratch path
#          /tmp/score-sanitize-address); Tests/CABI/api_test.c and Tests/CABI/threads_test.c built
#          with the toolchain's clang -fsanitize=address (plus undefined, see below) against it and
#          run with LeakSanitizer on; then the Python suite (bindings/python/tests) against that
#          libscore.so with the ASan runtime preloaded, LeakSanitizer on as well (see below).
# thread   `swift build -c release --sanitize=thread` (scratch path /tmp/score-sanitize-thread);
#          Tests/CABI/threads_test.c (8 threads with their own policy and trainer; 2 threads calling
#          into ONE policy, which the library must refuse with SCORE_ERR_STATE or serve correctly)
#          and Tests/CABI/api_test.c built with -fsanitize=thread and run.
# undefined  probed first: Swift on Linux rejects -sanitize=undefined (swiftc: "unsupported option
#          '-sanitize=undefined' for target 'x86_64-unknown-linux-gnu'"), so the Swift library is
#          built without it; the C test programs get -fsanitize=undefined -fno-sanitize-recover
#          where the toolchain's clang supports it (it does on Linux). If a later swiftc accepts it,
#          the address build adds --sanitize=undefined by itself.
#
# Exits non-zero when a build, a test or a check fails, or on any sanitizer report (AddressSanitizer,
# LeakSanitizer, ThreadSanitizer, UndefinedBehaviorSanitizer). Prints every command it runs, each
# report's first frames, and a summary with the compile and run time of every part.
#
# Needs only the Swift toolchain (its clang, sanitizer runtimes and llvm-symbolizer), python3 with
# pytest, and libopenblas-dev. Nothing is written into the repository and the checkout's .build is not
# touched: builds go to $SCORE_SANITIZE_PREFIX<kind> (default /tmp/score-sanitize-address, -thread),
# test binaries and logs to ${SCORE_SANITIZE_PREFIX}logs (replaced on each run, kept afterwards).
# Every build and run is `nice -n 19`.
#
# Suppressions (written by this script to the logs folder, passed to every run):
# - LeakSanitizer: none. The Swift runtime, Foundation and libdispatch keep their caches reachable
#   from globals, and the C tests and the Python suite run leak-free with them unsuppressed; a leak
#   report is treated as a bug.
# - ThreadSanitizer: none. OpenBLAS (set single-threaded by the library) and the Swift runtime are
#   not instrumented, so TSan cannot see their accesses, and the runs report nothing there; what it
#   does see of them (pthread and libdispatch calls, via interceptors) orders correctly. A report is
#   treated as a bug. Add narrow `race:<frame>` lines to the heredoc below only with a reason.
#
# Python and leaks: CPython's own allocator (pymalloc) keeps objects in mmap'ed arenas that
# LeakSanitizer does not scan, so at exit it "leaks" ~270 KB of objects referenced only from there.
# PYTHONMALLOC=malloc puts every object on the malloc heap, where LSan sees the references, and
# CPython then exits leak-free: leaks of libscore through the bindings are reported. Set
# SCORE_SANITIZE_PYTHON_LEAKS=0 to run the Python suite with detect_leaks=0 (an interpreter that
# leaks at exit even so).
#
# The interpreter is resolved (sys.executable) before the ASan runtime is preloaded: a pyenv shim
# is a bash script, and bash under a preloaded LeakSanitizer fails its own exit check, which makes
# pyenv fall back to another python.
set -uo pipefail
cd "$(dirname "$0")/.."

PARTS=("$@")
[ ${#PARTS[@]} -eq 0 ] && PARTS=(address thread)
for part in "${PARTS[@]}"; do
    case "$part" in
    address | thread) ;;
    *) echo "usage: $0 [address] [thread]" >&2; exit 2 ;;
    esac
done

NICE=(nice -n 19)
PREFIX="${SCORE_SANITIZE_PREFIX:-/tmp/score-sanitize-}"
LOGS="${PREFIX}logs"
rm -rf "$LOGS"
mkdir -p "$LOGS"

# ---- toolchain: swiftc's own clang and sanitizer runtimes (the instrumentation of the Swift code
# must meet the runtime it was built for; the system gcc's libasan is another one)
SWIFTC="$(command -v swiftc)" || { echo "swiftc not found" >&2; exit 1; }
# The toolchain's folder through any symlink to swiftc; swiftc itself is run by its own name (the
# driver picks its mode from it: the file it links to is called swift-driver).
TOOLCHAIN_BIN="$(dirname "$(readlink -f "$SWIFTC")")"
TOOLCHAIN_USR="$(dirname "$TOOLCHAIN_BIN")"
CLANG="$TOOLCHAIN_BIN/clang"
RT_DIR="$TOOLCHAIN_USR/lib/swift/clang/lib/linux"
SWIFT_RUNTIME_DIR="$TOOLCHAIN_USR/lib/swift/linux"
ASAN_RT="$RT_DIR/libclang_rt.asan-x86_64.so"
for needed in "$CLANG" "$ASAN_RT" "$SWIFT_RUNTIME_DIR/libdispatch.so" "$SWIFT_RUNTIME_DIR/libBlocksRuntime.so"; do
    [ -e "$needed" ] || { echo "not found in the Swift toolchain: $needed" >&2; exit 1; }
done
SYMBOLIZER="$TOOLCHAIN_BIN/llvm-symbolizer"
[ -x "$SYMBOLIZER" ] || SYMBOLIZER="$(command -v llvm-symbolizer || true)"
DEMANGLE=(cat)
[ -x "$TOOLCHAIN_BIN/swift-demangle" ] && DEMANGLE=("$TOOLCHAIN_BIN/swift-demangle" --simplified)
LINKER=()
[ -x "$TOOLCHAIN_BIN/ld.lld" ] && LINKER=(-fuse-ld=lld) # gold warns at length about ASan's local symbols
if ! pkg-config --exists openblas 2> /dev/null; then
    echo "OpenBLAS not found (Debian: apt-get install libopenblas-dev pkg-config)" >&2
    exit 1
fi

export SWIFT_BACKTRACE=enable=no # the sanitizers report crashes themselves
[ -n "$SYMBOLIZER" ] && export ASAN_SYMBOLIZER_PATH="$SYMBOLIZER" TSAN_SYMBOLIZER_PATH="$SYMBOLIZER"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

LSAN_SUPPRESSIONS="$LOGS/lsan.supp"
cat > "$LSAN_SUPPRESSIONS" << 'EOF'
# LeakSanitizer suppressions for Tests/sanitize.sh: none needed (see the script's header).
EOF
TSAN_SUPPRESSIONS="$LOGS/tsan.supp"
cat > "$TSAN_SUPPRESSIONS" << 'EOF'
# ThreadSanitizer suppressions for Tests/sanitize.sh: none needed (see the script's header).
EOF

CFLAGS=(-std=c99 -Wall -Wextra -Werror -Iinclude -g -O1 -fno-omit-frame-pointer)
FAILED=0
SUMMARY=()
REPORT_PATTERN='ERROR: (AddressSanitizer|LeakSanitizer)|WARNING: ThreadSanitizer|:[0-9]+:[0-9]+: runtime error: |SUMMARY: UndefinedBehaviorSanitizer'

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
seconds_since() { local ms=$(( $(now_ms) - $1 )); printf '%d.%ds' $((ms / 1000)) $((ms % 1000 / 100)); }
show() { local IFS=' '; printf '+ %s\n' "$*"; }

# Prints each sanitizer report of a log: its header and the first frames of each stack in it.
print_reports() {
    awk -v pattern="$REPORT_PATTERN" '
        $0 ~ pattern || /^SUMMARY: / { print "      " $0; frames = 0; next }
        /(Direct|Indirect) leak of|^  (Read|Write|Atomic read|Atomic write|Previous|Mutex|Location)|^READ|^WRITE|freed by|previously allocated|is located/ {
            print "      " $0; frames = 0; next }
        /^ +#[0-9]+ / { if (frames < 4) print "        " $0; frames++ }
    ' "$1" | sed -E 's/#([0-9]+) 0x[0-9a-f]+ in /#\1 /' | "${DEMANGLE[@]}" | head -80
}

# step NAME LOG COMMAND...: runs the command niced, output to LOG; prints the time and, on a failure
# or any sanitizer report, the log's tail and the reports. Sets STEP_TIME; returns non-zero on failure.
STEP_TIME=""
step() {
    local name=$1 log=$2
    shift 2
    show "${NICE[@]}" "$@"
    local start rc reports
    start=$(now_ms)
    # In a subshell, so that the shell's "Aborted" note about a sanitizer's abort goes to the log.
    ("${NICE[@]}" "$@"; exit $?) > "$log" 2>&1
    rc=$?
    STEP_TIME=$(seconds_since "$start")
    reports=$(grep -a -c -E "$REPORT_PATTERN" "$log")
    if [ "$rc" -eq 0 ] && [ "$reports" -eq 0 ]; then
        echo "   $name: ok ($STEP_TIME)"
        return 0
    fi
    echo "   $name: FAILED (exit $rc, $reports sanitizer report lines, $STEP_TIME); log: $log"
    if [ "$reports" -gt 0 ]; then
        print_reports "$log"
    else
        tail -25 "$log" | sed 's/^/      | /'
    fi
    FAILED=1
    return 1
}

record() { SUMMARY+=("$(printf '%-9s %-30s %s' "$1" "$2" "$3")"); }

# ---- UndefinedBehaviorSanitizer: where does it work?
echo "== UndefinedBehaviorSanitizer support"
SWIFT_UBSAN=0
if echo "" | "${NICE[@]}" "$SWIFTC" -sanitize=undefined -typecheck - > "$LOGS/ubsan-swift-probe.log" 2>&1; then
    SWIFT_UBSAN=1
    echo "   Swift: swiftc accepts -sanitize=undefined: the address build adds --sanitize=undefined"
else
    echo "   Swift: not available ($(grep -m1 -a 'error' "$LOGS/ubsan-swift-probe.log" | sed 's/^.*error: //')):"
    echo "          the library is built without it (its own overflow and bounds checks stay on:"
    echo "          release builds are -O, not -Ounchecked)"
fi
C_UBSAN=0
cat > "$LOGS/ubsan_probe.c" << 'EOF'
#include <limits.h>
int main(int argc, char **argv) { (void)argv; int x = INT_MAX; x += argc; return x == 0; }
EOF
if "${NICE[@]}" "$CLANG" "${LINKER[@]}" -fsanitize=undefined -fno-sanitize-recover=undefined "$LOGS/ubsan_probe.c" \
        -o "$LOGS/ubsan_probe" > "$LOGS/ubsan-c-probe.log" 2>&1 &&
    ! "${NICE[@]}" "$LOGS/ubsan_probe" >> "$LOGS/ubsan-c-probe.log" 2>&1 &&
    grep -q "runtime error" "$LOGS/ubsan-c-probe.log"; then
    C_UBSAN=1
    echo "   C: $CLANG -fsanitize=undefined works (the probe's signed overflow was caught):"
    echo "      the C tests are built with it, in both the address and the thread runs"
else
    echo "   C: -fsanitize=undefined does not work with $CLANG (see $LOGS/ubsan-c-probe.log): C tests without it"
fi
record undefined "Swift library" "$([ $SWIFT_UBSAN = 1 ] && echo "used" || echo "not supported by swiftc on Linux")"
record undefined "C tests" "$([ $C_UBSAN = 1 ] && echo "used (-fsanitize=undefined -fno-sanitize-recover)" || echo "not supported")"

# sanitize_flags KIND: the clang flags of the C tests for the address or thread run.
sanitize_flags() {
    if [ $C_UBSAN = 1 ]; then echo "-fsanitize=$1,undefined -fno-sanitize-recover=undefined"; else echo "-fsanitize=$1"; fi
}

# build_library KIND SWIFT_SANITIZE_FLAGS...: builds the score product; sets LIB_DIR.
LIB_DIR=""
build_library() {
    local kind=$1
    shift
    local scratch="${PREFIX}${kind}"
    local args=(swift build -c release "$@" --product score --scratch-path "$scratch")
    if step "swift build ($kind)" "$LOGS/build-$kind.log" "${args[@]}"; then
        record "$kind" "swift build (libscore.so)" "ok, $STEP_TIME"
    else
        record "$kind" "swift build (libscore.so)" "FAILED, $STEP_TIME"
        return 1
    fi
    LIB_DIR="$("${NICE[@]}" "${args[@]}" --show-bin-path 2> /dev/null)"
    [ -f "$LIB_DIR/libscore.so" ] || { echo "   no libscore.so in '$LIB_DIR'"; FAILED=1; return 1; }
    ln -sf libscore.so "$LIB_DIR/$(make -s print-version | cut -d' ' -f2)"   # the SONAME programs ask for
    echo "   library: $LIB_DIR/libscore.so"
}

# c_test KIND NAME SOURCE RUN_ENV...: compiles SOURCE against LIB_DIR with the KIND sanitizer, runs it
# from the repository root (api_test reads the fixtures there) with RUN_ENV.
c_test() {
    local kind=$1 name=$2 source=$3
    shift 3
    local binary="$LOGS/$name-$kind" compiled run
    # shellcheck disable=SC2207
    local flags=($(sanitize_flags "$kind"))
    local extra=()
    # The static TSan runtime carries libdispatch interceptors: link the toolchain's libdispatch.
    [ "$kind" = thread ] && extra=(-L"$SWIFT_RUNTIME_DIR" -ldispatch -lBlocksRuntime -Wl,-rpath,"$SWIFT_RUNTIME_DIR")
    if step "compile $name" "$LOGS/compile-$name-$kind.log" "$CLANG" "${LINKER[@]}" "${CFLAGS[@]}" -pthread "${flags[@]}" \
        "$source" -L"$LIB_DIR" -lscore -Wl,-rpath,"$LIB_DIR" "${extra[@]}" -o "$binary"; then
        compiled="$STEP_TIME"
    else
        record "$kind" "$name" "FAILED to compile, $STEP_TIME"
        return 1
    fi
    if step "run $name" "$LOGS/run-$name-$kind.log" env "$@" "$binary"; then
        run="ok"
    else
        run="FAILED"
    fi
    local checks
    checks="$(grep -a -E '^[0-9]+ checks, [0-9]+ failed' "$LOGS/run-$name-$kind.log" | tail -1)"
    record "$kind" "$name" "$run, compile $compiled, run $STEP_TIME${checks:+ ($checks)}"
    grep -a -E '^(separate handles|shared policy)' "$LOGS/run-$name-$kind.log" | sed 's/^/      /'
}

# ---- address (+ leaks)
run_address() {
    echo
    echo "== AddressSanitizer and LeakSanitizer"
    local swift_flags=(--sanitize=address)
    [ $SWIFT_UBSAN = 1 ] && swift_flags+=(--sanitize=undefined)
    build_library address "${swift_flags[@]}" || return
    local asan="detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=1:strict_string_checks=1"
    c_test address api_test Tests/CABI/api_test.c ASAN_OPTIONS="$asan" LSAN_OPTIONS="suppressions=$LSAN_SUPPRESSIONS"
    c_test address threads_test Tests/CABI/threads_test.c ASAN_OPTIONS="$asan" \
        LSAN_OPTIONS="suppressions=$LSAN_SUPPRESSIONS"

    local python
    python="$(python3 -c 'import sys; print(sys.executable)' 2> /dev/null)"
    if [ -z "$python" ] || ! "$python" -m pytest --version > /dev/null 2>&1; then
        echo "   python3 with pytest not found"
        record address "Python suite" "FAILED: no python3 with pytest"
        FAILED=1
        return
    fi
    local leaks=1 python_env=(PYTHONMALLOC=malloc)
    if [ "${SCORE_SANITIZE_PYTHON_LEAKS:-1}" = 0 ]; then leaks=0; python_env=(); fi
    local result
    if step "Python suite" "$LOGS/run-python-address.log" env LD_PRELOAD="$ASAN_RT" "${python_env[@]}" PYTHONDONTWRITEBYTECODE=1 \
        ASAN_OPTIONS="detect_leaks=$leaks:abort_on_error=1" LSAN_OPTIONS="suppressions=$LSAN_SUPPRESSIONS" \
        LIBSCORE_PATH="$LIB_DIR/libscore.so" "$python" -m pytest -q -p no:cacheprovider bindings/python/tests; then
        result=ok
    else
        result=FAILED
    fi
    local outcome
    outcome="$(grep -a -E '[0-9]+ (passed|failed)' "$LOGS/run-python-address.log" | tail -1)"
    record address "Python suite (leaks $([ $leaks = 1 ] && echo on || echo off))" "$result, run $STEP_TIME${outcome:+ ($outcome)}"
}

# ---- thread
run_thread() {
    echo
    echo "== ThreadSanitizer"
    build_library thread --sanitize=thread || return
    local tsan="halt_on_error=0:second_deadlock_stack=1:report_signal_unsafe=1:suppressions=$TSAN_SUPPRESSIONS"
    c_test thread threads_test Tests/CABI/threads_test.c TSAN_OPTIONS="$tsan"
    c_test thread api_test Tests/CABI/api_test.c TSAN_OPTIONS="$tsan"
}

START=$(now_ms)
for part in "${PARTS[@]}"; do
    case "$part" in
    address) run_address ;;
    thread) run_thread ;;
    esac
done

echo
echo "== summary ($(seconds_since "$START") in all; logs and binaries: $LOGS)"
for line in "${SUMMARY[@]}"; do echo "   $line"; done
if [ $FAILED -eq 0 ]; then
    echo "== no sanitizer reports, every test passed"
else
    echo "== FAILED: see the reports and logs above"
fi
exit $FAILED
