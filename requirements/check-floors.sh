#!/usr/bin/env bash
# Runs the non-e2e suite at the lowest releases pyproject.toml allows for each direct dependency
# (`uv pip install --resolution lowest-direct`), in a throw-away virtual environment: a floor that
# is not true fails here. Needs uv (pip install uv). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="$(mktemp -d)/lowest"
trap 'rm -rf "$(dirname "$venv")"' EXIT
uv venv -q -p python3.11 "$venv"
VIRTUAL_ENV="$venv" uv pip install -q --resolution lowest-direct -e '.[test,mlflow]'
PATH="$venv/bin:$PATH" "$venv/bin/python" -m pytest -q -m 'not e2e' -p no:cacheprovider "$@"
