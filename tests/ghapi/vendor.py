"""Re-extract the slices of GitHub's API description that the tests use.

Sources (MIT licensed, copied unmodified apart from selection):
- rest: @octokit/openapi 23.0.2, generated/api.github.com.json (OpenAPI 3.0.3)
- webhook examples: @octokit/webhooks-examples 7.6.1
Usage: python tests/ghapi/vendor.py [path/to/shared/github-api]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).parent
ENDPOINTS = [
    ("/repos/{owner}/{repo}/pulls/{pull_number}", "get", "200"),
    ("/repos/{owner}/{repo}/pulls/{pull_number}/commits", "get", "200"),
    ("/repos/{owner}/{repo}/pulls/{pull_number}/reviews", "get", "200"),
    ("/orgs/{org}/teams/{team_slug}/members", "get", "200"),
    ("/repos/{owner}/{repo}/statuses/{sha}", "post", "201"),
    ("/repos/{owner}/{repo}/issues/{issue_number}/comments", "get", "200"),
    ("/repos/{owner}/{repo}/issues/{issue_number}/comments", "post", "201"),
    ("/repos/{owner}/{repo}/issues/comments/{comment_id}", "patch", "200"),
    ("/repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers", "post", "201"),
    # apply: auto on an already mergeable PR: merge it directly, pinned to the approved head
    ("/repos/{owner}/{repo}/pulls/{pull_number}/merge", "put", "200"),
    # deploy: provenance and the Deployments record
    ("/repos/{owner}/{repo}/commits/{commit_sha}/pulls", "get", "200"),
    ("/repos/{owner}/{repo}", "get", "200"),  # the default branch: root of trust, allowed PR bases
    ("/repos/{owner}/{repo}/deployments", "get", "200"),
    ("/repos/{owner}/{repo}/deployments", "post", "201"),
    ("/repos/{owner}/{repo}/deployments/{deployment_id}/statuses", "get", "200"),
    ("/repos/{owner}/{repo}/deployments/{deployment_id}/statuses", "post", "201"),
    # protect: environments, branch policies, rulesets, and the ids of reviewers
    ("/repos/{owner}/{repo}/environments/{environment_name}", "get", "200"),
    ("/repos/{owner}/{repo}/environments/{environment_name}", "put", "200"),
    (
        "/repos/{owner}/{repo}/environments/{environment_name}/deployment-branch-policies",
        "get",
        "200",
    ),
    (
        "/repos/{owner}/{repo}/environments/{environment_name}/deployment-branch-policies",
        "post",
        "200",
    ),
    (
        "/repos/{owner}/{repo}/environments/{environment_name}/deployment-branch-policies/"
        "{branch_policy_id}",
        "delete",
        "204",
    ),
    ("/repos/{owner}/{repo}/rulesets", "get", "200"),
    ("/repos/{owner}/{repo}/rulesets", "post", "201"),
    ("/repos/{owner}/{repo}/rulesets/{ruleset_id}", "get", "200"),
    ("/repos/{owner}/{repo}/rulesets/{ruleset_id}", "put", "200"),
    ("/orgs/{org}/teams/{team_slug}", "get", "200"),
    ("/users/{username}", "get", "200"),
    # protect: visibility and plan (environment protection rules on private repositories), release
    # managers
    ("/orgs/{org}", "get", "200"),
    # team membership: which members are direct and which come from child teams
    ("/orgs/{org}/teams/{team_slug}/teams", "get", "200"),
    # rollback: a branch, a file change on it, a PR
    ("/repos/{owner}/{repo}/git/refs", "post", "201"),
    ("/repos/{owner}/{repo}/git/refs/{ref}", "patch", "200"),
    ("/repos/{owner}/{repo}/contents/{path}", "put", "200"),
    ("/repos/{owner}/{repo}/pulls", "post", "201"),
    # timeout: open PRs, when the gate's status went pending, closing a PR
    ("/repos/{owner}/{repo}/pulls", "get", "200"),
    ("/repos/{owner}/{repo}/commits/{ref}/statuses", "get", "200"),
    ("/repos/{owner}/{repo}/pulls/{pull_number}", "patch", "200"),
    # events: the event logs of workflow runs, kept as artifacts
    ("/repos/{owner}/{repo}/actions/artifacts", "get", "200"),
    # e2e: what a workflow run touches besides foureyes (create-github-app-token, checkout) and the
    # relay's artifact that the gate reads on workflow_run
    ("/repos/{owner}/{repo}/installation", "get", "200"),
    ("/app/installations/{installation_id}/access_tokens", "post", "201"),
    ("/installation/token", "delete", "204"),
    ("/repos/{owner}/{repo}/actions/runs/{run_id}/artifacts", "get", "200"),
    ("/repos/{owner}/{repo}/actions/artifacts/{artifact_id}/{archive_format}", "get", "302"),
    ("/repos/{owner}/{repo}/actions/runs/{run_id}", "get", "200"),  # whose run uploaded an artifact
    # evidence: the gate's check run on the PR head, read back by the deploy; the App it trusts
    ("/repos/{owner}/{repo}/check-runs", "post", "201"),
    ("/repos/{owner}/{repo}/commits/{ref}/check-runs", "get", "200"),
    ("/apps/{app_slug}", "get", "200"),
]
ERROR_SCHEMA = "basic-error"
WEBHOOKS = {
    "pull_request": ("opened", "synchronize"),
    "pull_request_review": ("submitted", "dismissed"),
    "workflow_run": ("completed",),
    "push": (None,),
}  # a push event has no `action`


def refs(node, found: set[str]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/"):
            found.add(ref)
        for value in node.values():
            refs(value, found)
    elif isinstance(node, list):
        for value in node:
            refs(value, found)


def resolve(spec: dict, ref: str):
    node = spec
    for part in ref.lstrip("#/").split("/"):
        node = node[part]
    return node


def main(shared: Path) -> None:
    spec = json.loads((shared / "rest" / "api.github.com.json").read_text())
    out = {
        "source": "@octokit/openapi 23.0.2 generated/api.github.com.json (MIT), selected slices",
        "openapi": spec["openapi"],
        "paths": {},
        "components": {},
    }
    todo: set[str] = {f"#/components/schemas/{ERROR_SCHEMA}"}
    for path, method, status in ENDPOINTS:
        response = spec["paths"][path][method]["responses"][status]
        if "$ref" in response:
            response = resolve(spec, response["$ref"])
        body = response.get("content", {}).get("application/json", {})  # 204 and 302 have no body
        op = {"responses": {status: {"content": {"application/json": body}} if body else {}}}
        request = spec["paths"][path][method].get("requestBody")
        if request:  # so mocks can check what foureyes sends, too
            op["requestBody"] = request
            refs(request, todo)
        out["paths"].setdefault(path, {})[method] = op
        refs(body, todo)
    done: set[str] = set()
    while todo:
        ref = todo.pop()
        if ref in done:
            continue
        done.add(ref)
        node = resolve(spec, ref)
        _, _, kind, name = ref.split("/", 3)
        out["components"].setdefault(kind, {})[name] = node
        refs(node, todo)
    (HERE / "openapi-slice.json").write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")

    for event, actions in WEBHOOKS.items():
        examples = json.loads((shared / "webhook-examples" / f"{event}.json").read_text())
        picked = [e for e in examples if e.get("action") in actions]
        (HERE / f"webhook-{event}.json").write_text(
            json.dumps(
                {"source": f"@octokit/webhooks-examples 7.6.1 ({event}, MIT)", "examples": picked},
                indent=1,
            )
            + "\n"
        )
    print(f"{len(out['paths'])} paths, {sum(map(len, out['components'].values()))} components")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE.parents[2] / "shared" / "github-api")
