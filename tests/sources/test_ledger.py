"""The offline ledger (`.foureyes/prs/<n>.yaml`, sources/ledger.py) is evidence of approval only
while git does not carry it: a ledger committed, or staged, with the change it "approves" is
refused, by the deploy and by the what-if alike (one `Ledger`, one check)."""

from support.ledger import FRAUD, bump, merge_pr, record_pr, served
from support.pr_facts import write_pr_facts

POLICY = "policies/approval.yaml"


def test_a_committed_ledger_is_refused(repo, cli):
    """No .gitignore: the PR ledger is committed along with the change it 'approves'."""
    assert cli("deploy", "--env", "staging").exit_code == 0
    repo.replace(FRAUD, 'version: "12"', 'version: "66"')
    bad = repo.commit("direct push")  # as dana, whom the ledger's reviewers may approve
    record_pr(repo, 99, f"{bad}~1", bad, bad)
    repo.git("add", "-f", ".foureyes/prs/99.yaml")
    repo.commit("my approval", "Eve Hurry <eve@acme.example>")
    result = cli("deploy", "--env", "staging", "--format", "text")
    assert (
        result.exit_code == 2
        and ".foureyes/prs/99.yaml: the offline PR ledger is committed" in result.output
    )
    assert "Traceback" not in result.output
    assert served(repo)["fraud-scorer"]["deployment"]["model"]["version"] == "12"


def test_a_ledger_staged_for_commit_is_refused_too(env_repo, cli):
    merge_pr(env_repo, 61, bump("13"))
    env_repo.git("add", "-f", ".foureyes/prs/61.yaml")
    result = cli("deploy", "--env", "staging")
    assert result.exit_code == 2 and "git rm -r --cached .foureyes/prs" in result.output


def test_a_ledger_tracked_by_git_is_refused_by_simulate_too(repo, cli, tmp_path):
    ledger = repo.root / ".foureyes" / "prs"
    ledger.mkdir(parents=True)
    write_pr_facts(ledger / "41.yaml", body="x", base="main", head="main")
    repo.commit("ledger in git")
    result = cli("simulate", "--policy", str(repo.root / POLICY))
    assert result.exit_code == 2 and "ledger is committed" in result.stderr
