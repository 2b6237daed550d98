"""Renderers: text, json, markdown (the PR comment body) and github (annotations, step summary,
step outputs). Each reporter is a class with one method per result kind; the CLI picks one."""

from __future__ import annotations

import json
import os
import re
import secrets
import sys
from typing import TYPE_CHECKING, Protocol

from ..judging.changes import Event
from ..vocabulary import EventType, State
from .escape import (
    actions_log_json,
    actions_log_line,
    command_data,
    command_property,
    markdown,
    markdown_code,
    markdown_lines,
)

if TYPE_CHECKING:
    from collections.abc import Iterable

    from ..app.gate_pipeline import GateResult
    from ..deploy.reconcile import DeployResult, Step
    from ..judging.facts import Account
    from ..judging.plan import Plan
    from ..judging.rules import Outcome
    from ..registry.model import Problem
    from ..registry.validate import Validation

# the runner shows at most 10 error annotations per step; the rest go to the job summary
MAX_ANNOTATIONS = 10


def resolve_format(fmt: str) -> str:
    if fmt == "auto":
        return "github" if os.environ.get("GITHUB_ACTIONS") == "true" else "text"
    return fmt


# workflow commands and the log: escape.py (one function per medium)
_escape_data, _escape_property, log_line = command_data, command_property, actions_log_line


def annotation(
    kind: str,
    message: str,
    file: str | None = None,
    line: int | None = None,
    col: int | None = None,
    title: str | None = None,
) -> str:
    props = []
    if file:
        props.append(f"file={_escape_property(file)}")
    if line:
        props.append(f"line={line}")
    if col:
        props.append(f"col={col}")
    if title:
        props.append(f"title={_escape_property(title)}")
    head = f"::{kind} {','.join(props)}" if props else f"::{kind}"
    return f"{head}::{_escape_data(message)}"


def append_step_summary(markdown: str) -> None:
    path = os.environ.get("GITHUB_STEP_SUMMARY")
    if path:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(markdown.rstrip("\n") + "\n\n")


def set_outputs(values: dict) -> None:
    path = os.environ.get("GITHUB_OUTPUT")
    if not path:
        return
    with open(path, "a", encoding="utf-8") as fh:
        for key, value in values.items():
            text = value if isinstance(value, str) else json.dumps(value)
            if "\n" in text or "\r" in text:
                # a delimiter no value can contain, or a value could close it and set other outputs
                # (GitHub's docs on multiline strings recommend a random one)
                delimiter = f"FOUREYES_EOF_{secrets.token_hex(16)}"
                fh.write(f"{key}<<{delimiter}\n{text}\n{delimiter}\n")
            else:
                fh.write(f"{key}={text}\n")


def labelled(label: str, text: str) -> str:
    """``label: text``, unless the text already starts with that label (a decision's description
    starts with "blocked:" or "error:"): never `blocked: blocked: ...`."""
    return text if text.lower().startswith(label.lower() + ":") else f"{label}: {text}"


def _md_cell(value: object) -> str:
    """Text in Markdown (a table cell, a list item): escaped so it renders as itself; "–" if empty."""
    return markdown(value) if value not in (None, "") else "–"


_LOGIN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\[bot\])?")


def _mention(login: str) -> str:
    """@login as GitHub spells logins (letters, digits, hyphens; a bot's [bot]) stays a mention;
    anything else (a hand-written facts file) is escaped text, its `@` included: `acme/everyone`
    must not become the team mention `@acme/everyone`."""
    return f"@{login}" if _LOGIN.fullmatch(login) else markdown("@" + login)


_PLAIN_NAME = re.compile(r"[A-Za-z0-9._/-]+")


def _code(value: object) -> str:
    """A name or path as inline code when it is a plain one; anything else (a path a PR chose
    with backticks or tags in it) as escaped text, which no HTML parser can read as a tag."""
    if value in (None, ""):
        return "–"
    return f"`{value}`" if _PLAIN_NAME.fullmatch(str(value)) else markdown(value)


def _model(m: dict | None) -> str:
    if not m:
        return "–"
    text = f"{m.get('name')} v{m.get('version')}"
    return text + (f" ({m['digest'][:19]}…)" if m.get("digest") else "")


def _value(v: object) -> str:
    if v is None:
        return "(none)"
    text = v if isinstance(v, str) else json.dumps(v, sort_keys=True)
    return text if len(text) <= 40 else text[:39] + "…"


def _shown(key: str, v: object) -> str:
    """A changed value as a person reads it; `environments` absent means every environment."""
    if key == "environments" and (v is None or isinstance(v, (list, tuple))):
        return served(v)
    return _value(v)


def describe_changes(changes: dict) -> tuple[str, str]:
    """(from, to) for changed fields: `metrics.auc: 0.91`, `metrics.auc: 0.93`."""
    return (
        "; ".join(f"{k}: {_shown(k, b)}" for k, (b, _) in changes.items()),
        "; ".join(f"{k}: {_shown(k, a)}" for k, (_, a) in changes.items()),
    )


def changes_text(changes: dict) -> str:
    """One line: `metrics.auc 0.91 -> 0.93; importance moderate -> low`."""
    return "; ".join(f"{k} {_shown(k, b)} -> {_shown(k, a)}" for k, (b, a) in changes.items())


def served(environments: list[str] | tuple[str, ...] | None) -> str:
    """Where a deployment serves, as a reviewer reads it; no list means every environment."""
    return ", ".join(environments) if environments is not None else "(every environment)"


def event_change(e: Event) -> tuple[str, str]:
    """(from, to) as a person reads them; a governance change is a file that changed (no from/to)."""
    if e.type == EventType.GOVERNANCE:
        return describe_changes(e.changes) if e.changes else ("", "")
    if e.type == EventType.CHANGE_IMPORTANCE:
        return e.importance_before or "", e.importance_after or ""
    if e.type == EventType.UPDATE:
        return describe_changes(e.changes) if e.changes else (", ".join(e.fields), "")
    if e.type == EventType.CHANGE_ENVIRONMENTS:
        before, after = e.changes["environments"]
        return served(before), served(after)
    if e.type == EventType.PROMOTE:
        return _promoted(e)
    return _model(e.model_before), _model(e.model_after)


def _promoted(e: Event) -> tuple[str, str]:
    """What the deploy branch serves now and what it will serve: the model, with the importance
    where it changes, then every other field that changes (a reviewer sees all it carries)."""
    if e.model_before == e.model_after and e.importance_before == e.importance_after:
        return describe_changes(e.changes) if e.changes else (", ".join(e.fields), "")
    sides = []
    for model, importance in (
        (e.model_before, e.importance_before),
        (e.model_after, e.importance_after),
    ):
        text = _model(model)
        if model and e.importance_before != e.importance_after:
            text += f" ({importance})"
        sides.append(text)
    if e.changes and e.model_before and e.model_after:
        before, after = describe_changes(e.changes)
        sides = [f"{sides[0]}; {before}", f"{sides[1]}; {after}"]
    return sides[0], sides[1]


def plan_markdown_table(plan: Plan) -> str:
    lines = [
        "| deployment | event | from | to | judged at | approval |",
        "|---|---|---|---|---|---|",
    ]
    for e in plan.events:
        before, after = event_change(e)
        needs = f"{plan.policy.rule(e.level).approvals}" if e.requires_approval else "not required"
        lines.append(
            "| "
            + " | ".join(
                (
                    _code(e.deployment or e.file),
                    _md_cell(EventType(e.type).label),
                    _md_cell(before),
                    _md_cell(after),
                    f"**{_md_cell(e.level)}**",
                    _md_cell(needs),
                )
            )
            + " |"
        )
    return "\n".join(lines)


def problems_markdown(problems: Iterable[Problem]) -> str:
    lines = ["| file | line | problem |", "|---|---|---|"]
    lines += [f"| {_code(p.file)} | {p.line or ''} | {_md_cell(p.message)} |" for p in problems]
    return "\n".join(lines)


class Reporter:
    """What each command reports, in one output format (`--format`). A format that has nothing
    to say for a command (the matrix of `foureyes validate`) leaves the method unimplemented."""

    def __init__(self, out: Output | None = None) -> None:
        self.out = out or sys.stdout

    def write(self, text: str = "") -> None:
        self.out.write(text + "\n")

    def validation(self, v: Validation) -> None:
        raise NotImplementedError

    def plan(self, plan: Plan) -> None:
        raise NotImplementedError

    def gate(self, result: GateResult) -> None:
        raise NotImplementedError

    def deploy_step(self, step: Step) -> None:
        raise NotImplementedError

    def deploy(self, result: DeployResult) -> None:
        raise NotImplementedError


class TextReporter(Reporter):
    def validation(self, v: Validation) -> None:
        for p in v.problems:
            self.write(f"{p}")
        self.write(
            f"{'ok' if v.ok else 'invalid'}: {v.files} file(s) checked, {len(v.problems)} "
            "problem(s)"
        )

    def plan(self, plan: Plan, outcomes: list[Outcome] | None = None) -> None:
        self.write(f"change {plan.base[:12]}..{plan.head[:12]}: {len(plan.events)} event(s)")
        for e in plan.events:
            before, after = event_change(e)
            arrow = (
                changes_text(e.changes)
                if e.type in (EventType.UPDATE, EventType.GOVERNANCE) and e.changes
                else f"{before} -> {after}"
                if after
                else before or "changed"
            )
            need = "" if e.requires_approval else " (no approval required)"
            self.write(f"  {e.type:<17} {e.deployment or e.file:<28} {arrow}  [{e.level}]{need}")
        for p in plan.problems:
            self.write(f"  invalid: {p}")
        if plan.level:
            self.write(
                f"level {plan.level}: {plan.required_approvals} approval(s) from "
                f"{plan.policy.describe_approvers()}"
            )
        else:
            self.write("no approval required")
        if plan.owners:
            self.write(
                "may not approve (owners): " + ", ".join(f"@{o}" for o in sorted(plan.owners))
            )
        for o in plan.rule_outcomes if outcomes is None else outcomes:
            self.write(f"  rule {o.summary}")

    def gate(self, result: GateResult) -> None:
        d = result.decision
        if result.plan is not None:
            self.plan(result.plan, d.rules)
        self.write(f"decision: {labelled(d.state, d.description)}")
        for a in d.approvals:
            self.write(f"  counted: @{a.login}")
        for i in d.ignored:
            self.write(f"  ignored: @{i.login} ({i.reason}: {i.detail})")
        for b in d.blocking:
            self.write(f"  blocking: {labelled(b.reason, b.detail)}")
        if d.freeze:
            self.write(f"  freeze: {freeze_text(d.freeze)}")
        for r in d.requirements:
            self.write(
                f"  rule {r.rule.name} requires {r.rule.requirement()}: "
                f"{'met' if r.met else 'missing'} (counted: {_logins(r.counted)})"
            )

    def deploy_step(self, step: Step) -> None:
        mark = "ok" if step.ok else "FAILED"
        self.write(f"  {step.action:<14} {step.name:<24} {mark}: {step.message}")

    def deploy(self, result: DeployResult) -> None:
        for p in result.problems:
            self.write(f"invalid: {p}")
        for v in result.violations:
            self.write(f"refused: {v}")
        for line in getattr(result, "frozen", ()):
            self.write(f"frozen: {line}")
        verb = "refused" if result.violations else "would apply" if result.dry_run else "applied"
        self.write(
            f"{result.environment} @ {result.commit[:12]}: {len(result.steps)} change(s) {verb}"
        )
        for line in deploy_lines(result):
            self.write(line)
        if result.dry_run:  # what each target's check verified, or why it failed
            for s in result.steps:
                if s.message:
                    self.write(f"  {s.name}: {s.message}")
        failed = [s.name for s in result.steps if s.ok is False]
        if result.dry_run and failed:
            self.write(
                f"dry run failed: the target's check failed for {', '.join(failed)}; nothing "
                "was applied"
            )
        if result.violations:
            self.write(
                f"deploy refused: {len(result.violations)} commit(s) without an approved "
                "pull request"
            )


class JsonReporter(Reporter):
    def validation(self, v: Validation) -> None:
        self.write(
            json.dumps(
                {
                    "valid": v.ok,
                    "files": v.files,
                    "problems": [p.to_json() for p in v.problems],
                },
                indent=2,
            )
        )

    def plan(self, plan: Plan) -> None:
        self.write(json.dumps(plan.to_json(), indent=2))

    def gate(self, result: GateResult) -> None:
        self.write(json.dumps(result.to_json(), indent=2))

    def deploy_step(self, step: Step) -> None:
        pass

    def deploy(self, result: DeployResult) -> None:
        self.write(json.dumps(result.to_json(), indent=2))


class MarkdownReporter(Reporter):
    def validation(self, v: Validation) -> None:
        if v.ok:
            self.write(f"**foureyes validate**: {v.files} file(s), no problems.")
        else:
            self.write(
                f"**foureyes validate**: {len(v.problems)} problem(s) in {v.files} file(s)\n"
            )
            self.write(problems_markdown(v.problems))

    def plan(self, plan: Plan) -> None:
        self.write(plan_markdown(plan))

    def gate(self, result: GateResult) -> None:
        self.write(gate_markdown(result))

    def deploy_step(self, step: Step) -> None:
        pass

    def deploy(self, result: DeployResult) -> None:
        self.write(deploy_table(result, markdown=True))


def _logins(accounts: Iterable[Account]) -> str:
    return ", ".join(f"@{a.login}" for a in accounts) or "none yet"


_RULE_RESULT = {
    "holds": "holds",
    "violated": "**violated**",
    "error": "**cannot be evaluated**",
    "needs_pr": "decided by the gate (reads the PR)",
}


def rules_markdown(outcomes: Iterable[Outcome]) -> str:
    """Which transition rules applied to which event, and why: the expression, its result, what follows."""
    lines = [
        "| rule | deployment | event | expression | result | then |",
        "|---|---|---|---|---|---|",
    ]
    for o in outcomes:
        r = o.rule
        then = (
            "–"
            if o.result in ("holds", "needs_pr")
            else "fails closed: " + o.detail
            if o.result == "error"
            else f"{r.message}: blocked"
            if r.action == "deny"
            else f"{r.message}: needs {r.requirement()}"
        )
        expression = r.expression if len(r.expression) <= 120 else r.expression[:119] + "…"
        lines.append(
            "| "
            + " | ".join(
                (
                    _code(r.name),
                    _code(o.deployment),
                    _md_cell(o.event.replace("_", " ")),
                    markdown_code(expression),
                    _RULE_RESULT[o.result],
                    _md_cell(then),
                )
            )
            + " |"
        )
    return "\n".join(lines)


def plan_markdown(plan: Plan, outcomes: list[Outcome] | None = None) -> str:
    parts = ["### What this change means", ""]
    if plan.events:
        parts.append(plan_markdown_table(plan))
    else:
        parts.append("No deployment or governance changes.")
    if plan.problems:
        parts += ["", "**Invalid files** (fix these first):", "", problems_markdown(plan.problems)]
    parts.append("")
    if plan.level:
        parts.append(
            f"Judged at **{plan.level}**: needs **{plan.required_approvals}** approval(s) from "
            f"{plan.policy.describe_approvers()}, none of them the author, a committer or a user "
            f"listed as owner."
        )
    else:
        parts.append("No approval required by the policy.")
    if plan.owners:
        parts.append(
            # named, not mentioned: they are not asked to act, and the PR's head may list anyone
            "Owners who may not approve: "
            + ", ".join(markdown("@" + o) for o in sorted(plan.owners))
            + "."
        )
    outcomes = plan.rule_outcomes if outcomes is None else outcomes
    if outcomes:
        parts += [
            "",
            "#### Transition rules (`policies/rules/`, read at the base)",
            "",
            rules_markdown(outcomes),
        ]
    return "\n".join(parts)


def _deploy_rows(result: DeployResult) -> list[tuple]:
    pending = "refused" if result.violations else "dry run" if result.dry_run else "not applied"
    rows = []
    for s in result.steps:
        before, after = _model(s.before), _model(s.after)
        if s.action == "update":  # the model stays: show what did change
            before, after = (
                describe_changes(s.changes) if s.changes else ("(unchanged: re-applied)", "")
            )
        elif s.changes:  # a new model, and other fields with it
            more = describe_changes(s.changes)
            before, after = f"{before}; {more[0]}", f"{after}; {more[1]}"
        rows.append(
            (
                s.name,
                s.action.replace("_", " "),
                before,
                after,
                pending if s.ok is None else "ok" if s.ok else "failed",
                s.message,
            )
        )
    return rows


def deploy_lines(result: DeployResult) -> list[str]:
    """One text line per change (a list, so that each value stays on its own line)."""
    if not result.steps:
        return ["  nothing to do: the environment matches the registry"]
    lines = []
    for s, r in zip(result.steps, _deploy_rows(result), strict=False):
        if s.action == "update":
            what = changes_text(s.changes) if s.changes else "unchanged: re-applied"
        else:
            what = f"{_model(s.before)} -> {_model(s.after)}" + (
                f"; {changes_text(s.changes)}" if s.changes else ""
            )
        lines.append(f"  {r[0]:<24} {r[1]:<14} {what}  [{r[4]}]")
    return lines


def deploy_table(result: DeployResult, markdown: bool) -> str:
    if not markdown:
        return "\n".join(deploy_lines(result))
    head = ["| deployment | change | from | to | result | detail |", "|---|---|---|---|---|---|"]
    return "\n".join(
        head + ["| " + " | ".join(_md_cell(c) for c in r) + " |" for r in _deploy_rows(result)]
    )


class SafeTextReporter(TextReporter):
    """Text for a workflow log: every line goes through ``log_line``."""

    def write(self, text: str = "") -> None:
        self.out.write(log_line(text) + "\n")  # each write is one line: a line break is a value's

    def command(self, line: str) -> None:
        """A workflow command foureyes built itself (its values escaped by ``annotation``)."""
        from .output import command

        command(line, self.out)


class GithubReporter(SafeTextReporter):
    def validation(self, v: Validation) -> None:
        for p in v.problems[:MAX_ANNOTATIONS]:
            self.command(annotation("error", p.message, p.file, p.line, p.col, p.title))
        if len(v.problems) > MAX_ANNOTATIONS:
            self.command(
                annotation(
                    "notice",
                    f"{len(v.problems) - MAX_ANNOTATIONS} more problem(s): see the job summary",
                )
            )
        self.write(
            f"{'ok' if v.ok else 'invalid'}: {v.files} file(s) checked, {len(v.problems)} "
            "problem(s)"
        )
        if v.problems:
            append_step_summary(
                f"## foureyes validate: {len(v.problems)} problem(s)\n\n"
                + problems_markdown(v.problems)
            )
        else:
            append_step_summary(f"## foureyes validate: {v.files} file(s), no problems")
        set_outputs({"valid": str(v.ok).lower(), "problems": str(len(v.problems))})

    def plan(self, plan: Plan, outcomes: list[Outcome] | None = None) -> None:
        for p in plan.problems[:MAX_ANNOTATIONS]:
            self.command(annotation("error", p.message, p.file, p.line, p.col, p.title))
        super().plan(plan, outcomes)
        append_step_summary(plan_markdown(plan, outcomes))
        set_outputs(
            {
                "level": plan.level or "none",
                "required": str(plan.required_approvals),
                "events": json.dumps([e.to_json() for e in plan.events]),
            }
        )

    def gate(self, result: GateResult) -> None:
        d = result.decision
        if result.plan is not None:
            for p in result.plan.problems[:MAX_ANNOTATIONS]:
                self.command(annotation("error", p.message, p.file, p.line, p.col, p.title))
        if d.state in ("blocked", "error"):
            self.command(annotation("error", d.description, title=f"foureyes: {d.state}"))
        SafeTextReporter(self.out).gate(result)
        append_step_summary(gate_markdown(result).replace(STICKY_MARKER + "\n", ""))
        set_outputs(
            {
                "decision": d.state,
                "level": d.level or "none",
                "required": str(d.required),
                "approvals": ",".join(a.login for a in d.approvals),
            }
        )

    def deploy_step(self, step: Step) -> None:
        self.command(f"::group::{_escape_data(f'{step.action} {step.name}')}")
        TextReporter.deploy_step(self, step)
        self.command("::endgroup::")
        if step.ok is False:
            self.command(
                annotation(
                    "error", f"{step.name}: {step.message}", title=f"deploy failed: {step.name}"
                )
            )

    def deploy(self, result: DeployResult) -> None:
        for v in result.violations:
            self.command(annotation("error", str(v), title="provenance: deploy refused"))
        for line in getattr(result, "frozen", ()):
            self.command(annotation("error", line, title="freeze: deploy refused"))
        if result.dry_run:  # a real run annotates each failed step as it goes (deploy_step)
            for s in result.steps:
                if s.ok is False:
                    self.command(
                        annotation(
                            "error", f"{s.name}: {s.message}", title=f"check failed: {s.name}"
                        )
                    )
        SafeTextReporter(self.out).deploy(result)
        summary = (
            f"## foureyes deploy: {result.environment} @ {result.commit[:12]}\n\n"
            + deploy_table(result, True)
        )
        if result.violations:
            summary += "\n\n**Refused:**\n" + "\n".join(
                f"- {_md_cell(v)}" for v in result.violations
            )
        append_step_summary(summary)
        set_outputs({"ok": str(result.ok).lower(), "changes": str(len(result.steps))})


# --- gate ---------------------------------------------------------------------------------------

STICKY_MARKER = "<!-- foureyes:approval -->"
_ICONS: dict[str, str] = {
    State.APPROVED: "✅",
    State.PENDING: "⏳",
    State.BLOCKED: "⛔",
    State.ERROR: "❗",
}


def freeze_text(held: dict) -> str:
    """One line on the freeze a change is held by (freeze.Hold.to_json) and the way through it."""
    windows = ", ".join(f"{w['name']} ({w['kind']})" for w in held["windows"])
    until = held["until"] or "the incident freeze is lifted"
    text = (
        f"{', '.join(held['deployments'])} frozen by {windows} until "
        f"{'at least ' if held['at_least'] else ''}{until}."
    )
    if held["break_glass"]:
        return text + (
            f" Break-glass (label {held['label']!r}): {held['extra_approvals']} more approval(s) "
            "than the level needs, counted by the same rule."
        )
    return (
        text + f" Held until then; label the PR {held['label']!r} to break glass, if the policy "
        "allows it."
    )


def gate_markdown(result: GateResult) -> str:
    """The sticky PR comment: what the change means, the owner's reason, who counted, who did not
    and why, what is missing."""
    d = result.decision
    parts = [
        STICKY_MARKER,
        f"## {_ICONS[d.state]} foureyes: {d.state}",
        "",
        f"**{_md_cell(d.description)}**",
        "",
    ]
    if result.plan is not None:
        parts += [plan_markdown(result.plan, d.rules), ""]
    if result.facts is not None:
        reason = (result.facts.body or "").strip()
        quoted = (
            "\n".join("> " + line for line in markdown_lines(reason)[:20])
            if reason
            else "> (none given)"
        )
        parts += ["### The owner's reason", "", quoted, ""]
    parts += ["### Approvals", ""]
    if d.approvals:
        parts += ["- counted: " + ", ".join(_mention(a.login) for a in d.approvals)]
    else:
        parts += ["- counted: none yet"]
    for i in d.ignored:
        parts.append(f"- not counted: {_mention(i.login)} ({i.reason}: {_md_cell(i.detail)})")
    missing = max(d.required - len(d.approvals), 0)
    if d.blocking:
        parts += ["", "### Blocking", ""] + [
            f"- **{b.reason}**: {_md_cell(b.detail.removeprefix(b.reason + ': '))}"
            for b in d.blocking
        ]
    elif missing:
        parts += ["", f"**Missing:** {missing} more approval(s) from {d.approvers}."]
    if d.freeze:
        parts += ["", "### Freeze", "", _md_cell(freeze_text(d.freeze))]
    if result.what_if:
        parts += ["", result.what_if]
    if d.requirements:
        parts += ["", "### Required by rules", ""]
        parts += [
            f"- {_code(r.rule.name)} ({_md_cell(r.rule.message)}): "
            f"{_md_cell(r.rule.requirement())}, "
            f"{'met' if r.met else 'missing ' + str(r.rule.approvals - len(r.counted))}; counted: "
            f"{', '.join(_mention(a.login) for a in r.counted) or 'none yet'}"
            for r in d.requirements
        ]
    notes = getattr(result, "notes", None)
    if notes:
        parts += ["", "### Auto-merge (`apply: auto`)", ""] + [f"- {_md_cell(n)}" for n in notes]
    return "\n".join(parts)


class MatrixReporter(Reporter):
    """A GitHub Actions job matrix, {"include": [{"deployment": name}, ...]}, on stdout and as the
    step output `matrix`; an empty list when nothing changes (guard the job with `if:`)."""

    def _emit(self, names: Iterable[str]) -> None:
        unique = sorted(set(names))
        matrix = json.dumps({"include": [{"deployment": n} for n in unique]})
        self.write(matrix)
        set_outputs({"matrix": matrix, "count": str(len(unique))})

    def plan(self, plan: Plan) -> None:
        self._emit(e.deployment for e in plan.events if e.deployment)

    def deploy_step(self, step: Step) -> None:
        pass

    def deploy(self, result: DeployResult) -> None:
        if (
            not result.ok
        ):  # refused, invalid, frozen or a failed check: say why where the log shows it
            TextReporter(sys.stderr).deploy(result)
        self._emit(s.name for s in result.steps)


REPORTERS = {
    "text": TextReporter,
    "json": JsonReporter,
    "markdown": MarkdownReporter,
    "github": GithubReporter,
    "matrix": MatrixReporter,
}


class Output(Protocol):
    """Where a reporter writes: a text stream, or a guard in front of one."""

    def write(self, text: str, /) -> object: ...

    def flush(self) -> object: ...


class _LogGuard:
    """A stream for text, markdown or JSON printed into a workflow log: no line can start a command.
    In JSON, `##[` only occurs inside strings and becomes `#\\u0023[`: the same value."""

    def __init__(self, out: Output, is_json: bool) -> None:
        self.out, self.is_json = out, is_json

    def write(self, text: str) -> None:
        if self.is_json:
            self.out.write(actions_log_json(text))
            return
        lines = text.replace("\r", "%0D").split("\n")
        self.out.write("\n".join(log_line(line) for line in lines))

    def flush(self) -> None:
        self.out.flush()


def reporter(fmt: str, out: Output | None = None) -> Reporter:
    fmt = resolve_format(fmt)
    if (
        os.environ.get("GITHUB_ACTIONS") == "true"
    ):  # whatever the format, the output is a workflow log
        if fmt == "text":
            return SafeTextReporter(out)
        if fmt in ("json", "markdown"):
            return REPORTERS[fmt](_LogGuard(out or sys.stdout, fmt == "json"))
    return REPORTERS[fmt](out)
