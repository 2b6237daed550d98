"""`foureyes demo` runs the whole loop offline and shows each rule at work."""

from pathlib import Path


def test_demo_runs_offline_and_shows_the_loop(tmp_path, cli, monkeypatch):
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    result = cli("demo", "--dir", str(tmp_path / "demo"))
    assert result.exit_code == 0, result.output
    out = result.output
    for expected in (
        "ignored: @dana (author: the PR author cannot approve their own change)",
        "(stale: approved",
        "membership of @acme/mlops-admins is pending, not active",
        "decision: approved: 2 of 2 approvals from @acme/mlops-admins (critical)",
        "create         fraud-scorer             ok: wrote fraud-scorer.json",
        "nothing to do: the environment matches the registry",
        "refused: commit",
        "PR #43: remind (pending 50h, timeout 48h)",
        "Needs approval #43",
        "approved by alice, bob in PR #50",
        "provenance_violation",
    ):
        assert expected in out, expected
    assert (tmp_path / "demo" / ".foureyes" / "site" / "index.html").exists()
    served = Path(
        tmp_path / "demo" / ".foureyes" / "serving" / "production" / "fraud-scorer.json"
    ).read_text()
    assert '"pr": 50' in served  # the promotion into release/2026.11


STATEMENTS = (
    "Production is frozen until the incident entry is removed; staging is not.",
    'Held: the status says "blocked: frozen until the incident freeze is lifted (INC-2041)',
    "Pending: break-glass (INC-2041): 2 of 3 approvals from @acme/mlops-admins (critical).",
    "The lowered importance is judged at the old, higher level (moderate); the change as a "
    "whole needs 2 approvals "
    "because fraud-scorer is critical.",
    "Pending: Dana's own approval never counts; Alice's is one of 2.",
    "Still pending: self-approval, stale approval and a pending team member never count.",
    "The decision is approved: the foureyes/approval status turns green.",
    "Running it again changed nothing (idempotent).",
    "Production serves what staging serves (product-recs is staging-only).",
    "Refused: production serves only what an approved PR into its branch brought in.",
    "It serves fraud-xgb v13, approved by alice, bob in PR #50 (the promotion) at ",
    "The unapproved commit never reaches staging: nothing was applied, and the refusal is in "
    "the event log.",
    "$ git reset --hard HEAD~1",
    "main is back at the approved merge of PR #42",
    "It asks @acme/mlops-admins to review again. An hour later the job does nothing: the "
    "reminder is less than 48h old.",
    "credit-limit needs approval (PR #43 is open); everything else on main came through "
    "approved PRs or the bootstrap.",
    "Gate decisions, deploys, the refused hotfix and the timeout reminder are all in the log.",
    "PR #42 (critical, merged with 2 approvals) and its promotion #50 would each have needed "
    "a third; "
    "PR #43 (high) is unchanged.",
)


def test_every_statement_of_the_demo_is_checked_and_true(tmp_path, cli, monkeypatch):
    """Each statement is printed only once the demo has checked it; here they are checked again
    against the scratch repository the demo leaves behind."""
    import json
    import sqlite3
    import subprocess

    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    root = tmp_path / "demo"
    result = cli("demo", "--dir", str(root))
    assert result.exit_code == 0, result.output
    for statement in STATEMENTS:
        assert statement in result.stdout, statement
    for wrong in ("None.", "#0", "internal error", "Traceback"):
        assert wrong not in result.output
    db = sqlite3.connect(root / ".foureyes" / "record.sqlite")
    types = {t for (t,) in db.execute("SELECT type FROM events")}
    assert {"gate", "deploy", "provenance_violation", "timeout"} <= types
    gate_events = [
        m for (m,) in db.execute("SELECT message FROM events WHERE type = 'gate' ORDER BY id")
    ]
    assert [m.split(":")[1].strip() for m in gate_events] == [
        "pending",
        "pending",
        "approved",
        "blocked",
        "pending",
        "approved",
    ]  # #45 in a freeze
    glass = [
        m
        for (m,) in db.execute("SELECT message FROM events WHERE type = 'break_glass' ORDER BY id")
    ]
    assert (
        len(glass) == 2 and "PR #45" in glass[-1] and "3 approvals required, 3 counted" in glass[-1]
    )
    served = json.loads(
        (root / ".foureyes" / "serving" / "production" / "fraud-scorer.json").read_text()
    )
    entry = db.execute(
        "SELECT updated_at FROM current WHERE environment = 'production' AND name = 'fraud-scorer'"
    ).fetchone()
    assert served["approval"]["approved_at"] <= entry[0]  # approved before it was deployed
    head = subprocess.run(
        ["git", "-C", str(root), "log", "-1", "--format=%s", "main~1"],
        capture_output=True,
        text=True,
    )
    assert (
        head.stdout.strip() == "Merge pull request #42 from acme/change"
    )  # the hotfix is gone, as said
    assert (
        "INC-2041" in (root / "policies" / "freeze.yaml").read_text()
    )  # then the incident freeze (#44)
    assert (
        "credit-limit-lgbm v8" in (root / ".foureyes" / "prs" / "43.yaml").read_text()
    )  # #43 has its own story
    assert "fraud-xgb" not in (root / ".foureyes" / "prs" / "43.yaml").read_text()


def test_a_statement_that_does_not_hold_stops_the_demo(tmp_path, cli, monkeypatch):
    import foureyes.app.timeout_pipeline

    monkeypatch.setattr(
        foureyes.app.timeout_pipeline, "due_action", lambda *args: "remind"
    )  # would remind every hour
    result = cli("demo", "--dir", str(tmp_path / "demo"))
    assert result.exit_code == 1
    assert (
        "this statement did not hold" in result.stderr
        and "An hour later the job does nothing" in result.stderr
    )
    assert "Done." not in result.stdout


def test_demo_refuses_a_folder_that_is_not_empty(tmp_path, cli):
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "file").write_text("keep me")
    result = cli("demo", "--dir", str(tmp_path / "x"))
    assert result.exit_code == 2 and "is not empty" in result.output
    assert (tmp_path / "x" / "file").read_text() == "keep me"


def test_the_demo_yields_its_steps_as_data_and_only_the_reporter_prints(tmp_path, capsys):
    """demo.py writes nothing itself: its scenes are items, printed by report/demo.py."""
    from foureyes.app.demo import change_demo
    from foureyes.repo import Repo
    from foureyes.report.demo import DemoReporter, Heading, Planned, Statement, Validated

    root = tmp_path / "demo"
    root.mkdir()
    items = list(change_demo(Repo(root)))
    assert capsys.readouterr() == ("", "")  # the scenes ran (a scratch repository, a plan)...
    assert isinstance(items[0], Heading) and str(root) in items[0].text
    assert [type(i) for i in items if isinstance(i, Validated | Planned)] == [
        Validated,
        Planned,
        Planned,
    ]
    statements = [i.text for i in items if isinstance(i, Statement)]
    assert any("judged at the old, higher level (moderate)" in s for s in statements)
    reporter = DemoReporter()
    for item in items:  # ...and only the reporter prints them
        reporter.show(item)
    out = capsys.readouterr().out
    assert out.startswith(f"\n== A scratch repository in {root}")
    assert all(s in out for s in statements)
