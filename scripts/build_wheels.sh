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
        interpreters+=("$path")
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
# Each interpreter rebuilds pyo3 and the crate, then a fat-LTO link on one core: with
# WHEEL_BUILD_JOBS=2 (default) the second half of the interpreters builds at the same time in its
# own target directory (it compiles the dependencies once more; its own lock, no waiting): four
# wheels took 53 s in a row, 38-40 s this way with that directory cold, on 2 cores. 1: one build.
jobs="${WHEEL_BUILD_JOBS:-2}"
count=${#interpreters[@]}
half=$(( jobs >= 2 && count >= 2 ? count / 2 : 0 ))
first=() second=()
for path in "${interpreters[@]:0:$(( count - half ))}"; do first+=(-i "$path"); done
for path in "${interpreters[@]:$(( count - half ))}"; do second+=(-i "$path"); done
other_pid=""
other_log="$(mktemp -t janus-fast-wheels.XXXXXX)"
trap 'rm -f "$other_log"' EXIT
if [ ${#second[@]} != 0 ]; then
    CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}/wheels-b" \
        "$MATURIN" build --release --quiet "${second[@]}" --out "$OUT" >"$other_log" 2>&1 &
    other_pid=$!
fi
status=0
"$MATURIN" build --release --quiet "${first[@]}" --out "$OUT" || status=$?
if [ -n "$other_pid" ]; then
    wait "$other_pid" || status=$?
    cat "$other_log" >&2
fi
if [ "$status" != 0 ]; then
    echo "wheels: a build failed (output above)" >&2
    exit "$status"
fi
"$MATURIN" sdist --out "$OUT"
echo "wheels: built in $(( $(date +%s) - start )) s:"
ls -1 "$OUT"/janus_fast-*
