#!/usr/bin/env bash
# Take a fresh Debian/Ubuntu machine (root, package registries only) to a working dev install:
# system packages (janus, build tools, ffmpeg for the Streaming media tests, kamailio and baresip
# as the SIP registrar/proxy and SIP peer of the SIP tests), a virtualenv in
# .venv, Python deps, the Rust extension.
# Idempotent: running it again only refreshes what changed.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive

need_apt=0
for bin in janus make cc pkg-config ffmpeg mosquitto rabbitmq-server kamailio baresip; do command -v "$bin" >/dev/null 2>&1 || need_apt=1; done
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || need_apt=1
if [ "$need_apt" = 1 ]; then
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends \
        janus build-essential pkg-config ca-certificates git ffmpeg mosquitto rabbitmq-server kamailio baresip \
        python3 python3-dev python3-venv python3-pip >/dev/null
fi
if ! command -v cargo >/dev/null 2>&1; then
    # Debian's toolchain is the only one reachable from package registries; pyo3 0.30 needs
    # rustc >= 1.85, so this works on Debian 13 (trixie) and later.
    $SUDO apt-get install -y -qq --no-install-recommends cargo rustc >/dev/null
fi

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q "maturin>=1.7,<2"
# Build the Rust extension (release) and install the package with its dev extras, editable
# (docs: MkDocs Material and mkdocstrings, for `make docs`).
.venv/bin/maturin develop --release -q --extras dev,bench,media,docs
# The wheel smoke (`make test`) installs a wheel on each supported CPython (3.10-3.13: pyenv's, or
# pythonX.Y on PATH). Those interpreters come with the machine; no package registry has them all,
# so setup only reports a missing one (the smoke then fails on it, never skips it).
source scripts/pythons.sh
missing=""
for version in $SUPPORTED_PYTHONS; do
    find_python "$version" >/dev/null || missing="$missing $version"
done
if [ -n "$missing" ]; then
    echo "setup: WARNING: no CPython$missing (pyenv or pythonX.Y on PATH): the wheel smoke of make test will fail" >&2
fi
echo "setup: ok ($(.venv/bin/python -c 'import janus_fast; print("janus_fast", janus_fast.__version__)'), $(janus --version 2>/dev/null | head -1))"
