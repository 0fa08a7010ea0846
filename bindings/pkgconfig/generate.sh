#!/usr/bin/env bash
# Writes score.pc for a built libscore: generate.sh LIB_DIR [OUT_DIR]
#   LIB_DIR  the folder holding libscore.so and its SONAME link (e.g. `make -s print-bin-dir` after `make`)
#   OUT_DIR  where score.pc goes (default LIB_DIR)
# Then: PKG_CONFIG_PATH=OUT_DIR cc prog.c $(pkg-config --cflags --libs score)
# The rpath in Libs lets the program find libscore.so without LD_LIBRARY_PATH.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
lib_dir="$(cd "${1:?usage: generate.sh LIB_DIR [OUT_DIR]}" && pwd)"
out_dir="${2:-$lib_dir}"
header="$root/include/score.h"
version="$(sed -n 's/^#define SCORE_VERSION_\(MAJOR\|MINOR\|PATCH\) \([0-9]*\)$/\2/p' "$header" | paste -sd.)"
sed -e "s|@LIBDIR@|$lib_dir|" -e "s|@INCLUDEDIR@|$root/include|" -e "s|@VERSION@|$version|" \
    "$here/score.pc.in" > "$out_dir/score.pc"
echo "$out_dir/score.pc"
