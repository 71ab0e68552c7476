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

for version in $SUPPORTED_PYTHONS; do
    start=$(date +%s)
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
    dir="$work/$tag"
    mkdir -p "$dir"
    cp "$SMOKE_TEST" "$dir/"
    printf '[pytest]\nfilterwarnings = error\ntimeout = 60\naddopts = -p no:cacheprovider\n' >"$dir/pytest.ini"
    echo "wheel smoke: CPython $version ($python): $(basename "${wheels[0]}")"
    clean_env=(env -i "HOME=$HOME" "PATH=$dir/venv/bin:$work/bin" "LANG=C.UTF-8" "TMPDIR=${TMPDIR:-/tmp}"
        PIP_DISABLE_PIP_VERSION_CHECK=1)
    if ! (
        set -e
        cd "$dir"
        "${clean_env[@]}" "$python" -m venv venv
        "${clean_env[@]}" venv/bin/python -m pip install -q --only-binary :all: \
            "$REPO/${wheels[0]}" "pytest>=8" "pytest-timeout>=2.3" "uvloop>=0.19"
        "${clean_env[@]}" JANUS_FAST_SMOKE_REPO="$REPO" venv/bin/python -m pytest -q \
            --rootdir "$dir" -c "$dir/pytest.ini" "$dir/test_wheel_smoke.py"
    ); then
        failures+=("CPython $version: the smoke failed (output above)")
    fi
    timings+=("CPython $version: $(( $(date +%s) - start )) s")
done

if [ ${#timings[@]} != 0 ]; then printf 'wheel smoke: %s\n' "${timings[@]}"; fi
if [ ${#failures[@]} != 0 ]; then
    printf 'wheel smoke: FAILED: %s\n' "${failures[@]}" >&2
    exit 1
fi
echo "wheel smoke: ok ($SUPPORTED_PYTHONS)"
