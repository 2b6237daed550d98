"""The workflow wiring of the deploy targets: the action's `extras` input on every step that loads a
target (validate, deploy), and each credential of `target.env` in the deploy steps' `env:` from its
GitHub secret. `foureyes init` writes it; `foureyes validate` checks the workflows still carry it,
so
a credential added to registry/environments.yaml is not silently missing from the job that
deploys."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import yaml

from ..registry.model import Environment, Problem

DEPLOY_WORKFLOW = ".github/workflows/foureyes-deploy.yml"
VALIDATE_WORKFLOW = ".github/workflows/foureyes-validate.yml"
# Which GitHub environment each deploy job runs in, as foureyes-deploy.yml's `environment:` decides
# it: a release's workflow_run deploys production, a push to the default branch staging. A job sees
# the secrets of its own environment and the repository's (GitHub docs, "Using secrets in GitHub
# Actions"), so one secret name per variable, set in each GitHub environment, is the plain set-up.
JOB_ENVIRONMENTS = {
    "production": "github.event_name == 'workflow_run'",
    "staging": "github.event_name != 'workflow_run'",
}
LOADS_TARGETS = {DEPLOY_WORKFLOW: ("deploy",), VALIDATE_WORKFLOW: ("validate",)}


def secret_expression(sources: dict[str, str]) -> str | None:
    """The `env:` value that gives a deploy job its environment's secret: ``sources`` maps an
    environment name to its secret (None: no deploy job runs in any of them). Each branch is guarded
    by its own job's condition and the last falls back to '', so an unset secret never lets another
    environment's secret through (an `a && x || y` would hand y to a's job when x is empty)."""
    wired = {env: secret for env, secret in sources.items() if env in JOB_ENVIRONMENTS}
    if not wired:
        return None
    if set(wired) == set(JOB_ENVIRONMENTS) and len(set(wired.values())) == 1:
        return f"${{{{ secrets.{next(iter(wired.values()))} }}}}"
    branches = " || ".join(
        f"{JOB_ENVIRONMENTS[env]} && secrets.{secret}" for env, secret in sorted(wired.items())
    )
    return f"${{{{ {branches} || '' }}}}"


def expected(environments: Sequence[Environment]) -> tuple[str, dict[str, str]]:
    """(extras as the action input reads them, {variable: env value}) for these environments."""
    from ..deploy.target_env import credentials, needed_extras

    values = {
        name: secret_expression(sources) for name, sources in credentials(environments).items()
    }
    return " ".join(needed_extras(environments)), {
        name: value for name, value in values.items() if value
    }


def render(text: str, workflow: str, environments: Sequence[Environment]) -> str:
    """``text`` (a bundled workflow) with the wiring of ``environments`` added."""
    commands = LOADS_TARGETS.get(workflow)
    if not commands:
        return text
    extras, env = expected(environments)
    if extras:
        text = re.sub(
            rf"(?m)^([ \t]+)command: ({'|'.join(commands)})\n",
            lambda m: f"{m.group(0)}{m.group(1)}extras: {extras}\n",
            text,
        )
    if env and workflow == DEPLOY_WORKFLOW:
        # the deploy steps' env: block opens with the Slack webhook; the credentials follow it
        text = re.sub(
            r"(?m)^([ \t]+)FOUREYES_SLACK_WEBHOOK_URL: .*\n",
            lambda m: (
                m.group(0)
                + "".join(f"{m.group(1)}{name}: {value}\n" for name, value in sorted(env.items()))
            ),
            text,
        )
    return text


def problems(
    read: Callable[[str], bytes | None], environments: Sequence[Environment]
) -> list[Problem]:
    """What the workflows lack of the wiring ``environments`` need: ``read(path)`` gives a file's
    bytes
    (None: absent, nothing to check). One problem per step and missing piece, at the step's line."""
    extras, env = expected(environments)
    found = []
    for workflow, commands in LOADS_TARGETS.items():
        data = read(workflow)
        if data is None:
            continue
        text = data.decode("utf-8", "replace")
        try:
            doc = yaml.safe_load(text)
        except yaml.YAMLError as exc:  # what cannot be read cannot be shown to pass the credentials
            mark = getattr(exc, "problem_mark", None)
            found.append(
                Problem(
                    workflow,
                    f"not valid YAML, so foureyes cannot check that it passes what the targets "
                    f"in registry/environments.yaml need: {getattr(exc, 'problem', None) or exc}",
                    mark.line + 1 if mark else None,
                    None,
                    "target wiring",
                )
            )
            continue
        for job_id, step, line in _action_steps(doc, text):
            inputs = step.get("with") or {}
            if inputs.get("command") not in commands:
                continue
            where = f"job {job_id!r}, step {step.get('name') or inputs.get('command')!r}"
            have = set(str(inputs.get("extras") or "").split())
            for extra in extras.split():
                if extra not in have:
                    found.append(
                        Problem(
                            workflow,
                            f"{where}: the foureyes action lacks `extras: {extras}`, which the "
                            f"targets in registry/environments.yaml need (add it to `with:`, or "
                            f"re-run `foureyes init --force`)",
                            line,
                            None,
                            "target wiring",
                        )
                    )
                    break
            if inputs.get("command") != "deploy":
                continue
            step_env = step.get("env") or {}
            for name, value in sorted(env.items()):
                if str(step_env.get(name, "")).strip() != value:
                    found.append(
                        Problem(
                            workflow,
                            f"{where}: registry/environments.yaml names the credential {name}, "
                            f"and this step does not pass it as foureyes init writes it (add "
                            f"`{name}: {value}` to its `env:`)",
                            line,
                            None,
                            "target wiring",
                        )
                    )
    return found


def _action_steps(doc: Any, text: str) -> Iterator[tuple[str, dict, int | None]]:
    """(job id, step, line) of each step of each job, the line found by the step's name or command."""
    lines = text.splitlines()
    for job_id, job in ((doc or {}).get("jobs") or {}).items() if isinstance(doc, dict) else ():
        for step in (job or {}).get("steps") or ():
            if isinstance(step, dict):
                yield job_id, step, _line(lines, step)


def _line(lines: list[str], step: dict) -> int | None:
    name = step.get("name")
    for i, line in enumerate(lines, 1):
        if name and line.strip() in (f"- name: {name}", f"name: {name}"):
            return i
    return None
