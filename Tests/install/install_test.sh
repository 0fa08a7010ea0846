#!/usr/bin/env bash
# `make install PREFIX=DIR` gives a library that runs without the Swift toolchain: installs into a
# temporary prefix, builds the C examples with the installed score.pc, runs them (and score-cli)
# with the toolchain's folder hidden behind an empty one (a private mount namespace); installs the
# Python package into a fresh venv and uses it from another folder, toolchain hidden too; prints
# the installed sizes, then checks that `make uninstall` removes every installed file.
set -euo pipefail
cd "$(dirname "$0")/../.."

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
prefix="$work/prefix"
make -s install PREFIX="$prefix" > /dev/null

soname="$(make -s print-version | cut -d' ' -f2)"
lib="$prefix/lib/libscore.so"
test "$(readlink "$lib")" = "$soname" || { echo "libscore.so should link to $soname"; exit 1; }
readelf -d "$lib" | grep -q "SONAME.*\[$soname\]" || { echo "SONAME is not $soname"; exit 1; }

# Run-time dependencies: nothing of the Swift toolchain.
if ldd "$lib" | grep -Eqi 'swift|Foundation|dispatch|BlocksRuntime'; then
    echo "the installed library still needs Swift runtime libraries:"; ldd "$lib"; exit 1
fi

export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
for example in self_correct train_with_verifier; do
    cc -std=c99 -Wall -Wextra -Werror "examples/c/$example.c" $(pkg-config --cflags --libs score) -o "$work/$example"
done

# The toolchain's root: runtimeResourcePath is <root>/usr/lib/swift.
resources="$(swift -print-target-info | sed -n 's/.*"runtimeResourcePath": "\(.*\)".*/\1/p')"
toolchain="${resources%/usr/lib/swift}"
run_hidden() {
    mkdir -p "$work/empty"
    unshare -m sh -c 'mount --bind "$1" "$2" && shift 2 && exec "$@"' sh "$work/empty" "$toolchain" "$@"
}
if [ "$(id -u)" -eq 0 ] && unshare -m true 2> /dev/null; then
    run_hidden sh -c "test ! -e '$resources'" || { echo "could not hide $toolchain"; exit 1; }
    for example in self_correct train_with_verifier; do
        run_hidden env -u LD_LIBRARY_PATH "$work/$example" > "$work/$example.out"
    done
    run_hidden "$prefix/bin/score-cli" --version
    echo "examples and score-cli ran with $toolchain hidden"
else
    echo "not root or no mount namespaces: ran the examples with the toolchain visible (ldd showed no Swift library)"
    for example in self_correct train_with_verifier; do env -u LD_LIBRARY_PATH "$work/$example" > /dev/null; done
fi

# The Python package: pip builds the library and bundles it; a fresh venv imports it from another
# folder with no LIBSCORE_PATH and self-corrects with a tiny policy.
if ! python3 -m venv "$work/venv"; then  # Debian's Python keeps venv in its own package
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get install -y python3-venv || { $SUDO apt-get update && $SUDO apt-get install -y python3-venv; }
    python3 -m venv "$work/venv"
fi
"$work/venv/bin/pip" install -q ./bindings/python
cat > "$work/use_package.py" <<'PY'
import libscore
from libscore import _library
policy = libscore.Policy({"hidden_size": 64, "num_layers": 2, "num_heads": 4, "num_kv_heads": 2,
                          "intermediate_size": 128}, seed=1)
result = policy.self_correct("12+34=", max_new_tokens=4)
assert result.attempt1 and result.final_text, result
bundled = _library.candidate_paths()[0]
assert bundled.is_file() and "site-packages" in str(bundled), bundled
print(f"python: libscore {libscore.version()} from {bundled.parent.name}/{bundled.name}, self-corrected")
PY
if [ "$(id -u)" -eq 0 ] && unshare -m true 2> /dev/null; then
    (cd "$work" && run_hidden env -u LIBSCORE_PATH "$work/venv/bin/python" use_package.py)
else
    (cd "$work" && env -u LIBSCORE_PATH "$work/venv/bin/python" use_package.py)
fi

echo "installed sizes:"
du -h --apparent-size "$prefix/lib/libscore.so.$(make -s print-version | cut -d' ' -f1)" "$prefix/bin/score-cli" \
    "$prefix/include/score.h" "$work/venv/lib/python3"*/site-packages/libscore/libscore.so | sed 's/^/  /'

make -s uninstall PREFIX="$prefix" > /dev/null
left="$(find "$prefix" -type f -o -type l)"
test -z "$left" || { echo "make uninstall left: $left"; exit 1; }
echo "install ok"
