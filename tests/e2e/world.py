"""What the GitHub stand-in knows about acme/models: the App installation, PRs and their reviews,
teams, statuses, comments, deployments and workflow-run artifacts. Each answer starts from GitHub's
own example body (tests/ghapi/openapi-slice.json) and is validated by the stand-in."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import jwt

from ghapi.mockgithub import example, user
from support.clock import at, iso, review_time

from .standin import Redirect, Reply, StandIn

OWNER, NAME = "acme", "models"
REPO = f"{OWNER}/{NAME}"

DANA = user("dana", 101)
ALICE = user("alice", 102)
BOB = user("bob", 103)
MALLORY = user("mallory", 104)
# foureyes' App: its installation tokens act as its bot account `<slug>[bot]`
# (https://docs.github.com/apps/creating-github-apps/about-creating-github-apps/about-creating-github-apps)
APP_SLUG = "foureyes-app"
APP_BOT = user(f"{APP_SLUG}[bot]", 900, "Bot")
# anyone else with write access (a PAT or a PR branch's GITHUB_TOKEN) writing to the same API
WRITER = user("github-actions[bot]", 41898282, "Bot")


class World:
    def __init__(self, standin: StandIn):
        self.s = standin
        self.api = standin.api_url
        self.pulls: dict[int, dict] = {}
        self.pull_commits: dict[int, list[dict]] = {}
        self.reviews: dict[int, list[dict]] = {}
        self.teams: dict[str, list[dict]] = {
            "acme/mlops-admins": [ALICE, BOB],
            "acme/ml-platform": [ALICE, BOB],
        }
        self.statuses: list[dict] = []
        self.comments: dict[int, list[dict]] = {}
        self.deployments: list[dict] = []
        self.deployment_statuses: dict[int, list[dict]] = {}
        self.deployment_tokens: dict[
            int, dict | None
        ] = {}  # deployment id -> permissions of its creator
        self.commit_pulls: dict[str, list[dict]] = {}
        self.broken: set[str] = set()  # templates that answer 500
        self.run_artifacts: dict[int, list[tuple[int, str, Path]]] = {}
        self.check_runs: list[dict] = []
        r = standin.routes
        r[("GET", "/repos/{owner}/{repo}/installation")] = self.installation
        r[("POST", "/app/installations/{installation_id}/access_tokens")] = self.access_token
        r[("DELETE", "/installation/token")] = lambda call: (204, None)
        r[("GET", "/repos/{owner}/{repo}")] = self.repository
        r[("GET", "/users/{username}")] = self.get_user
        r[("GET", "/repos/{owner}/{repo}/pulls/{pull_number}")] = self.get_pull
        r[("GET", "/repos/{owner}/{repo}/pulls/{pull_number}/commits")] = self.get_pull_commits
        r[("GET", "/repos/{owner}/{repo}/pulls/{pull_number}/reviews")] = self.get_reviews
        r[("GET", "/orgs/{org}/teams/{team_slug}/members")] = self.team_members
        r[("POST", "/repos/{owner}/{repo}/statuses/{sha}")] = self.post_status
        r[("GET", "/repos/{owner}/{repo}/issues/{issue_number}/comments")] = self.get_comments
        r[("POST", "/repos/{owner}/{repo}/issues/{issue_number}/comments")] = self.post_comment
        r[("PATCH", "/repos/{owner}/{repo}/issues/comments/{comment_id}")] = self.patch_comment
        r[("POST", "/repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers")] = (
            self.request_reviewers
        )
        r[("GET", "/repos/{owner}/{repo}/commits/{commit_sha}/pulls")] = self.get_commit_pulls
        r[("GET", "/repos/{owner}/{repo}/deployments")] = self.list_deployments
        r[("POST", "/repos/{owner}/{repo}/deployments")] = self.create_deployment
        r[("GET", "/repos/{owner}/{repo}/deployments/{deployment_id}/statuses")] = (
            self.list_deployment_statuses
        )
        r[("POST", "/repos/{owner}/{repo}/deployments/{deployment_id}/statuses")] = (
            self.create_deployment_status
        )
        r[("GET", "/repos/{owner}/{repo}/actions/runs/{run_id}/artifacts")] = (
            self.list_run_artifacts
        )
        r[("GET", "/repos/{owner}/{repo}/actions/artifacts/{artifact_id}/{archive_format}")] = (
            self.download_artifact
        )
        r[("GET", "/repos/{owner}/{repo}/pulls")] = self.list_pulls
        r[("GET", "/repos/{owner}/{repo}/commits/{ref}/statuses")] = self.list_commit_statuses
        r[("POST", "/repos/{owner}/{repo}/check-runs")] = self.create_check_run
        r[("GET", "/repos/{owner}/{repo}/commits/{ref}/check-runs")] = self.list_check_runs
        r[("GET", "/apps/{app_slug}")] = self.get_app
        for key, route in list(r.items()):
            r[key] = self._maybe_broken(key[1], route)

    def _maybe_broken(self, template, route):
        def answer(call, **params):
            if template in self.broken:
                raise Reply(500, "Server Error")
            return route(call, **params)

        return answer

    # --- the App ---------------------------------------------------------------------------------

    def installation(self, call, owner, repo):
        claims = self._app_jwt(call)
        if (owner, repo) != (OWNER, NAME):
            raise Reply(404, "Not Found")
        body = example("installation")
        body.update(
            id=self.s.installation_id,
            app_id=1,
            client_id=claims["iss"],
            app_slug=APP_SLUG,
            access_tokens_url=f"{self.api}/app/installations/{self.s.installation_id}/access_tokens",
        )
        body["account"].update(login=OWNER)
        return 200, body

    def access_token(self, call, installation_id):
        self._app_jwt(call)
        if int(installation_id) != self.s.installation_id:
            raise Reply(404, "Not Found")
        asked = (call.body or {}).get("permissions") or {}
        token = self.s.issue_token(asked)
        body = example("installation-token")
        body.update(
            token=token,
            expires_at="2099-01-01T00:00:00Z",
            permissions=asked or {"metadata": "read"},
            repository_selection="selected",
        )
        body.pop("repositories", None)
        return 201, body

    def _app_jwt(self, call) -> dict:
        """An App authenticates with a JWT it signs with its private key (RS256, iss = client ID).
        https://docs.github.com/apps/creating-github-apps/authenticating-with-a-github-app/generating-a-json-web-token-jwt-for-a-github-app"""
        try:
            claims = jwt.decode(
                call.token or "",
                self.s.app_public_key,
                algorithms=["RS256"],
                options={"require": ["iat", "exp", "iss"]},
            )
        except jwt.PyJWTError as exc:
            raise Reply(401, f"A JSON web token could not be decoded: {exc}") from exc
        if str(claims["iss"]) != self.s.app_client_id:
            raise Reply(401, "wrong issuer")
        return claims

    def token_permissions(self, call) -> dict | None:
        return self.s.tokens.get(call.token)

    def actor(self, call) -> dict:
        """Who a write is credited to: the App's bot for its installation tokens, else another writer."""
        return APP_BOT if call.token in self.s.tokens else WRITER

    def get_user(self, call, username):
        known = {u["login"].lower(): u for u in (APP_BOT, WRITER, DANA, ALICE, BOB, MALLORY)}
        found = known.get(username.lower())
        if found is None:
            raise Reply(404, "Not Found")
        body = example("public-user-default-response")
        body.update(
            {k: found[k] for k in ("login", "id", "type", "node_id", "avatar_url") if k in found}
        )
        body["user_view_type"] = (
            # GitHub now sends it (the schema discriminates on it); the example predates it
            "public"
        )
        return 200, body

    def repository(self, call, owner, repo):
        body = example("full-repository-default-response")
        body.update(name=repo, full_name=f"{owner}/{repo}", default_branch="main")
        return 200, body

    # --- PRs -----------------------------------------------------------------------------------

    def open_pull(
        self,
        number: int,
        author: dict,
        base_sha: str,
        head_sha: str,
        body: str = "A reason.",
        fork: bool = False,
        head_ref: str = "change",
    ) -> dict:
        pr = example("pull-request")
        base = f"{self.api}/repos/{REPO}"
        pr.update(
            number=number,
            user=author,
            body=body,
            url=f"{base}/pulls/{number}",
            state="open",
            requested_reviewers=[],
            requested_teams=[],
            node_id=f"PR_kw{number}",
            labels=[],
            draft=False,
            issue_url=f"{base}/issues/{number}",
            comments_url=f"{base}/issues/{number}/comments",
            commits_url=f"{base}/pulls/{number}/commits",
            html_url=f"https://github.com/{REPO}/pull/{number}",
            review_comments_url=f"{base}/pulls/{number}/comments",
            statuses_url=f"{base}/statuses/{head_sha}",
            merged=False,
            merged_at=None,
            mergeable=True,
            auto_merge=None,
        )
        pr["head"].update(
            sha=head_sha, ref=head_ref, label=f"{'dana' if fork else OWNER}:{head_ref}"
        )
        pr["base"].update(sha=base_sha, ref="main", label=f"{OWNER}:main")
        for side in ("base", "head"):
            pr[side]["repo"].update(full_name=REPO, name=NAME, fork=False, default_branch="main")
            pr[side]["repo"]["owner"].update(login=OWNER)
        if fork:
            pr["head"]["repo"].update(full_name=f"dana/{NAME}", fork=True, id=999)
            pr["head"]["repo"]["owner"].update(login="dana")
        self.pulls[number] = pr
        self.pull_commits[number] = [self._commit(head_sha, author)]
        self.reviews.setdefault(number, [])
        return pr

    def _commit(self, sha: str, author: dict) -> dict:
        item = example("commit-items")[0]
        item.update(
            sha=sha, author=author, committer=author, url=f"{self.api}/repos/{REPO}/commits/{sha}"
        )
        item["commit"]["author"]["email"] = item["commit"]["committer"]["email"] = (
            f"{author['login']}@acme.example"
        )
        item["commit"]["message"] = "change"
        return item

    def review(self, number: int, reviewer: dict, state: str, commit_id: str) -> None:
        items = self.reviews.setdefault(number, [])
        item = example("pull-request-review-items")[0]
        i = len(items) + 1
        item.update(
            id=1000 + i,
            user=reviewer,
            state=state,
            commit_id=commit_id,
            node_id=f"PRR_{i}",
            submitted_at=review_time(i),
        )
        items.append(item)

    def get_pull(self, call, owner, repo, pull_number):
        pr = self.pulls.get(int(pull_number))
        if pr is None:
            raise Reply(404, "Not Found")
        return 200, pr

    def list_pulls(self, call, owner, repo):
        """GET /repos/{owner}/{repo}/pulls: `state`, and `sort` created|updated with `direction`
        (default desc for created, else asc), as
        https://docs.github.com/rest/pulls/pulls#list-pull-requests"""
        items = []
        for pr in self.pulls.values():
            if pr["state"] == (call.query.get("state") or "open"):
                item = example("pull-request-simple-items")[0]
                item.update({k: pr[k] for k in item if k in pr and k not in ("head", "base")})
                for side in ("head", "base"):
                    item[side].update(
                        sha=pr[side]["sha"], ref=pr[side]["ref"], repo=pr[side]["repo"]
                    )
                items.append(item)
        key = "updated_at" if call.query.get("sort") == "updated" else "created_at"
        default = "desc" if key == "created_at" else "asc"
        items.sort(
            key=lambda i: (i[key], i["number"]),
            reverse=call.query.get("direction", default) == "desc",
        )
        return 200, items

    def get_pull_commits(self, call, owner, repo, pull_number):
        return 200, self.pull_commits.get(int(pull_number), [])

    def get_reviews(self, call, owner, repo, pull_number):
        return 200, self.reviews.get(int(pull_number), [])

    def team_members(self, call, org, team_slug):
        members = self.teams.get(f"{org}/{team_slug}")
        if members is None:
            raise Reply(404, "Not Found")
        return 200, members

    def post_status(self, call, owner, repo, sha):
        sent = dict(call.body, sha=sha, token_permissions=self.token_permissions(call))
        self.statuses.append(sent)
        body = example("status")
        body.update(
            state=call.body["state"],
            context=call.body.get("context", "default"),
            description=call.body.get("description"),
        )
        return 201, body

    def status_on(self, sha: str, context: str = "foureyes/approval") -> str | None:
        found = [
            s["state"] for s in self.statuses if s["sha"] == sha and s.get("context") == context
        ]
        return found[-1] if found else None

    def create_check_run(self, call, owner, repo):
        """Check runs are written by an App: foureyes' for its installation tokens, else the
        github-actions App (a workflow's GITHUB_TOKEN)."""
        run = example("check-run-example-of-completed-conclusion")
        run.update(
            id=4000 + len(self.check_runs),
            name=call.body["name"],
            head_sha=call.body["head_sha"],
            external_id=call.body.get("external_id", ""),
            status=call.body.get("status", "completed"),
            conclusion=call.body.get("conclusion", "neutral"),
        )
        run["output"] = {**run["output"], **call.body.get("output", {}), "annotations_count": 0}
        run["app"] = {
            **run["app"],
            "id": 1 if call.token in self.s.tokens else 15368,
            "slug": APP_SLUG if call.token in self.s.tokens else "github-actions",
        }
        self.check_runs.append(run)
        return 201, run

    def list_check_runs(self, call, owner, repo, ref):
        q = call.query
        found = [
            r
            for r in self.check_runs
            if r["head_sha"] == ref
            and r["name"] == q.get("check_name", r["name"])
            and ("app_id" not in q or r["app"]["id"] == int(q["app_id"]))
        ]
        return 200, {"total_count": len(found), "check_runs": found}

    def get_app(self, call, app_slug):
        if app_slug != APP_SLUG:
            raise Reply(404, "Not Found")
        body = example("integration")
        body.update(id=1, slug=APP_SLUG, client_id=self.s.app_client_id)
        return 200, body

    def list_commit_statuses(self, call, owner, repo, ref):
        items = []
        for i, s in enumerate(x for x in self.statuses if x["sha"] == ref):
            st = example("status")
            st.update(id=900 + i, context=s.get("context"), state=s["state"])
            items.append(st)
        return 200, list(reversed(items))

    def get_comments(self, call, owner, repo, issue_number):
        return 200, self.comments.get(int(issue_number), [])

    def post_comment(self, call, owner, repo, issue_number):
        items = self.comments.setdefault(int(issue_number), [])
        body = example("issue-comment")
        body.update(
            id=500 + len(items),
            body=call.body["body"],
            user=self.actor(call),
            url=f"{self.api}/repos/{REPO}/issues/comments/{500 + len(items)}",
        )
        items.append(body)
        return 201, body

    def patch_comment(self, call, owner, repo, comment_id):
        for items in self.comments.values():
            for c in items:
                if c["id"] == int(comment_id):
                    c["body"] = call.body["body"]
                    return 200, c
        raise Reply(404, "Not Found")

    def request_reviewers(self, call, owner, repo, pull_number):
        return 201, example("pull-request-review-request")

    # --- deploy ----------------------------------------------------------------------------------

    def merged(
        self,
        number: int,
        author: dict,
        base_sha: str,
        head_sha: str,
        merge_sha: str,
        approvers: list[dict],
        base_ref: str = "main",
    ) -> None:
        """A PR into ``base_ref`` merged as `merge_sha`, with approvals of its head."""
        self.open_pull(number, author, base_sha, head_sha)
        pr = self.pulls[number]
        pr["base"]["ref"] = base_ref
        pr.update(
            state="closed", merged=True, merged_at=iso(at(hours=-1)), merge_commit_sha=merge_sha
        )
        pr.update(
            updated_at=pr["merged_at"], closed_at=pr["merged_at"]
        )  # a merge updates and closes the PR
        for a in approvers:
            self.review(number, a, "APPROVED", head_sha)
        item = example("pull-request-simple-items")[0]
        base = f"{self.api}/repos/{REPO}"
        item.update(
            number=number,
            merged_at=pr["merged_at"],
            merge_commit_sha=merge_sha,
            draft=False,
            url=f"{base}/pulls/{number}",
            state="closed",
            issue_url=f"{base}/issues/{number}",
            comments_url=f"{base}/issues/{number}/comments",
            commits_url=f"{base}/pulls/{number}/commits",
            statuses_url=f"{base}/statuses/{head_sha}",
            user=author,
            updated_at=pr["updated_at"],
            closed_at=pr["closed_at"],
        )
        item["base"].update(sha=base_sha, ref=base_ref)
        item["head"].update(sha=head_sha, ref="change")
        # GitHub lists a PR for its merge commit and for each commit the PR brought
        # (https://docs.github.com/rest/commits/commits#list-pull-requests-associated-with-a-commit)
        for sha in {merge_sha, head_sha}:
            self.commit_pulls.setdefault(sha, []).append(item)

    def get_commit_pulls(self, call, owner, repo, commit_sha):
        return 200, self.commit_pulls.get(commit_sha, [])

    def list_deployments(self, call, owner, repo):
        q = call.query
        items = [
            d
            for d in reversed(self.deployments)
            if all(d[k] == q[k] for k in ("environment", "task", "sha", "ref") if k in q)
        ]
        return 200, items

    def create_deployment(self, call, owner, repo):
        sent = call.body
        d = example("deployment-simple-example")
        n = len(self.deployments) + 1
        d.update(
            id=n,
            node_id=f"DE_{n}",
            sha=sent["ref"],
            ref=sent["ref"],
            task=sent.get("task", "deploy"),
            payload=sent.get("payload", {}),
            environment=sent.get("environment", "production"),
            description=sent.get("description"),
            url=f"{self.api}/repos/{REPO}/deployments/{n}",
            statuses_url=f"{self.api}/repos/{REPO}/deployments/{n}/statuses",
            creator=self.actor(call),
        )
        self.deployments.append(d)
        self.deployment_statuses[n] = []
        self.deployment_tokens[n] = self.token_permissions(call)
        return 201, d

    def recorded(self, environment: str, task: str) -> list[tuple[dict, list[str]]]:
        """Deployments of ``task`` in ``environment`` (oldest first), each with its status states."""
        return [
            (d, [st["state"] for st in self.deployment_statuses[d["id"]]])
            for d in self.deployments
            if d["environment"] == environment and d["task"] == task
        ]

    def list_deployment_statuses(self, call, owner, repo, deployment_id):
        items = list(reversed(self.deployment_statuses.get(int(deployment_id), [])))
        return 200, items[:1] if call.query.get("per_page") == "1" else items

    def create_deployment_status(self, call, owner, repo, deployment_id):
        n = int(deployment_id)
        st = example("deployment-status")
        st.update(
            id=1000 + sum(map(len, self.deployment_statuses.values())),
            state=call.body["state"],
            description=call.body.get("description", ""),
            deployment_url=f"{self.api}/repos/{REPO}/deployments/{n}",
            creator=self.actor(call),
        )
        self.deployment_statuses[n].append(st)
        return 201, st

    # --- workflow-run artifacts ------------------------------------------------------------------

    def publish_run_artifacts(self, run_id: int, head_sha: str, act_run_id: str = "1") -> None:
        """Expose what the upload-artifact stand-in kept for act's run as the artifacts of `run_id`."""
        folder = self.s.artifacts_dir / act_run_id
        items = []
        for i, path in enumerate(
            sorted(p for p in folder.iterdir() if p.is_dir()) if folder.exists() else []
        ):
            items.append((7000 + run_id * 10 + i, path.name, path, head_sha))
        self.run_artifacts[run_id] = items

    def list_run_artifacts(self, call, owner, repo, run_id):
        template = example("artifact-paginated")["artifacts"][0]
        out = []
        for artifact_id, name, _path, head_sha in self.run_artifacts.get(int(run_id), []):
            a = json.loads(json.dumps(template))
            a.update(
                id=artifact_id,
                name=name,
                node_id=f"A_{artifact_id}",
                expired=False,
                url=f"{self.api}/repos/{REPO}/actions/artifacts/{artifact_id}",
                archive_download_url=f"{self.api}/repos/{REPO}/actions/artifacts/{artifact_id}/zip",
            )
            a["workflow_run"].update(id=int(run_id), head_sha=head_sha)
            out.append(a)
        return 200, {"total_count": len(out), "artifacts": out}

    def artifact_zip(self, artifact_id: int) -> bytes | None:
        for items in self.run_artifacts.values():
            for aid, _name, path, _sha in items:
                if aid == artifact_id:
                    buffer = io.BytesIO()
                    with zipfile.ZipFile(buffer, "w") as z:
                        for f in sorted(path.rglob("*")):
                            if f.is_file():
                                z.write(f, f.relative_to(path).as_posix())
                    return buffer.getvalue()
        return None

    def download_artifact(self, call, owner, repo, artifact_id, archive_format):
        """GitHub answers 302 with a short-lived blob URL; the stand-in redirects to itself."""
        if archive_format != "zip" or self.artifact_zip(int(artifact_id)) is None:
            raise Reply(404, "Not Found")
        blob = f"/_blobs/artifact/{artifact_id}.zip"
        self.s.blobs[blob] = lambda: self.artifact_zip(int(artifact_id))
        raise Redirect(f"https://{self.s.host}{blob}")


def pull_request_event(pr: dict, action: str = "opened") -> dict:
    """A pull_request / pull_request_target payload from GitHub's webhook examples, made ours."""
    ev = json.loads(
        (Path(__file__).parents[1] / "ghapi" / "webhook-pull_request.json").read_text()
    )["examples"][0]
    ev = json.loads(json.dumps(ev))
    ev.update(action=action, number=pr["number"])
    for side in ("head", "base"):
        ev["pull_request"][side].update(sha=pr[side]["sha"], ref=pr[side]["ref"])
        ev["pull_request"][side]["repo"].update(
            full_name=pr[side]["repo"]["full_name"], name=NAME, fork=pr[side]["repo"]["fork"]
        )
    ev["pull_request"].update(
        number=pr["number"], user={**ev["pull_request"]["user"], "login": pr["user"]["login"]}
    )
    _ours(ev)
    return ev


def _ours(ev: dict) -> None:
    ev["repository"].update(full_name=REPO, name=NAME, default_branch="main")
    ev["repository"]["owner"].update(login=OWNER)


def _example(event: str) -> dict:
    examples = json.loads(
        (Path(__file__).parents[1] / "ghapi" / f"webhook-{event}.json").read_text()
    )["examples"]
    return json.loads(json.dumps(examples[0]))


def review_event(pr: dict, reviewer: dict, state: str = "approved") -> dict:
    """pull_request_review (submitted) from GitHub's webhook examples, for our PR."""
    ev = _example("pull_request_review")
    ev["action"] = "submitted"
    ev["review"].update(state=state, commit_id=pr["head"]["sha"])
    ev["review"]["user"].update(login=reviewer["login"], id=reviewer["id"])
    for side in ("head", "base"):
        ev["pull_request"][side].update(sha=pr[side]["sha"], ref=pr[side]["ref"])
        ev["pull_request"][side]["repo"].update(
            full_name=pr[side]["repo"]["full_name"], fork=pr[side]["repo"]["fork"]
        )
    ev["pull_request"]["number"] = pr["number"]
    _ours(ev)
    return ev


def workflow_run_event(
    run_id: int, head_sha: str, pull_requests: list | None = None, head_branch: str = "change"
) -> dict:
    """workflow_run (completed) of the review relay, from GitHub's webhook examples."""
    ev = _example("workflow_run")
    ev["action"] = "completed"
    ev["workflow_run"].update(
        id=run_id,
        head_sha=head_sha,
        event="pull_request_review",
        conclusion="success",
        status="completed",
        name="foureyes review relay",
        head_branch=head_branch,
        pull_requests=pull_requests or [],
    )
    _ours(ev)
    return ev


def release_run_event(
    run_id: int, head_sha: str, head_branch: str, event: str = "push", head_repository: str = REPO
) -> dict:
    """workflow_run (completed) of foureyes-release.yml after a push to a release branch."""
    ev = _example("workflow_run")
    ev["action"] = "completed"
    ev["workflow_run"].update(
        id=run_id,
        head_sha=head_sha,
        event=event,
        conclusion="success",
        status="completed",
        name="foureyes release",
        head_branch=head_branch,
        pull_requests=[],
    )
    ev["workflow_run"]["head_repository"].update(full_name=head_repository, name=NAME)
    _ours(ev)
    return ev


def push_event(ref: str, before: str, after: str, created: bool = False) -> dict:
    """push (a branch) from GitHub's webhook examples, for our repository."""
    examples = json.loads((Path(__file__).parents[1] / "ghapi" / "webhook-push.json").read_text())[
        "examples"
    ]
    ev = json.loads(json.dumps(next(e for e in examples if e["ref"].startswith("refs/heads/"))))
    ev.update(
        ref=ref,
        before=before,
        after=after,
        created=created,
        deleted=False,
        forced=False,
        base_ref=None,
        compare=f"https://github.com/{REPO}/compare/{before[:12]}...{after[:12]}",
    )
    ev["head_commit"].update(id=after, tree_id=after)
    ev["commits"] = [dict(ev["commits"][0], id=after)] if ev["commits"] else []
    ev["repository"].update(full_name=REPO, name=NAME, default_branch="main", master_branch="main")
    ev["repository"]["owner"].update(login=OWNER, name=OWNER)
    return ev
