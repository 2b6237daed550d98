#!/usr/bin/env bash
# Regenerates the hash-locked installs from pyproject.toml: after changing a dependency, or to take
# new releases (pass --upgrade, or --upgrade-package NAME). Needs uv (pip install uv); review the diff
# as you would code, since these files decide what runs beside a token with merge rights.
#   action.txt  what the action installs (--require-hashes): the runtime dependencies and the build backend
#   action-mlflow.txt  what the action adds for `extras: mlflow` (the mlflow target): the action.txt
#               pins plus the extra's packages, installed on top with --require-hashes
#   ci.txt      the same pins plus the test and mlflow extras: what .ci/run and the README's test command install
#   mlflow-server.txt  the tests' own MLflow server (full `mlflow`, from mlflow-server.in): tests/e2e
#               build a venv from it to run `mlflow server`; never installed by the action or ci.txt
set -euo pipefail
cd "$(dirname "$0")/.."
common=(--universal --python-version 3.11 --generate-hashes --quiet
        --custom-compile-command "bash requirements/update.sh")
uv pip compile pyproject.toml requirements/build.in "${common[@]}" "$@" -o requirements/action.txt
# one lock per runtime extra a target needs (not `test`): the action's `extras` input picks them; the
# constraint keeps every pin the two share equal, so installing both never changes a base package
uv pip compile pyproject.toml requirements/build.in --extra mlflow --constraint requirements/action.txt \
    "${common[@]}" "$@" -o requirements/action-mlflow.txt
uv pip compile pyproject.toml requirements/build.in --all-extras --constraint requirements/action.txt \
    "${common[@]}" "$@" -o requirements/ci.txt
# the e2e suite's MLflow server: the full mlflow package (the server mlflow-skinny lacks), kept out of
# the product's dependencies; constrained by the extra's lock so client and server share their pins
uv pip compile requirements/mlflow-server.in --constraint requirements/action-mlflow.txt \
    "${common[@]}" "$@" -o requirements/mlflow-server.txt
