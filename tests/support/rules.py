"""Transition rules the tests share (policies/rules/*.yaml as their files hold them), and the
steps and PR facts of a rules test: rules committed on main, a PR branch changing fraud-scorer."""

from __future__ import annotations

from pathlib import Path

from support.pr_facts import RENOVATE, write_pr_facts
from support.repos import DEP, Repo

FRAUD = DEP.format("fraud-scorer")
STORE_RULE = "policies/rules/same-store.yaml"

# a `require` rule naming a team: a replacement from another model store needs a platform lead
SAME_STORE = """\
match: {events: [replace_model]}
expression: >-
  ["models:/", "s3://acme-models-prod/"].exists(s, before.model.uri.startsWith(s) && after.model.uri.startsWith(s))
message: the model must come from the same store as before
action: require
require: {approvals: 1, from: ["@acme/ml-platform-leads"]}
"""

# the same rule with a third store, as the rules tests write it
STORE = """\
match: {events: [replace_model]}
expression: >-
  ["models:/", "s3://acme-models-prod/", "gs://acme-ml/"].exists(s, before.model.uri.startsWith(s) && after.model.uri.startsWith(s))
message: the model must come from the same store as before
action: require
require: {approvals: 1, from: ["@acme/ml-platform-leads"]}
"""

V13 = ('version: "12"', 'version: "13"')
S3 = ("uri: models:/fraud-xgb/12", "uri: s3://acme-models-prod/fraud-xgb/13")

# the platform leads a `require` rule names: lena, dana (the author) and the bot
RULES_PEOPLE = {"lena": {"id": 300, "emails": ["lena@acme.example"]}, **RENOVATE}
LEADS = ("lena", "dana", "renovate[bot]")


def with_rules(repo: Repo, *rules: tuple[str, str]) -> Repo:
    """Commit ``rules`` ((path, text) pairs) on main as Mo, then start the branch "pr"."""
    for path, text in rules:
        repo.write(path, text)
    repo.commit("organisation rules", "Mo Admin <mo@acme.example>")
    repo.branch("pr")
    return repo


def change(repo: Repo, *edits: tuple[str, str], message: str = "fraud-scorer v13") -> Repo:
    """Commit ``edits`` ((old, new) pairs) to fraud-scorer."""
    for old, new in edits:
        repo.replace(FRAUD, old, new)
    repo.commit(message)
    return repo


def write_rules_facts(
    path: Path,
    reviews: list[dict],
    *,
    labels: tuple[str, ...] | list[str] = (),
    body: str = "Serve the new model.",
    lena_id: int = 300,
) -> Path:
    """The facts of a rules test's PR: the platform leads team besides the admins."""
    lena = {"lena": {**RULES_PEOPLE["lena"], "id": lena_id}}
    return write_pr_facts(
        path,
        reviews,
        body=body,
        labels=labels,
        accounts={**RULES_PEOPLE, **lena},
        teams={"acme/ml-platform-leads": LEADS},
    )
