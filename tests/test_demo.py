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
        "approved by alice, bob in PR #42",
        "provenance_violation",
    ):
        assert expected in out, expected
    assert (tmp_path / "demo" / ".foureyes" / "site" / "index.html").exists()
    served = Path(tmp_path / "demo" / ".foureyes" / "serving" / "production" / "fraud-scorer.json").read_text()
    assert '"pr": 42' in served


def test_demo_refuses_a_folder_that_is_not_empty(tmp_path, cli):
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "file").write_text("keep me")
    result = cli("demo", "--dir", str(tmp_path / "x"))
    assert result.exit_code == 2 and "is not empty" in result.output
    assert (tmp_path / "x" / "file").read_text() == "keep me"
