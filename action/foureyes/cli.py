"""The click layer: parse options, call the core, pick a reporter. Nothing else.

Heavy modules (jsonschema, PyGithub) are imported inside the commands so `foureyes --help` is fast.
Exit codes: 0 ok/approved/valid, 1 the check failed, 2 usage, configuration or evaluation error.
"""

from __future__ import annotations

import contextlib
import functools
import sys
from datetime import UTC
from pathlib import Path
from typing import TYPE_CHECKING

import click

from .errors import EXIT_ERROR, EXIT_FAILED, EXIT_OK
from .repo import Repo

if TYPE_CHECKING:
    from .github.client import GitHubClient

FORMAT = click.option(
    "--format",
    "fmt",
    type=click.Choice(["auto", "text", "json", "github", "markdown"]),
    default="auto",
    show_default=True,
    help="Output format; auto is github inside GitHub Actions, text elsewhere.",
)

MATRIX_FORMAT = click.option(
    "--format",
    "fmt",
    type=click.Choice(["auto", "text", "json", "github", "markdown", "matrix"]),
    default="auto",
    show_default=True,
    help="Output format; matrix is a GitHub Actions job matrix of the deployments that change.",
)


def _now(text: str | None):
    """--now: the instant freeze windows are judged at (tests, what-ifs); default the clock."""
    from datetime import datetime

    if not text:
        return datetime.now(UTC)
    from .judging.freeze import parse_now

    try:
        return parse_now(text)
    except ValueError:
        raise click.BadParameter(
            f"{text!r}: expected an ISO 8601 time such as 2026-12-24T18:00:00Z", param_hint="--now"
        ) from None


NOW = click.option(
    "--now",
    "now_text",
    metavar="TIME",
    help="Judge freeze windows at this ISO 8601 time (default: now).",
)


def fail_closed(func):
    """Known errors become a one-line message and exit 2; an unexpected one too, never a traceback."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        from .errors import known_errors

        try:
            return func(*args, **kwargs)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except known_errors() as exc:
            _echo_err(f"foureyes: error: {exc}")
            hint = getattr(exc, "hint", None)
            if hint:
                _echo_err(f"hint: {hint}")
            sys.exit(getattr(exc, "exit_code", EXIT_ERROR))
        except Exception as exc:  # fail closed, but say what happened
            _echo_err(f"foureyes: internal error: {type(exc).__name__}: {exc}")
            sys.exit(EXIT_ERROR)

    return wrapper


def _echo_err(message: str) -> None:
    """An error message may quote user text: in Actions the stream guard (output.py) escapes it."""
    click.echo(message, err=True)


def _json_text(text: str) -> str:
    from .report.output import json_text

    return json_text(text)


class SetupError(click.ClickException):
    """Something the command needs is not there (a repository, a registry): exit 2, said plainly."""

    exit_code = EXIT_ERROR

    def show(self, file=None) -> None:
        _echo_err(f"foureyes: error: {self.format_message()}")


def repo_root(required: bool = True) -> Path:
    from .repo import toplevel

    root = toplevel(Path.cwd())
    if root is None and required:
        raise SetupError(
            f"{Path.cwd()} is not inside a git repository: run foureyes in the repository that "
            "holds registry/ (`foureyes init` sets one up)"
        )
    return root or Path.cwd()


def _need_repo(repo_name: str | None) -> None:
    """Not click's required=True: $GITHUB_REPOSITORY satisfies it, so --help must not say [required]."""
    if not repo_name:
        raise click.UsageError("give --repo owner/name (or set $GITHUB_REPOSITORY)")


def _unknown(kind: str, name: str, known, where: str = "") -> SetupError:
    """An unknown name is an error (exit 2) that offers the closest known one."""
    from .registry.model import unknown_name

    return SetupError(unknown_name(kind, name, known, where))


def _check_names(
    repo: Repo, env_name: str | None = None, deployment: str | None = None, ref: str = "HEAD"
) -> None:
    """Environment and deployment names must exist in the registry at ``ref``."""
    from .registry.model import DEPLOYMENTS_DIR, ENVIRONMENTS_FILE, parse_environments
    from .repo import GitTree, resolve, toplevel

    if (
        toplevel(repo.path) is None
    ):  # resolve/events with --record can run where there is no registry to ask
        return
    tree = GitTree(repo, resolve(repo, ref))
    if env_name:
        data = tree.read(ENVIRONMENTS_FILE)
        names = [e.name for e in parse_environments(data)] if data is not None else []
        if env_name not in names:
            raise _unknown("environment", env_name, names, ENVIRONMENTS_FILE)
    if deployment:
        names = [
            p.rsplit("/", 1)[1][:-5] for p in tree.list(DEPLOYMENTS_DIR) if p.endswith(".yaml")
        ]
        if deployment not in names:
            raise _unknown("deployment", deployment, names, DEPLOYMENTS_DIR)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="foureyes")
@click.pass_context
def main(ctx: click.Context) -> None:
    """foureyes: four-eyes approval for ML model deployments, the GitOps way."""
    from .report.output import guard_streams

    ctx.call_on_close(
        guard_streams()
    )  # in Actions no line foureyes prints can start a workflow command


@main.command()
@click.argument("paths", nargs=-1, type=click.Path())
@FORMAT
@fail_closed
def validate(paths: tuple[str, ...], fmt: str) -> None:
    """Check registry files against the schema and the organisation rules.

    PATHS are files or folders; default: the registry and policy of the repository you stand in.
    """
    from .registry.validate import targets
    from .registry.validate import validate as run
    from .registry.yamlload import LoadError
    from .report.reporters import reporter

    root = repo_root()
    try:
        files = targets(root, list(paths), Path.cwd())
    except LoadError as err:
        raise click.UsageError(str(err)) from None
    if not paths and not files:
        raise SetupError(
            f"no registry in {root}: registry/deployments/ and registry/environments.yaml are "
            "missing (`foureyes init` writes them)"
        )
    result = run(root, files)
    reporter(fmt).validation(result)
    sys.exit(EXIT_OK if result.ok else EXIT_FAILED)


@main.command()
@click.option(
    "--base", required=True, help="The ref the change goes into (its policy judges the change)."
)
@click.option("--head", default="HEAD", show_default=True, help="The ref with the change.")
@MATRIX_FORMAT
@fail_closed
def plan(base: str, head: str, fmt: str) -> None:
    """Show the events of a change and the approval it needs, by the policy at BASE."""
    from .judging.judgment import as_planned
    from .judging.plan import make_plan
    from .repo import default_branch
    from .report.reporters import reporter

    root = repo_root()
    repo = Repo(root)  # the command's session: what it reads of git
    result = as_planned(repo, make_plan(repo, base, head), base, default_branch(repo))
    reporter(fmt).plan(result)
    sys.exit(EXIT_FAILED if result.problems else EXIT_OK)


@main.command()
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False),
    default=None,
    help="Where to build the scratch repository (default: a new temporary folder).",
)
@fail_closed
def demo(directory: str | None) -> None:
    """Run the whole loop on a scratch repository, offline."""
    from .demo import run

    sys.exit(run(Path(directory) if directory else None))


@main.command()
@click.option(
    "--repo",
    "repo_name",
    envvar="GITHUB_REPOSITORY",
    help="owner/name (default: $GITHUB_REPOSITORY).",
)
@click.option("--pr", "number", type=int, help="PR number (default: from $GITHUB_EVENT_PATH).")
@click.option("--token", envvar="GITHUB_TOKEN", help="GitHub token (default: $GITHUB_TOKEN).")
@click.option(
    "--local",
    "local_file",
    type=click.Path(exists=True, dir_okay=False),
    help="Decide offline from a YAML file of PR facts instead of GitHub.",
)
@click.option("--base", help="With --local: the ref the PR goes into.")
@click.option("--head", default="HEAD", show_default=True, help="With --local: the PR's head ref.")
@click.option(
    "--app-slug",
    envvar="FOUREYES_APP_SLUG",
    help="The GitHub App the token belongs to (its bot user writes the sticky comment; "
    "default: github-actions[bot], the GITHUB_TOKEN's identity).",
)
@click.option(
    "--publish/--no-publish",
    default=True,
    show_default=True,
    help="On GitHub: set the status, the sticky comment and review requests.",
)
@click.option(
    "--which-pr",
    is_flag=True,
    help="Only name the PR the event is about (checked as the gate checks it, nothing posted) "
    "as the step output `pr`: the gate job's per-PR concurrency group.",
)
@NOW
@FORMAT
@fail_closed
def gate(
    repo_name, number, token, local_file, base, head, app_slug, publish, which_pr, now_text, fmt
) -> None:
    """Decide whether a PR has the approvals its change needs.

    Exit 0 approved, 1 pending or blocked, 2 error (never approved by mistake).
    """
    import json
    import os

    from .gate import EXIT_CODES, decide_local, decide_on_github
    from .report.reporters import reporter
    from .vocabulary import State

    root = repo_root()
    repo = Repo(root)  # the command's session: what it reads of git
    if local_file:
        if not base:
            raise click.UsageError("--local needs --base")
        result = decide_local(repo, Path(local_file), base, head, now=_now(now_text))
    else:
        event = {}
        if os.environ.get("GITHUB_EVENT_PATH"):
            with open(os.environ["GITHUB_EVENT_PATH"], encoding="utf-8") as fh:
                event = json.load(fh)
        number = number or (event.get("pull_request") or {}).get("number")
        from .github.client import make_client

        if not number and event.get("workflow_run") and repo_name:
            number = _pr_from_workflow_run(
                make_client(token), repo_name, event, token, publish and not which_pr
            )
        if not repo_name or not number:
            raise click.UsageError("give --repo and --pr (or run in a pull_request workflow)")
        if which_pr:
            from .report.reporters import set_outputs

            set_outputs({"pr": str(number)})
            click.echo(number)
            sys.exit(0)
        result = decide_on_github(
            repo,
            make_client(token),
            repo_name,
            number,
            event,
            publish,
            warn=_warn,
            token=token,
            app_slug=app_slug,
            now=_now(now_text),
        )
    from .gate import record_decision

    record = _local_record(root, None)
    try:
        record_decision(record, result)
    finally:
        record.close()
    reporter(fmt).gate(result)
    sys.exit(EXIT_CODES[State(result.decision.state)])


def _pr_from_workflow_run(
    gh: GitHubClient, repo_name: str, event: dict, token: str | None, publish: bool
) -> int:
    """The PR the review relay's run was about, checked against the API; on any failure the run's
    head gets an `error` status (never a stale success) and the gate exits 2."""
    from .errors import known_errors
    from .github.trigger import head_sha_of, pr_from_workflow_run

    try:
        return pr_from_workflow_run(gh, repo_name, event, token or "")
    except known_errors() as exc:
        sha = head_sha_of(event)
        if publish and sha:
            from .github.publish import post_status
            from .judging.policy import error_decision

            post_status(gh, repo_name, sha, error_decision(f"cannot tell which PR: {exc}"))
        click.echo(f"foureyes: error: {exc}", err=True)
        sys.exit(2)


def _warn(message: str) -> None:
    import os

    from .report.reporters import annotation

    in_actions = os.environ.get("GITHUB_ACTIONS") == "true"
    if in_actions:
        from .report.output import command

        command(annotation("warning", message, title="foureyes"), sys.stderr)
    else:
        click.echo(f"warning: {message}", err=True)


@main.command(name="freeze")
@NOW
@click.option("--env", "env_name", help="Only windows that freeze this environment.")
@click.option(
    "--importance",
    type=click.Choice(["critical", "high", "moderate", "low"]),
    help="Only windows that freeze this importance level.",
)
@click.option(
    "--ref",
    help="Read the policy and policies/freeze.yaml at this ref (default: the working tree).",
)
@click.option(
    "--next",
    "count",
    type=click.IntRange(0, 100),
    default=5,
    show_default=True,
    help="How many upcoming windows to list.",
)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@fail_closed
def freeze_cmd(now_text, env_name, importance, ref, count, fmt) -> None:
    """List the freeze windows in force and the next ones (policy windows and incident freezes)."""
    import json

    from .judging import freeze
    from .repo import GitTree, WorkTree, resolve

    root = repo_root()
    repo = Repo(root)  # the command's session: what it reads of git
    now = _now(now_text)
    tree = GitTree(repo, resolve(repo, ref)) if ref else WorkTree(root)
    if env_name:
        _check_names(repo, env_name, ref=ref or "HEAD")
    data = freeze.listing(freeze.load(tree), now, env_name, importance, count)
    click.echo(
        _json_text(json.dumps(data, indent=2)) if fmt == "json" else freeze.listing_text(data)
    )


@main.command()
@click.option("--check", is_flag=True, help="Exit 1 if .github/CODEOWNERS differs from the policy.")
@fail_closed
def codeowners(check: bool) -> None:
    """Write .github/CODEOWNERS from the policy: the registry and governance paths belong to the approvers."""
    from .setup.codeowners import render, write_or_check

    root = repo_root()
    status, message = write_or_check(root, render(root), check)
    click.echo(message)
    sys.exit(status)


@main.command()
@click.option(
    "--check", is_flag=True, help="Look nothing up, write nothing: exit 1 if a user is not pinned."
)
@click.option("--token", envvar="GITHUB_TOKEN", help="GitHub token (default: $GITHUB_TOKEN).")
@fail_closed
def pin(check: bool, token: str | None) -> None:
    """Pin each "@login" of the policy and the rules to its account id (only the id counts)."""
    import os

    from .errors import EvaluationError
    from .registry.pins import pin as pin_users

    root = repo_root()
    _, unpinned = pin_users(root, None, check=True)
    if not unpinned:
        click.echo("every policy user is pinned to an account id")
        sys.exit(EXIT_OK)
    for entry in unpinned:
        click.echo(f"{entry.file}:{entry.line}: @{entry.login} is not pinned")
    if check:
        sys.exit(EXIT_FAILED)
    if not (token or os.environ.get("GITHUB_TOKEN")):
        raise EvaluationError(
            "no GitHub token: pinning looks each login up on GitHub (GET /users/{username}); "
            "set GITHUB_TOKEN (any token, e.g. `gh auth token`) or pass --token, or write "
            '{login: "@name", id: N} by hand from https://api.github.com/users/<name>'
        )
    from .github.accounts import pin_lookup
    from .github.client import make_client

    result, _ = pin_users(root, pin_lookup(make_client(token)))
    for file, login, account_id in result.pinned:
        click.echo(f"pinned @{login} to account {account_id} in {file}")
    click.echo("review and commit: " + " ".join(result.files))


@main.command()
@click.option(
    "--env",
    "env_name",
    required=True,
    help="The environment to reconcile (registry/environments.yaml).",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Show what would change, after the provenance check; apply nothing.",
)
@click.option(
    "--record",
    "record_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="SQLite deploy record (default: .foureyes/record.sqlite; in Actions: GitHub Deployments).",
)
@click.option(
    "--prs",
    "ledger",
    type=click.Path(file_okay=False),
    default=".foureyes/prs",
    show_default=True,
    help="Offline provenance: folder of merged-PR files (gate --local facts plus base, head, "
    "merge_commit).",
)
@click.option(
    "--repo",
    "repo_name",
    envvar="GITHUB_REPOSITORY",
    help="Check provenance on GitHub (default in Actions).",
)
@click.option("--token", envvar="GITHUB_TOKEN", help="GitHub token (default: $GITHUB_TOKEN).")
@click.option(
    "--only",
    "only",
    multiple=True,
    help="Apply only this deployment (repeatable): one matrix job each.",
)
@click.option(
    "--branch",
    "branch_name",
    envvar="FOUREYES_BRANCH",
    default=None,
    help="The branch being deployed (default: $FOUREYES_BRANCH, $GITHUB_REF_NAME, else the "
    "checkout's "
    "branch). A workflow_run job runs on the default branch and deploys another one.",
)
@NOW
@MATRIX_FORMAT
@fail_closed
def deploy(
    env_name, dry_run, record_path, ledger, repo_name, token, only, branch_name, now_text, fmt
) -> None:
    """Reconcile ENV with the registry at HEAD, after re-checking every change's approval."""
    import os

    from .deploy.reconcile import branch_mismatch, current_branch
    from .deploy.reconcile import deploy as run_deploy
    from .deploy.stores import open_record, provenance_source
    from .notify import notify_deploy
    from .report.reporters import reporter

    root = repo_root()
    repo = Repo(root)  # the command's session: what it reads of git
    out = reporter(fmt)
    # on GitHub (in Actions, or --repo given) provenance comes from GitHub itself, never a local
    # file
    given = (
        click.get_current_context().get_parameter_source("repo_name")
        == click.core.ParameterSource.COMMANDLINE
    )
    on_github = bool(repo_name) and (os.environ.get("GITHUB_ACTIONS") == "true" or given)
    branch = branch_name or os.environ.get("GITHUB_REF_NAME") or current_branch(root)
    wrong = branch_mismatch(repo, env_name, branch)
    if wrong:
        raise click.UsageError(wrong)
    with open_record(
        root,
        record_path,
        repo_name if on_github and not record_path else None,
        token,
        read_only=dry_run,
    ) as rec:
        source = provenance_source(repo, Path(ledger), repo_name if on_github else None, token)
        result = run_deploy(
            repo,
            env_name,
            rec,
            source,
            dry_run=dry_run,
            progress=out.deploy_step,
            only=set(only) if only else None,
            branch=branch,
            now=_now(now_text),
        )
        notify_deploy(repo, result, rec, warn=_warn)
    out.deploy(result)
    sys.exit(EXIT_OK if result.ok else EXIT_FAILED)


@main.command()
@click.argument("name")
@click.option(
    "--env", "env_name", required=True, help="The environment whose approved model to resolve."
)
@click.option(
    "--record",
    "record_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="SQLite deploy record (default: .foureyes/record.sqlite).",
)
@fail_closed
def resolve(name: str, env_name: str, record_path: str | None) -> None:
    """Print the approved model NAME serves in ENV, as JSON (pin this version; resolve once)."""
    import json

    from .deploy.record import DEFAULT_PATH, SqliteRecord

    root = repo_root(required=False)  # an inference pipeline may resolve from a copied record
    repo = Repo(root)  # the command's session: what it reads of git
    _check_names(repo, env_name)
    path = Path(record_path) if record_path else root / DEFAULT_PATH
    if not path.exists():
        raise click.ClickException(f"no deploy record at {path}: nothing has been deployed")
    record = SqliteRecord(path)
    try:
        entry = record.entries(env_name).get(name)
    finally:
        record.close()
    if entry is None:
        _check_names(repo, deployment=name)  # a typo is not "not deployed"
    if entry is None or entry.status != "success":
        state = "is not deployed" if entry is None else f"is {entry.status}"
        click.echo(f"foureyes: {name} {state} in {env_name}", err=True)
        sys.exit(EXIT_FAILED)
    click.echo(_json_text(json.dumps(entry.to_json(), indent=2, sort_keys=True)))


@main.command()
@click.option(
    "--repo",
    "repo_name",
    envvar="GITHUB_REPOSITORY",
    help="owner/name (default: $GITHUB_REPOSITORY).",
)
@click.option(
    "--check", is_flag=True, help="Change nothing; exit 1 and name every setting that drifted."
)
@click.option(
    "--app-id",
    type=int,
    envvar="FOUREYES_APP_ID",
    help="Pin the required foureyes/approval status to this GitHub App (recommended).",
)
@click.option(
    "--token",
    envvar="GITHUB_TOKEN",
    help="A token with administration rights (default: $GITHUB_TOKEN).",
)
@fail_closed
def protect(repo_name: str, check: bool, app_id: int | None, token: str | None) -> None:
    """Apply (or verify) the GitHub environments and branch ruleset that back the gate."""
    _need_repo(repo_name)
    from .github.client import make_client
    from .github.protect import protect as run
    from .registry.model import ENVIRONMENTS_FILE, parse_environments
    from .repo import WorkTree

    root = repo_root()
    data = WorkTree(root).read(ENVIRONMENTS_FILE)
    if data is None:
        raise click.ClickException(f"{ENVIRONMENTS_FILE} not found")
    from .github.protect import deploy_waits_once

    waits_once = deploy_waits_once(WorkTree(root).read(".github/workflows/foureyes-deploy.yml"))
    result = run(make_client(token), repo_name, parse_environments(data), check, app_id, waits_once)
    if not waits_once:
        click.echo(
            "note: .github/workflows/foureyes-deploy.yml has no `approve` job, so each "
            "environment keeps its reviewers (asked once per job wave); `foureyes init` "
            "writes the workflow that asks once"
        )
    for line in result.drift:
        click.echo(f"{'drift' if check else 'fixed'}: {line}")
    for line in result.unapplied:  # what GitHub's plan does not offer here: never silently dropped
        click.echo(f"not applied: {line}")
    if check:
        click.echo("no drift" if not result.drift else f"{len(result.drift)} setting(s) drifted")
    else:
        click.echo(
            "updated: " + ", ".join(result.changed) if result.changed else "already protected"
        )
    if result.unapplied:
        click.echo(
            f"{len(result.unapplied)} setting(s) could not be applied on this plan; see the "
            "README, "
            "'What protect applies, and what needs GitHub Enterprise'"
        )
    sys.exit(EXIT_FAILED if result.unapplied or (check and result.drift) else EXIT_OK)


@main.command()
@click.argument("name")
@click.option("--env", "env_name", required=True, help="The environment to roll back.")
@click.option(
    "--to", "to_version", help="The model version to return to (default: the one served before)."
)
@click.option(
    "--record",
    "record_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="SQLite deploy record (default: .foureyes/record.sqlite).",
)
@click.option("--repo", "repo_name", help="Open the rollback as a PR on this GitHub repository.")
@click.option(
    "--base",
    "base_branch",
    default="main",
    show_default=True,
    help="The branch the rollback PR targets.",
)
@click.option("--token", envvar="GITHUB_TOKEN", help="GitHub token (default: $GITHUB_TOKEN).")
@fail_closed
def rollback(name, env_name, to_version, record_path, repo_name, base_branch, token) -> None:
    """Prepare the change request that restores an earlier approved model of NAME in ENV.

    Locally: a branch with one commit, and its patch on stdout. With --repo: a branch and a PR.
    """
    from .deploy.rollback import RollbackError, commit_locally, open_pull_request, prepare
    from .deploy.stores import open_record
    from .repo import resolve

    root = repo_root()
    repo = Repo(root)  # the command's session: what it reads of git
    base_sha = resolve(repo, base_branch if repo_name else "HEAD")
    with open_record(root, record_path, repo_name if not record_path else None, token) as record:
        history = record.history(env_name, name)
    try:
        change = prepare(repo, base_sha, name, env_name, history, to_version)
    except RollbackError as exc:
        click.echo(f"foureyes: {exc}", err=True)
        sys.exit(EXIT_FAILED)
    if repo_name:
        from .github.client import make_client

        url = open_pull_request(make_client(token), repo_name, change, base_branch, base_sha)
        click.echo(f"opened {url}: {change.title}")
        return
    click.echo(commit_locally(root, change))
    click.echo(f"# branch {change.branch} holds the rollback: push it and open a PR", err=True)


@main.command()
@click.option(
    "--env", "env_name", required=True, help="The environment to promote to (e.g. production)."
)
@click.option(
    "--into", help="The environment's branch (needed when it is a pattern such as release/*)."
)
@click.option(
    "--to", "to_commit", help="The commit of the default branch to promote (default: its tip)."
)
@click.option("--repo", "repo_name", help="Open the promotion as a PR on this GitHub repository.")
@click.option("--token", envvar="GITHUB_TOKEN", help="GitHub token (default: $GITHUB_TOKEN).")
@fail_closed
def promote(env_name, into, to_commit, repo_name, token) -> None:
    """Prepare the change request that promotes a commit of the default branch into ENV's branch.

    Locally: a branch promote/ENV-SHA at the commit, to push and open as a PR into the branch.
    With --repo: the branch and the PR. Either way the PR is judged and approved like any change,
    and ENV serves only what an approved PR into its branch brought in.
    """
    from .deploy.promote import PromoteError, branch_locally, open_pull_request, prepare
    from .errors import EvaluationError
    from .repo import default_branch

    root = repo_root()
    repo = Repo(root)  # the command's session: what it reads of git
    gh = None
    if repo_name:
        from .github.client import api_errors, describe, make_client

        gh = make_client(token)
        try:
            default = gh.get_repo(repo_name).default_branch
        except api_errors() as exc:
            raise EvaluationError(describe(exc)) from None
    else:
        default = default_branch(repo)
    try:
        promotion = prepare(repo, env_name, into, to_commit, default)
    except PromoteError as exc:
        click.echo(f"foureyes: {exc}", err=True)
        sys.exit(EXIT_FAILED)
    for step in promotion.steps:
        click.echo(f"  {step.describe()}")
    if gh is not None:
        click.echo(f"opened {open_pull_request(gh, repo_name, promotion)}: {promotion.title}")
        return
    branch_locally(root, promotion)
    click.echo(
        f"# branch {promotion.branch} is at {promotion.commit[:12]}: push it and open a PR into "
        f"{promotion.into} ({promotion.title})",
        err=True,
    )


TABLE_FORMAT = click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "csv"]),
    default="text",
    show_default=True,
    help="Output format.",
)
RECORD = click.option(
    "--record",
    "record_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="SQLite deploy record and event log (default: .foureyes/record.sqlite).",
)
LEDGER = click.option(
    "--prs",
    "ledger",
    type=click.Path(file_okay=False),
    default=".foureyes/prs",
    show_default=True,
    help="Offline: folder of PR files (open ones have no merge_commit).",
)


def _local_record(root: Path, record_path: str | None):
    from .deploy.record import DEFAULT_PATH, SqliteRecord

    return SqliteRecord(Path(record_path) if record_path else root / DEFAULT_PATH)


def _emit_table(fmt: str, rows: list[dict], text: str, csv_columns: list[str]) -> None:
    import csv
    import io
    import json

    from .report.escape import csv_cell

    if fmt == "json":
        click.echo(_json_text(json.dumps(rows, indent=2, sort_keys=True)))
    elif fmt == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=csv_columns, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow(
                {
                    k: csv_cell(
                        " ".join(map(str, v))
                        if isinstance(v, list)
                        else json.dumps(v, sort_keys=True)
                        if isinstance(v, dict)
                        else v
                    )
                    for k, v in row.items()
                }
            )
        click.echo(out.getvalue(), nl=False)
    else:
        click.echo(text)


@main.command()
@click.option(
    "--ref", default="HEAD", show_default=True, help="The default branch's commit to list."
)
@click.option(
    "--html",
    "html_dir",
    type=click.Path(file_okay=False),
    help="Also write DIR/index.html, one self-contained page.",
)
@click.option(
    "--repo", "repo_name", help="Read open PRs from GitHub (default: the local PR files)."
)
@click.option("--token", envvar="GITHUB_TOKEN", help="GitHub token (default: $GITHUB_TOKEN).")
@RECORD
@LEDGER
@TABLE_FORMAT
@fail_closed
def inventory(ref, html_dir, repo_name, token, record_path, ledger, fmt) -> None:
    """Every deployment: importance, owners, model, approval status, what each environment serves."""
    from datetime import datetime

    from .deploy.provenance import Checker
    from .deploy.stores import open_record, provenance_source
    from .inventory import build, read_ahead, to_csv, to_text

    root = repo_root()
    repo = Repo(root)  # the command's session: what it reads of git
    read_ahead(repo, ref)
    # with --repo, open PRs and (unless --record is given) the deploy record come from GitHub
    with open_record(root, record_path, repo_name if not record_path else None, token) as record:
        source = provenance_source(repo, Path(ledger), repo_name, token)
        rows, envs = build(
            repo, ref, record, source.open_prs(), checker=Checker(repo, source, cache=record)
        )
    if fmt == "csv":
        click.echo(to_csv(rows, envs), nl=False)
    else:
        _emit_table(fmt, [r.to_json() for r in rows], to_text(rows, envs), [])
    if html_dir:
        from .deploy.targets import write_atomically
        from .report.inventory_html import render

        page = Path(html_dir) / "index.html"
        stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        write_atomically(page, render(rows, envs, stamp, repo_name or root.name))
        click.echo(f"wrote {page}", err=True)


@main.command()
@click.argument("name", required=False)
@click.option(
    "--env", "env_name", help="With --at: the environment whose live deployments to show."
)
@click.option(
    "--at",
    "moment",
    help="With --env: a time (2026-11-22T10:00:00Z, 2026-11-22, or 3d for three days ago).",
)
@click.option(
    "--ref",
    default="HEAD",
    show_default=True,
    help="The default branch's commit to read history from.",
)
@click.option(
    "--repo", "repo_name", help="Trace approvals on GitHub (default: the local PR files)."
)
@click.option("--token", envvar="GITHUB_TOKEN", help="GitHub token (default: $GITHUB_TOKEN).")
@RECORD
@LEDGER
@TABLE_FORMAT
@fail_closed
def history(name, env_name, moment, ref, repo_name, token, record_path, ledger, fmt) -> None:
    """The governance history of deployment NAME, or (with --env and --at) what was live then."""
    from datetime import datetime

    from .deploy.provenance import Checker
    from .deploy.stores import open_record, provenance_source
    from .eventlog import iso, parse_time
    from .history import change_text, governance_history, live_at

    root = repo_root()
    repo = Repo(root)  # the command's session: what it reads of git
    if env_name or moment:
        if not (env_name and moment):
            raise click.UsageError("--env and --at go together")
        try:
            when = iso(parse_time(moment, datetime.now(UTC)))
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--at") from None
        _check_names(repo, env_name, ref=ref)
        with open_record(
            root, record_path, repo_name if not record_path else None, token
        ) as record:
            live = live_at(record.history(env_name), when)
        rows = [
            {
                "deployment": n,
                "model": h["data"].get("model", {}).get("name"),
                "version": h["data"].get("model", {}).get("version"),
                "deployed_at": h["at"],
                "commit": h["commit"],
                "pr": h["approval"].get("pr"),
                "approvers": h["approval"].get("approvers", []),
            }
            for n, h in sorted(live.items())
        ]
        lines = [
            f"  {r['deployment']:<24} {r['model']} v{r['version']}  (deployed {r['deployed_at']}, "
            f"{'PR #' + str(r['pr']) if r['pr'] else 'bootstrap'})"
            for r in rows
        ]
        text = "\n".join([f"{env_name} at {when}:"] + (lines or ["  nothing was live"]))
        _emit_table(
            fmt,
            rows,
            text,
            ["deployment", "model", "version", "deployed_at", "commit", "pr", "approvers"],
        )
        return
    if not name:
        raise click.UsageError("give a deployment NAME, or --env and --at")
    from .deploy.record import DEFAULT_PATH

    # approvals kept by earlier deploys are read back from a local record, when there is one
    kept = Path(record_path) if record_path else None if repo_name else root / DEFAULT_PATH
    with (
        contextlib.closing(_local_record(root, str(kept)))
        if kept and kept.is_file()
        else contextlib.nullcontext() as cache
    ):
        checker = Checker(
            repo, provenance_source(repo, Path(ledger), repo_name, token), cache=cache
        )
        rows = [r.to_json() for r in governance_history(repo, name, ref, checker)]
    if not rows:  # never in the history: a typo (a deleted deployment still has its history)
        _check_names(repo, deployment=name, ref=ref)
    lines = [
        f"{r['date'][:16]}  {r['event']:<17} {change_text(r):<40} by {r['changed_by']:<14} "
        f"{'approved by ' + ', '.join(r['approved_by']) + ' in PR #' + str(r['pr']) if r['pr'] else r['approval']}"
        for r in rows
    ]
    _emit_table(
        fmt,
        rows,
        "\n".join(lines) or f"no history for {name}",
        [
            "date",
            "commit",
            "event",
            "importance_before",
            "importance_after",
            "model_before",
            "model_after",
            "fields",
            "changed_by",
            "approved_by",
            "pr",
            "approval",
        ],
    )


@main.command()
@click.option(
    "--policy",
    "policy_file",
    required=True,
    type=click.Path(dir_okay=False),
    help="The candidate policies/approval.yaml (read as data, never run).",
)
@click.option(
    "--since",
    default="90d",
    show_default=True,
    help="PRs merged from this time (ISO 8601) or span back (90d).",
)
@click.option(
    "--last", "limit", type=click.IntRange(min=1), help="At most this many PRs, newest first."
)
@click.option("--repo", "repo_name", help="Replay PRs from GitHub (default: the local PR files).")
@click.option("--token", envvar="GITHUB_TOKEN", help="GitHub token (default: $GITHUB_TOKEN).")
@RECORD
@LEDGER
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "markdown"]),
    default="text",
    show_default=True,
)
@fail_closed
def simulate(policy_file, since, limit, repo_name, token, record_path, ledger, fmt) -> None:
    """Policy what-if: replay the period's merged and open PRs under a candidate policy.

    Per PR the decision then (the policy at its base) and now (the candidate), and totals.
    Exit 0 when every PR was replayed, 1 when some could not be, 2 on a bad candidate or source.
    """
    from datetime import datetime

    from .eventlog import iso, parse_time
    from .simulate import GitHubSource, LedgerSource, load_candidate, render
    from .simulate import simulate as run

    root = repo_root()
    repo = Repo(root)  # the command's session: what it reads of git
    try:
        start = parse_time(since, datetime.now(UTC))
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--since") from None
    candidate = load_candidate(Path(policy_file))
    period = f"merged since {iso(start)} and open" + (f" (at most {limit})" if limit else "")
    if repo_name:
        from .github.client import make_client

        record = _local_record(
            root, record_path
        )  # caches merged PRs' facts: a rerun does not refetch
        try:
            source = GitHubSource(
                make_client(token), repo_name, repo, token, start, limit, record.db
            )
            sim = run(repo, source, candidate, policy_file, period)
        finally:
            record.close()
    else:
        ledger_dir = Path(ledger) if Path(ledger).is_absolute() else root / ledger
        sim = run(
            repo, LedgerSource(repo, ledger_dir, start, limit), candidate, policy_file, period
        )
    text = render(sim, fmt)
    click.echo(_json_text(text) if fmt == "json" else text)
    sys.exit(EXIT_FAILED if sim.failed else EXIT_OK)


@main.command()
@click.option("--deployment", help="Only events about this deployment.")
@click.option("--env", "environment", help="Only events in this environment.")
@click.option(
    "--type",
    "event_type",
    help="Only this type (deploy, gate, timeout, provenance_violation, notification).",
)
@click.option(
    "--status",
    type=click.Choice(["ok", "warning", "failing", "unknown", "info"]),
    help="Only this status.",
)
@click.option("--since", help="From this time (ISO 8601) or span back (7d, 12h).")
@click.option("--until", help="Up to this time (ISO 8601) or span back.")
@click.option("--grep", "text", help="Text search in the message and data.")
@click.option(
    "--prune", is_flag=True, help="Delete events older than the retention window, then list."
)
@click.option(
    "--retention-days",
    type=click.IntRange(min=1),
    default=90,
    show_default=True,
    envvar="FOUREYES_RETENTION_DAYS",
)
@click.option(
    "--repo",
    "repo_name",
    help="First import the event logs that workflow runs uploaded as artifacts.",
)
@click.option(
    "--token",
    envvar="GITHUB_TOKEN",
    help="GitHub token with actions: read (default: $GITHUB_TOKEN).",
)
@RECORD
@TABLE_FORMAT
@fail_closed
def events(
    deployment,
    environment,
    event_type,
    status,
    since,
    until,
    text,
    prune,
    retention_days,
    repo_name,
    token,
    record_path,
    fmt,
):
    """The event log: filter, search, export (json, csv) and prune."""
    from datetime import datetime

    from .eventlog import Filters, parse_time, query
    from .eventlog import prune as prune_events

    root = repo_root(required=False)  # the log can be read from a copied --record
    now = datetime.now(UTC)
    try:
        filters = Filters(
            deployment,
            environment,
            event_type,
            status,
            parse_time(since, now) if since else None,
            parse_time(until, now) if until else None,
            text,
        )
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    record = _local_record(root, record_path)
    try:
        if event_type:
            from .eventlog import known_types

            if event_type not in known_types(record.db):
                raise _unknown("event type", event_type, known_types(record.db))
        if repo_name:
            from .github.client import make_client
            from .github.events import pull_events

            added = pull_events(
                make_client(token), repo_name, token or "", record, warn=_warn, repo=Repo(root)
            )
            click.echo(f"imported {added} event(s) from {repo_name}'s workflow runs", err=True)
        if prune:
            gone = prune_events(record.db, now, retention_days)
            click.echo(f"pruned {gone} event(s) older than {retention_days} days", err=True)
        rows = query(record.db, filters)
    finally:
        record.close()
    lines = [
        f"{r['at']}  {r['status']:<8} {r['type']:<21} {r['environment'] or '-':<11} "
        f"{r['deployment'] or '-':<20} "
        f"{r['message']}"
        for r in rows
    ]
    _emit_table(
        fmt,
        rows,
        "\n".join(lines) or "no events",
        ["at", "type", "status", "deployment", "environment", "message", "data"],
    )


@main.command()
@click.option(
    "--repo",
    "repo_name",
    envvar="GITHUB_REPOSITORY",
    help="owner/name (default: $GITHUB_REPOSITORY).",
)
@click.option(
    "--dry-run", is_flag=True, help="Say what is due; comment, request and close nothing."
)
@click.option("--token", envvar="GITHUB_TOKEN", help="GitHub token (default: $GITHUB_TOKEN).")
@click.option(
    "--now", "now_text", hidden=True, help="The time to judge by (tests and what-if checks)."
)
@RECORD
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@fail_closed
def timeout(repo_name, dry_run, token, now_text, record_path, fmt) -> None:
    """Apply review-timeout actions (remind, escalate, cancel) to open PRs pending too long."""
    import json
    from datetime import datetime

    from .eventlog import parse_time
    from .github.client import make_client
    from .timeout import run

    _need_repo(repo_name)
    root = repo_root()
    repo = Repo(root)  # the command's session: what it reads of git
    now = parse_time(now_text, datetime.now(UTC)) if now_text else datetime.now(UTC)
    verb = "due" if dry_run else "done"

    def report(action) -> None:
        if fmt == "text":
            click.echo(
                f"PR #{action.pr}: {action.action} {verb} ({action.level}, pending "
                f"{action.to_json()['waited_hours']}h)"
            )

    record = _local_record(root, record_path)
    try:
        actions = run(
            make_client(token),
            repo_name,
            repo,
            now,
            dry_run,
            report,
            record,
            warn=_warn,
            token=token,
        )
    finally:
        record.close()
    if fmt == "json":
        click.echo(
            _json_text(
                json.dumps([{**a.to_json(), "done": not dry_run} for a in actions], indent=2)
            )
        )
    elif not actions:
        click.echo("no review timeouts due")


@main.command()
@click.option("--force", is_flag=True, help="Overwrite files that already exist.")
@click.option(
    "--action-repo",
    default="foureyes/foureyes",
    show_default=True,
    help="The repository of the foureyes action the workflows use.",
)
@click.option(
    "--action-ref",
    "--ref",
    "ref",
    required=True,
    metavar="SHA",
    help="The commit of the foureyes action the workflows pin (40 hex digits; a tag can move "
    "or not exist).",
)
@click.option(
    "--token",
    envvar="GITHUB_TOKEN",
    help="GitHub token to pin policy users with (default: $GITHUB_TOKEN).",
)
@fail_closed
def init(force: bool, action_repo: str, ref: str, token: str | None) -> None:
    """Scaffold foureyes into this repository: policies, registry, workflows, CODEOWNERS."""
    from .setup.codeowners import render, write_or_check
    from .setup.init import scaffold, write

    root = repo_root(required=False)
    own = (
        root / "registry" / "environments.yaml"
    )  # kept unless --force: wire the workflows for its targets
    result = write(
        root,
        scaffold(action_repo, ref, own.read_bytes() if own.exists() and not force else None),
        force,
    )
    from .registry.model import ConfigError

    codeowners = root / ".github" / "CODEOWNERS"
    skipped = ""
    if codeowners.exists() and not force:
        result.kept.append(".github/CODEOWNERS")
    else:
        try:
            write_or_check(root, render(root), check=False)
            result.written.append(".github/CODEOWNERS")
        except (
            ConfigError
        ) as exc:  # a policy kept from before may be broken: say so, write the rest
            skipped = f"skipped .github/CODEOWNERS: {exc}"
    for rel in result.written:
        click.echo(f"wrote {rel}")
    for rel in result.kept:
        click.echo(f"kept  {rel} (exists; --force overwrites)")
    for rel, why in result.skipped:
        click.echo(f"left out {rel} ({why}; --force writes it)")
    if skipped:
        click.echo(skipped)
    _pin_after_init(root, token)
    click.echo(
        "next: edit policies/approval.yaml (approvers; then `foureyes pin`) and registry/, "
        "then `foureyes validate`; "
        "see the README for the GitHub App and environments"
    )


def _pin_after_init(root: Path, token: str | None) -> None:
    """A policy kept from before may list bare logins: pin them now if there is a token, else say how."""
    from .registry.pins import pin as pin_users
    from .registry.yamlload import LoadError

    try:
        _, unpinned = pin_users(root, None, check=True)
    except LoadError as exc:  # a kept file that does not parse: validate says more
        click.echo(f"not pinned: {exc}")
        return
    if not unpinned:
        return
    if not token:
        click.echo(
            f"{len(unpinned)} policy user(s) not pinned to an account id: run `foureyes pin` "
            "with GITHUB_TOKEN"
        )
        return
    from .github.accounts import pin_lookup
    from .github.client import make_client

    result, _ = pin_users(root, pin_lookup(make_client(token)))
    for file, login, account_id in result.pinned:
        click.echo(f"pinned @{login} to account {account_id} in {file}")
