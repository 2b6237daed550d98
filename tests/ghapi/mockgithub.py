"""A GitHub REST mock on `responses` whose every body starts from GitHub's own OpenAPI examples
(vendored in openapi-slice.json) and is validated against the response schema before it is served.
A test describes people, commits and reviews; the mock renders them as GitHub would."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import responses
from openapi_schema_validator import OAS30Validator

from support.clock import review_time

HERE = Path(__file__).parent
SLICE = json.loads((HERE / "openapi-slice.json").read_text())
EXAMPLES = SLICE["components"]["examples"]
API = "https://api.github.com"


def example(name: str):
    return _modernise(copy.deepcopy(EXAMPLES[name]["value"]))


def _modernise(node):
    """Some of GitHub's examples predate fields the schema now requires: a team's `type`, an
    organization's `archived_at`. Fill them in with real values so the examples validate."""
    if isinstance(node, list):
        for item in node:
            _modernise(item)
    elif isinstance(node, dict):
        for team in node.get("requested_teams") or []:
            team.setdefault("type", "organization")
        if "members_url" in node and "slug" in node and "privacy" in node:  # a team
            node.setdefault("type", "organization")
        if (
            "archived_at" not in node and "login" in node and "is_verified" in node
        ):  # an organization-full
            node["archived_at"] = None
        if (
            "language" not in node and "full_name" in node and "network_count" in node
        ):  # a full-repository
            node["language"] = None
        for value in node.values():
            _modernise(value)
    return node


def _nullable_composites(node):
    """OAS 3.0 lets `nullable: true` sit beside oneOf/anyOf/allOf with no `type` (GitHub does this
    for
    a commit's author: null when no account is linked); openapi-schema-validator only honours
    nullable next to `type`, so such nodes become anyOf [null, the rest]."""
    if isinstance(node, list):
        return [_nullable_composites(n) for n in node]
    if not isinstance(node, dict):
        return node
    node = {k: _nullable_composites(v) for k, v in node.items()}
    if (
        node.get("nullable") is True
        and "type" not in node
        and any(k in node for k in ("oneOf", "anyOf", "allOf"))
    ):
        rest = {k: v for k, v in node.items() if k != "nullable"}
        return {"anyOf": [{"enum": [None]}, rest]}
    return node


COMPONENTS = _nullable_composites(SLICE["components"])


def schema_for(path: str, method: str, status: str) -> dict:
    body = SLICE["paths"][path][method]["responses"][status]["content"]["application/json"][
        "schema"
    ]
    return {"components": COMPONENTS, **body}


def check_request(path: str, method: str, body) -> None:
    """Fail the test if foureyes sends a body GitHub's API description would not accept."""
    request = SLICE["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]
    errors = sorted(
        OAS30Validator({"components": COMPONENTS, **request}).iter_errors(body), key=str
    )
    assert not errors, (
        f"{method.upper()} {path} request breaks the OpenAPI schema: {errors[0].message}"
    )


def check(path: str, method: str, status: str, body) -> None:
    """Fail the test if a mocked body is not what GitHub's API description says it returns."""
    errors = sorted(OAS30Validator(schema_for(path, method, status)).iter_errors(body), key=str)
    assert not errors, (
        f"mocked {method.upper()} {path} body breaks the OpenAPI schema: {errors[0].message} "
        f"at {list(errors[0].absolute_path)}"
    )


def user(login: str, id: int, type: str = "User") -> dict:
    u = example("team-member-items")[0]
    u.update(
        login=login,
        id=id,
        type=type,
        node_id=f"U_{id}",
        url=f"{API}/users/{login}",
        html_url=f"https://github.com/{login}",
    )
    return u


class MockGitHub:
    """Registers realistic responses for one repository and PR; counts the requests made."""

    def __init__(self, rsps: responses.RequestsMock, repo: str = "acme/models", number: int = 7):
        self.rsps = rsps
        self.repo = repo
        self.number = number
        self.base = f"{API}/repos/{repo}"
        # PyGithub writes the port into URLs it builds itself (https://api.github.com:443/...)
        self.base_re = re.escape(API) + "(?::443)?" + re.escape(f"/repos/{repo}")
        self.statuses: list[dict] = []
        self.comments: list[dict] = []
        self.review_requests: list[dict] = []
        self.refused: list[dict] = []  # writes GitHub answered with 422
        self.graphql: list[dict] = []
        self.graphql_errors: list[str] = []  # messages enablePullRequestAutoMerge answers with
        self.merges: list[dict] = []
        self.merge_refusal: tuple[int, str] | None = None  # (status, message) of PUT .../merge

    # --- reads -------------------------------------------------------------------------------

    def pull(
        self,
        author: dict,
        base_sha: str,
        head_sha: str,
        body: str | None = "A reason.",
        requested_reviewers=(),
        requested_teams=(),
        status: int = 200,
        base_ref: str = "main",
        mergeable_state: str = "blocked",
        labels=(),
    ):
        pr = example("pull-request")
        owner, name = self.repo.split("/")
        pr.update(
            number=self.number,
            user=author,
            body=body,
            url=f"{self.base}/pulls/{self.number}",
            requested_reviewers=list(requested_reviewers),
            requested_teams=list(requested_teams),
            node_id=f"PR_kw{self.number}",
            draft=False,
            labels=[
                {
                    "id": 900 + i,
                    "node_id": f"LA_{i}",
                    "url": f"{self.base}/labels/{n}",
                    "name": n,
                    "description": None,
                    "color": "ededed",
                    "default": False,
                }
                for i, n in enumerate(labels)
            ],
            issue_url=f"{self.base}/issues/{self.number}",
            comments_url=f"{self.base}/issues/{self.number}/comments",
            commits_url=f"{self.base}/pulls/{self.number}/commits",
            review_comments_url=f"{self.base}/pulls/{self.number}/comments",
            statuses_url=f"{self.base}/statuses/{head_sha}",
            mergeable_state=mergeable_state,
        )
        pr["head"].update(sha=head_sha, ref="change")
        pr["base"].update(sha=base_sha, ref=base_ref)
        pr["base"]["repo"]["default_branch"] = "main"
        pr["base"]["repo"].update(full_name=self.repo, name=name)
        pr["base"]["repo"]["owner"].update(login=owner)
        check("/repos/{owner}/{repo}/pulls/{pull_number}", "get", "200", pr)
        self.rsps.get(self.url(f"/repos/{self.repo}/pulls/{self.number}"), json=pr, status=status)
        self.author_login = author["login"]
        self._at_head(
            head_sha, pull_simple(self.number, base_sha, head_sha, None, None, self.repo, base_ref)
        )
        return pr

    def _at_head(self, head_sha: str, listed: dict) -> None:
        """GET .../commits/{sha}/pulls for an open PR's head: GitHub lists the open PRs associated
        with a
        commit that is not on the default branch, this one and any other at the same head."""
        heads = self.rsps.__dict__.setdefault("_pulls_at_head", {})
        if head_sha not in heads:
            heads[head_sha] = []

            def on_list(request, sha=head_sha):
                check("/repos/{owner}/{repo}/commits/{commit_sha}/pulls", "get", "200", heads[sha])
                return 200, {}, json.dumps(heads[sha])

            self.rsps.add_callback(
                responses.GET, self.url(f"/repos/{self.repo}/commits/{head_sha}/pulls"), on_list
            )
        heads[head_sha] = [p for p in heads[head_sha] if p["number"] != listed["number"]] + [listed]

    def commits(self, *commits: dict):
        """Each commit: sha, author (user dict or None), committer (or None), email, message."""
        items = []
        for c in commits:
            item = example("commit-items")[0]
            item.update(
                sha=c["sha"],
                author=c.get("author"),
                committer=c.get("committer", c.get("author")),
                url=f"{self.base}/commits/{c['sha']}",
            )
            item["commit"]["author"]["email"] = c.get("email", "someone@example.com")
            item["commit"]["committer"]["email"] = c.get("email", "someone@example.com")
            item["commit"]["message"] = c.get("message", "change")
            items.append(item)
        check("/repos/{owner}/{repo}/pulls/{pull_number}/commits", "get", "200", items)
        self.rsps.get(self.url(f"/repos/{self.repo}/pulls/{self.number}/commits"), json=items)
        return items

    def reviews(self, *reviews: dict, pages: int = 1):
        """Each review: user (user dict), state, commit_id; ids and times increase in order."""
        items = []
        for i, r in enumerate(reviews, start=1):
            item = example("pull-request-review-items")[0]
            item.update(
                id=1000 + i,
                user=r["user"],
                state=r["state"],
                commit_id=r["commit_id"],
                submitted_at=review_time(i),
                node_id=f"PRR_{i}",
            )
            items.append(item)
        check("/repos/{owner}/{repo}/pulls/{pull_number}/reviews", "get", "200", items)
        url = f"{self.base}/pulls/{self.number}/reviews"
        if pages == 1:
            self.rsps.get(self.url(f"/repos/{self.repo}/pulls/{self.number}/reviews"), json=items)
        else:  # GitHub's Link header pagination
            size = -(-len(items) // pages)
            for p in range(pages):
                link = (
                    {"Link": f'<{url}?per_page=100&page={p + 2}>; rel="next"'}
                    if p < pages - 1
                    else {}
                )
                matcher = [
                    responses.matchers.query_param_matcher(
                        {"per_page": "100", "page": str(p + 1)} if p else {"per_page": "100"}
                    )
                ]
                self.rsps.get(
                    self.url(url[len(API) :]),
                    json=items[p * size : (p + 1) * size],
                    headers=link,
                    match=matcher,
                )
        return items

    def team(self, team: str, *members: dict, status: int = 200):
        org, slug = team.split("/")
        url = self.url(f"/orgs/{org}/teams/{slug}/members")
        if status != 200:
            self.rsps.get(
                url,
                json={
                    "message": "Not Found",
                    "documentation_url": "https://docs.github.com/rest/teams/members#list-team-members",
                    "status": str(status),
                },
                status=status,
            )
            return
        items = list(members)
        check("/orgs/{org}/teams/{team_slug}/members", "get", "200", items)
        self.rsps.get(url, json=items)

    def existing_comments(self, *comments: dict):
        items = []
        for i, c in enumerate(comments, start=1):
            item = example("issue-comment-items")[0]
            item.update(
                id=500 + i,
                body=c["body"],
                user=c["user"],
                url=f"{self.base}/issues/comments/{500 + i}",
            )
            if "created_at" in c:
                item["created_at"] = item["updated_at"] = c["created_at"]
            items.append(item)
        check("/repos/{owner}/{repo}/issues/{issue_number}/comments", "get", "200", items)
        self.rsps.get(self.url(f"/repos/{self.repo}/issues/{self.number}/comments"), json=items)
        return items

    def users(self, **accounts):
        """GET /users/{login} for each login=(id, type); a login mapped to None is a 404."""
        from urllib.parse import quote

        for login, account in accounts.items():
            url = re.compile(
                "^" + re.escape(API) + "(?::443)?/users/" + re.escape(quote(login)) + r"(?:\?.*)?$"
            )
            if account is None:
                self.rsps.get(
                    url,
                    status=404,
                    json={
                        "message": "Not Found",
                        "documentation_url": "https://docs.github.com/rest/users/users#get-a-user",
                    },
                )
                continue
            body = example("public-user-default-response")
            body.update(
                login=login,
                id=account[0],
                type=account[1],
                node_id=f"U_{account[0]}",
                user_view_type="public",
            )
            check("/users/{username}", "get", "200", body)
            self.rsps.get(url, json=body)

    # --- writes ------------------------------------------------------------------------------

    def accept_writes(self, status_code: int = 201):
        def on_status(request):
            sent = json.loads(request.body)
            self.statuses.append(sent)
            body = example("status")
            body.update(
                state=sent["state"], context=sent["context"], description=sent.get("description")
            )
            check("/repos/{owner}/{repo}/statuses/{sha}", "post", "201", body)
            return status_code, {}, json.dumps(body)

        def on_comment(request):
            sent = json.loads(request.body)
            if (
                len(sent["body"].encode("utf-16-le")) // 2 > 65536
            ):  # what GitHub answers a longer body
                self.refused.append(sent)
                return (
                    422,
                    {},
                    json.dumps(
                        {
                            "message": "Validation Failed",
                            "errors": [
                                {
                                    "resource": "IssueComment",
                                    "code": "unprocessable",
                                    "field": "data",
                                    "message": "Body is too long (maximum is 65536 characters)",
                                }
                            ],
                            "documentation_url": "https://docs.github.com/rest/issues/comments#create-an-issue-comment",
                        }
                    ),
                )
            self.comments.append({"method": request.method, "url": request.url, **sent})
            body = example("issue-comment")
            body.update(body=sent["body"], user=user("github-actions[bot]", 41898282, "Bot"))
            kind = (
                ("/repos/{owner}/{repo}/issues/comments/{comment_id}", "patch", "200")
                if request.method == "PATCH"
                else ("/repos/{owner}/{repo}/issues/{issue_number}/comments", "post", "201")
            )
            check(*kind, body)
            return int(kind[2]), {}, json.dumps(body)

        def on_review_request(request):
            sent = json.loads(request.body)
            if getattr(self, "author_login", None) in sent.get(
                "reviewers", []
            ):  # GitHub refuses the whole request
                self.refused.append(sent)
                return (
                    422,
                    {},
                    json.dumps(
                        {
                            "message": "Review cannot be requested from pull request author.",
                            "documentation_url": "https://docs.github.com/rest/pulls/review-requests#request-reviewers-for-a-pull-request",
                        }
                    ),
                )
            self.review_requests.append(sent)
            body = example("pull-request-review-request")
            check(
                "/repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers", "post", "201", body
            )
            return 201, {}, json.dumps(body)

        def on_graphql(request):
            self.graphql.append(json.loads(request.body))
            if self.graphql_errors:  # GraphQL answers 200 with an `errors` list
                return (
                    200,
                    {},
                    json.dumps(
                        {
                            "data": {"enablePullRequestAutoMerge": None},
                            "errors": [
                                {
                                    "type": "UNPROCESSABLE",
                                    "path": ["enablePullRequestAutoMerge"],
                                    "message": m,
                                    "locations": [{"line": 1, "column": 70}],
                                }
                                for m in self.graphql_errors
                            ],
                        }
                    ),
                )
            return (
                200,
                {},
                json.dumps(
                    {
                        "data": {
                            "enablePullRequestAutoMerge": {
                                "pullRequest": {"autoMergeRequest": {"mergeMethod": "SQUASH"}}
                            }
                        }
                    }
                ),
            )

        def on_merge(request):
            sent = json.loads(request.body)
            check_request("/repos/{owner}/{repo}/pulls/{pull_number}/merge", "put", sent)
            self.merges.append(sent)
            if self.merge_refusal:
                status, message = self.merge_refusal
                return (
                    status,
                    {},
                    json.dumps(
                        {
                            "message": message,
                            "documentation_url": "https://docs.github.com/rest/pulls/pulls#merge-a-pull-request",
                        }
                    ),
                )
            body = example("pull-request-merge-result-response-if-merge-was-successful")
            check("/repos/{owner}/{repo}/pulls/{pull_number}/merge", "put", "200", body)
            return 200, {}, json.dumps(body)

        b = self.base_re
        self.check_runs = check_runs_of(self.rsps)
        self.rsps.add_callback(
            responses.POST, re.compile(b + r"/statuses/[0-9a-f]{40}$"), on_status
        )
        self.rsps.add_callback(
            responses.POST, re.compile(b + rf"/issues/{self.number}/comments$"), on_comment
        )
        self.rsps.add_callback(
            responses.PATCH, re.compile(b + r"/issues/comments/\d+$"), on_comment
        )
        self.rsps.add_callback(
            responses.POST,
            re.compile(b + rf"/pulls/{self.number}/requested_reviewers$"),
            on_review_request,
        )
        self.rsps.add_callback(
            responses.POST, re.compile(re.escape(API) + "(?::443)?/graphql$"), on_graphql
        )
        self.rsps.add_callback(
            responses.PUT, re.compile(b + rf"/pulls/{self.number}/merge$"), on_merge
        )

    def url(self, path: str) -> re.Pattern:
        """A URL pattern that matches with or without PyGithub's explicit :443 and any query."""
        return re.compile("^" + re.escape(API) + "(?::443)?" + re.escape(path) + r"(?:\?.*)?$")

    def request_count(self) -> int:
        return len(self.rsps.calls)


FOUREYES_BOT = 9001  # the numeric id of foureyes' App bot account in these tests
GITHUB_ACTIONS_APP = 15368  # the App a workflow's GITHUB_TOKEN writes check runs as


class CheckRuns:
    """Check runs as GitHub keeps them: POST /repos/{owner}/{repo}/check-runs stores one, written by
    ``writer`` (the App of the token in use: github-actions unless a test says otherwise); GET
    .../commits/{ref}/check-runs lists a commit's, filtered by check_name and app_id. One per
    RequestsMock (``check_runs_of``), so the gate's writes are what a later deploy reads."""

    def __init__(self, rsps: responses.RequestsMock, repo: str = "acme/models"):
        self.runs: list[dict] = []
        self.writer = GITHUB_ACTIONS_APP
        self.refusal: tuple[int, str] | None = (
            None  # (status, message) GitHub answers every create with
        )
        base = "^" + re.escape(API) + "(?::443)?" + re.escape(f"/repos/{repo}")
        rsps.add_callback(responses.POST, re.compile(base + r"/check-runs$"), self._create)
        rsps.add_callback(
            responses.GET,
            re.compile(base + r"/commits/([0-9a-f]{40})/check-runs(?:\?.*)?$"),
            self._list,
        )

    def add(self, sent: dict, app: int | None = None) -> dict:
        run = example("check-run-example-of-completed-conclusion")
        run.update(
            id=4000 + len(self.runs),
            name=sent["name"],
            head_sha=sent["head_sha"],
            external_id=sent.get("external_id", ""),
            status=sent.get("status", "completed"),
            conclusion=sent.get("conclusion", "neutral"),
        )
        run["output"] = {**run["output"], **sent.get("output", {}), "annotations_count": 0}
        run["app"] = {**run["app"], "id": app or self.writer}
        check("/repos/{owner}/{repo}/check-runs", "post", "201", run)
        self.runs.append(run)
        return run

    def _create(self, request):
        sent = json.loads(request.body)
        check_request("/repos/{owner}/{repo}/check-runs", "post", sent)
        if self.refusal:
            return (
                self.refusal[0],
                {},
                json.dumps(
                    {
                        "message": self.refusal[1],
                        "documentation_url": "https://docs.github.com/rest/checks/runs#create-a-check-run",
                    }
                ),
            )
        return 201, {}, json.dumps(self.add(sent))

    def _list(self, request):
        from urllib.parse import parse_qs, urlparse

        query = {k: v[0] for k, v in parse_qs(urlparse(request.url).query).items()}
        sha = re.search(r"/commits/([0-9a-f]{40})/check-runs", request.url).group(1)
        found = [
            r
            for r in self.runs
            if r["head_sha"] == sha
            and r["name"] == query.get("check_name", r["name"])
            and ("app_id" not in query or r["app"]["id"] == int(query["app_id"]))
        ]
        body = {"total_count": len(found), "check_runs": found}
        check("/repos/{owner}/{repo}/commits/{ref}/check-runs", "get", "200", body)
        return 200, {}, json.dumps(body)


_CHECK_RUNS: dict[int, tuple] = {}  # id(rsps) -> (rsps, its CheckRuns)


def check_runs_of(rsps: responses.RequestsMock) -> CheckRuns:
    if id(rsps) not in _CHECK_RUNS or _CHECK_RUNS[id(rsps)][0] is not rsps:
        _CHECK_RUNS[id(rsps)] = (rsps, CheckRuns(rsps))
    return _CHECK_RUNS[id(rsps)][1]


class FakeDeployments:
    """GitHub's Deployments API as a small in-memory server: create, list with filters (newest
    first, paged with a Link header), statuses. Requests and responses are both checked against the
    OpenAPI description. ``actor`` is the account the requests are made as (the token's identity):
    GitHub records it as the deployment's and the status's `creator`.

    A `success` status without `auto_inactive: false` marks earlier successful deployments of the
    same non-production environment inactive, as GitHub documents for `auto_inactive` (default
    true);
    the mock attributes those statuses to the poster (GitHub does not document who)."""

    def __init__(self, rsps: responses.RequestsMock, repo: str = "acme/models"):
        self.repo = repo
        self.actor = user("foureyes[bot]", FOUREYES_BOT, "Bot")
        self.deployments: list[dict] = []
        self.statuses: dict[int, list[dict]] = {}
        self.list_requests = 0
        base = re.escape(API) + "(?::443)?" + re.escape(f"/repos/{repo}/deployments")
        rsps.add_callback(responses.GET, re.compile(base + r"(?:\?.*)?$"), self.on_list)
        rsps.add_callback(responses.POST, re.compile(base + "$"), self.on_create)
        rsps.add_callback(
            responses.GET, re.compile(base + r"/(\d+)/statuses(?:\?.*)?$"), self.on_statuses
        )
        rsps.add_callback(responses.POST, re.compile(base + r"/(\d+)/statuses$"), self.on_status)

    def _page(self, request, items: list, path: str) -> tuple:
        """GitHub's pagination: per_page (default 30, max 100), page, and a Link header."""
        from urllib.parse import parse_qs, urlencode, urlparse

        url = urlparse(request.url)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        size, page = min(int(query.get("per_page", 30)), 100), int(query.get("page", 1))
        chunk = items[(page - 1) * size : page * size]
        headers = {}
        if page * size < len(items):
            headers["Link"] = f'<{API}{path}?{urlencode({**query, "page": page + 1})}>; rel="next"'
        return chunk, headers

    def on_list(self, request):
        from urllib.parse import parse_qs, urlparse

        self.list_requests += 1
        query = {k: v[0] for k, v in parse_qs(urlparse(request.url).query).items()}
        items = [
            d
            for d in reversed(self.deployments)
            if all(d[k] == query[k] for k in ("environment", "task", "sha", "ref") if k in query)
        ]
        chunk, headers = self._page(request, items, f"/repos/{self.repo}/deployments")
        check("/repos/{owner}/{repo}/deployments", "get", "200", chunk)
        return 200, headers, json.dumps(chunk)

    def on_create(self, request):
        sent = json.loads(request.body)
        check_request("/repos/{owner}/{repo}/deployments", "post", sent)
        d = self.add(
            sent["ref"],
            sent.get("task", "deploy"),
            sent.get("environment", "production"),
            sent.get("payload", {}),
            sent.get("description"),
        )
        check("/repos/{owner}/{repo}/deployments", "post", "201", d)
        return 201, {}, json.dumps(d)

    def add(
        self, sha: str, task: str, environment: str, payload=None, description=None, creator=None
    ) -> dict:
        """A deployment as ``creator`` (default: the actor) would create it."""
        d = example("deployment-simple-example")
        n = len(self.deployments) + 1
        d.update(
            id=n,
            node_id=f"DE_{n}",
            sha=sha,
            ref=sha,
            task=task,
            payload=payload or {},
            environment=environment,
            original_environment=environment,
            description=description,
            creator=creator or self.actor,
            url=f"{API}/repos/{self.repo}/deployments/{n}",
            statuses_url=f"{API}/repos/{self.repo}/deployments/{n}/statuses",
            production_environment=environment == "production",
        )
        self.deployments.append(d)
        self.statuses[n] = []
        return d

    def on_statuses(self, request):
        n = int(re.search(r"/deployments/(\d+)/", request.url).group(1))
        items = list(reversed(self.statuses.get(n, [])))
        chunk, headers = self._page(request, items, f"/repos/{self.repo}/deployments/{n}/statuses")
        check("/repos/{owner}/{repo}/deployments/{deployment_id}/statuses", "get", "200", chunk)
        return 200, headers, json.dumps(chunk)

    def on_status(self, request):
        n = int(re.search(r"/deployments/(\d+)/", request.url).group(1))
        sent = json.loads(request.body)
        check_request("/repos/{owner}/{repo}/deployments/{deployment_id}/statuses", "post", sent)
        st = self.set_status(
            n,
            sent["state"],
            sent.get("description", ""),
            auto_inactive=sent.get("auto_inactive", True),
        )
        check("/repos/{owner}/{repo}/deployments/{deployment_id}/statuses", "post", "201", st)
        return 201, {}, json.dumps(st)

    def set_status(
        self, n: int, state: str, description: str = "", creator=None, auto_inactive: bool = True
    ) -> dict:
        st = example("deployment-status")
        st.update(
            id=1000 + sum(map(len, self.statuses.values())),
            state=state,
            description=description,
            creator=creator or self.actor,
            deployment_url=f"{API}/repos/{self.repo}/deployments/{n}",
        )
        deployment = self.deployments[n - 1]
        if state == "success" and auto_inactive and not deployment["production_environment"]:
            for earlier in self.deployments[: n - 1]:
                if (
                    earlier["environment"] == deployment["environment"]
                    and self.latest(earlier["id"]) == "success"
                ):
                    self.set_status(
                        earlier["id"],
                        "inactive",
                        "",
                        creator=creator or self.actor,
                        auto_inactive=False,
                    )
        self.statuses[n].append(st)
        return st

    def latest(self, n: int) -> str:
        return self.statuses[n][-1]["state"] if self.statuses[n] else "none"


def repository(
    rsps: responses.RequestsMock, default_branch: str = "main", repo: str = "acme/models"
) -> dict:
    """GET /repos/{owner}/{repo}: the repository, with its default branch."""
    body = example("full-repository-default-response")
    owner, name = repo.split("/")
    body.update(
        full_name=repo,
        name=name,
        default_branch=default_branch,
        url=f"{API}/repos/{repo}",
        language=None,
    )
    body["owner"].update(login=owner)
    for fork_parent in ("source", "parent"):  # the example predates `language` being required
        if fork_parent in body:
            body[fork_parent].setdefault("language", None)
    check("/repos/{owner}/{repo}", "get", "200", body)
    rsps.get(
        re.compile(
            "^" + re.escape(API) + "(?::443)?" + re.escape(f"/repos/{repo}") + r"(?:\?.*)?$"
        ),
        json=body,
    )
    check_runs_of(rsps)  # the deploy reads the gate's evidence
    return body


def pull_simple(
    number: int,
    base_sha: str,
    head_sha: str,
    merged_at: str | None,
    merge_commit: str | None,
    repo: str = "acme/models",
    base_ref: str = "main",
    updated_at: str | None = None,
    default_branch: str = "main",
) -> dict:
    """A PR as listings show it; a merge updates the PR, so `updated_at` is `merged_at` unless given."""
    item = example("pull-request-simple-items")[0]
    base = f"{API}/repos/{repo}"
    item.update(
        number=number,
        merged_at=merged_at,
        merge_commit_sha=merge_commit,
        draft=False,
        updated_at=updated_at or merged_at or item["updated_at"],
        closed_at=merged_at,
        url=f"{base}/pulls/{number}",
        state="closed" if merged_at else "open",
        issue_url=f"{base}/issues/{number}",
        comments_url=f"{base}/issues/{number}/comments",
        commits_url=f"{base}/pulls/{number}/commits",
        statuses_url=f"{base}/statuses/{head_sha}",
    )
    item["base"]["sha"], item["head"]["sha"] = base_sha, head_sha
    item["base"]["ref"] = base_ref
    item["base"]["repo"]["default_branch"] = default_branch
    return item


class ClosedPulls:
    """GET /repos/{owner}/{repo}/pulls?state=closed as GitHub answers it: sorted by `sort`
    (created, or updated) in `direction` (default desc for created, asc otherwise), `per_page`
    (default 30, max 100) with a Link header to the next page; items are pull-request-simple
    (https://docs.github.com/rest/pulls/pulls#list-pull-requests). Counts the pages served."""

    def __init__(self, rsps: responses.RequestsMock, repo: str = "acme/models"):
        self.repo = repo
        self.pulls: list[dict] = []
        self.pages = 0
        url = re.compile(
            "^" + re.escape(API) + "(?::443)?" + re.escape(f"/repos/{repo}/pulls") + r"(?:\?.*)?$"
        )
        rsps.add_callback(
            responses.GET,
            url,
            self.on_list,
            match=[responses.matchers.query_param_matcher({"state": "closed"}, strict_match=False)],
        )

    def add(self, *pulls: dict) -> None:
        for pr in pulls:
            check("/repos/{owner}/{repo}/pulls", "get", "200", [pr])
            self.pulls = [p for p in self.pulls if p["number"] != pr["number"]] + [pr]

    def on_list(self, request):
        from urllib.parse import parse_qs, urlencode, urlparse

        self.pages += 1
        query = {k: v[0] for k, v in parse_qs(urlparse(request.url).query).items()}
        key = "updated_at" if query.get("sort") == "updated" else "created_at"
        default = "desc" if key == "created_at" else "asc"
        items = sorted(
            (p for p in self.pulls if p["state"] == "closed"),
            key=lambda p: (p[key], p["number"]),
            reverse=query.get("direction", default) == "desc",
        )
        size, page = min(int(query.get("per_page", 30)), 100), int(query.get("page", 1))
        chunk = items[(page - 1) * size : page * size]
        headers = {}
        if page * size < len(items):
            headers["Link"] = (
                f"<{API}/repos/{self.repo}/pulls?{urlencode({**query, 'page': page + 1})}>; "
                'rel="next"'
            )
        check("/repos/{owner}/{repo}/pulls", "get", "200", chunk)
        return 200, headers, json.dumps(chunk)


def closed_pulls(
    rsps: responses.RequestsMock, *pulls: dict, repo: str = "acme/models"
) -> ClosedPulls:
    """The closed-PR listing of ``repo`` on this mock (registered on first use), with ``pulls`` added."""
    listings = rsps.__dict__.setdefault("_closed_pulls", {})
    if repo not in listings:
        listings[repo] = ClosedPulls(rsps, repo)
    listings[repo].add(*pulls)
    return listings[repo]


def commit_pulls(
    rsps: responses.RequestsMock, commit: str, pulls: list[dict], repo: str = "acme/models"
) -> None:
    check("/repos/{owner}/{repo}/commits/{commit_sha}/pulls", "get", "200", pulls)
    url = re.compile(
        "^"
        + re.escape(API)
        + "(?::443)?"
        + re.escape(f"/repos/{repo}/commits/{commit}/pulls")
        + r"(?:\?.*)?$"
    )
    rsps.get(url, json=pulls)


def team_full(id: int, slug: str = "mlops-admins") -> dict:
    team = example("team-full")
    team.update(id=id, slug=slug)
    return team


class FakeRepoSettings:
    """Environments, deployment branch policies and rulesets of one repository, plus the users and
    teams they name: an in-memory GitHub for `foureyes protect`, schema-checked both ways."""

    def __init__(
        self,
        rsps: responses.RequestsMock,
        repo: str = "acme/models",
        users: dict[str, int] | None = None,
        teams: dict[str, int] | None = None,
        visibility: str = "public",
        plan: str = "team",
        plan_visible: bool = True,
    ):
        self.repo = repo
        # the plan decides what PUT /environments accepts on a private repository; GET /orgs/{org}
        # shows `plan` only to organization owners (plan_visible=False plays any other token)
        self.visibility, self.plan, self.plan_visible = visibility, plan, plan_visible
        self.environments: dict[str, dict] = {}
        self.branch_policies: dict[str, list[str]] = {}
        self.rulesets: dict[int, dict] = {}
        self.users = users or {}
        self.teams = teams or {}
        self.writes: list[str] = []
        root = re.escape(API) + "(?::443)?"
        repo_re = root + re.escape(f"/repos/{repo}")
        q = r"(?:\?.*)?$"
        rsps.add_callback(
            responses.GET, re.compile(repo_re + r"/environments/([^/?]+)" + q), self.get_env
        )
        rsps.add_callback(
            responses.PUT, re.compile(repo_re + r"/environments/([^/?]+)$"), self.put_env
        )
        rsps.add_callback(
            responses.GET,
            re.compile(repo_re + r"/environments/([^/]+)/deployment-branch-policies" + q),
            self.get_policies,
        )
        rsps.add_callback(
            responses.POST,
            re.compile(repo_re + r"/environments/([^/]+)/deployment-branch-policies$"),
            self.post_policy,
        )
        rsps.add_callback(
            responses.DELETE,
            re.compile(repo_re + r"/environments/([^/]+)/deployment-branch-policies/(\d+)$"),
            self.delete_policy,
        )
        rsps.add_callback(responses.GET, re.compile(repo_re + r"/rulesets" + q), self.list_rulesets)
        rsps.add_callback(
            responses.GET, re.compile(repo_re + r"/rulesets/(\d+)" + q), self.get_ruleset
        )
        rsps.add_callback(responses.POST, re.compile(repo_re + r"/rulesets$"), self.post_ruleset)
        rsps.add_callback(
            responses.PUT, re.compile(repo_re + r"/rulesets/(\d+)$"), self.put_ruleset
        )
        rsps.add_callback(
            responses.GET, re.compile(root + r"/orgs/([^/]+)/teams/([^/?]+)" + q), self.get_team
        )
        rsps.add_callback(responses.GET, re.compile(root + r"/users/([^/?]+)" + q), self.get_user)
        rsps.add_callback(responses.GET, re.compile(repo_re + q), self.get_repo)
        rsps.add_callback(responses.GET, re.compile(root + r"/orgs/([^/?]+)" + q), self.get_org)

    def get_repo(self, request):
        body = example("full-repository-default-response")
        owner, name = self.repo.split("/")
        body.update(
            name=name,
            full_name=self.repo,
            visibility=self.visibility,
            private=self.visibility != "public",
            default_branch="main",
        )
        body["owner"].update(login=owner, type="Organization")
        check("/repos/{owner}/{repo}", "get", "200", body)
        return 200, {}, json.dumps(body)

    def get_org(self, request):
        body = example("organization-full")
        body.update(login=self.repo.split("/")[0])
        if self.plan_visible:
            body["plan"]["name"] = self.plan
        else:
            body.pop("plan")
        check("/orgs/{org}", "get", "200", body)
        return 200, {}, json.dumps(body)

    def refusal(self, sent: dict):
        """GitHub's answer to an environment PUT the plan does not offer, or None. Private
        repositories:
        Free has no environments; Pro/Team have no reviewers or wait timers (docs: "About
        environments").
        The 422 text is what GitHub answers (integrations/terraform-provider-github#1311)."""
        if self.visibility == "public" or self.plan == "enterprise":
            return None
        if self.plan == "free":
            return (
                404,
                {},
                json.dumps(
                    {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}
                ),
            )
        if sent.get("reviewers") or sent.get("wait_timer") or sent.get("prevent_self_review"):
            return (
                422,
                {},
                json.dumps(
                    {
                        "message": "Fail to create protected rule, please ensure billing plan "
                        "include protected branch gate.",
                        "documentation_url": "https://docs.github.com/rest",
                    }
                ),
            )
        return None

    def create_branch(
        self, ref: str, teams: tuple[int, ...] = (), role: str = "write"
    ) -> list[str]:
        """Play `git push origin <sha>:refs/heads/<ref>` of a commit already on main against the
        active
        rulesets, as GitHub evaluates them; returns the GH013 violations (empty: created).
        creation: "Only allow users with bypass permission to create matching refs."; a status check
        blocks creation unless do_not_enforce_on_create (OpenAPI repository-rule-*). A bypass actor
        skips every rule of its ruleset. Role ids as GitHub's UI writes them (admin 5, maintain 2,
        write 4)."""
        roles = {"write": {4}, "maintain": {4, 2}, "admin": {4, 2, 5}}[role]
        violations = []
        for rs in self.rulesets.values():
            include = (rs.get("conditions") or {}).get("ref_name", {}).get("include", [])
            patterns = ["refs/heads/main" if i == "~DEFAULT_BRANCH" else i for i in include]
            if rs.get("enforcement") != "active" or not any(
                re.fullmatch(re.escape(pat).replace(r"\*", "[^/]*"), f"refs/heads/{ref}")
                for pat in patterns
            ):
                continue
            if any(
                (a["actor_type"] == "Team" and a["actor_id"] in teams)
                or (a["actor_type"] == "RepositoryRole" and a["actor_id"] in roles)
                for a in rs.get("bypass_actors", [])
            ):
                continue
            for rule in rs["rules"]:
                if rule["type"] == "creation":
                    violations.append("Cannot create ref due to creations being restricted.")
                if rule["type"] == "required_status_checks" and not rule["parameters"].get(
                    "do_not_enforce_on_create"
                ):
                    violations.append("Required status checks are expected.")
        return violations

    @staticmethod
    def _name(request, pattern: str) -> str:
        return re.search(pattern, request.url).group(1)

    def _env_body(self, name: str) -> dict:
        stored = self.environments[name]
        body = example("environment")
        rules = []
        if stored.get("wait_timer"):
            rules.append(
                {
                    "id": 1,
                    "node_id": "G_1",
                    "type": "wait_timer",
                    "wait_timer": stored["wait_timer"],
                }
            )
        if stored.get("reviewers"):
            reviewers = []
            for r in stored["reviewers"]:
                if r["type"] == "User":
                    login = next(k for k, v in self.users.items() if v == r["id"])
                    reviewers.append({"type": "User", "reviewer": user(login, r["id"])})
                else:
                    reviewers.append({"type": "Team", "reviewer": team_full(r["id"])})
            rules.append(
                {
                    "id": 2,
                    "node_id": "G_2",
                    "type": "required_reviewers",
                    "prevent_self_review": stored.get("prevent_self_review", False),
                    "reviewers": reviewers,
                }
            )
        if stored.get("deployment_branch_policy"):
            rules.append({"id": 3, "node_id": "G_3", "type": "branch_policy"})
        body.update(
            name=name,
            protection_rules=rules,
            deployment_branch_policy=stored.get("deployment_branch_policy"),
        )
        return body

    def get_env(self, request):
        name = self._name(request, r"/environments/([^/?]+)")
        if name not in self.environments:
            return (
                404,
                {},
                json.dumps(
                    {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}
                ),
            )
        body = self._env_body(name)
        check("/repos/{owner}/{repo}/environments/{environment_name}", "get", "200", body)
        return 200, {}, json.dumps(body)

    def put_env(self, request):
        name = self._name(request, r"/environments/([^/?]+)")
        sent = json.loads(request.body)
        check_request("/repos/{owner}/{repo}/environments/{environment_name}", "put", sent)
        refused = self.refusal(sent)
        if refused:
            return refused
        self.environments[name] = sent  # a PUT replaces: what is not sent is reset
        self.writes.append(f"PUT environment {name}")
        body = self._env_body(name)
        check("/repos/{owner}/{repo}/environments/{environment_name}", "put", "200", body)
        return 200, {}, json.dumps(body)

    def get_policies(self, request):
        name = self._name(request, r"/environments/([^/]+)/deployment")
        items = [
            {"id": i + 1, "node_id": f"P_{i}", "name": n, "type": "branch"}
            for i, n in enumerate(self.branch_policies.get(name, []))
        ]
        body = {"total_count": len(items), "branch_policies": items}
        check(
            "/repos/{owner}/{repo}/environments/{environment_name}/deployment-branch-policies",
            "get",
            "200",
            body,
        )
        return 200, {}, json.dumps(body)

    def delete_policy(self, request):
        """204, no body (the path is in the OpenAPI slice); ids are as get_policies lists them."""
        name = self._name(request, r"/environments/([^/]+)/deployment")
        index = int(request.url.rsplit("/", 1)[1]) - 1
        assert (
            "204"
            in (
                SLICE["paths"][
                    "/repos/{owner}/{repo}/environments/{environment_name}/deployment-branch-policies/"
                    "{branch_policy_id}"
                ]["delete"]["responses"]
            )
        )
        removed = self.branch_policies[name].pop(index)
        self.writes.append(f"DELETE branch policy {name} {removed}")
        return 204, {}, ""

    def post_policy(self, request):
        name = self._name(request, r"/environments/([^/]+)/deployment")
        sent = json.loads(request.body)
        check_request(
            "/repos/{owner}/{repo}/environments/{environment_name}/deployment-branch-policies",
            "post",
            sent,
        )
        self.branch_policies.setdefault(name, []).append(sent["name"])
        self.writes.append(f"POST branch policy {name} {sent['name']}")
        body = {
            "id": 99,
            "node_id": "P_99",
            "name": sent["name"],
            "type": sent.get("type", "branch"),
        }
        return 200, {}, json.dumps(body)

    def _ruleset_body(self, rid: int) -> dict:
        body = example("repository-ruleset")
        body.update(self.rulesets[rid], id=rid, source=self.repo)
        return body

    def list_rulesets(self, request):
        items = []
        for rid in self.rulesets:
            body = self._ruleset_body(rid)
            body.pop("rules", None)
            body.pop("conditions", None)
            items.append(body)
        check("/repos/{owner}/{repo}/rulesets", "get", "200", items)
        return 200, {}, json.dumps(items)

    def get_ruleset(self, request):
        rid = int(self._name(request, r"/rulesets/(\d+)"))
        body = self._ruleset_body(rid)
        check("/repos/{owner}/{repo}/rulesets/{ruleset_id}", "get", "200", body)
        return 200, {}, json.dumps(body)

    def ruleset_refusal(self):
        """Rulesets on private repositories need GitHub Pro, Team or Enterprise (docs: "About
        rulesets");
        GitHub's answer on Free, as for branch protection."""
        if self.visibility != "public" and self.plan == "free":
            return (
                403,
                {},
                json.dumps(
                    {
                        "message": "Upgrade to GitHub Pro or make this repository public to enable "
                        "this feature.",
                        "documentation_url": "https://docs.github.com/rest",
                    }
                ),
            )
        return None

    def post_ruleset(self, request):
        sent = json.loads(request.body)
        check_request("/repos/{owner}/{repo}/rulesets", "post", sent)
        if self.ruleset_refusal():
            return self.ruleset_refusal()
        rid = 100 + len(self.rulesets)
        self.rulesets[rid] = sent
        self.writes.append("POST ruleset")
        body = self._ruleset_body(rid)
        check("/repos/{owner}/{repo}/rulesets", "post", "201", body)
        return 201, {}, json.dumps(body)

    def put_ruleset(self, request):
        rid = int(self._name(request, r"/rulesets/(\d+)"))
        sent = json.loads(request.body)
        check_request("/repos/{owner}/{repo}/rulesets/{ruleset_id}", "put", sent)
        if self.ruleset_refusal():
            return self.ruleset_refusal()
        self.rulesets[rid] = sent
        self.writes.append("PUT ruleset")
        body = self._ruleset_body(rid)
        check("/repos/{owner}/{repo}/rulesets/{ruleset_id}", "put", "200", body)
        return 200, {}, json.dumps(body)

    def get_team(self, request):
        m = re.search(r"/orgs/([^/]+)/teams/([^/?]+)", request.url)
        key = f"{m.group(1)}/{m.group(2)}"
        if key not in self.teams:
            return (
                404,
                {},
                json.dumps(
                    {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}
                ),
            )
        body = team_full(self.teams[key], m.group(2))
        check("/orgs/{org}/teams/{team_slug}", "get", "200", body)
        return 200, {}, json.dumps(body)

    def get_user(self, request):
        login = self._name(request, r"/users/([^/?]+)")
        body = example("public-user-default-response")
        body.update(login=login, id=self.users[login])
        check("/users/{username}", "get", "200", body)
        return 200, {}, json.dumps(body)


def open_pulls(rsps: responses.RequestsMock, pulls: list[dict], repo: str = "acme/models") -> None:
    check("/repos/{owner}/{repo}/pulls", "get", "200", pulls)
    rsps.get(
        re.compile(
            "^" + re.escape(API) + "(?::443)?" + re.escape(f"/repos/{repo}/pulls") + r"(?:\?.*)?$"
        ),
        json=pulls,
    )


def commit_statuses(
    rsps: responses.RequestsMock, sha: str, created: list[str], repo: str = "acme/models"
) -> None:
    items = []
    for i, at in enumerate(created):
        st = example("status")
        st.update(
            id=900 + i, context="foureyes/approval", state="pending", created_at=at, updated_at=at
        )
        items.append(st)
    check("/repos/{owner}/{repo}/commits/{ref}/statuses", "get", "200", items)
    rsps.get(
        re.compile(
            "^"
            + re.escape(API)
            + "(?::443)?"
            + re.escape(f"/repos/{repo}/commits/{sha}/statuses")
            + r"(?:\?.*)?$"
        ),
        json=items,
    )


def validation_failed(message: str):
    """A `responses` callback answering GitHub's 422 "Validation Failed" (basic-error body)."""
    body = {
        "message": message,
        "documentation_url": "https://docs.github.com/rest",
        "status": "422",
    }
    OAS30Validator({"components": COMPONENTS, "$ref": "#/components/schemas/basic-error"}).validate(
        body
    )
    return lambda request: (422, {}, json.dumps(body))


def recording(sent: dict, name: str, path: str, method: str, status: str, answer):
    """A `responses` callback that checks the request body against the API description, keeps it
    in ``sent[name]`` and answers ``answer`` (checked too)."""

    def callback(request):
        if request.body:
            check_request(path, method, json.loads(request.body))
            sent[name] = json.loads(request.body)
        check(path, method, status, answer)
        return int(status), {}, json.dumps(answer)

    return callback
