"""`foureyes demo`: the whole loop on a scratch repository built from the bundled example, offline."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Generator, Iterator
from datetime import UTC, datetime
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import FoureyesError
from ..registry.model import BUNDLED
from ..repo import GitTree, Repo, git, resolve
from ..report.demo import (
    DemoItem,
    DemoReporter,
    Deployed,
    Gated,
    Heading,
    Line,
    Planned,
    Statement,
    Validated,
)
from ..vocabulary import EventType
from .common import UsageProblem

if TYPE_CHECKING:
    from ..deploy.reconcile import DeployResult, Step
    from ..judging.plan import Plan
    from ..judging.rules import Rule
    from .gate_pipeline import GateResult

DEMO_ENV = {
    "GIT_AUTHOR_NAME": "Dana Scientist",
    "GIT_AUTHOR_EMAIL": "dana@acme.example",
    "GIT_COMMITTER_NAME": "Dana Scientist",
    "GIT_COMMITTER_EMAIL": "dana@acme.example",
}


class DemoError(FoureyesError):
    """A statement the demo was about to make did not hold: the demo says so instead."""


def claim(text: str, holds: bool) -> Statement:
    """A statement about what just happened, made only once it is checked to be true."""
    if not holds:
        raise DemoError(text)
    return Statement(text)


def utc_of(root: Path, commit: str) -> str:
    """A commit's committer time as the record writes times (ISO UTC)."""
    seconds = int(git(root, "log", "-1", "--format=%ct", commit).decode().strip())
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def copy_template(dest: Path) -> None:
    """Copy the bundled example repository (policies and registry) into ``dest``."""
    for part in ("policies", "registry"):
        shutil.copytree(BUNDLED / part, dest / part, dirs_exist_ok=True)


def commit_all(root: Path, message: str, author: str = "Dana Scientist <dana@acme.example>") -> str:
    name, email = author[:-1].split(" <")
    git(root, "add", "-A")
    git(root, "-c", f"user.name={name}", "-c", f"user.email={email}", "commit", "-q", "-m", message)
    return git(root, "rev-parse", "HEAD").decode().strip()


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text("utf-8")
    if old not in text:
        raise RuntimeError(f"demo: {old!r} not in {path}")
    path.write_text(text.replace(old, new, 1), "utf-8")


AUC_RULE = "policies/rules/critical-auc-no-drop.yaml"
AUC_RULE_TEXT = """\
# yaml-language-server: $schema=../rules.schema.json
# A transition rule: judged on the change itself, before and after, in CEL.
match: {events: [replace_model], importance: [critical]}
expression: |
  !has(before.metrics.auc)
    || (has(after.metrics.auc) && after.metrics.auc >= before.metrics.auc - 0.01)
message: a critical model may not lose more than 0.01 AUC
action: deny
"""


def build_scratch_repo(root: Path) -> tuple[str, str]:
    """main with the example registry; branch `change` replacing a model and lowering an importance."""
    git(root, "init", "-q", "-b", "main")
    copy_template(root)
    (root / ".gitignore").write_text(".foureyes/\n", "utf-8")
    (root / AUC_RULE).write_text(AUC_RULE_TEXT, "utf-8")
    base = commit_all(root, "Registry: initial deployments", "Mo Admin <mo@acme.example>")
    git(root, "checkout", "-q", "-b", "change")
    deps = root / "registry" / "deployments"
    edit(deps / "fraud-scorer.yaml", 'version: "12"', 'version: "13"')
    edit(deps / "fraud-scorer.yaml", "models:/fraud-xgb/12", "models:/fraud-xgb/13")
    edit(
        deps / "fraud-scorer.yaml",
        "sha256:3f9a1c5e7b2d4f6a8c0e1b3d5f7a9c1e3b5d7f9a1c3e5b7d9f1a3c5e7b9d1f3a",
        "sha256:9c1e3b5d7f9a1c3e5b7d9f1a3c5e7b9d1f3a3f9a1c5e7b2d4f6a8c0e1b3d5f7a",
    )
    edit(deps / "fraud-scorer.yaml", "auc: 0.91", "auc: 0.93")
    edit(deps / "churn-predictor.yaml", "importance: moderate", "importance: low")
    head = commit_all(
        root, "fraud-scorer: serve fraud-xgb v13; churn-predictor is now low importance"
    )
    return base, head


def run(directory: Path | None) -> int:
    """Build the scratch repository in ``directory`` (a new temporary folder by default) and play
    the loop on it, printing each step through the demo reporter; 1 when a statement did not hold."""
    root = Path(directory or tempfile.mkdtemp(prefix="foureyes-demo-")).resolve()
    root.mkdir(parents=True, exist_ok=True)
    if any(root.iterdir()):
        raise UsageProblem(
            f"{root} is not empty; the demo builds its repository in an empty folder"
        )
    reporter = DemoReporter()
    with Repo(root) as repo:  # the demo's one session: what it reads of its scratch repository
        for item in change_demo(repo):  # a statement failing here is an error of the example itself
            reporter.show(item)
        try:
            for item in chain(
                gate_demo(repo),
                promotion_demo(repo),
                governance_demo(repo),
                what_if_demo(repo),
                freeze_demo(repo),
            ):
                reporter.show(item)
        except DemoError as exc:
            reporter.stopped(str(exc))
            return 1
        reporter.done(root)
        return 0


def change_demo(repo: Repo) -> Iterator[DemoItem]:
    """The scratch repository, Dana's change, and what it means under the policy on main."""
    root = repo.path
    from ..judging.reading import make_plan
    from ..registry.validate import targets, validate

    yield Heading(f"A scratch repository in {root}: the example registry on main")
    _base, _head = build_scratch_repo(root)
    for f in sorted((root / "registry" / "deployments").glob("*.yaml")):
        yield Line(f"  {f.relative_to(root)}")

    yield Heading(
        "Dana, a data scientist, changes two deployments on branch `change`: fraud-scorer gets "
        "model v13, churn-predictor is lowered from moderate to low importance. She validates:"
    )
    yield Line("$ foureyes validate")
    result = validate(root, targets(root, [], root))
    yield Validated(result)

    if not result.ok:
        raise DemoError("the example registry is valid")

    yield Heading(
        "What the change means, judged by the policy on main (foureyes plan --base main):"
    )
    plan = make_plan(repo, "main", "change")
    yield Planned(plan)
    by_type = {(e.type, e.deployment): e for e in plan.events}
    churn = by_type.get((EventType.CHANGE_IMPORTANCE, "churn-predictor"))
    fraud = by_type.get((EventType.REPLACE_MODEL, "fraud-scorer"))
    yield claim(
        "\nThe lowered importance is judged at the old, higher level "
        f"({churn and churn.level}); the change as a "
        f"whole needs {plan.required_approvals} approvals because fraud-scorer is "
        f"{fraud and fraud.level}.",
        churn is not None
        and fraud is not None
        and churn.level == churn.importance_before == "moderate"
        and plan.level == fraud.level
        and plan.required_approvals == plan.policy.rule(fraud.level).approvals,
    )

    outcomes = {(o.rule.name, o.deployment): o for o in plan.rule_outcomes}
    auc = outcomes.get(("critical-auc-no-drop", "fraud-scorer"))
    yield claim(
        f"The organisation's transition rule {AUC_RULE} (CEL over before and after) applies "
        "to fraud-scorer's "
        f"new model and {auc and auc.result}: its AUC rises from 0.91 to 0.93. A v13 at 0.85 "
        "would be blocked, "
        f"whoever approves it.",
        auc is not None and auc.result == "holds" and _auc_rule_blocks(auc.rule, plan, 0.85),
    )

    yield Heading("The PR comment foureyes would post (foureyes plan --format markdown):")
    yield Planned(plan, comment=True)


def _auc_rule_blocks(rule: Rule, plan: Plan, auc: float) -> bool:
    """The same rule on the same event, with a worse model: the rule is violated (it denies)."""
    from ..judging.rules import Subject, check

    subject = next(
        s
        for s in plan.subjects
        if s.event.deployment == "fraud-scorer" and s.event.type == "replace_model"
    )
    worse = Subject(
        subject.event,
        subject.before,
        {**subject.after, "metrics": {"auc": auc}},
        subject.environments,
    )
    return [o.result for o in check([rule], [worse], None)] == [
        "violated"
    ] and rule.action == "deny"


FACTS = """\
# PR facts for `foureyes gate --local`: who is who (GitHub links commit emails to accounts),
# the admin team, and the reviews so far. The commits themselves are read from git.
author: dana
body: |
{body}
accounts:
  dana: {{id: 104, emails: [dana@acme.example]}}
  mo: {{id: 101, emails: [mo@acme.example]}}
  alice: {{id: 201}}
  bob: {{id: 202}}
  carol: {{id: 203}}
teams:
  acme/mlops-admins: {{members: [mo, alice, bob], pending: [carol]}}
reviews:
{reviews}
"""


BODY_42 = """Serve fraud-xgb v13 (AUC 0.91 -> 0.93 on the November holdout).
churn-predictor only feeds weekly campaigns now, so it is lowered to low importance."""
BODY_43 = "Serve credit-limit-lgbm v8, retrained on Q3 applications (RMSE 412.5 -> 398.1)."


def facts_text(reviews: list[str], body: str, extra: str = "") -> str:
    return (
        FACTS.format(
            reviews="\n".join(f"  - {r}" for r in reviews) or "  []",
            body="\n".join("  " + line for line in body.splitlines()),
        )
        + extra
    )


def write_facts(
    root: Path, reviews: list[str], extra: str = "", path: Path | None = None, body: str = BODY_42
) -> Path:
    """A PR facts file; its name carries the PR number (pr-42.yaml)."""
    path = (
        path or root / ".foureyes" / "pr-42.yaml"
    )  # beside the repository's data, not in its history
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(facts_text(reviews, body, extra), "utf-8")
    return path


def gate_pr(
    repo: Repo, facts_file: Path, head: str, now: datetime | None = None
) -> Generator[DemoItem, None, GateResult]:
    """`foureyes gate --local FACTS_FILE --base main --head HEAD`: the decision, shown and (like
    the command does) written to the event log."""
    root = repo.path
    from ..deploy.record import DEFAULT_PATH, SqliteRecord
    from ..sources.pr_file import load_local_facts
    from .gate_pipeline import decide, record_decision

    yield Line(f"$ foureyes gate --local {facts_file.relative_to(root)} --base main --head {head}")
    head_commit = resolve(repo, head)
    result = decide(repo, lambda: load_local_facts(facts_file, repo, "main", head_commit), now=now)
    record = SqliteRecord(root / DEFAULT_PATH)
    try:
        record_decision(record, result)
    finally:
        record.close()
    yield Gated(result)
    return result


def merge_as_mo(root: Path, message: str, branch: str) -> str:
    """Mo merges ``branch`` into the branch checked out (a merge commit, as GitHub's merge button
    makes); the merge commit."""
    git(
        root,
        "-c",
        "user.name=Mo Admin",
        "-c",
        "user.email=mo@acme.example",
        "merge",
        "-q",
        "--no-ff",
        "-m",
        message,
        branch,
    )
    return git(root, "rev-parse", "HEAD").decode().strip()


def gate_demo(repo: Repo) -> Iterator[DemoItem]:
    """PR #42 through the gate: self-approval, a stale approval and a pending member never count."""
    root = repo.path

    def gate(reviews: list[str]) -> Generator[DemoItem, None, GateResult]:
        return gate_pr(repo, write_facts(root, reviews), "change")

    def ignored(result: GateResult) -> dict[str, str]:
        return {i.login: i.reason for i in result.decision.ignored}

    yield Heading("Dana opens PR #42 and approves it herself; Alice approves it.")
    result = yield from gate(
        [
            "{user: dana, state: APPROVED, commit: head}",
            "{user: alice, state: APPROVED, commit: head}",
        ]
    )
    yield claim(
        f"\n{result.decision.state.capitalize()}: Dana's own approval never counts; Alice's "
        "is one of "
        f"{result.decision.required}.",
        result.decision.state == "pending"
        and ignored(result).get("dana") == "author"
        and [a.login for a in result.decision.approvals] == ["alice"],
    )

    yield Heading(
        "Dana pushes one more commit (a better description); Carol, whose team membership is still "
        "pending, approves it. Alice's approval was for the old head:"
    )
    edit(
        root / "registry" / "deployments" / "fraud-scorer.yaml",
        "before authorisation.",
        "before authorisation; v13 adds merchant-category features.",
    )
    commit_all(root, "fraud-scorer: describe v13")
    result = yield from gate(
        [
            "{user: dana, state: APPROVED, commit: head}",
            "{user: alice, state: APPROVED, commit: head~1}",
            "{user: carol, state: APPROVED, commit: head}",
        ]
    )
    why = ignored(result)
    yield claim(
        f"\nStill {result.decision.state}: self-approval, stale approval and a pending team "
        "member never count.",
        result.decision.state == "pending"
        and not result.decision.approvals
        and why.get("dana") == "author"
        and why.get("alice") == "stale"
        and "carol" in why,
    )

    yield Heading(
        "Alice and Bob, both active admins who did not touch the change, approve the current head:"
    )
    result = yield from gate(APPROVED)
    yield claim(
        f"\nThe decision is {result.decision.state}: the foureyes/approval status turns green.",
        result.decision.state == "approved"
        and sorted(a.login for a in result.decision.approvals) == ["alice", "bob"],
    )


APPROVED = [
    "{user: dana, state: APPROVED, commit: head}",
    "{user: alice, state: APPROVED, commit: head}",
    "{user: bob, state: APPROVED, commit: head}",
]


def promotion_demo(repo: Repo) -> Iterator[DemoItem]:
    """PR #42 merged and deployed: provenance first, then promotion to production through PR #50;
    a push straight to main is refused."""
    root = repo.path
    from ..deploy.reconcile import deploy
    from ..deploy.record import DEFAULT_PATH, SqliteRecord
    from ..sources.ledger import Ledger

    base, head = resolve(repo, "main"), resolve(repo, "change")
    yield Heading(
        "Mo, the release manager, merges PR #42 into main (the merge is recorded for provenance)."
    )
    git(root, "checkout", "-q", "main")
    merge = merge_as_mo(root, "Merge pull request #42 from acme/change", "change")
    ledger = root / ".foureyes" / "prs"
    write_facts(
        root,
        APPROVED,
        f"base: {base}\nhead: {head}\nmerge_commit: {merge}\nmerged_at: '{utc_of(root, merge)}'\n",
        path=ledger / "42.yaml",
    )
    yield Line(
        f"(recorded in {(ledger / '42.yaml').relative_to(root)}: the gate facts plus base, "
        "head, merge_commit "
        "and merged_at; in Actions the deploy asks GitHub instead)"
    )
    record = SqliteRecord(root / DEFAULT_PATH)

    def run(
        env: str, branch: str = "main"
    ) -> Generator[DemoItem, None, DeployResult]:  # the ledger read afresh, as each command does
        yield Line(f"$ foureyes deploy --env {env}")
        steps: list[Step] = []
        result = deploy(
            repo, env, record, Ledger(repo, ledger), progress=steps.append, branch=branch
        )
        yield Deployed(tuple(steps), result)
        return result

    yield Heading(
        "A merge to main deploys to staging. First the provenance re-check: every commit "
        "since the last "
        "deploy must come from an approved PR; then the local target writes each manifest."
    )
    first = yield from run("staging")
    if not first.ok:
        raise DemoError("the approved merge deploys to staging")
    yield Line("")
    again = yield from run("staging")
    yield claim("Running it again changed nothing (idempotent).", again.ok and not again.steps)

    yield Heading(
        "Mo cuts release/2026.11 at main's tip and deploys production: nobody approved "
        "promoting PR #42."
    )
    git(root, "checkout", "-q", "-b", "release/2026.11")
    cut = yield from run("production", "release/2026.11")
    yield claim(
        "Refused: production serves only what an approved PR into its branch brought in.",
        not cut.ok and not record.entries("production"),
    )
    yield Heading(
        "So Mo cuts it at the registry production may start from (the root of trust), and "
        "Dana opens PR #50 "
        "promoting main into it; Alice and Bob approve (the promoter's own approval would "
        "not count)."
    )
    git(root, "checkout", "-q", "main")
    git(
        root,
        "branch",
        "-f",
        "release/2026.11",
        git(root, "rev-list", "--max-parents=0", "main").decode().strip(),
    )
    release_base = resolve(repo, "release/2026.11")
    git(root, "checkout", "-q", "release/2026.11")
    promoted = merge_as_mo(root, "Merge pull request #50: promote main to production", merge)
    write_facts(
        root,
        APPROVED[1:],
        f"base: {release_base}\nhead: {merge}\nmerge_commit: {promoted}\n"
        f"merged_at: '{utc_of(root, promoted)}'\nbase_ref: release/2026.11\n",
        path=ledger / "50.yaml",
        body="Promote main to production: fraud-xgb v13.",
    )
    prod = yield from run("production", "release/2026.11")
    staged = {n: e.model for n, e in record.entries("staging").items()}
    yield claim(
        "\nProduction serves what staging serves (product-recs is staging-only).",
        prod.ok
        and {n: e.model for n, e in record.entries("production").items()}
        == {n: m for n, m in staged.items() if n != "product-recs"},
    )
    yield Line("\n$ foureyes resolve fraud-scorer --env production")
    import json

    entry = record.entries("production")["fraud-scorer"].to_json()
    yield Line(json.dumps(entry, indent=2, sort_keys=True))
    yield claim(
        f"It serves fraud-xgb v{entry['model']['version']}, approved by "
        f"{', '.join(entry['approval']['approvers'])} "
        f"in PR #{entry['approval']['pr']} (the promotion) at "
        f"{entry['approval']['approved_at']}, deployed at "
        f"{entry['deployed_at']}.",
        entry["model"]["version"] == "13"
        and entry["approval"]["pr"] == 50
        and entry["approval"]["approved_at"] <= entry["deployed_at"],
    )
    yield Line(f"(manifests: {root / '.foureyes' / 'serving'})")

    yield Heading("Someone pushes straight to main, bumping product-recs without a PR:")
    git(root, "checkout", "-q", "main")
    edit(root / "registry" / "deployments" / "product-recs.yaml", '"2026.11.3"', '"2026.11.9"')
    edit(root / "registry" / "deployments" / "product-recs.yaml", "2026.11.3", "2026.11.9")
    commit_all(root, "hotfix: product-recs 2026.11.9", "Eve Hurry <eve@acme.example>")
    hotfix = resolve(repo, "HEAD")
    result = yield from run("staging")
    yield claim(
        "\nThe unapproved commit never reaches staging: nothing was applied, and the refusal "
        "is in the event log.",
        [v.commit for v in result.violations] == [hotfix]
        and all(s.ok is None for s in result.steps)
        and record.entries("staging")["product-recs"].model.get("version") == "2026.11.3"
        and hotfix[:12]
        in " ".join(
            m
            for (m,) in record.db.execute(
                "SELECT message FROM events WHERE type = 'provenance_violation'"
            )
        ),
    )
    record.close()

    yield Heading("Mo takes the hotfix off main again (on GitHub: a revert through a reviewed PR):")
    yield Line("$ git reset --hard HEAD~1")
    git(root, "reset", "-q", "--hard", "HEAD~1")
    yield claim(
        f"main is back at the approved merge of PR #42 ({merge[:12]}).",
        resolve(repo, "HEAD") == merge,
    )


def governance_demo(repo: Repo) -> Iterator[DemoItem]:
    """PR #43 left unreviewed: the timeout job, the inventory, a model's history, the event log."""
    root = repo.path
    from datetime import timedelta

    from ..deploy.provenance import Checker
    from ..deploy.record import DEFAULT_PATH, SqliteRecord
    from ..deploy.targets import write_atomically
    from ..judging.plan import load_policy
    from ..report.inventory_html import render
    from ..sources.ledger import Ledger
    from ..views.history import change_text, governance_history
    from ..views.inventory import build, to_text
    from .timeout_pipeline import due_action, plan_action

    ledger = root / ".foureyes" / "prs"
    yield Heading(
        "Meanwhile Dana opened PR #43 (credit-limit v8, high importance); nobody has reviewed it."
    )
    base = resolve(repo, "main")
    git(root, "checkout", "-q", "-b", "credit-v8")
    edit(root / "registry" / "deployments" / "credit-limit.yaml", 'version: "7"', 'version: "8"')
    edit(root / "registry" / "deployments" / "credit-limit.yaml", "/7/", "/8/")
    edit(
        root / "registry" / "deployments" / "credit-limit.yaml",
        "sha256:0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c",
        "sha256:7e8f9a0b1c0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d",
    )
    edit(root / "registry" / "deployments" / "credit-limit.yaml", "rmse: 412.5", "rmse: 398.1")
    head = commit_all(root, "credit-limit: serve v8")
    git(root, "checkout", "-q", "main")
    write_facts(root, [], f"base: {base}\nhead: {head}\n", path=ledger / "43.yaml", body=BODY_43)
    yield Line(
        f"(an open PR, offline: {(ledger / '43.yaml').relative_to(root)} with base and head, "
        "no merge_commit)"
    )

    policy = load_policy(GitTree(repo, base))
    rule = policy.rule("high")
    if rule.review_timeout is None:  # the demo's policy sets one for `high`
        raise ValueError("the demo policy has no review timeout for high")
    hours = rule.review_timeout // 3600
    yield Heading(
        "Suppose nobody reviews it for 50 hours. The hourly `foureyes timeout` job "
        "(simulated here, 50 hours "
        f"on) finds it pending past the {hours}h timeout of its level:"
    )
    now = datetime.now(UTC)
    since = now - timedelta(hours=50)
    action = due_action(rule, since, None, now)
    if action is None:
        raise DemoError(f"a high change pending for 50h is past its {hours}h timeout")
    planned = plan_action(43, action, "high", rule, now - since, policy, "0 of 2 approvals", "acme")
    yield Line(
        f"PR #43: {action} (pending 50h, timeout {hours}h). The comment it posts:\n  "
        + planned.comment.splitlines()[1]
    )
    later = due_action(rule, since, now, now + timedelta(hours=1))
    yield claim(
        f"It asks {', '.join('@acme/' + t for t in planned.teams)} to review again. An hour "
        "later the job "
        f"does nothing: the reminder is less than {hours}h old.",
        later is None,
    )
    record = SqliteRecord(root / DEFAULT_PATH)
    record.add_event(
        "timeout", "warning", f"PR #43: {action} after 50.0h pending (high)", data=planned.to_json()
    )

    yield Heading("$ foureyes inventory   (credit-limit needs approval: PR #43 is open)")
    source = Ledger(repo, ledger)
    rows, envs = build(repo, "main", record, source.open_prs(), checker=Checker(repo, source))
    yield Line(to_text(rows, envs))
    status = {r.name: (r.status, r.prs) for r in rows}
    yield claim(
        "\ncredit-limit needs approval (PR #43 is open); everything else on main came "
        "through approved PRs or "
        "the bootstrap.",
        status.pop("credit-limit") == ("Needs approval", [43])
        and all(s == ("Approved", []) for s in status.values()),
    )
    page = root / ".foureyes" / "site" / "index.html"
    write_atomically(
        page, render(rows, envs, now.strftime("%Y-%m-%d %H:%M UTC"), "acme/models (demo)")
    )
    yield Line(
        f"\n$ foureyes inventory --html {page.parent}   -> open {page.as_uri()} in a browser"
    )

    yield Heading("$ foureyes history fraud-scorer")
    for r in governance_history(repo, "fraud-scorer", "main", Checker(repo, Ledger(repo, ledger))):
        who = f"approved by {', '.join(r.approved_by)} in PR #{r.pr}" if r.pr else r.approval
        yield Line(
            f"  {r.date[:16]}  {r.event:<17} {change_text(r.to_json()):<32} by "
            f"{r.changed_by}, {who}"
        )

    yield Heading("$ foureyes events   (the event log of everything above)")
    from ..deploy.eventlog import Filters, query

    logged = query(record.db, Filters())
    for e in logged:
        yield Line(
            f"  {e['status']:<8} {e['type']:<21} {e['environment'] or '-':<11} {e['message'][:90]}"
        )
    record.close()
    yield claim(
        "\nGate decisions, deploys, the refused hotfix and the timeout reminder are all in "
        "the log.",
        {"gate", "deploy", "provenance_violation", "timeout"} <= {e["type"] for e in logged},
    )


INCIDENT = """\
# yaml-language-server: $schema=freeze.schema.json
freezes:
  - name: INC-2041
    reason: card payments outage; no model changes in production until the root cause is fixed
    declared_by: "@mo"
    environments: [production]
    importance: [critical, high]
"""


def freeze_demo(repo: Repo) -> Iterator[DemoItem]:
    """An incident freeze holds PR #45 until break-glass and a third approval."""
    root = repo.path
    from ..deploy.record import DEFAULT_PATH, SqliteRecord
    from ..judging import freeze

    now = datetime.now(UTC)
    yield Heading(
        "An incident: Mo, the platform lead, freezes production for critical and high deployments. "
        "His PR #44 adds INC-2041 to policies/freeze.yaml (a governance change, approved "
        "like any other):"
    )
    git(root, "checkout", "-q", "-b", "incident", "main")
    (root / "policies" / "freeze.yaml").write_text(INCIDENT, "utf-8")
    commit_all(root, "INC-2041: freeze production", "Mo Admin <mo@acme.example>")
    git(root, "checkout", "-q", "main")
    merge_as_mo(root, "Merge pull request #44 from acme/incident", "incident")
    yield Line("$ foureyes freeze --env production")
    listed = freeze.listing(freeze.load(GitTree(repo, resolve(repo, "main"))), now, "production")
    yield Line(freeze.listing_text(listed))
    yield claim(
        "\nProduction is frozen until the incident entry is removed; staging is not.",
        listed["frozen"]
        and listed["until"] is None
        and not freeze.listing(freeze.load(GitTree(repo, "main")), now, "staging")["frozen"],
    )

    yield Heading(
        "Dana's PR #45 moves fraud-scorer (critical, served in production) to v14; Alice and "
        "Bob approve:"
    )
    git(root, "checkout", "-q", "-b", "fraud-v14", "main")
    edit(root / "registry" / "deployments" / "fraud-scorer.yaml", 'version: "13"', 'version: "14"')
    edit(
        root / "registry" / "deployments" / "fraud-scorer.yaml",
        "models:/fraud-xgb/13",
        "models:/fraud-xgb/14",
    )
    edit(
        root
        / "registry"
        / "deployments"
        / "fraud-scorer.yaml",  # v14's own bytes: the approval binds to them
        "sha256:9c1e3b5d7f9a1c3e5b7d9f1a3c5e7b9d1f3a3f9a1c5e7b2d4f6a8c0e1b3d5f7a",
        "sha256:5d7f9a1c3e5b7d9f1a3c5e7b9d1f3a3f9a1c5e7b2d4f6a8c0e1b3d5f7a9c1e3b",
    )
    commit_all(root, "fraud-scorer: serve fraud-xgb v14 (fixes the outage's false declines)")
    git(root, "checkout", "-q", "main")

    def gate(reviews: list[str], labels: str = "") -> Generator[DemoItem, None, GateResult]:
        facts_file = write_facts(
            root,
            reviews,
            labels,
            path=root / ".foureyes" / "pr-45.yaml",
            body="Serve fraud-xgb v14: it stops the false declines behind INC-2041.",
        )
        return gate_pr(repo, facts_file, "fraud-v14", now=now)

    result = yield from gate(APPROVED)
    yield claim(
        f'\nHeld: the status says "{result.decision.description}".',
        result.decision.state == "blocked"
        and result.decision.blocking[0].reason == "freeze"
        and "INC-2041" in result.decision.description,
    )

    yield Heading(
        "The fix cannot wait: Mo labels the PR break-glass. The policy asks for one more approval, "
        "counted by the same four-eyes rule:"
    )
    result = yield from gate(APPROVED, "labels: [break-glass]\n")
    yield claim(
        f"\n{result.decision.state.capitalize()}: {result.decision.description}.",
        result.decision.state == "pending"
        and result.decision.required == 3
        and len(result.decision.approvals) == 2,
    )
    yield Heading("Mo, an admin who did not touch the change, approves as the third pair of eyes:")
    result = yield from gate(
        [*APPROVED, "{user: mo, state: APPROVED, commit: head}"], "labels: [break-glass]\n"
    )
    record = SqliteRecord(root / DEFAULT_PATH)
    try:
        logged = [
            m for (m,) in record.db.execute("SELECT message FROM events WHERE type = 'break_glass'")
        ]
    finally:
        record.close()
    yield claim(
        "\nApproved through the freeze with break-glass; the event log says so: "
        f"{logged[-1] if logged else ''}",
        result.decision.state == "approved"
        and len(result.decision.approvals) == 3
        and any("PR #45" in m and "INC-2041" in m for m in logged),
    )


def what_if_demo(repo: Repo) -> Iterator[DemoItem]:
    """Policy what-if: the same replay `foureyes simulate` runs, over the demo's ledger."""
    root = repo.path
    from ..sources.ledger import Ledger
    from ..views.simulate import load_candidate, simulate, to_text

    yield Heading(
        "Mo considers asking three approvals for critical changes. Before proposing it, he replays "
        "the PRs so far under the candidate policy:"
    )
    candidate_file = root / ".foureyes" / "candidate-approval.yaml"  # outside git, like the ledger
    text = (root / "policies" / "approval.yaml").read_text("utf-8")
    edit_from = "  critical:\n    approvals: 2"
    if edit_from not in text:
        raise DemoError("the example policy asks 2 approvals for critical changes")
    candidate_file.write_text(text.replace(edit_from, "  critical:\n    approvals: 3", 1), "utf-8")
    yield Line(f"$ foureyes simulate --policy {candidate_file.relative_to(root)}")
    source = Ledger(repo, root / ".foureyes" / "prs")
    sim = simulate(
        repo,
        source,
        load_candidate(candidate_file),
        str(candidate_file.relative_to(root)),
        "in the ledger",
    )
    yield Line(to_text(sim))
    changed = {r.number: r.change for r in sim.replays}
    yield claim(
        "\nPR #42 (critical, merged with 2 approvals) and its promotion #50 would each have "
        "needed a third; "
        "PR #43 (high) is unchanged. Nothing was decided: the policy on main still judges "
        "every PR.",
        changed == {42: "now_pending", 50: "now_pending", 43: "unchanged"}
        and not sim.failed
        and load_policy_approvals(repo) == 2,
    )


def load_policy_approvals(repo: Repo) -> int:
    from ..judging.plan import load_policy

    return load_policy(GitTree(repo, resolve(repo, "main"))).rule("critical").approvals
