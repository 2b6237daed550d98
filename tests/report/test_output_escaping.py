"""Attacker text in the gate's PR comment renders as text (escape.markdown), and no line foureyes
prints in Actions can start a workflow command (output.py, escape.actions_log): played through the
gate on a mocked GitHub, and through inventory, history, events and an error message."""

import json
import re

import pytest
import responses

from foureyes.deploy.record import SqliteRecord
from ghapi.mockgithub import MockGitHub
from support.github_gate import ALICE, BOB, MALLORY, TEAM, open_pr
from support.repos import DEP

FRAUD = DEP.format("fraud-scorer")
IMG = "<img src=x onerror=alert(1)>"
LINK = '<a href="https://evil.example/approve">approve here</a>'
# a GitHub workflow command on a line of its own, and the older `##[` form anywhere in a line
PWNED = "\\n::warning::pwned\\n  ::add-mask::ghs_secret ##[error]x"


@pytest.fixture
def gh():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield MockGitHub(rsps)


def html_tags(text: str) -> list[str]:
    return re.findall(r"(?i)<\s*(?:img|a|script|details|picture|svg)\b", text)


def workflow_commands(output: str, ours=()) -> list[str]:
    """Lines the runner would take as a command: starting with `::` (after spaces), or with `##[`."""
    lines = re.split(r"\r\n|\r|\n", output)
    return [
        line
        for line in lines
        if (line.lstrip().startswith("::") or "##[" in line) and line not in ours
    ]


# --- the PR comment and the step summary: Markdown ---------------------------------------------


def test_html_from_a_model_name_reaches_the_gate_comment_only_escaped(
    repo, gh, cli, tmp_path, monkeypatch
):
    def edit(r):
        r.replace(FRAUD, "name: fraud-xgb", f"name: 'fraud-xgb{IMG}'")
        r.replace(FRAUD, 'version: "12"', f"version: '13 {LINK}'")
        r.write(
            "notes/a` " + IMG.replace("/", "") + " `.txt", "x\n"
        )  # a backtick closes a code span

    pr = open_pr(repo, tmp_path, monkeypatch, edit)
    gh.pull(
        MALLORY,
        pr.base,
        pr.head,
        body=f"Better model. {IMG}\n# ✅ approved by @acme/mlops-admins\n{LINK} see #12",
    )
    gh.commits({"sha": pr.head, "author": MALLORY, "email": "mallory@evil.example"})
    gh.reviews()
    gh.team(TEAM, ALICE, BOB)
    gh.existing_comments()
    gh.accept_writes()
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    result = cli("gate", "--format", "github")
    assert result.exit_code == 1, result.output
    body = gh.comments[0]["body"]
    for text in (body, summary.read_text()):
        assert html_tags(text) == [], text
        assert "&lt;img src=x onerror=alert(1)&gt;" in text  # shown as the text it is
        assert '&lt;a href="https\\://evil.example/approve"&gt;approve here&lt;/a&gt;' in text
    # the reason's heading is quoted text, and quoting it neither pings the team nor links #12
    assert "> \\# ✅ approved by @&#8203;acme/mlops-admins" in body
    assert "see #&#8203;12" in body
    assert "by @acme" not in body and "#12" not in body
    # our own formatting stays; the version is blocked by the bundled schema (no spaces or markup in
    # a
    # version), and the problem that quotes it is escaped like the rest
    assert body.startswith("<!-- foureyes:approval -->\n## ⛔ foureyes: blocked")


def test_an_owner_the_pr_adds_and_a_gh_reference_are_named_not_mentioned(
    repo, gh, cli, tmp_path, monkeypatch
):
    """The comment lists the owners who may not approve, the head's included, which the PR author
    writes: naming anyone there must not notify them (they are not asked to act); and `GH-12` in
    the description is a reference like `#12`."""

    def edit(r):
        r.replace(FRAUD, 'owner: "@acme/fraud-team"', 'owner: ["@acme/fraud-team", "@ceo"]')

    pr = open_pr(repo, tmp_path, monkeypatch, edit)
    gh.pull(MALLORY, pr.base, pr.head, body="New owner, see GH-12.")
    gh.commits({"sha": pr.head, "author": MALLORY, "email": "mallory@evil.example"})
    gh.reviews()
    gh.users(ceo=(900, "User"))
    gh.team(TEAM, ALICE, BOB)
    gh.existing_comments()
    gh.accept_writes()
    result = cli("gate", "--format", "json")
    assert result.exit_code == 1, result.output
    body = gh.comments[0]["body"]
    assert "Owners who may not approve: @&#8203;ceo." in body and "@ceo" not in body
    assert "see GH&#8203;-12." in body and "GH-12" not in body


def test_a_hand_written_login_cannot_become_a_team_mention(repo, cli, tmp_path):
    """A facts file is written by hand: a reviewer `acme/everyone` is no GitHub login, and its `@`
    must not turn it into the team mention `@acme/everyone`, where it is not counted (the admins)
    nor where it is (a rule's team)."""
    from support.pr_facts import write_pr_facts
    from support.rules import S3, STORE, STORE_RULE, V13, change, with_rules

    with_rules(repo, (STORE_RULE, STORE))
    change(repo, V13, S3)
    facts = tmp_path / "facts.yaml"
    write_pr_facts(
        facts,
        [{"user": "acme/everyone", "state": "APPROVED", "commit": "head"}],
        accounts={"acme/everyone": {"id": 999}},
        teams={"acme/ml-platform-leads": ["acme/everyone"]},
    )
    args = ("gate", "--local", str(facts), "--base", "main", "--head", "pr")
    md = cli(*args, "--format", "markdown").output
    assert "not counted: @&#8203;acme/everyone (" in md
    assert "met; counted: @&#8203;acme/everyone" in md and "@acme/everyone" not in md


def test_a_title_is_one_line_that_mentions_nobody_and_keeps_plain_text():
    from foureyes.report.escape import title

    assert title("Roll back fraud-scorer: v12 -> v13 [x](y)") == (
        "Roll back fraud-scorer: v12 -> v13 [x](y)"
    )
    assert title("v1\n@acme/all #12\x07") == "v1 @\u200bacme/all #\u200b12 "
    assert title("mo@acme.example") == "mo@acme.example"


def test_markdown_escaping_keeps_plain_names_readable():
    from foureyes.report.escape import markdown, markdown_code

    assert (
        markdown("fraud-scorer v2026.11.3 require_reason")
        == "fraud-scorer v2026.11.3 require_reason"
    )
    assert (
        markdown("- a\n| b | **c** [d](e) ~f~ $g$")
        == "\\- a \\| b \\| \\*\\*c\\*\\* \\[d\\](e) \\~f\\~ \\$g\\$"
    )
    assert (
        markdown("see www.evil.example or https://evil.example")
        == "see www\\.evil.example or https\\://evil.example"
    )
    assert markdown_code("a``b|c") == "```a``b\\|c```"
    # a mention or an issue reference reads the same and does neither: a zero-width space after
    # the sign (after `GH` in GH-12); a lone sign and `C#` are left as they are
    assert markdown("cc @dana @acme/admins, fixes #12, GH-13, gh-14, o/r#15") == (
        "cc @&#8203;dana @&#8203;acme/admins, fixes #&#8203;12, GH&#8203;-13, gh&#8203;-14, "
        "o/r#&#8203;15"
    )
    assert markdown("C# @ # 1 BUGH-2") == "C# @ # 1 BUGH-2"
    # an e-mail address copies as typed (no mention follows a word character), a commit
    # reference `login@1a2b3c4` does not link, and `@` after punctuation is still a mention
    assert markdown("dana@acme.example, x_y@acme.example") == "dana@acme.example, x_y@acme.example"
    assert markdown("dana@1a2b3c4d") == "dana@&#8203;1a2b3c4d"
    assert markdown("(@dana) .@dana") == "(@&#8203;dana) .@&#8203;dana"


# --- the Actions log ----------------------------------------------------------------------------


@pytest.fixture
def poisoned(repo, monkeypatch):
    """A merged change whose description and model version carry workflow commands, and an event
    in the log quoting them, as a deploy of that commit would."""
    repo.replace(
        FRAUD,
        "description: Scores card payments for fraud risk before authorisation.",
        f'description: "Scores payments.{PWNED}"',
    )
    repo.replace(FRAUD, 'version: "12"', f'version: "13{PWNED}"')
    repo.commit("fraud-scorer v13\n\n::warning::in the body")
    record = SqliteRecord(repo.root / ".foureyes" / "record.sqlite")
    record.add_event(
        "deploy",
        "ok",
        f"deployed fraud-xgb v13{PWNED.encode().decode('unicode_escape')}",
        "fraud-scorer",
        "staging",
    )
    record.close()
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    return repo


@pytest.mark.parametrize(
    "args",
    [
        ("inventory",),
        ("inventory", "--format", "json"),
        ("inventory", "--format", "csv"),
        ("history", "fraud-scorer"),
        ("history", "fraud-scorer", "--format", "json"),
        ("events",),
        ("events", "--format", "json"),
        ("events", "--format", "csv"),
    ],
    ids=" ".join,
)
def test_no_line_of_a_view_can_start_a_workflow_command(poisoned, cli, args):
    result = cli(*args)
    assert result.exit_code == 0, result.output
    assert "pwned" in result.output or "ghs_secret" in result.output  # the text is there, defused
    assert workflow_commands(result.output) == []
    if "json" in args:
        json.loads(
            result.stdout
        )  # still valid JSON (the values: test_json_output_keeps_the_values_exact)


def test_json_output_keeps_the_values_exact(poisoned, cli):
    rows = json.loads(cli("events", "--format", "json").stdout)
    assert rows[0]["message"].endswith("\n  ::add-mask::ghs_secret ##[error]x")


def test_an_error_message_quoting_user_text_cannot_start_a_command(poisoned, cli):
    result = cli("history", "nope\n::add-mask::ghs_secret")
    assert result.exit_code != 0 and "ghs_secret" in result.output
    assert workflow_commands(result.output) == []


@pytest.mark.parametrize(
    "args, code",
    [
        (("resolve", "fraud-scorer", "--env", "staging", "--record", "/x\n::warning::pwned"), 1),
        (("validate", "/tmp\n::warning::pwned"), 2),
    ],
    ids=["failed", "usage problem"],
)
def test_a_use_case_error_click_prints_is_guarded_too(repo, cli, monkeypatch, args, code):
    """A use case's Failed and UsageProblem are printed by click after the command's context has
    closed: the guard must still be up then."""
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    result = cli(*args)
    assert result.exit_code == code and "pwned" in result.stderr
    assert workflow_commands(result.stdout + result.stderr) == []
    if code == 2:  # still click's usage error: the usage line, the help hint, then the message
        assert result.stderr.startswith("Usage: ") and "Error: /tmp" in result.stderr


def test_a_warning_written_by_a_library_is_guarded_too(poisoned, cli, monkeypatch):
    """Whatever writes to stdout or stderr during a command (print, warnings): one guard."""
    import foureyes.views.inventory as inventory

    real = inventory.to_text

    def noisy(*args, **kwargs):
        print("library says\n::add-mask::ghs_secret")
        return real(*args, **kwargs)

    monkeypatch.setattr(inventory, "to_text", noisy)
    result = cli("inventory")
    assert result.exit_code == 0 and "ghs_secret" in result.output
    assert workflow_commands(result.output) == []


def test_foureyes_own_commands_still_reach_the_runner(repo, cli, monkeypatch):
    """validate's ::error annotations are foureyes' own commands: they pass, their data escaped."""
    repo.write(DEP.format("bad"), 'name: bad\n"x\\n::add-mask::ghs_secret": 1\n')
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    result = cli("validate")
    assert result.exit_code == 1
    ours = [
        line
        for line in result.output.splitlines()
        if line.startswith("::error file=registry/deployments/bad.yaml")
    ]
    assert ours and all("%0A::add-mask::" in line or "add-mask" not in line for line in ours)
    assert workflow_commands(result.output, ours) == []


def test_outside_actions_nothing_is_changed(poisoned, cli, monkeypatch):
    monkeypatch.delenv("GITHUB_ACTIONS")
    assert "\n::warning::pwned" in cli("events").output
