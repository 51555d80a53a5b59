#!/bin/sh
# onnx-conformance.sh BUILD LOOM FLOOR [ARGS...] - ONNX's own node
# conformance cases (and its "light" model-zoo networks) through loom run.
# The onnx package comes from PyPI into a venv under BUILD (a test-only
# dependency, never loom's); the cases are written at test time from
# onnx.backend.test.case.node into BUILD/onnx-conformance, never committed.
# Fails on any wrong answer or crash, and when fewer than FLOOR node cases
# pass (tests/onnx_conformance.py). Skips (77) when the venv cannot be made
# or the package cannot be installed (no python3-venv, no index reachable).
set -eu
build=$1 loom=$2 floor=$3
shift 3
here=$(cd "$(dirname "$0")" && pwd)
venv=$build/onnx-venv
onnx_version=1.23.2
if ! "$venv/bin/python" -c "import onnx, sys; sys.exit(onnx.__version__ != '$onnx_version')" 2>/dev/null; then
    rm -rf "$venv"
    if ! /usr/bin/python3 -m venv "$venv" >/dev/null 2>&1; then
        echo "skipped: /usr/bin/python3 -m venv failed (apt-get install python3-venv)"
        exit 77
    fi
    if ! "$venv/bin/pip" install -q --disable-pip-version-check "onnx==$onnx_version"; then
        echo "skipped: pip could not install onnx==$onnx_version into $venv (is the package index reachable?)"
        rm -rf "$venv"
        exit 77
    fi
fi
exec "$venv/bin/python" "$here/onnx_conformance.py" --loom "$loom" \
    --work "$build/onnx-conformance" --floor "$floor" --timeout 180 "$@"
