"""Transition rules: judge a change by its before and after.

`policies/rules/<name>.yaml` holds one rule: which events it applies to (`match`), a CEL
expression over `before`, `after`, `event` and `pr` that must hold, the message shown when it
does not, and what then happens (`action`): `deny` blocks the PR, `require` asks for approvals from
named users or teams, counted with the same four-eyes exclusions as any approval (policy.py).
The semantics are Kubernetes' ValidatingAdmissionPolicy's: the expression says what is allowed.

Rules are policy: they are always read at the BASE commit, so a PR cannot relax the rules that
judge it. A rule that does not compile is a configuration error (validate reports its file and
line); a rule that fails while evaluating fails closed (the decision is `error`, never approved).

CEL comes from `common-expression-language` (Rust's cel crate), imported only when a repository
has rules: its package also imports its own CLI (about 0.25 s). See tests/benchmarks/bench_cel.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..registry import yamlload
from ..registry.model import RULES_DIR, Problem, by_content, load_checked
from ..registry.pins import pinned_users
from ..registry.yamlload import LoadError
from ..vocabulary import DEPLOYMENT_EVENTS, named_events

if TYPE_CHECKING:
    from cel import Program

    from ..registry.model import Snapshot
    from .changes import Event
    from .facts import PRFacts

RULE_SCHEMA = "rules.schema.json"
VARIABLES = ("before", "after", "event", "pr")
_CEL_POSITION = re.compile(r"<input>:(\d+):(\d+):\s*(.*)", re.S)


def is_rule_path(path: str) -> bool:
    """A transition rule file: policies/rules/<name>.yaml (the *.schema.json beside them are the
    older one-file rules of registry.Schemas)."""
    return (
        path.startswith(RULES_DIR + "/")
        and path.endswith(".yaml")
        and "/" not in path[len(RULES_DIR) + 1 :]
    )


@dataclass(frozen=True)
class Rule:
    name: str
    file: str
    expression: str
    message: str
    action: str  # deny | require
    program: Program = field(repr=False, compare=False)
    events: tuple[str, ...] = DEPLOYMENT_EVENTS
    importance: tuple[str, ...] | None = None  # None: any level
    environments: tuple[str, ...] | None = None  # None: any environment
    approvals: int = 0  # require: how many approvals from `approvers`
    approvers: tuple[str, ...] = ()  # require: "@login" or "@org/team", as written
    user_ids: dict = field(
        default_factory=dict
    )  # require: lower-case login -> pinned account id (pins.py)
    description: str = ""
    uses_pr: bool = False  # the expression reads `pr`: only the gate (with PR facts) can decide it

    @property
    def users(self) -> frozenset[str]:
        return frozenset(self.user_ids)

    @property
    def teams(self) -> tuple[str, ...]:
        return tuple(a[1:].lower() for a in self.approvers if "/" in a)

    def describe_approvers(self) -> str:
        return ", ".join(self.approvers)

    def requirement(self) -> str:
        return f"{self.approvals} approval(s) from {self.describe_approvers()}"

    def applies(self, subject: Subject) -> bool:
        if subject.event.type not in self.events:
            return False
        if self.importance is not None and not set(subject.levels) & set(self.importance):
            return False
        if self.environments is not None and subject.environments is not None:
            return bool(set(subject.environments) & set(self.environments))
        return True  # environments unknown (no environments.yaml): apply, the safe side


@dataclass
class Subject:
    """One deployment event as rules see it: the documents before (merge-base) and after (head)."""

    event: Event
    before: dict | None
    after: dict | None
    environments: tuple[str, ...] | None  # where it deploys, before or after; None: unknown

    @property
    def levels(self) -> tuple[str, ...]:
        """Every level the deployment has on any side: a rule for `critical` applies to a
        downgrade from critical as much as to an upgrade to it."""
        e = self.event
        return tuple(
            lv
            for lv in (e.importance_before, e.importance_after, e.importance_at_base, e.level)
            if lv
        )


@dataclass
class Outcome:
    rule: Rule
    deployment: str
    event: str
    result: str  # holds | violated | error | needs_pr
    detail: str = ""

    @property
    def summary(self) -> str:
        """One line, as a person reads it."""
        r = self.rule
        if self.result == "holds":
            return f"{r.name} ({self.deployment}, {self.event}): holds"
        if self.result == "needs_pr":
            return f"{r.name} ({self.deployment}, {self.event}): decided by the gate (reads the PR)"
        if self.result == "error":
            return f"{r.name} ({self.deployment}, {self.event}): cannot be evaluated: {self.detail}"
        then = "denied" if r.action == "deny" else f"requires {r.requirement()}"
        return f"{r.name} ({self.deployment}, {self.event}): {r.message}: {then}"

    def to_json(self) -> dict:
        data: dict[str, object] = {
            "rule": self.rule.name,
            "file": self.rule.file,
            "deployment": self.deployment,
            "event": self.event,
            "result": self.result,
            "action": self.rule.action,
            "message": self.rule.message,
            "expression": self.rule.expression,
        }
        if self.rule.action == "require":
            data["requires"] = {"approvals": self.rule.approvals, "from": list(self.rule.approvers)}
        if self.detail:
            data["detail"] = self.detail
        return data


# --- loading and compiling -----------------------------------------------------------------------


def load_rules(snapshot: Snapshot) -> list[Rule]:
    """Every rule of a snapshot (a git ref or the working tree), compiled; the first broken one
    raises LoadError with its file and line (a ConfigError to the caller: exit 2)."""
    paths = sorted(p for p in snapshot.list(RULES_DIR) if is_rule_path(p))
    if not paths:
        return []
    return [parse_rule(data, path) for path, data in sorted(snapshot.read_many(paths).items())]


def rule_problems(files: Mapping[str, bytes | None]) -> list[Problem]:
    """Each file's first problem, for validate and for a PR's changed rule files (None: git
    could not read the file)."""
    problems = []
    for path, data in sorted(files.items()):
        if data is None:
            problems.append(Problem(path, "cannot be read from git", title="invalid rule"))
            continue
        try:
            parse_rule(data, path)
        except LoadError as err:
            problems.append(Problem.from_load_error(err, "invalid rule"))
    return problems


@by_content  # a rule compiled once per run, whatever the number of bases that carry it
def parse_rule(data: bytes, file: str) -> Rule:
    doc = load_checked(
        data, file, RULE_SCHEMA, "the file is empty: a rule needs expression, message and action"
    )
    program = compile_expression(doc["expression"], file, yamlload.decode(data, file))
    match = doc.get("match", {})
    require = doc.get("require", {})
    name = file.rsplit("/", 1)[-1].removesuffix(".yaml")
    return Rule(
        name=name,
        file=file,
        expression=doc["expression"].strip(),
        message=doc["message"].strip(),
        action=doc["action"],
        program=program,
        events=named_events(match.get("events", DEPLOYMENT_EVENTS)),
        importance=tuple(match["importance"]) if "importance" in match else None,
        environments=tuple(match["environments"]) if "environments" in match else None,
        approvals=require.get("approvals", 0),
        approvers=tuple(a["login"] if isinstance(a, dict) else a for a in require.get("from", ())),
        user_ids=pinned_users(require.get("from", ()), file, data, ("require", "from")),
        description=doc.get("description", ""),
        uses_pr="pr" in program.variables(),
    )


def compile_expression(expression: str, file: str, text: str) -> Program:
    """Compile a CEL expression; a syntax error becomes a LoadError at its line in the YAML file."""
    import cel

    try:
        program = cel.compile(expression)
    except ValueError as exc:
        line, col, detail = _cel_position(str(exc))
        fline, fcol = _file_position(text, line, col)
        raise LoadError(
            file, f"expression does not compile: {detail} (CEL: https://cel.dev)", fline, fcol
        ) from None
    unknown = sorted(set(program.variables()) - set(VARIABLES) - _bound_names(expression))
    if unknown:
        fline, fcol = yamlload.line_of(text, ("expression",))
        raise LoadError(
            file,
            f"expression uses unknown variable {unknown[0]!r}: a rule sees {', '.join(VARIABLES)}",
            fline,
            fcol,
        )
    return program


_MACRO_BINDING = re.compile(
    r"\.\s*(?:all|exists|exists_one|map|filter)\s*\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*,"
)


def _bound_names(expression: str) -> set[str]:
    """Names bound by comprehension macros (`labels.exists(l, ...)` binds `l`)."""
    return set(_MACRO_BINDING.findall(expression))


def _cel_position(message: str) -> tuple[int, int, str]:
    """cel's parse errors read "... ERROR: <input>:2:5: Syntax error: ...\\n| source\\n| ...^"."""
    m = _CEL_POSITION.search(message)
    if not m:
        return 1, 1, message.splitlines()[0] if message else "syntax error"
    detail = m.group(3).split("\n", 1)[0].split(" expecting ", 1)[0].strip()
    return int(m.group(1)), int(m.group(2)), detail


def _file_position(text: str, line: int, col: int) -> tuple[int | None, int | None]:
    """Where line:col of the expression sits in the YAML file: after `expression: |` the
    expression starts on the next line, indented; a plain or quoted one sits on the key's line."""
    import yaml

    try:
        root = yamlload.compose(text)
    except yaml.YAMLError:
        return None, None
    for key, value in getattr(root, "value", []):
        if getattr(key, "value", None) == "expression":
            start = value.start_mark
            if value.style in ("|", ">"):
                fline = start.line + 1 + line  # 0-based mark, block content starts one line down
                lines = text.splitlines()
                first = lines[start.line + 1] if start.line + 1 < len(lines) else ""
                return fline, len(first) - len(
                    first.lstrip(" ")
                ) + col  # the block's own indentation
            quoted = 1 if value.style in ("'", '"') else 0
            return start.line + line, (start.column + quoted + col if line == 1 else col)
    return None, None


def require_teams(rules: Iterable[Rule]) -> tuple[str, ...]:
    """Teams named by `require` rules, each once, in the rules' order."""
    return tuple(dict.fromkeys(t for r in rules if r.action == "require" for t in r.teams))


# --- evaluating -----------------------------------------------------------------------------------


def pr_context(facts: PRFacts) -> dict:
    return {
        "author": facts.author.login,
        "labels": list(facts.labels),
        "body": facts.body or "",
        "number": facts.number,
    }


def event_context(event: Event) -> dict:
    """The event as an expression sees it. `type` is the coarsest name the event answers to (an
    environments edit is an `update`, as it was before it had a name of its own), so a rule
    written before a split still sees what it was written for; `types` lists every name, finest
    first (`'change_environments' in event.types`)."""
    names = [event.type]
    while names[-1].refines is not None:
        names.append(names[-1].refines)
    return {
        "type": names[-1],
        "types": list(names),
        "level": event.level,
        "deployment": event.deployment,
        "file": event.file,
        "fields": list(event.fields),
        "importance": {"before": event.importance_before, "after": event.importance_after},
    }


def document(data: dict | None) -> dict | None:
    """A deployment as CEL sees it. Metrics become doubles: CEL does not compare an int with a
    double (`auc: 1` against `0.95` would be "no such overload"), and metrics are measurements."""
    if data is None:
        return None
    doc = dict(data)
    if isinstance(doc.get("metrics"), dict):
        doc["metrics"] = {
            k: float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v
            for k, v in doc["metrics"].items()
        }
    return doc


def check(rules: list[Rule], subjects: list[Subject], pr: dict | None) -> list[Outcome]:
    """Every (rule, event) a rule applies to, with its result. ``pr`` is None offline (plan):
    a rule that reads the PR is then left to the gate."""
    outcomes = []
    for subject in subjects:
        for rule in rules:
            if rule.applies(subject):
                outcomes.append(_evaluate(rule, subject, pr))
    return outcomes


def _evaluate(rule: Rule, subject: Subject, pr: dict | None) -> Outcome:
    e = subject.event
    outcome = Outcome(rule, e.deployment or e.file, e.type, "holds")
    if pr is None and rule.uses_pr:
        outcome.result = "needs_pr"
        return outcome
    context = {
        "before": document(subject.before),
        "after": document(subject.after),
        "event": event_context(e),
        "pr": pr if pr is not None else {},
    }
    try:
        value = rule.program.execute(context)
    except Exception as exc:  # any failure fails closed: the rule's verdict is unknown
        outcome.result, outcome.detail = "error", _runtime_message(exc)
        return outcome
    if not isinstance(value, bool):
        outcome.result = "error"
        outcome.detail = f"the expression gave {type(value).__name__} {value!r}, not true or false"
    elif not value:
        outcome.result = "violated"
    return outcome


def _runtime_message(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if isinstance(exc, KeyError):
        text = f"no field {text} (guard optional fields with has(), e.g. has(before.metrics.auc))"
    elif text.startswith("No such overload"):
        text = (
            "no such overload: CEL does not mix types (int, double, string, null); convert "
            "with double(x)"
            " or guard a missing side with `before != null`"
        )
    return text if len(text) <= 200 else text[:199] + "…"
