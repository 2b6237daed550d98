"""The composite action's run step, executed the way the runner does (bash -eo pipefail) with a
stand-in foureyes: inputs reach the command as arguments, and exit codes map as documented."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ACTION = yaml.safe_load((Path(__file__).parents[1] / "action.yml").read_text())
SCRIPT = next(s for s in ACTION["runs"]["steps"] if s.get("id") == "run")["run"]


@pytest.fixture
def runner_temp(tmp_path):
    fake = tmp_path / "foureyes-venv" / "bin" / "foureyes"
    fake.parent.mkdir(parents=True)
    fake.write_text('#!/bin/sh\nfor a in "$@"; do echo "arg:$a"; done\nexit "${FAKE_RC:-0}"\n')
    fake.chmod(0o755)
    (fake.parent / "python").symlink_to(
        sys.executable
    )  # the step splits args with the venv's Python
    return tmp_path


def run(runner_temp, command, args="", rc=0, fail_on_pending="false"):
    env = dict(
        os.environ,
        RUNNER_TEMP=str(runner_temp),
        FOUREYES_COMMAND=command,
        FOUREYES_ARGS=args,
        FOUREYES_FORMAT="auto",
        FOUREYES_FAIL_ON_PENDING=fail_on_pending,
        FAKE_RC=str(rc),
    )
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", SCRIPT],
        env=env,
        capture_output=True,
        text=True,
    )


@pytest.mark.parametrize(
    "command, rc, fail_on_pending, expected",
    [
        ("gate", 0, "false", 0),
        ("gate", 1, "false", 0),
        ("gate", 1, "true", 1),
        ("gate", 2, "false", 2),
        ("validate", 1, "false", 1),
        ("deploy", 1, "false", 1),
        ("timeout", 2, "false", 2),
    ],
)
def test_exit_codes(runner_temp, command, rc, fail_on_pending, expected):
    assert run(runner_temp, command, rc=rc, fail_on_pending=fail_on_pending).returncode == expected


def test_arguments_are_words_not_code(runner_temp):
    result = run(runner_temp, "plan", args="--base main; touch /tmp/pwned $(id)")
    assert "arg:main;" in result.stdout and "arg:$(id)" in result.stdout
    assert result.returncode == 0


def test_quoted_arguments_stay_one_word(runner_temp):
    result = run(
        runner_temp,
        "inventory",
        args="--policy 'candidate policy.yaml' --since \"30 days\" --last=2",
    )
    assert result.stdout.splitlines()[1:] == [
        "arg:--policy",
        "arg:candidate policy.yaml",
        "arg:--since",
        "arg:30 days",
        "arg:--last=2",
    ]
    assert result.returncode == 0


def test_no_arguments_pass_no_empty_word(runner_temp):
    assert run(runner_temp, "timeout").stdout.splitlines() == ["arg:timeout"]


def test_unbalanced_quotes_are_an_error_not_a_guess(runner_temp):
    result = run(runner_temp, "plan", args="--base 'main")
    assert result.returncode == 2 and "::error title=foureyes::the args input" in result.stdout
    assert "arg:" not in result.stdout


def test_unknown_command_is_refused(runner_temp):
    result = run(runner_temp, "rm")
    assert result.returncode == 2 and "unknown command 'rm'" in result.stdout


# --- the install step: the extras input picks hash locks, nothing else -------------------------

INSTALL = next(s for s in ACTION["runs"]["steps"] if s.get("name", "").startswith("Install"))["run"]
ACTION_ROOT = Path(__file__).parents[1]


def install(tmp_path, extras):
    """The install step with a stand-in `python` whose venv's pip records its arguments."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    log = tmp_path / "pip.log"
    (bin_dir / "python").write_text(
        "#!/bin/sh\n# python -m venv DIR: a venv whose python logs every pip call\n"
        f'mkdir -p "$3/bin"; printf \'#!/bin/sh\\necho "$*" >> {log}\\n\' > "$3/bin/python"; '
        'chmod +x "$3/bin/python"\n'
    )
    (bin_dir / "python").chmod(0o755)
    env = dict(
        os.environ,
        RUNNER_TEMP=str(tmp_path),
        ACTION_PATH=str(ACTION_ROOT),
        FOUREYES_EXTRAS=extras,
        PATH=f"{bin_dir}:{os.environ['PATH']}",
    )
    done = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", INSTALL],
        env=env,
        capture_output=True,
        text=True,
    )
    return done, (log.read_text().splitlines() if log.exists() else [])


def test_an_extra_is_installed_from_its_hash_lock(tmp_path):
    done, calls = install(tmp_path, "mlflow")
    assert done.returncode == 0, done.stderr
    locks = (
        f"-r {ACTION_ROOT}/requirements/action.txt -r {ACTION_ROOT}/requirements/action-mlflow.txt"
    )
    assert calls[0].endswith(f"install --require-hashes {locks}")
    assert "--no-deps --no-build-isolation --no-index" in calls[1]


def test_no_extras_installs_the_base_lock_only(tmp_path):
    done, calls = install(tmp_path, "")
    assert done.returncode == 0, done.stderr
    assert calls[0].endswith(f"install --require-hashes -r {ACTION_ROOT}/requirements/action.txt")


def test_changed_extras_reinstall_the_venv(tmp_path):
    install(tmp_path, "")
    done, calls = install(tmp_path, "mlflow")
    assert done.returncode == 0 and any("action-mlflow.txt" in c for c in calls)


@pytest.mark.parametrize(
    "extras", ["nosuch", "../action", "mlflow[all]", "mlflow,test", "--index-url=http://evil"]
)
def test_an_extra_without_a_lock_is_refused_before_any_install(tmp_path, extras):
    """An extra is a lock file's name, never a requirement pip would resolve (an unpinned package, a
    path, an index option): anything else stops the step before pip runs."""
    done, calls = install(tmp_path, extras)
    assert done.returncode == 2 and calls == []
    assert "::error title=foureyes::unknown extra" in done.stdout
