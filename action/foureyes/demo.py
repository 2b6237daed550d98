"""`foureyes demo`: the whole loop on a scratch repository built from the bundled example, offline."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import click

from . import gitrepo
from .registry import BUNDLED

DEMO_ENV = {
    "GIT_AUTHOR_NAME": "Dana Scientist", "GIT_AUTHOR_EMAIL": "dana@acme.example",
    "GIT_COMMITTER_NAME": "Dana Scientist", "GIT_COMMITTER_EMAIL": "dana@acme.example",
}


def say(text: str) -> None:
    click.echo(click.style(f"\n== {text}", bold=True))


def copy_template(dest: Path) -> None:
    """Copy the bundled example repository (policies and registry) into ``dest``."""
    for part in ("policies", "registry"):
        shutil.copytree(BUNDLED / part, dest / part, dirs_exist_ok=True)


def commit_all(root: Path, message: str, author: str = "Dana Scientist <dana@acme.example>") -> str:
    name, email = author[:-1].split(" <")
    gitrepo.git(root, "add", "-A")
    gitrepo.git(root, "-c", f"user.name={name}", "-c", f"user.email={email}", "commit", "-q", "-m", message)
    return gitrepo.resolve(root, "HEAD")


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text("utf-8")
    if old not in text:
        raise RuntimeError(f"demo: {old!r} not in {path}")
    path.write_text(text.replace(old, new, 1), "utf-8")


def build_scratch_repo(root: Path) -> tuple[str, str]:
    """main with the example registry; branch `change` replacing a model and lowering an importance."""
    gitrepo.git(root, "init", "-q", "-b", "main")
    copy_template(root)
    (root / ".gitignore").write_text(".foureyes/\n", "utf-8")
    base = commit_all(root, "Registry: initial deployments", "Mo Admin <mo@acme.example>")
    gitrepo.git(root, "checkout", "-q", "-b", "change")
    deps = root / "registry" / "deployments"
    edit(deps / "fraud-scorer.yaml", 'version: "12"', 'version: "13"')
    edit(deps / "fraud-scorer.yaml", "models:/fraud-xgb/12", "models:/fraud-xgb/13")
    edit(deps / "fraud-scorer.yaml",
         "sha256:3f9a1c5e7b2d4f6a8c0e1b3d5f7a9c1e3b5d7f9a1c3e5b7d9f1a3c5e7b9d1f3a",
         "sha256:9c1e3b5d7f9a1c3e5b7d9f1a3c5e7b9d1f3a3f9a1c5e7b2d4f6a8c0e1b3d5f7a")
    edit(deps / "fraud-scorer.yaml", "auc: 0.91", "auc: 0.93")
    edit(deps / "churn-predictor.yaml", "importance: moderate", "importance: low")
    head = commit_all(root, "fraud-scorer: serve fraud-xgb v13; churn-predictor is now low importance")
    return base, head


def run(directory: Path | None) -> int:
    from .plan import make_plan
    from .report import TextReporter, plan_markdown
    from .validate import targets, validate

    root = Path(directory or tempfile.mkdtemp(prefix="foureyes-demo-")).resolve()
    root.mkdir(parents=True, exist_ok=True)
    if any(root.iterdir()):
        raise click.UsageError(f"{root} is not empty; the demo builds its repository in an empty folder")
    out = TextReporter()

    say(f"A scratch repository in {root}: the example registry on main")
    base, head = build_scratch_repo(root)
    for f in sorted((root / "registry" / "deployments").glob("*.yaml")):
        click.echo(f"  {f.relative_to(root)}")

    say("Dana, a data scientist, changes two deployments on branch `change`: fraud-scorer gets "
        "model v13, churn-predictor is lowered from moderate to low importance. She validates:")
    click.echo("$ foureyes validate")
    result = validate(root, targets(root, [], root))
    out.validation(result)

    say("What the change means, judged by the policy on main (foureyes plan --base main):")
    plan = make_plan(root, "main", "change")
    out.plan(plan)
    click.echo("\nThe lowered importance is judged at the old, higher level; the fraud model needs "
               f"{plan.required_approvals} approvals because fraud-scorer is {plan.level}.")

    say("The PR comment foureyes would post (foureyes plan --format markdown):")
    click.echo(plan_markdown(plan))
    gate_demo(root, out)
    promotion_demo(root, out)
    governance_demo(root, out)
    click.echo(f"\nDone. The scratch repository stays in {root}.")
    return 0


FACTS = """\
# PR facts for `foureyes gate --local`: who is who (GitHub links commit emails to accounts),
# the admin team, and the reviews so far. The commits themselves are read from git.
number: 42
author: dana
body: |
  Serve fraud-xgb v13 (AUC 0.91 -> 0.93 on the November holdout).
  churn-predictor only feeds weekly campaigns now, so it is lowered to low importance.
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


def write_facts(root: Path, reviews: list[str], extra: str = "") -> Path:
    path = root / ".foureyes" / "pr-42.yaml"  # beside the repository's data, not in its history
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(FACTS.format(reviews="\n".join(f"  - {r}" for r in reviews) or "  []") + extra, "utf-8")
    return path


def gate_demo(root: Path, out) -> None:
    from .gate import decide
    from .local import load_local_facts

    def gate(reviews: list[str]):
        facts_file = write_facts(root, reviews)
        head = gitrepo.resolve(root, "change")
        result = decide(root, lambda: load_local_facts(facts_file, root, "main", head))
        click.echo(f"$ foureyes gate --local {facts_file.relative_to(root)} --base main --head change")
        out.gate(result)
        return result

    say("Dana opens PR #42 and approves it herself; Alice approves the first version.")
    gate(["{user: dana, state: APPROVED, commit: head}", "{user: alice, state: APPROVED, commit: head}"])

    say("Dana pushes one more commit (a better description). Alice's approval was for the old head:")
    edit(root / "registry" / "deployments" / "fraud-scorer.yaml", "before authorisation.",
         "before authorisation; v13 adds merchant-category features.")
    commit_all(root, "fraud-scorer: describe v13")
    result = gate(["{user: dana, state: APPROVED, commit: head}", "{user: alice, state: APPROVED, commit: head~1}",
                   "{user: carol, state: APPROVED, commit: head}"])
    click.echo(f"\nStill {result.decision.state}: self-approval, stale approval and a pending team member "
               "never count.")

    say("Alice and Bob, both active admins who did not touch the change, approve the current head:")
    result = gate(["{user: dana, state: APPROVED, commit: head}", "{user: alice, state: APPROVED, commit: head}",
                   "{user: bob, state: APPROVED, commit: head}"])
    click.echo(f"\nThe decision is {result.decision.state}: the foureyes/approval status turns green.")


APPROVED = ["{user: dana, state: APPROVED, commit: head}", "{user: alice, state: APPROVED, commit: head}",
            "{user: bob, state: APPROVED, commit: head}"]


def promotion_demo(root: Path, out) -> None:
    from .deploy.provenance import LocalLedger
    from .deploy.reconcile import deploy
    from .deploy.record import DEFAULT_PATH, SqliteRecord

    base, head = gitrepo.resolve(root, "main"), gitrepo.resolve(root, "change")
    say("Mo, the release manager, merges PR #42 into main (the merge is recorded for provenance).")
    gitrepo.git(root, "checkout", "-q", "main")
    gitrepo.git(root, "-c", "user.name=Mo Admin", "-c", "user.email=mo@acme.example", "merge", "-q", "--no-ff",
                "-m", "Merge pull request #42 from acme/change", "change")
    merge = gitrepo.resolve(root, "HEAD")
    ledger = root / ".foureyes" / "prs"
    ledger.mkdir(parents=True, exist_ok=True)
    write_facts(root, APPROVED, f"base: {base}\nhead: {head}\nmerge_commit: {merge}\nmerged_at: '2026-11-22T12:00:00Z'\n"
                ).replace(ledger / "42.yaml")
    record = SqliteRecord(root / DEFAULT_PATH)
    source = LocalLedger(root, ledger)

    def run(env: str):
        click.echo(f"$ foureyes deploy --env {env}")
        result = deploy(root, env, record, source, progress=out.deploy_step)
        out.deploy(result)
        return result

    say("A merge to main deploys to staging. First the provenance re-check: every commit since the last "
        "deploy must come from an approved PR; then the local target writes each manifest.")
    run("staging")
    click.echo("\nRunning it again changes nothing (idempotent):")
    run("staging")

    say("Cutting release/2026.11 deploys the same approved state to production:")
    gitrepo.git(root, "checkout", "-q", "-b", "release/2026.11")
    run("production")
    click.echo("\n$ foureyes resolve fraud-scorer --env production")
    import json

    entry = record.entries("production")["fraud-scorer"]
    click.echo(json.dumps(entry.to_json(), indent=2, sort_keys=True))
    click.echo(f"(manifests: {root / '.foureyes' / 'serving'})")

    say("Someone pushes straight to main, bumping product-recs without a PR:")
    gitrepo.git(root, "checkout", "-q", "main")
    edit(root / "registry" / "deployments" / "product-recs.yaml", '"2026.11.3"', '"2026.11.9"')
    edit(root / "registry" / "deployments" / "product-recs.yaml", "2026.11.3", "2026.11.9")
    commit_all(root, "hotfix: product-recs 2026.11.9", "Eve Hurry <eve@acme.example>")
    result = run("staging")
    click.echo(f"\nThe unapproved commit never reaches staging ({'refused' if result.violations else 'ERROR'}).")
    record.close()
    gitrepo.git(root, "reset", "-q", "--hard", "HEAD~1")  # the hotfix is reverted; main is approved again


def governance_demo(root: Path, out) -> None:
    from datetime import datetime, timedelta, timezone

    from .deploy.provenance import Checker, LocalLedger
    from .deploy.record import DEFAULT_PATH, SqliteRecord
    from .history import change_text, governance_history
    from .inventory import build, to_text
    from .inventory_html import render
    from .deploy.targets import write_atomically
    from .plan import load_policy
    from .timeout import due_action, plan_action

    ledger = root / ".foureyes" / "prs"
    say("Meanwhile Dana opened PR #43 (credit-limit v8, high importance); nobody has reviewed it.")
    base = gitrepo.resolve(root, "main")
    gitrepo.git(root, "checkout", "-q", "-b", "credit-v8")
    edit(root / "registry" / "deployments" / "credit-limit.yaml", 'version: "7"', 'version: "8"')
    edit(root / "registry" / "deployments" / "credit-limit.yaml", "/7/", "/8/")
    head = commit_all(root, "credit-limit: serve v8")
    gitrepo.git(root, "checkout", "-q", "main")
    (ledger / "43.yaml").write_text(FACTS.format(reviews="  []").replace("number: 42", "number: 43")
                                    + f"base: {base}\nhead: {head}\n", "utf-8")

    say("The scheduled `foureyes timeout` job finds it pending past the 48h timeout of its level:")
    policy = load_policy(gitrepo.GitTree(root, base))
    rule = policy.rule("high")
    now = datetime.now(timezone.utc)
    since = now - timedelta(hours=50)
    action = due_action(rule, since, None, now)
    planned = plan_action(43, action, "high", rule, now - since, policy, "0 of 2 approvals", "acme")
    click.echo(f"PR #43: {action} (pending 50h, timeout 48h). The comment it posts:\n  "
               + planned.comment.splitlines()[1])
    click.echo(f"It asks {', '.join('@acme/' + t for t in planned.teams)} to review again; a second run "
               f"within 48h does nothing: {due_action(rule, since, now, now + timedelta(hours=1))}.")
    record = SqliteRecord(root / DEFAULT_PATH)
    record.add_event("timeout", "warning", f"PR #43: {action} after 50.0h pending (high)", data=planned.to_json())

    say("$ foureyes inventory   (credit-limit needs approval: PR #43 is open)")
    source = LocalLedger(root, ledger)
    rows, envs = build(root, "main", record, source.open_prs(), checker=Checker(root, source))
    click.echo(to_text(rows, envs))
    page = root / ".foureyes" / "site" / "index.html"
    write_atomically(page, render(rows, envs, now.strftime("%Y-%m-%d %H:%M UTC"), "acme/models (demo)"))
    click.echo(f"\n$ foureyes inventory --html {page.parent}   -> open {page.as_uri()} in a browser")

    say("$ foureyes history fraud-scorer")
    for r in governance_history(root, "fraud-scorer", "main", Checker(root, LocalLedger(root, ledger))):
        who = f"approved by {', '.join(r.approved_by)} in PR #{r.pr}" if r.pr else r.approval
        click.echo(f"  {r.date[:16]}  {r.event:<17} {change_text(r.to_json()):<32} by {r.changed_by}, {who}")

    say("$ foureyes events   (the event log of everything above)")
    from .eventlog import Filters, query

    for e in query(record.db, Filters()):
        click.echo(f"  {e['status']:<8} {e['type']:<21} {e['environment'] or '-':<11} {e['message'][:90]}")
    record.close()
