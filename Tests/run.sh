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
