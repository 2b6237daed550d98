"""`foureyes protect`: GitHub environments and two branch rulesets, from registry/environments.yaml.

Each setting is read, compared and written only when it drifted (read, merge, write: a PUT of an
environment resets what it is not given, so the current settings are read and merged first).
`--check` writes nothing and names every setting that differs. A setting GitHub's plan does not
offer on this repository is never silently dropped: it is named in `unapplied` (exit 1).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import EvaluationError
from ..registry.model import Environment
from .client import api_errors, describe

if TYPE_CHECKING:
    from .client import GitHubClient

RULESET_NAME = "foureyes: approved changes only"
RELEASE_RULESET_NAME = "foureyes: release branches are cut by release managers"
STATUS_CONTEXTS = ("foureyes/approval", "validate and plan")

# Built-in repository roles as ruleset bypass actors (actor_type RepositoryRole). GitHub does not
# list
# these ids in the REST reference; they are the ones its UI writes and the Terraform provider
# documents
# (github_repository_ruleset: "maintain" 2, "write" 4, "admin" 5).
ROLE_IDS = {"admin": 5, "maintain": 2, "write": 4}
DEFAULT_RELEASE_MANAGERS = ("role:admin",)

# Environments on private and internal repositories: GitHub Free has none; Pro and Team have
# environments and deployment branch policies, but "other deployment protection rules, such as a
# wait
# timer or required reviewers, are only available for public repositories" unless on GitHub
# Enterprise.
# https://docs.github.com/en/actions/deployment/targeting-different-environments/managing-environments-for-deployment
# https://docs.github.com/en/actions/reference/environments
PLAN_DOCS = "https://docs.github.com/en/actions/reference/environments"
PLANS_WITHOUT_PROTECTION_RULES = {"free", "pro", "team"}
# What GitHub answers a PUT /environments/{name} with reviewers or a wait timer on such a plan
# (integrations/terraform-provider-github#1311, pulumi/pulumi-github#251):
# 422 "Fail to create protected rule, please ensure billing plan include protected branch gate."
GATED = ("required_reviewers", "wait_timer", "prevent_self_review")


@dataclass
class ProtectResult:
    drift: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unapplied: list[str] = field(
        default_factory=list
    )  # one line each: a setting GitHub would not take


class Api:
    def __init__(self, gh: GitHubClient, repo_name: str) -> None:
        self.gh = gh
        self.repo = f"/repos/{repo_name}"
        self.owner = repo_name.split("/")[0]

    def call(
        self,
        method: str,
        url: str,
        body: dict | None = None,
        missing_ok: bool = False,
        refused_ok: tuple[int, ...] = (),
    ) -> Any:
        """The JSON answer; None for a 404 with ``missing_ok``; a `Refused` for a status in ``refused_ok``."""
        from github import GithubException, UnknownObjectException

        try:
            if method == "GET":
                _, data = self.gh.requester.requestJsonAndCheck(
                    "GET", url, parameters={"per_page": 100}
                )
            else:
                _, data = self.gh.requester.requestJsonAndCheck(method, url, input=body)
            return data
        except GithubException as exc:
            if exc.status in refused_ok:
                return Refused(exc.status, describe(exc))
            if isinstance(exc, UnknownObjectException):
                if missing_ok:
                    return None
                raise EvaluationError(f"GitHub API returned 404 for {url}") from None
            raise EvaluationError(f"{method} {url}: {describe(exc)}") from None
        except api_errors() as exc:
            raise EvaluationError(f"{method} {url}: {describe(exc)}") from None


@dataclass(frozen=True)
class Refused:
    status: int
    message: str


@dataclass(frozen=True)
class Plan:
    """What the repository's visibility and its owner's plan allow for environments."""

    visibility: str  # public | private | internal
    default_branch: str
    plan: str | None  # the owner's plan name when GitHub shows it to this token, else None

    @property
    def protection_rules(self) -> bool | None:
        """Whether reviewers and wait timers can be set: True, False, or None (unknown: try, read the answer)."""
        if self.visibility == "public":
            return True
        if self.plan in PLANS_WITHOUT_PROTECTION_RULES:
            return False
        return None

    def why(self) -> str:
        plan = f"GitHub {self.plan.capitalize()}" if self.plan else "this plan"
        return (
            f"needs GitHub Enterprise for a {self.visibility} repository (on {plan}; see "
            f"{PLAN_DOCS})"
        )


def detect_plan(api: Api) -> Plan:
    """GET /repos/{o}/{r} gives visibility (full-repository); GET /orgs/{org} gives `plan` only to
    organization owners (organization-full: plan is optional), so the plan is often unknown."""
    repo = api.call("GET", api.repo)
    visibility = repo.get("visibility") or ("private" if repo.get("private") else "public")
    plan = None
    if visibility != "public" and (repo.get("owner") or {}).get("type") == "Organization":
        org = api.call("GET", f"/orgs/{api.owner}", refused_ok=(403, 404))
        if isinstance(org, dict):
            plan = ((org.get("plan") or {}).get("name") or "").lower() or None
    return Plan(visibility, repo.get("default_branch") or "main", plan)


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
    state: dict[str, Any] = {  # the settings as the Environments API names them
        "wait_timer": 0,
        "prevent_self_review": False,
        "reviewers": [],
        "deployment_branch_policy": data.get("deployment_branch_policy"),
    }
    for rule in data.get("protection_rules") or []:
        if rule.get("type") == "wait_timer":
            state["wait_timer"] = rule.get("wait_timer", 0)
        elif rule.get("type") == "required_reviewers":
            state["prevent_self_review"] = bool(rule.get("prevent_self_review"))
            state["reviewers"] = [
                {"type": r["type"], "id": r["reviewer"]["id"]} for r in rule.get("reviewers", [])
            ]
    return state


def desired_environment(env: Environment, current: dict, api: Api, rules: bool = True) -> dict:
    """What to PUT: the current settings with foureyes' merged in. Without ``rules`` the settings
    that
    need GitHub Enterprise on a private repository are left out of the body altogether."""
    protection = env.protection or {}
    merged: dict[str, Any] = {  # the body of PUT /environments/{name}
        "deployment_branch_policy": {"protected_branches": False, "custom_branch_policies": True}
    }
    if not rules:
        return merged
    merged.update(
        wait_timer=current.get("wait_timer", 0),
        prevent_self_review=current.get("prevent_self_review", False),
        reviewers=current.get("reviewers", []),
    )
    if "wait_timer" in protection:
        merged["wait_timer"] = protection["wait_timer"]
    if "prevent_self_review" in protection:
        merged["prevent_self_review"] = protection["prevent_self_review"]
    if "required_reviewers" in protection:
        merged["reviewers"] = reviewer_ids(api, protection["required_reviewers"])
    return merged


def wanted_rules(env: Environment) -> list[str]:
    """The protection rules this environment asks for that a plan may not offer, as a reader names them."""
    protection = env.protection or {}
    wanted = []
    if protection.get("required_reviewers"):
        wanted.append(f"required reviewers ({', '.join(protection['required_reviewers'])})")
    if protection.get("prevent_self_review"):
        wanted.append("prevent self-review")
    if protection.get("wait_timer"):
        wanted.append(f"wait timer ({protection['wait_timer']} min)")
    return wanted


def _key(reviewers: list[dict]) -> list[tuple]:
    return sorted((r["type"], r["id"]) for r in reviewers)


def environment_drift(name: str, current: dict, desired: dict) -> list[str]:
    if not current:
        return [f"environment {name}: missing"]
    drift = []
    for key in ("wait_timer", "prevent_self_review"):
        if key in desired and current.get(key) != desired[key]:
            drift.append(
                f"environment {name}: {key} is {current.get(key)!r}, should be {desired[key]!r}"
            )
    if "reviewers" in desired and _key(current.get("reviewers", [])) != _key(desired["reviewers"]):
        drift.append(f"environment {name}: required reviewers differ")
    if current.get("deployment_branch_policy") != desired["deployment_branch_policy"]:
        drift.append(f"environment {name}: deployments are not limited to selected branches")
    return drift


# One approval round per deploy. GitHub asks an environment's required reviewers again for every
# wave of jobs that reaches it ("Reviewing deployments": each job that references the environment
# waits; a measured run of two sequential jobs on one environment asked twice), and the deploy
# workflow has three waves (plan, the deployment matrix, converge). So the reviewers, wait timer and
# prevent-self-review of ENV sit on `ENV-approval`, which only the workflow's `approve` job
# references, after the plan and before anything is applied; ENV keeps the secrets and the
# deployment branch policy, with no rule that would make its jobs wait.
APPROVAL_SUFFIX = "-approval"
_NO_WAIT = {"required_reviewers": [], "wait_timer": 0, "prevent_self_review": False}


def environment_and_approval(env: Environment) -> tuple[Environment, Environment]:
    """ENV (secrets, branch policy) and ENV-approval (the protection rules). Each rule
    `registry/environments.yaml` sets moves from ENV to ENV-approval; a rule it does not set, put on
    ENV by hand, is kept where it is (it still holds, asked once per job wave)."""
    protection = env.protection or {}
    moved = {key: value for key, value in _NO_WAIT.items() if key in protection}
    return (
        dataclasses.replace(env, protection={**protection, **moved}),
        dataclasses.replace(env, name=env.name + APPROVAL_SUFFIX),
    )


def protect_environment(
    api: Api, env: Environment, plan: Plan, check: bool, result: ProtectResult
) -> None:
    url = f"{api.repo}/environments/{env.name}"
    current = current_environment(api.call("GET", url, missing_ok=True))
    rules = plan.protection_rules
    desired = desired_environment(env, current, api, rules=rules is not False)
    not_offered = [
        f"environment {env.name}: {w} not applied: {plan.why()}" for w in wanted_rules(env)
    ]
    if rules is False:
        result.unapplied += not_offered
    drift = environment_drift(env.name, current, desired)
    policies_url = f"{url}/deployment-branch-policies"
    existing = api.call("GET", policies_url, missing_ok=True) if current else None
    names = {p["name"] for p in (existing or {}).get("branch_policies", [])}
    # A job's environment branch policy is checked against the run's ref, and every foureyes job
    # that uses an environment runs on the default branch: staging's on a push to it, production's
    # as a workflow_run, whose ref is the default branch (GitHub docs, "Events that trigger
    # workflows": workflow_run, GITHUB_REF "Default branch"). So the default branch is the only
    # one admitted: a release branch's own workflow (anyone who may cut one can give it one) must
    # not run with the environment's secrets, the App key among them, now that no reviewer waits
    # on ENV (the rules are on ENV-approval).
    allowed = [plan.default_branch]
    listed = (existing or {}).get("branch_policies", [])
    missing = [b for b in allowed if b not in names]
    extra = [p for p in listed if p["name"] not in allowed]
    for branch in missing:
        drift.append(
            f"environment {env.name}: branch {branch!r} may not deploy (its deploy jobs run there)"
        )
    for policy in extra:
        drift.append(
            f"environment {env.name}: branch {policy['name']!r} may deploy: a workflow of that "
            "branch would get the environment's secrets (foureyes' jobs run on the default branch)"
        )
    result.drift += drift
    if check or not drift:
        return
    # Unknown plan on a private repository: ask for everything and read GitHub's answer (422, or 404
    # where the plan has no environments at all); then apply what the plan does offer.
    answer = api.call("PUT", url, desired, refused_ok=(404, 422) if rules is None else ())
    if isinstance(answer, Refused) and not_offered:
        result.unapplied += [f"{line} (GitHub answered {answer.status})" for line in not_offered]
        kept = environment_drift(
            env.name, current, desired_environment(env, current, api, rules=False)
        )
        result.drift = [
            d for d in result.drift if d not in drift or d in kept or "may not deploy" in d
        ]
        answer = api.call(
            "PUT", url, desired_environment(env, current, api, rules=False), refused_ok=(404, 422)
        )
    if isinstance(answer, Refused):
        result.unapplied.append(
            f"environment {env.name}: not created: {answer.message}; environments on a "
            f"{plan.visibility} repository need GitHub Pro, Team or Enterprise ({PLAN_DOCS})"
        )
        result.drift = [d for d in result.drift if d not in drift]
        return
    for branch in missing:
        api.call("POST", policies_url, {"name": branch, "type": "branch"})
    for policy in extra:
        api.call("DELETE", f"{policies_url}/{policy['id']}")
    result.changed.append(f"environment {env.name}")


def desired_ruleset(envs: list[Environment], app_id: int | None) -> dict:
    include = ["~DEFAULT_BRANCH", *sorted({f"refs/heads/{e.branch}" for e in envs})]
    checks = [
        {
            "context": c,
            **({"integration_id": app_id} if app_id and c == "foureyes/approval" else {}),
        }
        for c in STATUS_CONTEXTS
    ]
    return {
        "name": RULESET_NAME,
        "target": "branch",
        "enforcement": "active",
        # nobody skips the approval; who may create release branches is the other ruleset
        "bypass_actors": [],
        "conditions": {"ref_name": {"include": include, "exclude": []}},
        "rules": [
            {
                "type": "pull_request",
                "parameters": {
                    "required_approving_review_count": 1,
                    "dismiss_stale_reviews_on_push": True,
                    "require_code_owner_review": True,
                    "require_last_push_approval": True,
                    "required_review_thread_resolution": False,
                    # rebase merges rewrite commits, so a deploy could not trace them to the
                    # approved PR
                    "allowed_merge_methods": ["merge", "squash"],
                },
            },
            # Without do_not_enforce_on_create GitHub refuses to create a matching branch at all
            # (GH013),
            # since no status exists for a ref that does not exist yet: release/* could never be
            # cut.
            # repository-rule-required-status-checks: "Allow repositories and branches to be created
            # if a check would otherwise prohibit it." The commits on a new release branch are
            # re-checked at deploy time (provenance: each must come from an approved, merged PR).
            {
                "type": "required_status_checks",
                "parameters": {
                    "strict_required_status_checks_policy": False,
                    "do_not_enforce_on_create": True,
                    "required_status_checks": checks,
                },
            },
            {
                "type": "non_fast_forward"
            },  # no force-push: history the deploys trust cannot be rewritten
            {"type": "deletion"},
        ],
    }


def release_branches(envs: list[Environment], default_branch: str) -> list[Environment]:
    """Environments deployed from branches other than the default one (release/*): someone cuts them."""
    return [e for e in envs if e.branch != default_branch]


def bypass_actors(api: Api, names: list[str]) -> list[dict]:
    """release_managers entries as ruleset bypass actors (repository-ruleset-bypass-actor):
    @org/team -> Team (its id), role:admin|maintain|write -> RepositoryRole, app:<id> ->
    Integration."""
    actors = []
    for name in names:
        if name.startswith("role:"):
            actors.append(
                {
                    "actor_id": ROLE_IDS[name[5:]],
                    "actor_type": "RepositoryRole",
                    "bypass_mode": "always",
                }
            )
        elif name.startswith("app:"):
            actors.append(
                {"actor_id": int(name[4:]), "actor_type": "Integration", "bypass_mode": "always"}
            )
        else:
            org, slug = name.lstrip("@").split("/", 1)
            team = api.call("GET", f"/orgs/{org}/teams/{slug}")
            actors.append({"actor_id": team["id"], "actor_type": "Team", "bypass_mode": "always"})
    return sorted(actors, key=_actor_key)


def _actor_key(actor: dict) -> tuple:
    return (
        actor.get("actor_type") or "",
        actor.get("actor_id") or 0,
        actor.get("bypass_mode") or "always",
    )


def desired_release_ruleset(api: Api, envs: list[Environment], default_branch: str) -> dict | None:
    """Only release managers create release branches: a `creation` rule they bypass. It is a ruleset
    of
    its own because a bypass actor skips every rule of its ruleset, and nobody may skip the
    approval."""
    released = release_branches(envs, default_branch)
    if not released:
        return None
    names = sorted(
        {
            n
            for e in released
            for n in (e.protection or {}).get("release_managers", DEFAULT_RELEASE_MANAGERS)
        }
    )
    return {
        "name": RELEASE_RULESET_NAME,
        "target": "branch",
        "enforcement": "active",
        "bypass_actors": bypass_actors(api, names),
        "conditions": {
            "ref_name": {
                "include": sorted({f"refs/heads/{e.branch}" for e in released}),
                "exclude": [],
            }
        },
        # repository-rule-creation: "Only allow users with bypass permission to create matching
        # refs."
        "rules": [{"type": "creation"}],
    }


def ruleset_drift(current: dict | None, desired: dict) -> list[str]:
    name = desired["name"]
    if current is None:
        return [f"ruleset {name!r}: missing"]
    drift = []
    if current.get("enforcement") != desired["enforcement"]:
        drift.append(
            f"ruleset {name!r}: enforcement is {current.get('enforcement')!r}, should be 'active'"
        )
    have_actors = sorted((current.get("bypass_actors") or []), key=_actor_key)
    if not desired["bypass_actors"] and have_actors:
        drift.append(f"ruleset {name!r}: has bypass actors (anyone listed can skip the approval)")
    elif [_actor_key(a) for a in have_actors] != [_actor_key(a) for a in desired["bypass_actors"]]:
        drift.append(
            f"ruleset {name!r}: bypass actors are {[_actor_key(a) for a in have_actors]}, "
            f"should be {[_actor_key(a) for a in desired['bypass_actors']]}"
        )
    cur_include = sorted(
        ((current.get("conditions") or {}).get("ref_name") or {}).get("include", [])
    )
    if cur_include != sorted(desired["conditions"]["ref_name"]["include"]):
        drift.append(
            f"ruleset {name!r}: applies to {cur_include}, should be "
            f"{sorted(desired['conditions']['ref_name']['include'])}"
        )
    have = {r["type"]: r.get("parameters", {}) for r in current.get("rules", [])}
    for rule in desired["rules"]:
        if rule["type"] not in have:
            drift.append(f"ruleset {name!r}: rule {rule['type']} missing")
            continue
        for key, value in rule.get("parameters", {}).items():
            got = have[rule["type"]].get(key)
            if key == "required_status_checks":
                got, value = _checks(got or [], value)
            if got != value:
                drift.append(
                    f"ruleset {name!r}: {rule['type']}.{key} is {got!r}, should be {value!r}"
                )
    return drift


def _checks(current: list[dict], desired: list[dict]) -> tuple[list, list]:
    """Required checks as comparable lists. Where foureyes pins the App that must set a check
    (`integration_id`), a check any other integration may set is drift: without the pin any token
    with statuses: write (a PR branch's own workflow) could post foureyes/approval itself
    (repository-rule-params-status-check-configuration: integration_id, "the optional integration ID
    that this status check must originate from")."""
    pinned = {c["context"] for c in desired if c.get("integration_id")}

    def key(c: dict) -> str:
        return (
            f"{c['context']} (app {c.get('integration_id')})"
            if c["context"] in pinned
            else c["context"]
        )

    return sorted(map(key, current)), sorted(map(key, desired))


def protect_ruleset(
    api: Api, desired: dict, listed: list[dict], check: bool, result: ProtectResult
) -> None:
    found = next((r for r in listed if r.get("name") == desired["name"]), None)
    current = api.call("GET", f"{api.repo}/rulesets/{found['id']}") if found else None
    drift = ruleset_drift(current, desired)
    result.drift += drift
    if check or not drift:
        return
    # rulesets on a private repository need GitHub Pro, Team or Enterprise; Free answers 403
    # https://docs.github.com/en/repositories/configuring-branches-and-merges-in-your-repository/managing-rulesets/about-rulesets
    if current is None:
        answer = api.call("POST", f"{api.repo}/rulesets", desired, refused_ok=(403,))
    else:
        answer = api.call("PUT", f"{api.repo}/rulesets/{current['id']}", desired, refused_ok=(403,))
    if isinstance(answer, Refused):
        result.unapplied.append(
            f"ruleset {desired['name']!r}: {answer.message}; rulesets on a private "
            "repository need GitHub Pro, Team or Enterprise"
        )
        result.drift = [
            d for d in result.drift if d not in drift
        ]  # not fixed: said once, as not applied
        return
    result.changed.append(f"ruleset {desired['name']!r}")


def protect_branches(
    api: Api,
    envs: list[Environment],
    plan: Plan,
    app_id: int | None,
    check: bool,
    result: ProtectResult,
) -> None:
    listed = api.call("GET", f"{api.repo}/rulesets")
    protect_ruleset(api, desired_ruleset(envs, app_id), listed, check, result)
    release = desired_release_ruleset(api, envs, plan.default_branch)
    if release is not None:
        protect_ruleset(api, release, listed, check, result)


def deploy_waits_once(workflow: bytes | None) -> bool:
    """Whether the deploy workflow is the one whose `approve` job alone references ENV-approval.
    Only then may the rules leave ENV: an older workflow would deploy with nobody asked."""
    import yaml

    try:
        jobs = (yaml.safe_load(workflow or b"") or {}).get("jobs") or {}
    except yaml.YAMLError:
        return False
    return isinstance(jobs, dict) and APPROVAL_SUFFIX + "'" in str(
        (jobs.get("approve") or {}).get("environment", "")
    )


def protect(
    gh: GitHubClient,
    repo_name: str,
    envs: list[Environment],
    check: bool,
    app_id: int | None = None,
    waits_once: bool = True,
) -> ProtectResult:
    """``waits_once``: the deploy workflow asks ENV-approval once (`deploy_waits_once`); otherwise
    each environment keeps its rules."""
    api = Api(gh, repo_name)
    result = ProtectResult()
    plan = detect_plan(api)
    for env in envs:
        for part in environment_and_approval(env) if waits_once else (env,):
            protect_environment(api, part, plan, check, result)
    protect_branches(api, envs, plan, app_id, check, result)
    return result
