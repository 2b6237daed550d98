"""A change as the deploy hands it to a target: fraud-scorer v13 with its approval record."""

from __future__ import annotations

from foureyes.deploy.targets import Change

APPROVAL = {
    "status": "approved",
    "pr": 42,
    "approvers": ["alice", "bob"],
    "approved_at": "2026-11-22T12:00:00Z",
    "commit": "f" * 40,
}
FRAUD = {
    "name": "fraud-scorer",
    "owner": "@acme/fraud-team",
    "importance": "critical",
    "model": {
        "name": "fraud-xgb",
        "version": "13",
        "uri": "s3://acme-models-prod/fraud/13",
        "digest": "sha256:" + "a" * 64,
    },
}


def change(action: str = "create", deployment: dict = FRAUD, env: str = "production") -> Change:
    """``action`` of ``deployment`` in ``env``, approved by APPROVAL."""
    return Change(action, env, deployment["name"], deployment, APPROVAL)
