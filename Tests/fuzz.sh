#!/usr/bin/env bash
# Fuzzes the engine's parsers of untrusted files with libFuzzer, AddressSanitizer and LeakSanitizer.
#
#     Tests/fuzz.sh SECONDS [TARGET...]
#
# Compiles Sources/ScoreEngine/**/*.swift with the harness in Tests/fuzz/*.swift into one binary
# (one module, so the engine's internal APIs are callable; -O like the release build, so
# out-of-bounds indexing and overflow trap), then runs each TARGET (default: all) for SECONDS,
# seeded from Tests/fuzz/corpus/<target>/. Total time: the compile (skipped when nothing changed
# since the last build) plus SECONDS per target. Every compile and run is `nice -n 19`.
#
# Prints per target the executions (libFuzzer's stat::number_of_executed_units) and the outcome,
# then the total. Exits non-zero on any crash (Swift trap, sanitizer report), leak, timeout or
# out-of-memory, or when the harness cannot be built or run.
#
# Targets: safetensors config_json tokenizer_json tokenizer_config chat_template jsonl_problems
# trainer_json gguf (see Tests/fuzz/Fuzz*.swift; the binary prints the list when
# SCORE_FUZZ_TARGET is unset).
#
# Files: the binary goes to $SCORE_FUZZ_BUILD (default /tmp/score-fuzz-build); new corpus entries,
# crash/leak/timeout artifacts and the logs to $SCORE_FUZZ_OUT (default a new /tmp/score-fuzz.XXXXXX,
# kept and printed at the end when something was found, else removed). Nothing is written into the
# repository.
#
# Environment: SCORE_FUZZ_TIMEOUT (seconds per input, default 5), SCORE_FUZZ_RSS_MB (default 2048),
# SCORE_FUZZ_ARGS (extra libFuzzer flags, e.g. "-max_len=65536"), SCORE_FUZZ_REBUILD=1 (build even
# if up to date), SCORE_FUZZ_LEAKS=0 (no leak detection, neither per input nor at exit: to look for
# other bugs past a known leak).
#
# Reproduce a finding:  SCORE_FUZZ_TARGET=<target> /tmp/score-fuzz-build/score-fuzz <artifact>
# Minimize it:          SCORE_FUZZ_TARGET=<target> /tmp/score-fuzz-build/score-fuzz -minimize_crash=1 \
#                           -runs=10000 -exact_artifact_path=<out> <artifact>
set -uo pipefail
cd "$(dirname "$0")/.."

ALL_TARGETS=(safetensors config_json tokenizer_json tokenizer_config chat_template jsonl_problems trainer_json gguf)
if [ $# -lt 1 ] || ! [[ "$1" =~ ^[0-9]+$ ]] || [ "$1" -lt 1 ]; then
    echo "usage: $0 SECONDS [TARGET...]   (targets: ${ALL_TARGETS[*]})" >&2
    exit 2
fi
SECONDS_PER_TARGET=$1
shift
TARGETS=("$@")
[ ${#TARGETS[@]} -eq 0 ] && TARGETS=("${ALL_TARGETS[@]}")
for target in "${TARGETS[@]}"; do
    if ! [[ " ${ALL_TARGETS[*]} " == *" $target "* ]]; then
        echo "unknown target '$target' (targets: ${ALL_TARGETS[*]})" >&2
        exit 2
    fi
done

NICE=(nice -n 19)
BUILD="${SCORE_FUZZ_BUILD:-/tmp/score-fuzz-build}"
OUT="${SCORE_FUZZ_OUT:-$(mktemp -d /tmp/score-fuzz.XXXXXX)}"
TIMEOUT="${SCORE_FUZZ_TIMEOUT:-5}"
RSS_MB="${SCORE_FUZZ_RSS_MB:-2048}"
BIN="$BUILD/score-fuzz"
SWIFTC="$(command -v swiftc)" || { echo "swiftc not found" >&2; exit 1; }
mkdir -p "$BUILD" "$OUT/logs"

# ---- build (one binary, all targets)
if ! pkg-config --exists openblas 2>/dev/null; then
    echo "OpenBLAS not found (Debian: apt-get install libopenblas-dev pkg-config)" >&2
    exit 1
fi
SOURCES=()
while IFS= read -r file; do SOURCES+=("$PWD/$file"); done < <(find Sources/ScoreEngine Tests/fuzz -name '*.swift' | LC_ALL=C sort)
# UBSan: used when this swiftc accepts it (Swift on Linux rejects -sanitize=undefined today).
SANITIZERS="fuzzer,address"
if echo "" | "$SWIFTC" -sanitize=undefined -typecheck - > /dev/null 2>&1; then
    SANITIZERS="fuzzer,address,undefined"
fi
# shellcheck disable=SC2207
BLAS_FLAGS=($(pkg-config --cflags --libs openblas))
FLAGS=(-O -g -sanitize="$SANITIZERS" -parse-as-library -swift-version 5 -module-name ScoreEngine -package-name libscore
       -wmo -num-threads 2 -Xcc -fmodule-map-file="$PWD/Sources/CBLAS/module.modulemap" "${BLAS_FLAGS[@]}"
       -use-ld=lld -module-cache-path "$BUILD/ModuleCache")
STAMP="$( { "$SWIFTC" --version 2>&1; echo "${FLAGS[*]}"; cat "${SOURCES[@]}"; } | sha256sum | cut -d' ' -f1)"
COMPILE_SECONDS=0
if [ -x "$BIN" ] && [ "$(cat "$BUILD/stamp" 2>/dev/null)" = "$STAMP" ] && [ "${SCORE_FUZZ_REBUILD:-0}" != 1 ]; then
    echo "== harness up to date: $BIN"
else
    echo "== compiling ${#SOURCES[@]} files with -sanitize=$SANITIZERS (nice -n 19)"
    rm -f "$BIN" "$BUILD/stamp"
    start=$(date +%s)
    # Compiled inside the build folder: with -g the driver leaves the module files in the current folder.
    if ! (cd "$BUILD" && "${NICE[@]}" "$SWIFTC" "${FLAGS[@]}" "${SOURCES[@]}" -o "$BIN") > "$OUT/logs/compile.log" 2>&1; then
        cat "$OUT/logs/compile.log" >&2
        echo "== build failed" >&2
        exit 1
    fi
    COMPILE_SECONDS=$(( $(date +%s) - start ))
    echo "$STAMP" > "$BUILD/stamp"
    echo "== compiled in ${COMPILE_SECONDS}s: $BIN"
fi
[ "$SANITIZERS" = "fuzzer,address" ] && echo "   (UBSan: -sanitize=undefined is not supported by this swiftc on this platform)"

# ---- run
SCRATCH="$(mktemp -d "$( [ -d /dev/shm ] && echo /dev/shm || echo /tmp )/score-fuzz.XXXXXX")"
trap 'rm -rf "$SCRATCH"' EXIT
SYMBOLIZER="$(dirname "$SWIFTC")/llvm-symbolizer"
[ -x "$SYMBOLIZER" ] || SYMBOLIZER="$(command -v llvm-symbolizer || true)"
LEAKS="${SCORE_FUZZ_LEAKS:-1}"
[ "$LEAKS" = 0 ] || LEAKS=1
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=$LEAKS:symbolize=1:handle_abort=1:allocator_may_return_null=0}"
# Swift's own crash backtracer would take the trap's signal from libFuzzer; libFuzzer's report names
# the trap too ("Swift runtime failure: arithmetic overflow").
export SWIFT_BACKTRACE=enable=no
[ -n "$SYMBOLIZER" ] && export ASAN_SYMBOLIZER_PATH="$SYMBOLIZER"

DEMANGLE=(cat)
[ -x "$(dirname "$SWIFTC")/swift-demangle" ] && DEMANGLE=("$(dirname "$SWIFTC")/swift-demangle" --simplified)

TOTAL=0
FAILED=0
SUMMARY=()
for target in "${TARGETS[@]}"; do
    corpus="$OUT/corpus/$target"
    artifacts="$OUT/artifacts/$target"
    log="$OUT/logs/$target.log"
    mkdir -p "$corpus" "$artifacts"
    args=(-max_total_time="$SECONDS_PER_TARGET" -timeout="$TIMEOUT" -rss_limit_mb="$RSS_MB" -detect_leaks="$LEAKS"
          -print_final_stats=1 -artifact_prefix="$artifacts/")
    [ -f "Tests/fuzz/dict/$target.dict" ] && args+=(-dict="Tests/fuzz/dict/$target.dict")
    # shellcheck disable=SC2206
    [ -n "${SCORE_FUZZ_ARGS:-}" ] && args+=(${SCORE_FUZZ_ARGS})
    echo "== $target: ${SECONDS_PER_TARGET}s"
    # The hard limit only guards against a run that libFuzzer itself cannot stop.
    SCORE_FUZZ_TARGET="$target" SCORE_FUZZ_SCRATCH="$SCRATCH" \
        timeout -k 10 $(( SECONDS_PER_TARGET + TIMEOUT + 120 )) \
        "${NICE[@]}" "$BIN" "${args[@]}" "$corpus" "Tests/fuzz/corpus/$target" > "$log" 2>&1
    rc=$?
    execs="$(grep -a 'stat::number_of_executed_units' "$log" | tail -1 | awk '{print $2}')"
    [[ "$execs" =~ ^[0-9]+$ ]] || execs=0
    TOTAL=$(( TOTAL + execs ))
    if [ $rc -eq 0 ]; then
        outcome="ok"
    else
        FAILED=1
        reason="$(grep -a -m1 -E 'ERROR: (libFuzzer|AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer)|SUMMARY: |Fatal error|runtime error' "$log" | sed 's/^==[0-9]*==//')"
        [ $rc -eq 124 ] || [ $rc -eq 137 ] && reason="killed after the hard time limit"
        outcome="FAILED (exit $rc): ${reason:-see $log}"
        for artifact in "$artifacts"/*; do
            [ -e "$artifact" ] && outcome+=$'\n'"      artifact: $artifact"
        done
        outcome+=$'\n'"      log: $log"
        # The first frames in the engine (or the harness) of the report, and what the trap was.
        frames="$(grep -a -E '^ +#[0-9]+ .* in .*(Swift runtime failure|Sources/ScoreEngine/|Tests/fuzz/)' "$log" \
                  | head -6 | sed -E 's/^ +(#[0-9]+) 0x[0-9a-f]+ in /        \1 /' | "${DEMANGLE[@]}")"
        [ -n "$frames" ] && outcome+=$'\n'"$frames"
    fi
    line="$(printf '%-17s %12s execs  %s' "$target" "$execs" "$outcome")"
    echo "   $line"
    SUMMARY+=("$line")
done

echo
echo "== summary (${SECONDS_PER_TARGET}s per target; compile ${COMPILE_SECONDS}s)"
for line in "${SUMMARY[@]}"; do echo "   $line"; done
printf '   %-17s %12s execs\n' "total" "$TOTAL"
if [ $FAILED -eq 0 ] && [ -z "${SCORE_FUZZ_OUT:-}" ]; then
    rm -rf "$OUT"  # nothing to look at: a temporary folder of ours
else
    echo "   corpus, artifacts and logs: $OUT"
fi
[ $FAILED -eq 0 ] && echo "== no findings" || echo "== FINDINGS: see above"
exit $FAILED
