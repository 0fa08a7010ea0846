#!/usr/bin/env bash
# The whole test suite: installs what a fresh machine lacks, builds the release library and
# tools, then runs every suite. Exits non-zero when any suite fails.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! pkg-config --exists openblas 2>/dev/null; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get install -y libopenblas-dev pkg-config || { $SUDO apt-get update && $SUDO apt-get install -y libopenblas-dev pkg-config; }
fi

if ! command -v make > /dev/null; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get install -y make || { $SUDO apt-get update && $SUDO apt-get install -y make; }
fi

echo "== release build (libscore.so, score-cli, score-bench; the Swift runtime linked statically)"
make build

echo "== Swift engine tests"
swift test

echo "== C ABI tests"
LIB_DIR="$(make -s print-bin-dir)"
test -f "$LIB_DIR/libscore.so" || { echo "libscore.so was not built"; exit 1; }
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT
CFLAGS="-std=c99 -Wall -Wextra -Werror -Iinclude"
LINK=(-L"$LIB_DIR" -lscore -Wl,-rpath,"$LIB_DIR")
cc $CFLAGS -pedantic -fsyntax-only -x c include/score.h
c++ -std=c++17 -Wall -Wextra -Werror -Iinclude Tests/CABI/header_compiles.cpp "${LINK[@]}" -o "$OUT/header_compiles"
"$OUT/header_compiles"
cc $CFLAGS Tests/CABI/version_test.c "${LINK[@]}" -o "$OUT/version_test"
"$OUT/version_test"
Tests/CABI/check_exports.sh "$LIB_DIR/libscore.so" include/score.h
Tests/CABI/abi_check.sh
cc $CFLAGS Tests/CABI/api_test.c "${LINK[@]}" -o "$OUT/api_test"
"$OUT/api_test"

echo "== C examples, built with the flags of the generated score.pc (no LD_LIBRARY_PATH)"
bindings/pkgconfig/generate.sh "$LIB_DIR" "$OUT" > /dev/null
for example in self_correct train_with_verifier; do
    cc $CFLAGS "examples/c/$example.c" $(PKG_CONFIG_PATH="$OUT" pkg-config --cflags --libs score) -o "$OUT/$example"
    env -u LD_LIBRARY_PATH "$OUT/$example"
done

echo "== make install: the installed library and score-cli run with the Swift toolchain hidden"
Tests/install/install_test.sh

echo "== Python bindings tests and examples"
if ! python3 -m pytest --version > /dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get install -y python3-pytest || python3 -m pip install pytest
fi
LIBSCORE_PATH="$LIB_DIR/libscore.so" python3 -m pytest -q bindings/python/tests
if ! python3 -m mypy --version > /dev/null 2>&1; then
    python3 -m pip install mypy || { SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"; $SUDO apt-get install -y mypy; }
fi
python3 -m mypy --strict bindings/python/libscore
for example in self_correct train_with_verifier; do
    LIBSCORE_PATH="$LIB_DIR/libscore.so" PYTHONPATH=bindings/python python3 "examples/python/$example.py"
done

echo "== Data-parallel training over MPI, 2 ranks (C and mpi4py examples: equal replicas, union = single, failures)"
Tests/mpi/mpi_test.sh "$LIB_DIR"

echo "== SCoRe learns: a short fixed-seed run must lift Δ(t1,t2) over its base's (score-cli demo --check)"
"$LIB_DIR/score-cli" demo --check --seed 3 --out "$OUT/learning-check" 2>&1 | tr '\r' '\n' | grep -v '^  [A-Za-z]* *\['

echo "== score-cli demo refuses a training temperature that is not a distribution's, a negative or NaN β2, no prompts per RL step, fewer than two samples per prompt, a learning rate that is not positive, and a model shape it cannot build"
# demo_refuses OPTION VALUE: the demo must exit with an error that names OPTION before training anything.
demo_refuses() {
    if "$LIB_DIR/score-cli" demo --quick "$1=$2" --out "$OUT/refused" > "$OUT/refused.txt" 2>&1; then
        echo "demo accepted $1 $2"; exit 1
    fi
    grep -q -- "$1 must be" "$OUT/refused.txt"
}
for bad in 0 -1 nan; do demo_refuses --temperature "$bad"; done
for bad in -1 nan; do demo_refuses --beta2 "$bad"; done
for bad in 0 -4; do demo_refuses --prompts "$bad"; done
for bad in 0 1; do demo_refuses --samples "$bad"; done
for bad in 0 -1e-4 nan; do demo_refuses --learning-rate "$bad"; done
for bad in 0 33; do demo_refuses --layers "$bad"; done
for bad in 8 100 2048; do demo_refuses --width "$bad"; done

echo "== score-cli eval --out: a JSON line per problem whose verdicts match its texts and the printed accuracies"
"$LIB_DIR/score-cli" eval --model "$OUT/learning-check/score-model" --fixed-width --count 50 --out "$OUT/eval.jsonl" \
    | tee "$OUT/eval.txt"
python3 - "$OUT/eval.jsonl" "$OUT/eval.txt" <<'PY'
import json, re, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
printed = open(sys.argv[2]).read()
assert len(rows) == 50, f"{len(rows)} rows for 50 problems"
for row in rows:
    assert row["correct1"] == (row["attempt1"].strip() == row["reference"]), row
    assert row["correct2"] == (row["attempt2"].strip() == row["reference"]), row
for turn in ("1", "2"):
    share = 100 * sum(row["correct" + turn] for row in rows) / len(rows)
    shown = float(re.search(r"Acc@t" + turn + r" ([0-9.]+)", printed).group(1))
    assert abs(share - shown) < 0.06, (turn, share, shown)
PY

echo "== Saves killed midway leave the old or the new folder"
if ! command -v strace > /dev/null; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get install -y strace || { $SUDO apt-get update && $SUDO apt-get install -y strace; }
fi
Tests/crash/crash_saves.sh "$LIB_DIR/libscore.so"

echo "== Parsers of untrusted files under libFuzzer with address and leak sanitizers (brief: Tests/fuzz.sh N runs longer)"
SCORE_FUZZ_ARGS="-seed=1" Tests/fuzz.sh 4
echo "all suites passed"
