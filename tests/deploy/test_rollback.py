"""`foureyes rollback`: the change request restoring an earlier approved model, locally and on GitHub."""

import base64
import json
import re

import responses

from ghapi.mockgithub import API, check, check_request, example
from support.ledger import bump, merge_pr, run
from support.repos import DEP

FRAUD = DEP.format("fraud-scorer")


def deployed_twice(repo):
    repo.write(".gitignore", ".foureyes/\n")
    repo.commit("ignore", "Mo Admin <mo@acme.example>")
    assert run(repo).ok  # v12, bootstrap
    merge_pr(repo, 42, bump("13"))
    assert run(repo).ok  # v13, PR #42


def test_local_rollback_makes_a_branch_the_gate_judges_as_a_model_replacement(repo, cli):
    deployed_twice(repo)
    result = cli("rollback", "fraud-scorer", "--env", "staging")
    assert result.exit_code == 0, result.output
    assert "Subject: [PATCH] Roll back fraud-scorer in staging: fraud-xgb v13 ->" in result.stdout
    assert repo.git("rev-parse", "--abbrev-ref", "HEAD") == "main"
    text = repo.git("show", "rollback/fraud-scorer-staging-12:" + FRAUD)
    assert (
        'version: "12"' in text
        and "# yaml-language-server" in text
        and "labels: {team: payments" in text
    )
    plan = json.loads(
        cli(
            "plan",
            "--base",
            "main",
            "--head",
            "rollback/fraud-scorer-staging-12",
            "--format",
            "json",
        ).stdout
    )
    assert [(e["type"], e["model"]["after"]["version"]) for e in plan["events"]] == [
        ("replace_model", "12")
    ]
    body = repo.git("log", "-1", "--format=%b", "rollback/fraud-scorer-staging-12")
    assert "from the bootstrap" in body


def test_rollback_to_a_version_never_served_is_refused(repo, cli):
    deployed_twice(repo)
    result = cli("rollback", "fraud-scorer", "--env", "staging", "--to", "7")
    assert (
        result.exit_code == 1
        and "never served version 7 in staging (served: 12, 13)" in result.output
    )


def test_rollback_with_nothing_earlier(repo, cli):
    repo.write(".gitignore", ".foureyes/\n")
    repo.commit("ignore", "Mo Admin <mo@acme.example>")
    run(repo)
    result = cli("rollback", "fraud-scorer", "--env", "staging")
    assert result.exit_code == 1 and "no earlier model" in result.output


def test_rollback_on_github_opens_a_pr(repo, cli, monkeypatch):
    deployed_twice(repo)
    monkeypatch.setenv("GITHUB_TOKEN", "t")
    sent = {}
    base = re.escape(API) + "(?::443)?/repos/acme/models"

    def on(path, method, status, name):
        def callback(request):
            body = json.loads(request.body)
            check_request(path, method, body)
            sent[name] = body
            answer = example(
                {
                    "refs": "git-ref",
                    "contents": "file-commit-example-for-updating-a-file",
                    "pulls": "pull-request",
                }[name]
            )
            check(path, method, status, answer)
            return int(status), {}, json.dumps(answer)

        return callback

    with responses.RequestsMock() as rsps:
        rsps.add_callback(
            responses.POST,
            re.compile(base + "/git/refs$"),
            on("/repos/{owner}/{repo}/git/refs", "post", "201", "refs"),
        )
        rsps.add_callback(
            responses.PUT,
            re.compile(base + "/contents/registry/deployments/fraud-scorer.yaml$"),
            on("/repos/{owner}/{repo}/contents/{path}", "put", "200", "contents"),
        )
        rsps.add_callback(
            responses.POST,
            re.compile(base + "/pulls$"),
            on("/repos/{owner}/{repo}/pulls", "post", "201", "pulls"),
        )
        result = cli(
            "rollback",
            "fraud-scorer",
            "--env",
            "staging",
            "--repo",
            "acme/models",
            "--record",
            str(repo.root / ".foureyes" / "record.sqlite"),
        )
    assert result.exit_code == 0, result.output
    assert sent["refs"] == {
        "ref": "refs/heads/rollback/fraud-scorer-staging-12",
        "sha": repo.git("rev-parse", "main"),
    }
    assert 'version: "12"' in base64.b64decode(sent["contents"]["content"]).decode()
    assert sent["contents"]["sha"] == repo.git("rev-parse", f"main:{FRAUD}")
    assert sent["pulls"]["base"] == "main" and "from the bootstrap" in sent["pulls"]["body"]


def test_rollback_twice_restores_the_old_metrics_with_a_minimal_diff_and_a_true_message(repo, cli):
    repo.write(".gitignore", ".foureyes/\n")
    repo.commit("ignore", "Mo Admin <mo@acme.example>")
    assert run(repo).ok  # v12, bootstrap, auc 0.91

    def v13(r):
        bump("13")(r)
        r.replace(FRAUD, "models:/fraud-xgb/12", "models:/fraud-xgb/13")
        r.replace(FRAUD, "auc: 0.91", "auc: 0.93")

    merge_pr(repo, 42, v13)
    assert run(repo).ok
    for _ in range(
        2
    ):  # a second run refreshes the branch instead of failing on git's "already exists"
        result = cli("rollback", "fraud-scorer", "--env", "staging", "--to", "12")
        assert result.exit_code == 0, result.output
    branch = "rollback/fraud-scorer-staging-12"
    assert repo.git("rev-list", "--count", f"main..{branch}") == "1"
    diff = repo.git("diff", "-U0", "main", branch)
    changed = [
        line
        for line in diff.splitlines()
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]
    assert sorted(changed) == sorted(
        [
            '-  version: "13"',
            '+  version: "12"',
            "-  uri: models:/fraud-xgb/13",
            "+  uri: models:/fraud-xgb/12",
            "-metrics: {auc: 0.93, precision_at_1pct: 0.62}",
            "+metrics: {auc: 0.91, precision_at_1pct: 0.62}",
        ]
    )  # name: stays as written; the old model's metrics come back
    body = repo.git("log", "-1", "--format=%b", branch)
    assert (
        "from the bootstrap, before four-eyes approval applied" in body
        and "(bootstrap)" not in body
    )


def test_rollback_on_github_run_twice_refreshes_the_branch_and_reuses_the_pr(
    repo, cli, monkeypatch
):
    from ghapi.mockgithub import recording, validation_failed

    deployed_twice(repo)
    monkeypatch.setenv("GITHUB_TOKEN", "t")
    base = re.escape(API) + "(?::443)?/repos/acme/models"
    sent = {}
    exists = validation_failed

    def ok(path, method, status, name, answer):
        return recording(sent, name, path, method, status, answer)

    existing = example("pull-request-simple-items")
    with responses.RequestsMock() as rsps:
        rsps.add_callback(
            responses.POST, re.compile(base + "/git/refs$"), exists("Reference already exists")
        )
        rsps.add_callback(
            responses.PATCH,
            re.compile(base + "/git/refs/heads/rollback/fraud-scorer-staging-12$"),
            ok("/repos/{owner}/{repo}/git/refs/{ref}", "patch", "200", "patch", example("git-ref")),
        )
        rsps.add_callback(
            responses.PUT,
            re.compile(base + "/contents/registry/deployments/fraud-scorer.yaml$"),
            ok(
                "/repos/{owner}/{repo}/contents/{path}",
                "put",
                "200",
                "contents",
                example("file-commit-example-for-updating-a-file"),
            ),
        )
        rsps.add_callback(
            responses.POST,
            re.compile(base + "/pulls$"),
            exists("A pull request already exists for acme:rollback/fraud-scorer-staging-12."),
        )
        rsps.add_callback(
            responses.GET,
            re.compile(base + "/pulls\\?.*head=acme%3Arollback%2Ffraud-scorer-staging-12"),
            ok("/repos/{owner}/{repo}/pulls", "get", "200", "list", existing[:1]),
        )
        result = cli(
            "rollback",
            "fraud-scorer",
            "--env",
            "staging",
            "--repo",
            "acme/models",
            "--record",
            str(repo.root / ".foureyes" / "record.sqlite"),
        )
    assert result.exit_code == 0, result.output
    assert sent["patch"] == {"sha": repo.git("rev-parse", "main"), "force": True}
    assert f"opened {existing[0]['html_url']}" in result.stdout


def test_a_version_the_repository_schema_lets_through_is_text_in_the_rollback_body(repo, cli):
    """The version is whatever the repository's own schema allows, and the body is posted with
    foureyes' token: a version carrying a link and a team mention must read as text."""
    evil = "12 [notice](https://evil.example) @acme/all"

    def allow_any_version(r):
        pattern = '"pattern": "^(?!.*\\\\.\\\\.)[A-Za-z0-9][A-Za-z0-9._+-]*$"'
        r.replace("policies/deployment.schema.json", pattern, '"pattern": "."')

    repo.write(".gitignore", ".foureyes/\n")
    repo.commit("ignore", "Mo Admin <mo@acme.example>")
    assert run(repo).ok  # v12, bootstrap
    merge_pr(repo, 40, allow_any_version)  # a PR is judged by the schema at its base
    merge_pr(repo, 41, lambda r: r.replace(FRAUD, 'version: "12"', f'version: "{evil}"'))
    assert run(repo).ok
    merge_pr(repo, 42, lambda r: r.replace(FRAUD, f'version: "{evil}"', 'version: "13"'))
    assert run(repo).ok
    result = cli("rollback", "fraud-scorer", "--env", "staging")
    assert result.exit_code == 0, result.output
    branch = repo.git("for-each-ref", "--format=%(refname:short)", "refs/heads/rollback/")
    body = repo.git("log", "-1", "--format=%b", branch)
    assert "Restores `fraud-xgb` v12 \\[notice\\](https\\://evil.example) @&#8203;acme/all" in body
    assert "](https://" not in body and " @acme/all" not in body
    assert "approved in PR #41 by @&#8203;alice, @&#8203;bob" in body  # named, not pinged
    subject = repo.git("log", "-1", "--format=%s", branch)  # the PR's title, the commit's subject
    assert "@\u200bacme/all" in subject and " @acme/all" not in subject


def test_a_model_name_in_the_local_rollback_commit_body_mentions_and_closes_nothing(repo, cli):
    """The local rollback's commit message is its title AND its body (`git commit -m -m`), and a
    commit message is plain text to GitHub, not Markdown: the body's code span around the model
    name is no escape there. A model name the schema allows (`#`, `@`, spaces) that says
    `fixes #7 @carol` would close issue 7 when the branch merges into the default branch and
    mention carol once pushed (GitHub docs, "Linking a pull request to an issue": a closing
    keyword in a commit message; "Autolinked references and URLs")."""
    evil = "fraud-xgb fixes #7 @carol"
    repo.write(".gitignore", ".foureyes/\n")
    repo.commit("ignore", "Mo Admin <mo@acme.example>")
    assert run(repo).ok  # v12, bootstrap
    merge_pr(
        repo,
        41,
        lambda r: (
            r.replace(FRAUD, "name: fraud-xgb", f'name: "{evil}"'),
            r.replace(FRAUD, 'version: "12"', 'version: "13"'),
        ),
    )
    assert run(repo).ok
    merge_pr(
        repo,
        42,
        lambda r: (
            r.replace(FRAUD, f'name: "{evil}"', "name: fraud-xgb"),
            r.replace(FRAUD, 'version: "13"', 'version: "14"'),
        ),
    )
    assert run(repo).ok
    result = cli("rollback", "fraud-scorer", "--env", "staging")
    assert result.exit_code == 0, result.output
    branch = repo.git("for-each-ref", "--format=%(refname:short)", "refs/heads/rollback/")
    message = repo.git("log", "-1", "--format=%B", branch)
    assert "fraud-xgb fixes #\u200b7 @\u200bcarol" in message  # the subject's escaping, reached
    assert "#7" not in message and "@carol" not in message
