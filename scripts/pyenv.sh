#!/usr/bin/env bash
# Makes the Python virtual environment of the tests that use real outside
# programs from PyPI (supervisor's supervisorctl and supervisord,
# superlance's listeners, prometheus-client's parser):
#
#   scripts/pyenv.sh [DIR]      (default target/pyenv)
#
# Marks it complete with DIR/.sv-complete; does nothing when it is there.
# scripts/ci.sh runs it before the tests; tests/common/python.rs runs it
# when a test needs the venv and it is missing. Exits 1 with the reason
# when python3 or the package index is not there (the tests then skip).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
dir=${1:-target/pyenv}
packages=(supervisor superlance prometheus-client)

if [[ -e "$dir/.sv-complete" ]]; then
    exit 0
fi
# The system's interpreter where there is one: any user may run it, so a
# test can run the real supervisord as another user (a pyenv's python under
# /root cannot be).
python=/usr/bin/python3
[[ -x "$python" ]] || python=$(command -v python3 || true)
if [[ -z "$python" ]]; then
    echo "pyenv: python3 not found" >&2
    exit 1
fi
"$python" -m venv "$dir"
"$dir/bin/pip" install --quiet --disable-pip-version-check "${packages[@]}" </dev/null
touch "$dir/.sv-complete"
echo "pyenv: $dir has ${packages[*]}"
