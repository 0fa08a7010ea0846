#!/usr/bin/env bash
# The whole test suite: installs what a fresh machine lacks, builds the release library and
# tools, then runs every suite. Exits non-zero when any suite fails.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! pkg-config --exists openblas 2>/dev/null; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get install -y libopenblas-dev pkg-config || { $SUDO apt-get update && $SUDO apt-get install -y libopenblas-dev pkg-config; }
fi

echo "== release build (libscore.so, score-cli, score-bench)"
swift build -c release

echo "== Swift engine tests"
swift test

echo "== C ABI tests"
LIB_DIR="$(swift build -c release --show-bin-path)"
test -f "$LIB_DIR/libscore.so" || { echo "libscore.so was not built"; exit 1; }
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT
cc -std=c99 -Wall -Wextra -Werror -pedantic -Iinclude -fsyntax-only -x c include/score.h
c++ -std=c++17 -Wall -Wextra -Werror -Iinclude Tests/CABI/header_compiles.cpp -L"$LIB_DIR" -lscore \
    -Wl,-rpath,"$LIB_DIR" -o "$OUT/header_compiles"
"$OUT/header_compiles"
cc -std=c99 -Wall -Wextra -Werror -Iinclude Tests/CABI/version_test.c -L"$LIB_DIR" -lscore \
    -Wl,-rpath,"$LIB_DIR" -o "$OUT/version_test"
"$OUT/version_test"
echo "all suites passed"
