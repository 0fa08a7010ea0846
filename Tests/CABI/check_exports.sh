#!/usr/bin/env bash
# Checks that libscore.so exports exactly the functions score.h declares: no declared entry point
# missing, and nothing else (such as the Swift engine's own symbols) leaking into the C ABI.
#
# Usage: Tests/CABI/check_exports.sh path/to/libscore.so include/score.h
#
# Prints the differences and exits 1 when the two sets differ (2 on a usage error).
set -euo pipefail

if [ $# -ne 2 ]; then
    echo "usage: $0 path/to/libscore.so path/to/score.h" >&2
    exit 2
fi
lib=$1
header=$2
[ -f "$lib" ] || { echo "$0: no such library: $lib" >&2; exit 2; }
[ -f "$header" ] || { echo "$0: no such header: $header" >&2; exit 2; }
command -v nm >/dev/null || { echo "$0: nm (binutils) is needed" >&2; exit 2; }
export LC_ALL=C

# Declared: score.h writes each declaration as "SCORE_API <type> <name>(" on one line; the name
# is the identifier right before the first "(".
api_lines=$(grep -cE '^[[:space:]]*SCORE_API[[:space:]]' "$header" || true)
declared=$(sed -n 's/^[[:space:]]*SCORE_API[[:space:]][^(]*[^A-Za-z0-9_]\([A-Za-z_][A-Za-z0-9_]*\)[[:space:]]*(.*/\1/p' "$header" | sort -u)
declared_count=$(printf '%s\n' "$declared" | grep -c . || true)
if [ "$declared_count" -ne "$api_lines" ]; then
    echo "$0: $api_lines SCORE_API lines in $header but $declared_count function names parsed;" \
         "a declaration is not of the form \"SCORE_API <type> <name>(\" on one line" >&2
    exit 2
fi
if [ "$declared_count" -eq 0 ]; then
    echo "$0: no SCORE_API declaration in $header" >&2
    exit 2
fi

# Exported: the defined dynamic symbols with global or weak binding that are functions or data
# (nm types T D B R G S, W w V v for weak, i for indirect functions, u for unique globals). Left out:
#   - local symbols (lowercase t d b r g s): a version script's "local: *" can leave some in the
#     dynamic table (Swift type metadata, for instance) but nothing outside the library can bind
#     to them, so they are not part of the interface;
#   - type A (absolute) symbols: with a version script these are the version nodes themselves
#     (e.g. "LIBSCORE_0"), not code or data;
#   - _init, _fini, __bss_start, _edata, _end, __bss_end__, _bss_end__, __end__, __end: markers and
#     hooks the linker adds to every shared object on some toolchains; a C caller cannot use them
#     and they say nothing about the library's interface.
# A version suffix ("name@@LIBSCORE_0") is dropped.
exported=$(nm -D --defined-only "$lib" |
    awk 'NF >= 3 && $2 ~ /^[TDBRGSWwVviu]$/ { print $3 } NF == 2 && $1 ~ /^[TDBRGSWwVviu]$/ { print $2 }' |
    sed 's/@.*//' |
    grep -vxE '_init|_fini|__bss_start|_edata|_end|__bss_end__|_bss_end__|__end__|__end' |
    sort -u || true)

missing=$(comm -23 <(printf '%s\n' "$declared") <(printf '%s\n' "$exported"))
extra=$(comm -13 <(printf '%s\n' "$declared") <(printf '%s\n' "$exported"))

status=0
if [ -n "$missing" ]; then
    echo "declared in $header but not exported by $lib ($(printf '%s\n' "$missing" | wc -l)):"
    printf '%s\n' "$missing" | sed 's/^/    /'
    status=1
fi
if [ -n "$extra" ]; then
    count=$(printf '%s\n' "$extra" | wc -l)
    echo "exported by $lib but not declared in $header ($count):"
    printf '%s\n' "$extra" | head -n 40 | sed 's/^/    /'
    if [ "$count" -gt 40 ]; then echo "    ... and $((count - 40)) more"; fi
    status=1
fi
if [ "$status" -eq 0 ]; then
    echo "ok: $lib exports exactly the $declared_count functions of $header"
fi
exit $status
