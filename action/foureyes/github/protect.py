"""`foureyes protect`: GitHub environments and a branch ruleset, from registry/environments.yaml.

Each setting is read, compared and written only when it drifted (read, merge, write: a PUT of an
environment resets what it is not given, so the current settings are read and merged first).
`--check` writes nothing and names every setting that differs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import EvaluationError
from ..registry import Environment
from .client import api_errors, describe

RULESET_NAME = "foureyes: approved changes only"
STATUS_CONTEXTS = ("foureyes/approval", "validate and plan")


@dataclass
class ProtectResult:
    drift: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)


class Api:
    def __init__(self, gh, repo_name: str):
        self.gh = gh
        self.repo = f"/repos/{repo_name}"
        self.owner = repo_name.split("/")[0]

    def call(self, method: str, url: str, body: dict | None = None, missing_ok: bool = False):
        from github import UnknownObjectException

        try:
            if method == "GET":
                _, data = self.gh.requester.requestJsonAndCheck("GET", url, parameters={"per_page": 100})
            else:
                _, data = self.gh.requester.requestJsonAndCheck(method, url, input=body)
            return data
        except UnknownObjectException:
            if missing_ok:
                return None
            raise EvaluationError(f"GitHub API returned 404 for {url}") from None
        except api_errors() as exc:
            raise EvaluationError(f"{method} {url}: {describe(exc)}") from None


def reviewer_ids(api: Api, names: list[str]) -> list[dict]:
    out = []
    for name in names:
        handle = name.lstrip("@")
        if "/" in handle:
            org, slug = handle.split("/", 1)
            team = api.call("GET", f"/orgs/{org}/teams/{slug}")
            out.append({"type": "Team", "id": team["id"]})
        else:
            out.append({"type": "User", "id": api.call("GET", f"/users/{handle}")["id"]})
    return out


def current_environment(data: dict | None) -> dict:
    """Normalise GET /environments/{name} into the shape foureyes compares and writes."""
    if data is None:
        return {}
    state = {"wait_timer": 0, "prevent_self_review": False, "reviewers": [],
             "deployment_branch_policy": data.get("deployment_branch_policy")}
    for rule in data.get("protection_rules") or []:
        if rule.get("type") == "wait_timer":
            state["wait_timer"] = rule.get("wait_timer", 0)
        elif rule.get("type") == "required_reviewers":
            state["prevent_self_review"] = bool(rule.get("prevent_self_review"))
            state["reviewers"] = [{"type": r["type"], "id": r["reviewer"]["id"]} for r in rule.get("reviewers", [])]
    return state


def desired_environment(env: Environment, current: dict, api: Api) -> dict:
    protection = env.protection or {}
    merged = {
        "wait_timer": current.get("wait_timer", 0),
        "prevent_self_review": current.get("prevent_self_review", False),
        "reviewers": current.get("reviewers", []),
        "deployment_branch_policy": {"protected_branches": False, "custom_branch_policies": True},
    }
    if "wait_timer" in protection:
        merged["wait_timer"] = protection["wait_timer"]
    if "prevent_self_review" in protection:
        merged["prevent_self_review"] = protection["prevent_self_review"]
    if "required_reviewers" in protection:
        merged["reviewers"] = reviewer_ids(api, protection["required_reviewers"])
    return merged


def _key(reviewers: list[dict]) -> list[tuple]:
    return sorted((r["type"], r["id"]) for r in reviewers)


def environment_drift(name: str, current: dict, desired: dict) -> list[str]:
    if not current:
        return [f"environment {name}: missing"]
    drift = []
    for key in ("wait_timer", "prevent_self_review"):
        if current.get(key) != desired[key]:
            drift.append(f"environment {name}: {key} is {current.get(key)!r}, should be {desired[key]!r}")
    if _key(current.get("reviewers", [])) != _key(desired["reviewers"]):
        drift.append(f"environment {name}: required reviewers differ")
    if current.get("deployment_branch_policy") != desired["deployment_branch_policy"]:
        drift.append(f"environment {name}: deployments are not limited to selected branches")
    return drift


def protect_environment(api: Api, env: Environment, check: bool, result: ProtectResult) -> None:
    url = f"{api.repo}/environments/{env.name}"
    current = current_environment(api.call("GET", url, missing_ok=True))
    desired = desired_environment(env, current, api)
    drift = environment_drift(env.name, current, desired)
    policies_url = f"{url}/deployment-branch-policies"
    existing = api.call("GET", policies_url, missing_ok=True) if current else None
    names = {p["name"] for p in (existing or {}).get("branch_policies", [])}
    if env.branch not in names:
        drift.append(f"environment {env.name}: branch {env.branch!r} may not deploy")
    result.drift += drift
    if check or not drift:
        return
    api.call("PUT", url, desired)
    if env.branch not in names:
        api.call("POST", policies_url, {"name": env.branch, "type": "branch"})
    result.changed.append(f"environment {env.name}")


def desired_ruleset(envs: list[Environment], app_id: int | None) -> dict:
    include = ["~DEFAULT_BRANCH"] + sorted({f"refs/heads/{e.branch}" for e in envs})
    checks = [{"context": c, **({"integration_id": app_id} if app_id and c == "foureyes/approval" else {})}
              for c in STATUS_CONTEXTS]
    return {
        "name": RULESET_NAME,
        "target": "branch",
        "enforcement": "active",
        "bypass_actors": [],
        "conditions": {"ref_name": {"include": include, "exclude": []}},
        "rules": [
            {"type": "pull_request", "parameters": {
                "required_approving_review_count": 1, "dismiss_stale_reviews_on_push": True,
                "require_code_owner_review": True, "require_last_push_approval": True,
                "required_review_thread_resolution": False,
                # rebase merges rewrite commits, so a deploy could not trace them to the approved PR
                "allowed_merge_methods": ["merge", "squash"]}},
            {"type": "required_status_checks", "parameters": {
                "strict_required_status_checks_policy": False, "required_status_checks": checks}},
            {"type": "non_fast_forward"},
            {"type": "deletion"},
        ],
    }


def ruleset_drift(current: dict | None, desired: dict) -> list[str]:
    if current is None:
        return [f"ruleset {RULESET_NAME!r}: missing"]
    drift = []
    if current.get("enforcement") != desired["enforcement"]:
        drift.append(f"ruleset: enforcement is {current.get('enforcement')!r}, should be 'active'")
    if current.get("bypass_actors"):
        drift.append("ruleset: has bypass actors (anyone listed can skip the approval)")
    cur_include = sorted(((current.get("conditions") or {}).get("ref_name") or {}).get("include", []))
    if cur_include != sorted(desired["conditions"]["ref_name"]["include"]):
        drift.append(f"ruleset: applies to {cur_include}, should be {sorted(desired['conditions']['ref_name']['include'])}")
    have = {r["type"]: r.get("parameters", {}) for r in current.get("rules", [])}
    for rule in desired["rules"]:
        if rule["type"] not in have:
            drift.append(f"ruleset: rule {rule['type']} missing")
            continue
        for key, value in rule.get("parameters", {}).items():
            got = have[rule["type"]].get(key)
            if key == "required_status_checks":
                got = sorted(c["context"] for c in got or [])
                value = sorted(c["context"] for c in value)
            if got != value:
                drift.append(f"ruleset: {rule['type']}.{key} is {got!r}, should be {value!r}")
    return drift


def protect_branches(api: Api, envs: list[Environment], app_id: int | None, check: bool, result: ProtectResult) -> None:
    desired = desired_ruleset(envs, app_id)
    found = next((r for r in api.call("GET", f"{api.repo}/rulesets") if r.get("name") == RULESET_NAME), None)
    current = api.call("GET", f"{api.repo}/rulesets/{found['id']}") if found else None
    drift = ruleset_drift(current, desired)
    result.drift += drift
    if check or not drift:
        return
    if current is None:
        api.call("POST", f"{api.repo}/rulesets", desired)
    else:
        api.call("PUT", f"{api.repo}/rulesets/{current['id']}", desired)
    result.changed.append(f"ruleset {RULESET_NAME!r}")


def protect(gh, repo_name: str, envs: list[Environment], check: bool, app_id: int | None = None) -> ProtectResult:
    api = Api(gh, repo_name)
    result = ProtectResult()
    for env in envs:
        protect_environment(api, env, check, result)
    protect_branches(api, envs, app_id, check, result)
    return result
