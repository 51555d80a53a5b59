#!/bin/sh
# install-test.sh BUILD SRC - loom as others get it: `cmake --install`
# into a temporary prefix; the installed tree's files; only loom_ symbols
# exported from libloom.so; examples/consumer built against the prefix
# once with find_package(loom) and once with pkg-config, both run, their
# outputs equal to `loom run`'s; the installed CLI runs from the prefix;
# the .deb (cpack) holds the same files and names Debian packages in its
# Depends line.
set -eu
build=$(cd "$1" && pwd) src=$(cd "$2" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/loom-install-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() { echo "install-test: FAILED: $*" >&2; exit 1; }

cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
cd "$tmp/prefix"
libdir=$(dirname "$(find . -name 'libloom.so.0' | head -1)")
[ -n "$libdir" ] || fail "no libloom.so.0 installed"
for f in bin/loom include/loom/loom.h include/loom/kernel-abi.h include/loom/version.h \
         "$libdir/libloom.a" "$libdir/libloom.so" "$libdir/cmake/loom/loomConfig.cmake" \
         "$libdir/cmake/loom/loomConfigVersion.cmake" "$libdir/pkgconfig/loom.pc" \
         share/loom/boards/u250.json share/bash-completion/completions/loom; do
    [ -e "$f" ] || fail "$f is not installed"
done
echo "installed: $(find . -type f -o -type l | wc -l) files under the prefix"
# the exported symbols: loom_ only (the version node LOOM_0 is not a symbol)
others=$(nm -D --defined-only "$libdir/libloom.so" | awk '$2 != "A" {print $3}' | grep -v '^loom_' || true)
[ -z "$others" ] || fail "libloom.so exports symbols beside loom_: $(echo $others | head -c 300)"
echo "libloom.so exports $(nm -D --defined-only "$libdir/libloom.so" | awk '$2 != "A"' | wc -l) symbols, all loom_"
soname=$(readelf -d "$libdir/libloom.so" | sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p')
[ "$soname" = libloom.so.0 ] || fail "SONAME is '$soname'"

model=$src/examples/classifier/classifier.onnx
# x.npy: float32[1,10] of 0.5, written byte by byte (NumPy's format 1.0)
hdr="{'descr': '<f4', 'fortran_order': False, 'shape': (1, 10), }"
pad=$(( (64 - (10 + ${#hdr} + 1) % 64) % 64 ))
hl=$(( ${#hdr} + pad + 1 ))
{
    printf '\223NUMPY\001\000'
    printf "\\$(printf %03o $((hl % 256)))\\$(printf %03o $((hl / 256)))"
    printf '%s%*s\n' "$hdr" "$pad" ''
    for i in 1 2 3 4 5 6 7 8 9 10; do printf '\000\000\000\077'; done
} >"$tmp/x.npy"
# the consumer through the CMake package
cmake -S "$src/examples/consumer" -B "$tmp/cmake-consumer" -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
cmake --build "$tmp/cmake-consumer" >/dev/null
# and through pkg-config
PKG_CONFIG_PATH=$tmp/prefix/$libdir/pkgconfig
export PKG_CONFIG_PATH
cc -o "$tmp/pc-consumer" "$src/examples/consumer/consumer.c" $(pkg-config --cflags --libs loom) \
    -Wl,-rpath,"$tmp/prefix/$libdir"
[ "$(pkg-config --modversion loom)" = "$("$tmp/prefix/bin/loom" --version | cut -d' ' -f2)" ] || fail "pkg-config version"
a=$("$tmp/cmake-consumer/consumer" "$model" 0.5)
b=$("$tmp/pc-consumer" "$model" 0.5)
[ "$a" = "$b" ] || fail "the two consumers differ: '$a' vs '$b'"
# the same values as the installed CLI on the same input (0.5 everywhere)
cli=$("$tmp/prefix/bin/loom" run "$model" -i "$tmp/x.npy" | sed -n '2s/^ *//p')
got=$(echo "$a" | sed -n 's/^probability: //p')
[ -n "$cli" ] && [ "$cli" = "$got" ] || fail "consumer '$got' vs loom run '$cli'"
echo "consumers (CMake package, pkg-config) and the installed CLI agree: $a" | tr '\n' ' '; echo

# the .deb
cd "$build"
cpack -G DEB -B "$tmp/deb" >/dev/null
deb=$(ls "$tmp"/deb/loom_*.deb)
dpkg-deb -c "$deb" >"$tmp/deb-files.txt"
grep -q '/bin/loom$' "$tmp/deb-files.txt" || fail ".deb lacks bin/loom"
grep -q '/libloom.so.0.1' "$tmp/deb-files.txt" || fail ".deb lacks the shared library"
grep -q '/include/loom/loom.h$' "$tmp/deb-files.txt" || fail ".deb lacks loom.h"
depends=$(dpkg-deb -f "$deb" Depends)
for pkg in libc6 libprotobuf-c1 libjansson4; do
    echo "$depends" | grep -q "$pkg" || fail "Depends lacks $pkg: $depends"
done
echo "$(basename "$deb"): $(grep -vc '/$' "$tmp/deb-files.txt") files; Depends: $depends"
