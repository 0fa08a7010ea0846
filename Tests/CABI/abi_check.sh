#!/usr/bin/env bash
# Compares the C ABI of score.h with the committed baseline: the declared functions and the size
# of every public struct (LP64: 64-bit Linux and macOS). Any difference fails, with what changed; score.h's "ABI policy" says
# which version part the change needs, and `--update` rewrites the baseline once it is bumped.
#
# Usage: Tests/CABI/abi_check.sh [--update]
set -euo pipefail
cd "$(dirname "$0")/../.."
export LC_ALL=C
baseline=Tests/CABI/abi_baseline.txt
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

cc -std=c99 -Wall -Wextra -Werror -Iinclude Tests/CABI/abi_sizes.c -o "$out/abi_sizes"
{
    sed -n 's/^[[:space:]]*SCORE_API[[:space:]][^(]*[^A-Za-z0-9_]\([A-Za-z_][A-Za-z0-9_]*\)[[:space:]]*(.*/function \1/p' \
        include/score.h | sort -u
    "$out/abi_sizes"
} > "$out/current.txt"

if [ "${1:-}" = "--update" ]; then
    cp "$out/current.txt" "$baseline"
    echo "wrote $baseline ($(wc -l < "$baseline") entries)"
    exit 0
fi
if ! diff -u "$baseline" "$out/current.txt" > "$out/diff.txt"; then
    echo "the C ABI differs from $baseline (- baseline, + now):"
    grep -E '^[-+][a-z]' "$out/diff.txt"
    echo "a removed function or a changed struct size breaks callers: bump SCORE_VERSION_MAJOR"
    echo "(MINOR before 1.0) and the SONAME in Package.swift; an added function: bump SCORE_VERSION_MINOR (PATCH before 1.0); then run $0 --update"
    exit 1
fi
echo "C ABI matches $baseline ($(grep -c '^function' "$baseline") functions, $(grep -c '^struct' "$baseline") structs)"
