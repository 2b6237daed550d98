"""What the commands without a format-specific reporter (reporters.py) write: one function per
command, over the result of its use case in app/."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from .console import json_dump, say, table

if TYPE_CHECKING:
    from ..app.changes import PromoteResult, RollbackResult
    from ..app.deploy import ResolveResult
    from ..app.freeze import FreezeResult
    from ..app.gate import GateOutcome
    from ..app.setup import CodeownersResult, InitOutcome, PinAfterInit, PinOutcome, ProtectOutcome
    from ..app.timeout import TimeoutResult
    from ..app.timeout_pipeline import TimeoutAction
    from ..app.views import EventsResult, HistoryResult, InventoryResult, SimulateResult
    from ..deploy.promote import Promotion
    from ..registry.pins import Unpinned


def gate(outcome: GateOutcome, fmt: str) -> None:
    """The decision in the chosen format; with --which-pr, only the PR the run is about, as the
    step output `pr` and on stdout."""
    from .reporters import reporter, set_outputs

    if outcome.which_pr is not None:
        set_outputs({"pr": str(outcome.which_pr)})
        say(outcome.which_pr)
    if outcome.result is not None:
        reporter(fmt).gate(outcome.result)


def freeze(result: FreezeResult, fmt: str) -> None:
    from ..judging.freeze import listing_text

    if fmt == "json":
        json_dump(result.listing)
    else:
        say(listing_text(result.listing))


def codeowners(result: CodeownersResult) -> None:
    say(result.message)


def unpinned(entries: list[Unpinned]) -> None:
    if not entries:
        say("every policy user is pinned to an account id")
    for entry in entries:
        say(f"{entry.file}:{entry.line}: @{entry.login} is not pinned")


def pin(outcome: PinOutcome) -> None:
    if outcome.result is None:
        return
    for file, login, account_id in outcome.result.pinned:
        say(f"pinned @{login} to account {account_id} in {file}")
    say("review and commit: " + " ".join(outcome.result.files))


def resolve(result: ResolveResult) -> None:
    entry = result.entry
    if entry is not None and result.served:
        json_dump(entry.to_json(), sort_keys=True)
        return
    state = "is not deployed" if entry is None else f"is {entry.status}"
    say(f"foureyes: {result.name} {state} in {result.env_name}", err=True)


def protect(outcome: ProtectOutcome) -> None:
    result, check = outcome.result, outcome.check
    if not outcome.waits_once:
        say(
            "note: .github/workflows/foureyes-deploy.yml has no `approve` job, so each "
            "environment keeps its reviewers (asked once per job wave); `foureyes init` "
            "writes the workflow that asks once"
        )
    for line in result.drift:
        say(f"{'drift' if check else 'fixed'}: {line}")
    for line in result.unapplied:  # what GitHub's plan does not offer here: never silently dropped
        say(f"not applied: {line}")
    if check:
        say("no drift" if not result.drift else f"{len(result.drift)} setting(s) drifted")
    else:
        say("updated: " + ", ".join(result.changed) if result.changed else "already protected")
    if result.unapplied:
        say(
            f"{len(result.unapplied)} setting(s) could not be applied on this plan; see the "
            "README, "
            "'What protect applies, and what needs GitHub Enterprise'"
        )


def rollback(result: RollbackResult) -> None:
    if result.refused is not None:
        say(f"foureyes: {result.refused}", err=True)
        return
    assert result.change is not None
    if result.url is not None:
        say(f"opened {result.url}: {result.change.title}")
        return
    say(result.patch)
    say(f"# branch {result.change.branch} holds the rollback: push it and open a PR", err=True)


def promotion_steps(promotion: Promotion) -> None:
    for step in promotion.steps:
        say(f"  {step.describe()}")


def promote(result: PromoteResult) -> None:
    if result.refused is not None:
        say(f"foureyes: {result.refused}", err=True)
        return
    promotion = result.promotion
    assert promotion is not None
    if result.url is not None:
        say(f"opened {result.url}: {promotion.title}")
        return
    say(
        f"# branch {promotion.branch} is at {promotion.commit[:12]}: push it and open a PR into "
        f"{promotion.into} ({promotion.title})",
        err=True,
    )


def inventory(result: InventoryResult, fmt: str) -> None:
    from ..views import inventory as views

    if fmt == "csv":
        say(views.to_csv(result.rows, result.environments), nl=False)
    else:
        text = views.to_text(result.rows, result.environments)
        table(fmt, [r.to_json() for r in result.rows], text, [])


def inventory_page(result: InventoryResult, html_dir: Path) -> None:
    """--html: the one self-contained page, DIR/index.html, written atomically (a web server may
    be reading the old one); says where."""
    from datetime import UTC, datetime

    from ..deploy.targets import write_atomically
    from .inventory_html import render

    page = html_dir / "index.html"
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    write_atomically(page, render(result.rows, result.environments, stamp, result.repository))
    say(f"wrote {page}", err=True)


_LIVE_COLUMNS = ["deployment", "model", "version", "deployed_at", "commit", "pr", "approvers"]
_HISTORY_COLUMNS = [
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
]


def history(result: HistoryResult, fmt: str) -> None:
    from ..views.history import change_text

    rows = result.rows
    if result.env_name is not None:
        lines = [
            f"  {r['deployment']:<24} {r['model']} v{r['version']}  (deployed {r['deployed_at']}, "
            f"{'PR #' + str(r['pr']) if r['pr'] else 'bootstrap'})"
            for r in rows
        ]
        text = "\n".join([f"{result.env_name} at {result.at}:"] + (lines or ["  nothing was live"]))
        table(fmt, rows, text, _LIVE_COLUMNS)
        return
    lines = [
        f"{r['date'][:16]}  {r['event']:<17} {change_text(r):<40} by {r['changed_by']:<14} "
        f"{'approved by ' + ', '.join(r['approved_by']) + ' in PR #' + str(r['pr']) if r['pr'] else r['approval']}"
        for r in rows
    ]
    table(fmt, rows, "\n".join(lines) or f"no history for {result.name}", _HISTORY_COLUMNS)


def imported(count: int, repo_name: str) -> None:
    say(f"imported {count} event(s) from {repo_name}'s workflow runs", err=True)


def pruned(count: int, retention_days: int) -> None:
    say(f"pruned {count} event(s) older than {retention_days} days", err=True)


def events(result: EventsResult, fmt: str) -> None:
    lines = [
        f"{r['at']}  {r['status']:<8} {r['type']:<21} {r['environment'] or '-':<11} "
        f"{r['deployment'] or '-':<20} "
        f"{r['message']}"
        for r in result.rows
    ]
    table(
        fmt,
        result.rows,
        "\n".join(lines) or "no events",
        ["at", "type", "status", "deployment", "environment", "message", "data"],
    )


def simulate(result: SimulateResult, fmt: str) -> None:
    from ..views.simulate import render
    from .output import json_text

    text = render(result.simulation, fmt)
    say(json_text(text) if fmt == "json" else text)


def timeout_action(action: TimeoutAction, dry_run: bool, fmt: str) -> None:
    """One action as it is taken (text only; JSON lists them all at the end)."""
    if fmt == "text":
        verb = "due" if dry_run else "done"
        say(
            f"PR #{action.pr}: {action.action} {verb} ({action.level}, pending "
            f"{action.to_json()['waited_hours']}h)"
        )


def timeout(result: TimeoutResult, fmt: str) -> None:
    if fmt == "json":
        json_dump([{**a.to_json(), "done": not result.dry_run} for a in result.actions])
    elif not result.actions:
        say("no review timeouts due")


def init(outcome: InitOutcome) -> None:
    for rel in outcome.files.written:
        say(f"wrote {rel}")
    for rel in outcome.files.kept:
        say(f"kept  {rel} (exists; --force overwrites)")
    for rel, why in outcome.files.skipped:
        say(f"left out {rel} ({why}; --force writes it)")
    if outcome.codeowners_skipped:
        say(outcome.codeowners_skipped)


def init_pins(result: PinAfterInit) -> None:
    """The policy users init pinned (or why not), then what to do next."""
    if result.unreadable is not None:
        say(f"not pinned: {result.unreadable}")
    elif result.unpinned:
        say(
            f"{result.unpinned} policy user(s) not pinned to an account id: run `foureyes pin` "
            "with GITHUB_TOKEN"
        )
    for file, login, account_id in result.pinned:
        say(f"pinned @{login} to account {account_id} in {file}")
    say(
        "next: edit policies/approval.yaml (approvers; then `foureyes pin`) and registry/, "
        "then `foureyes validate`; "
        "see the README for the GitHub App and environments"
    )
