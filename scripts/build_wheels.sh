#!/usr/bin/env bash
# `make wheels`: a release wheel for each supported CPython found (pyenv, or pythonX.Y on PATH) and
# an sdist, into dist/ (old janus_fast files there are removed first). A version that is not found
# is reported and skipped here; the wheel smoke (scripts/wheel_smoke.sh) fails on it.
# One wheel per interpreter (not abi3): CONTRIBUTING.md "Wheels" gives the build times and the core's cost.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/pythons.sh

MATURIN="${MATURIN:-.venv/bin/maturin}"
OUT="${WHEEL_DIR:-dist}"
interpreters=()
for version in $SUPPORTED_PYTHONS; do
    if path="$(find_python "$version")"; then
        interpreters+=(-i "$path")
    else
        echo "wheels: no CPython $version found (pyenv or python$version on PATH): no wheel for it" >&2
    fi
done
if [ ${#interpreters[@]} = 0 ]; then
    echo "wheels: no supported CPython found" >&2
    exit 1
fi
mkdir -p "$OUT"
rm -f "$OUT"/janus_fast-*.whl "$OUT"/janus_fast-*.tar.gz
start=$(date +%s)
"$MATURIN" build --release --quiet "${interpreters[@]}" --out "$OUT"
"$MATURIN" sdist --out "$OUT"
echo "wheels: built in $(( $(date +%s) - start )) s:"
ls -1 "$OUT"/janus_fast-*
