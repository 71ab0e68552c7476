# Sourced by build_wheels.sh and wheel_smoke.sh: the supported CPython versions and where they are.
# find_python X.Y prints the path of a CPython X.Y interpreter (pyenv's newest X.Y.*, then pythonX.Y
# on PATH), checked by running it; prints nothing and returns 1 when there is none.

SUPPORTED_PYTHONS="${SUPPORTED_PYTHONS:-3.10 3.11 3.12 3.13}"

_python_is() {  # _python_is PATH X.Y: PATH runs and is CPython X.Y
    [ -x "$1" ] || return 1
    local got
    got="$("$1" -c 'import sys, platform; print(platform.python_implementation(), "%d.%d" % sys.version_info[:2])' 2>/dev/null)" || return 1
    [ "$got" = "CPython $2" ]
}

find_python() {
    local version="$1" root candidate
    root="${PYENV_ROOT:-}"
    if [ -z "$root" ] && command -v pyenv >/dev/null 2>&1; then root="$(pyenv root 2>/dev/null || true)"; fi
    [ -n "$root" ] || root="$HOME/.pyenv"
    # Newest patch release first (3.10.13 before 3.10.9); skip virtualenvs and free-threaded builds.
    for candidate in $(ls -d "$root/versions/$version".* 2>/dev/null | grep -E "/$version\.[0-9]+$" | sort -rV); do
        if _python_is "$candidate/bin/python$version" "$version"; then
            echo "$candidate/bin/python$version"
            return 0
        fi
    done
    candidate="$(command -v "python$version" 2>/dev/null || true)"
    if [ -n "$candidate" ] && _python_is "$candidate" "$version"; then
        # Resolve a pyenv shim to the interpreter it runs, so a changed pyenv version cannot move it.
        "$candidate" -c 'import sys; print(sys.executable)'
        return 0
    fi
    return 1
}
