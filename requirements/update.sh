#!/usr/bin/env bash
# Regenerates the hash-locked installs from pyproject.toml: after changing a dependency, or to take
# new releases (pass --upgrade, or --upgrade-package NAME). Needs uv (pip install uv); review the diff
# as you would code, since these files decide what runs beside a token with merge rights.
#   action.txt  what the action installs (--require-hashes): the runtime dependencies and the build backend
#   ci.txt      the same pins plus the test and mlflow extras: what .ci/run and the README's test command install
set -euo pipefail
cd "$(dirname "$0")/.."
common=(--universal --python-version 3.11 --generate-hashes --quiet
        --custom-compile-command "bash requirements/update.sh")
uv pip compile pyproject.toml requirements/build.in "${common[@]}" "$@" -o requirements/action.txt
uv pip compile pyproject.toml requirements/build.in --all-extras --constraint requirements/action.txt \
    "${common[@]}" "$@" -o requirements/ci.txt
