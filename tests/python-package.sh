#!/bin/sh
# python-package.sh BUILD SRC CLI LIBRARY - the Python package as a user
# gets it: pip-installed (from a copy of python/, so the source tree stays
# clean) into a venv over Debian's Python, with the library built here,
# then its pytest suite. Skips (77) without Debian's python3-numpy,
# python3-pytest and python3-venv.
set -eu
build=$1 src=$2 cli=$3 lib=$4
py=/usr/bin/python3
if ! $py -c 'import numpy, pytest, setuptools, venv' 2>/dev/null; then
    echo "skipped: /usr/bin/python3 lacks numpy, pytest, setuptools or venv (apt-get install python3-numpy python3-pytest python3-setuptools python3-venv)"
    exit 77
fi
work=$build/python-package
rm -rf "$work"
mkdir -p "$work"
cp -r "$src/python" "$work/src"
$py -m venv --system-site-packages "$work/venv"
LOOM_SOURCE_ROOT=$src LOOM_PREBUILT_LIBRARY=$lib \
    "$work/venv/bin/pip" install -q --no-build-isolation --no-deps --no-index "$work/src"
cd "$work"  # the installed package is the one imported, not the source
LOOM_SOURCE_DIR=$src LOOM_CLI=$cli LOOM_INCLUDE_DIRS="$src/host/include:$build/host/include" \
    "$work/venv/bin/python" -m pytest -q -p no:cacheprovider "$work/src/tests"
