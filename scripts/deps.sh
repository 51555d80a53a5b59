# scripts/deps.sh - sourced by scripts/demo and scripts/test: install the
# Debian packages loom needs when they are missing (as root, or via sudo).
#
#   loom_install_deps demo|test|bench|models

LOOM_DEPS_DEMO="gcc libc6-dev make cmake pkg-config protobuf-c-compiler libprotobuf-c-dev libonnx-dev libjansson-dev ocl-icd-opencl-dev opencl-headers pocl-opencl-icd"
# tests add Criterion, clang's libFuzzer, Verilator (+ g++) for rtl/ and sim/,
# libxrt-dev so that the xrt device is built and its plumbing tested, Debian's
# Python with numpy, pytest and venv for the Python package, dpkg-dev for the
# .deb (CPack's dependency line), help2man for the man page, and Slurm with
# munge for loom dse's job-array sweep (tests/slurm-sweep.sh), Icarus Verilog
# for the scratchpad equivalence test, yosys for loom dse's resources, and
# Chart.js with Chromium for its report page (drawn in a headless browser)
LOOM_DEPS_TEST="$LOOM_DEPS_DEMO libcriterion-dev clang-14 libclang-rt-14-dev verilator g++ zlib1g-dev libxrt-dev uuid-dev python3-numpy python3-pytest python3-venv python3-setuptools dpkg-dev help2man slurm-wlm munge iverilog yosys libjs-chart.js chromium"
# benchmarks only (bench/): OpenBLAS and CLBlast as peers; for
# real_models.py also Debian's torch and torchvision (they write the models
# and are the PyTorch peer) and venv (ONNX Runtime's)
LOOM_DEPS_BENCH="$LOOM_DEPS_DEMO libopenblas-dev libclblast-dev"
LOOM_DEPS_MODELS="$LOOM_DEPS_DEMO python3-torch python3-torchvision python3-venv"

loom_install_deps() {
    local want missing="" pkg sudo=""
    case "$1" in
        demo) want=$LOOM_DEPS_DEMO ;;
        test) want=$LOOM_DEPS_TEST ;;
        bench) want=$LOOM_DEPS_BENCH ;;
        models) want=$LOOM_DEPS_MODELS ;;
        *) echo "loom_install_deps: demo, test, bench or models" >&2; return 2 ;;
    esac
    for pkg in $want; do
        if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
            missing="$missing $pkg"
        fi
    done
    [ -z "$missing" ] && return 0
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1; then
            sudo=sudo
        else
            echo "loom: missing Debian packages:$missing" >&2
            echo "loom: run as root, or: apt-get install$missing" >&2
            return 1
        fi
    fi
    echo "loom: installing Debian packages:$missing" >&2
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
        $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
}

# Number of parallel build jobs: the cores we have, at most 8.
loom_jobs() {
    local n
    n=$(nproc 2>/dev/null || echo 2)
    [ "$n" -gt 8 ] && n=8
    echo "$n"
}
