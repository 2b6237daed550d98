"""A scripted history for the inventory, history and events views: creates, replacements,
importance changes, deletions and deploys on a real repository."""

from __future__ import annotations

from support.ledger import CHURN, FRAUD, RECS, merge_pr, record_pr, run
from support.pr_facts import TWO
from support.repos import DEP, Repo

NEW = DEP.format("eta-model")
NEW_TEXT = """\
name: eta-model
owner: "@acme/logistics"
importance: moderate
model: {name: eta-gbm, version: "3", uri: "models:/eta-gbm/3"}
"""


def scripted_history(repo: Repo) -> Repo:
    """bootstrap deploy; #42 replaces fraud's model; #43 lowers churn to low; #44 creates eta-model;
    #45 deletes product-recs; each merged and deployed to staging. Then #46 is opened, not merged."""
    repo.write(".gitignore", ".foureyes/\n")
    repo.commit("ignore", "Mo Admin <mo@acme.example>")
    assert run(repo).ok
    merge_pr(repo, 42, lambda r: r.replace(FRAUD, 'version: "12"', 'version: "13"'))
    assert run(repo).ok
    merge_pr(
        repo,
        43,
        lambda r: r.replace(CHURN, "importance: moderate", "importance: low"),
        reviews=TWO[:1],
    )  # moderate (old level) needs 1
    assert run(repo).ok
    merge_pr(repo, 44, lambda r: r.write(NEW, NEW_TEXT), reviews=TWO[:1])
    assert run(repo).ok
    merge_pr(repo, 45, lambda r: r.rm(RECS), reviews=TWO[:1])
    assert run(repo).ok
    base = repo.git("rev-parse", "main")
    repo.git("checkout", "-q", "-b", "pr-46")
    repo.replace(DEP.format("credit-limit"), 'version: "7"', 'version: "8"')
    head = repo.commit("credit-limit v8")
    repo.git("checkout", "-q", "main")
    record_pr(repo, 46, base, head, None, [])  # no merge commit
    return repo
