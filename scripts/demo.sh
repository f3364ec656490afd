#!/usr/bin/env bash
# Build wva-optimizer and replay the bundled example snapshot, printing the
# plan (a table; pass --output json for JSON).  Installs missing Debian
# packages first.  Example: scripts/demo.sh --output json
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --runtime
[ -x configure ] || autoreconf -fi >/dev/null
mkdir -p build-demo
cd build-demo
[ -f Makefile ] || ../configure -q
make -s -j2 wva-optimizer
exec ./wva-optimizer --from-file ../examples/demo-snapshot.json "$@"
