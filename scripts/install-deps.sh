#!/usr/bin/env bash
# Install the Debian packages wva-optimizer needs to build and test, when
# they are missing.  Used by scripts/demo.sh and scripts/test.sh.
#   --runtime  only what building and running needs (no test servers)
set -euo pipefail

# Building the program; cmocka is only for `make check` (a test package).
build_packages=(build-essential autoconf automake pkg-config
    libcurl4-openssl-dev libjson-c-dev libyaml-dev libglpk-dev libsqlite3-dev)
test_packages=(libcmocka-dev python3 python3-yaml python3-pip openssl prometheus prometheus-pushgateway valgrind curl groff-base clang libclang-rt-14-dev)

packages=("${build_packages[@]}")
if [ "${1:-}" != "--runtime" ]; then
    packages+=("${test_packages[@]}")
fi

# Python packages of the simulator (scripts/simulate) for the interpreter
# the scripts run (python3 on PATH, which may not be Debian's): PyYAML for
# its inputs, matplotlib for its plots.
python_modules() {
    [ "${1:-}" = "--runtime" ] && return 0
    command -v python3 >/dev/null || return 0
    python3 -c 'import yaml, matplotlib' 2>/dev/null && return 0
    echo "installing Python packages for scripts/simulate: pyyaml matplotlib" >&2
    python3 -m pip install --quiet pyyaml matplotlib 2>/dev/null ||
        python3 -m pip install --quiet --break-system-packages pyyaml matplotlib ||
        { echo "could not pip install pyyaml matplotlib for $(command -v python3)" >&2; return 1; }
}

# The tests against a real kube-apiserver (scripts/realkube.sh) build
# Kubernetes from its Go modules: they need Go >= 1.26 and the Go module
# proxy.  Go is not installed from here (no Debian package is new enough).
if [ "${1:-}" != "--runtime" ]; then
    if ! command -v go >/dev/null 2>&1; then
        echo "install-deps: go is not installed; the real kube-apiserver tests need Go >= 1.26" \
            "(scripts/realkube.sh builds Kubernetes from its Go modules)" >&2
        exit 1
    fi
    gov=$(go env GOVERSION 2>/dev/null || true)
    case "$gov" in
    go1.2[6-9]* | go1.[3-9][0-9]* | go[2-9]*) ;;
    *)
        echo "install-deps: ${gov:-an unknown Go} is too old; the real kube-apiserver tests need Go >= 1.26" >&2
        exit 1
        ;;
    esac
fi

missing=()
for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done
if [ ${#missing[@]} -eq 0 ]; then
    python_modules "${1:-}"
    exit 0
fi

echo "installing missing Debian packages: ${missing[*]}" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "run as root or install: ${missing[*]}" >&2; exit 1; }
    sudo=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
python_modules "${1:-}"
