#!/usr/bin/env bash
# CI smoke from the wheels in dist/ (`make wheels`): for each supported CPython, a fresh virtualenv
# in a temporary directory gets the wheel (and pytest, pytest-timeout, uvloop) from binary wheels
# only, with no Rust toolchain or compiler on PATH, then runs tests/smoke/test_wheel_smoke.py there
# (copied, --rootdir the temporary directory, so the installed package is what is imported)
# against a real Janus, on asyncio and uvloop, over WebSocket and HTTP. The Janus fixtures come from
# the wheel's pytest11 entry point (janus_fast.testing.pytest_plugin), as in a user's project;
# the test asserts they are there (passing `-p` for the same module would register it twice).
# A supported version without an interpreter or without a wheel FAILS the run: nothing is skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/pythons.sh

REPO="$(pwd)"
DIST="${WHEEL_DIR:-dist}"
SMOKE_TEST="tests/smoke/test_wheel_smoke.py"
JANUS="${JANUS_BINARY:-$(command -v janus || true)}"
if [ -z "$JANUS" ] || [ ! -x "$JANUS" ]; then
    echo "wheel smoke: FAILED: no janus binary (\$JANUS_BINARY or PATH; scripts/setup.sh installs it)" >&2
    exit 1
fi

failures=()
timings=()
work="$(mktemp -d -t janus-fast-wheel-smoke.XXXXXX)"
trap 'rm -rf "$work"' EXIT

# The only programs the smoke may see: the venv's, janus, and the basic tools pip and the harness
# use. No cargo, rustc, cc: a wheel that needed building would fail here.
mkdir -p "$work/bin"
ln -s "$JANUS" "$work/bin/janus"
for tool in sh bash env uname ldconfig; do
    found="$(command -v "$tool" || true)"
    if [ -n "$found" ]; then ln -s "$found" "$work/bin/$tool"; fi
done

# One smoke per version, run side by side (WHEEL_SMOKE_JOBS at a time, default all): each waits
# mostly on venv creation, pip and Janus, so on 2 cores four together take about as long as two
# in a row. Each writes to its own log, printed in version order when it ends.
smoke_one() {  # smoke_one VERSION PYTHON WHEEL DIR: the whole smoke of one wheel (absolute path), in DIR
    local version="$1" python="$2" wheel="$3" dir="$4"
    mkdir -p "$dir"
    cp "$SMOKE_TEST" "$dir/"
    printf '[pytest]\nfilterwarnings = error\ntimeout = 60\naddopts = -p no:cacheprovider\n' >"$dir/pytest.ini"
    echo "wheel smoke: CPython $version ($python): $(basename "$wheel")"
    local clean_env=(env -i "HOME=$HOME" "PATH=$dir/venv/bin:$work/bin" "LANG=C.UTF-8" "TMPDIR=${TMPDIR:-/tmp}"
        PIP_DISABLE_PIP_VERSION_CHECK=1)
    cd "$dir"
    "${clean_env[@]}" "$python" -m venv venv
    "${clean_env[@]}" venv/bin/python -m pip install -q --only-binary :all: \
        "$wheel" "pytest>=8" "pytest-timeout>=2.3" "uvloop>=0.19"
    "${clean_env[@]}" JANUS_FAST_SMOKE_REPO="$REPO" venv/bin/python -m pytest -q \
        --rootdir "$dir" -c "$dir/pytest.ini" "$dir/test_wheel_smoke.py"
}

jobs_max="${WHEEL_SMOKE_JOBS:-4}"
[ "$jobs_max" -ge 1 ] 2>/dev/null || jobs_max=1
started_at="$(date +%s)"
pids=() versions=() running=()
finish() {  # finish INDEX: wait for that smoke, print its log, record its result and time
    local i="$1" tag="cp${versions[$1]/./}"
    if wait "${pids[$i]}"; then :; else failures+=("CPython ${versions[$i]}: the smoke failed (output above)"); fi
    cat "$work/$tag.log"
    timings+=("CPython ${versions[$i]}: $(( $(cat "$work/$tag.end") - $(cat "$work/$tag.start") )) s")
}
for version in $SUPPORTED_PYTHONS; do
    if ! python="$(find_python "$version")"; then
        failures+=("CPython $version: no interpreter found (looked in pyenv's versions/$version.* and for python$version on PATH)")
        continue
    fi
    tag="cp${version/./}"
    wheels=("$DIST"/janus_fast-*-"$tag"-"$tag"-*.whl)
    if [ ! -f "${wheels[0]}" ]; then
        failures+=("CPython $version: no $tag wheel in $DIST/ (run \`make wheels\`)")
        continue
    fi
    if [ ${#running[@]} -ge "$jobs_max" ]; then
        finish "${running[0]}"
        running=("${running[@]:1}")
    fi
    (
        set -e
        date +%s >"$work/$tag.start"
        trap 'date +%s >"$work/$tag.end"' EXIT
        smoke_one "$version" "$python" "$(realpath "${wheels[0]}")" "$work/$tag"
    ) >"$work/$tag.log" 2>&1 &
    pids+=($!)
    versions+=("$version")
    running+=($(( ${#pids[@]} - 1 )))
done
for i in "${running[@]}"; do finish "$i"; done
timings+=("all: $(( $(date +%s) - started_at )) s")

if [ ${#timings[@]} != 0 ]; then printf 'wheel smoke: %s\n' "${timings[@]}"; fi
if [ ${#failures[@]} != 0 ]; then
    printf 'wheel smoke: FAILED: %s\n' "${failures[@]}" >&2
    exit 1
fi
echo "wheel smoke: ok ($SUPPORTED_PYTHONS)"
