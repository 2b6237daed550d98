"""A command target's program is governed: a push cannot change what the deploy runs.

The attack: `command: [./deploy.sh]` (or a program under registry/ that the deploy never traced)
runs with the deploy job's credentials; a direct push, or a PR merged without reviewers, rewrites
the program, and the next honest deploy runs the attacker's code.
"""

import os
import textwrap

import pytest

from support.cli_steps import ENVS, line_of, plan_json, problems_of
from support.ledger import bump, merge_pr, run
from support.local_gate import gate
from support.pr_facts import TWO
from support.repos import use_target

HOOK = "registry/hooks/deploy.py"

PROGRAM = """\
#!/usr/bin/env python3
import json, pathlib, sys
change = json.load(sys.stdin)
out = pathlib.Path(".foureyes/hooked")
out.mkdir(parents=True, exist_ok=True)
if not change.get("dry_run"):
    (out / change["name"]).write_text({said!r} + " " + change["deployment"]["model"]["version"])
print(json.dumps({{"message": {said!r}}}))
"""


@pytest.fixture
def env_repo(repo):
    """The example repository with .foureyes/ ignored, like a real one (as in test_deploy)."""
    repo.write(".gitignore", ".foureyes/\n")
    repo.commit("ignore local state", "Mo Admin <mo@acme.example>")
    return repo


def write_program(repo, path: str, said: str) -> None:
    repo.write(path, PROGRAM.format(said=said))
    os.chmod(repo.root / path, 0o755)


def hooked(repo, path: str = HOOK, command: str | None = None) -> None:
    """Staging deploys through ``path``, switched to it by an approved PR (a governance change)."""

    def edit(r):
        write_program(r, path, "honest")
        use_target(r, "staging", f"{{type: command, command: [{command or path}]}}")

    merge_pr(repo, 50, edit)


def scripts_need_no_review(repo) -> None:
    """The base policy exempts Python files from governance (`ungoverned: [**/*.py]`)."""
    repo.replace("policies/approval.yaml", '- "*.md"', '- "*.md"\n    - "**/*.py"')


def ran(repo) -> dict[str, str]:
    folder = repo.root / ".foureyes" / "hooked"
    return {p.name: p.read_text() for p in folder.iterdir()} if folder.exists() else {}


# --- validate and the deploy refuse an ungoverned program ----------------------------------------


def test_a_program_outside_the_governed_folders_is_refused_by_validate(repo, cli):
    use_target(repo, "staging", "{type: command, command: [./deploy.sh, --env, prod]}")
    code, problems = problems_of(cli)
    assert code == 1 and len(problems) == 1
    assert problems[0]["line"] == line_of(repo, "./deploy.sh")
    assert "./deploy.sh" in problems[0]["message"] and "policies/" in problems[0]["message"]


def test_the_deploy_refuses_it_before_running_it(env_repo, cli):
    repo = env_repo
    write_program(repo, "deploy.py", "evil")
    use_target(repo, "staging", "{type: command, command: [./deploy.py]}")
    repo.commit("deploy through a script at the root", "Mo Admin <mo@acme.example>")
    for args in (["--dry-run"], []):
        result = cli("deploy", "--env", "staging", *args)
        assert result.exit_code == 2 and "./deploy.py" in result.output
    assert ran(repo) == {}


def test_an_argument_naming_an_ungoverned_file_is_refused(repo, cli):
    """`[python3, deploy.py]`: python3 is the runner's, but the script it runs is the program."""
    repo.write("deploy.py", "print('{}')\n")
    use_target(repo, "staging", "{type: command, command: [python3, --flag=deploy.py]}")
    code, problems = problems_of(cli)
    assert code == 1 and problems[0]["line"] == line_of(repo, "python3")
    assert "deploy.py" in problems[0]["message"]


@pytest.mark.parametrize(
    "command",
    [
        "[python3, -m, scripts.deploy]",
        "[python3, -mscripts.deploy]",
        "[bash, -c, '. scripts/x.sh']",
        "[sh, '-cscripts/x.sh']",
        "[python3, -c, 'exec(open(\"scripts/deploy.py\").read())']",
    ],
)
def test_a_program_named_indirectly_in_the_repository_is_refused(repo, cli, command):
    """What the command runs may be named without a path of its own: a module (`python3 -m`), a
    script an inline shell or Python program sources, an attached short option. Outside the
    governed folders each of them is a program a push could change."""
    repo.write("scripts/deploy.py", "print('{}')\n")
    repo.write("scripts/x.sh", "echo '{}'\n")
    use_target(repo, "staging", f"{{type: command, command: {command}}}")
    code, problems = problems_of(cli)
    assert code == 1 and problems and "scripts/" in problems[0]["message"], problems


@pytest.mark.parametrize(
    "command",
    [
        "[policies/hooks/deploy.py, --env, prod]",
        "[registry/hooks/deploy.py]",
        "[python3, policies/hooks/deploy.py]",
        "[/usr/bin/env, python3, -c, 'print(1)']",
        "[python3, -m, policies.hooks.deploy]",
        "deploy-tool-on-the-runner",
    ],
)
def test_governed_programs_and_the_runner_s_own_are_accepted(repo, cli, command):
    write_program(repo, "policies/hooks/deploy.py", "honest")
    write_program(repo, "registry/hooks/deploy.py", "honest")
    use_target(repo, "staging", f"{{type: command, command: {command}}}")
    assert problems_of(cli) == (0, [])


def test_a_deployment_file_is_not_a_governed_program(repo, cli):
    """Deployment files are approved at their own importance (a low one by one reviewer)."""
    use_target(repo, "staging", "{type: command, command: [registry/deployments/run.sh]}")
    code, problems = problems_of(cli)
    assert code == 1 and any("registry/deployments/run.sh" in p["message"] for p in problems)


def test_a_bare_name_that_path_finds_in_the_checkout_is_judged_as_a_repository_file(
    env_repo, cli, monkeypatch
):
    """PATH with `.` (or an empty entry) makes `deploy` the checkout's file, not the runner's."""
    repo = env_repo
    write_program(repo, "deploy", "evil")
    use_target(repo, "staging", "{type: command, command: [deploy]}")
    repo.commit("deploy through a bare name", "Mo Admin <mo@acme.example>")
    monkeypatch.setenv("PATH", os.pathsep.join([".", os.environ["PATH"]]))
    result = cli("deploy", "--env", "staging")
    assert result.exit_code == 2 and "PATH finds deploy" in result.output
    assert ran(repo) == {}


# --- the attack end to end ------------------------------------------------------------------------


def test_a_direct_push_editing_the_program_is_refused_at_the_deploy(env_repo):
    """Before: the deploy traced only the changed deployment files and policies/, so the push to
    registry/hooks/deploy.py was never checked and the next honest deploy ran it."""
    repo = env_repo
    hooked(repo)
    assert run(repo).ok and ran(repo)["fraud-scorer"] == "honest 12"
    write_program(repo, HOOK, "evil")
    pushed = repo.commit("tweak the deploy hook")  # Dana, straight to main: no PR
    merge_pr(repo, 51, bump("13"))  # an honest, approved model change
    result = run(repo)
    assert not result.ok and [v.commit for v in result.violations] == [pushed]
    assert ran(repo)["fraud-scorer"] == "honest 12"  # the program never ran again


def test_a_pr_editing_the_program_needs_reviewers_even_where_a_glob_ungoverns_it(env_repo, cli):
    """Before: with `**/*.py` ungoverned, a PR rewriting registry/hooks/deploy.py needed nobody at
    the gate, and the deploy's re-check judged it the same way: approved with no reviewer."""
    repo = env_repo
    merge_pr(repo, 49, scripts_need_no_review)
    hooked(repo)
    assert run(repo).ok

    repo.branch("pr")
    write_program(repo, HOOK, "evil")
    repo.commit("tweak the deploy hook")
    code, data, _ = gate(cli, repo, [])
    assert code == 1 and data["decision"] != "approved"
    assert ("governance", HOOK) in [(e["type"], e["file"]) for e in data["events"]]
    repo.git("checkout", "-q", "main")

    merged = merge_pr(repo, 52, lambda r: write_program(r, HOOK, "evil"), reviews=[])
    merge_pr(repo, 53, bump("13"))
    result = run(repo)
    assert not result.ok and merged in [v.commit for v in result.violations]
    assert ran(repo)["fraud-scorer"] == "honest 12"


def test_an_approved_pr_changing_the_program_deploys(env_repo):
    repo = env_repo
    hooked(repo)
    assert run(repo).ok

    def new_program_and_model(r):
        write_program(r, HOOK, "reviewed")
        bump("13")(r)

    merge_pr(repo, 51, new_program_and_model, reviews=TWO)
    result = run(repo)
    assert result.ok and [(s.name, s.action) for s in result.steps] == [
        ("fraud-scorer", "replace_model")
    ]
    assert ran(repo)["fraud-scorer"] == "reviewed 13"


def test_a_program_changed_in_the_checkout_but_not_committed_does_not_run(env_repo):
    """Approval covers commits: a file an earlier step (or a hand) rewrote, nobody approved."""
    repo = env_repo
    hooked(repo)
    merge_pr(repo, 51, bump("13"))
    write_program(repo, HOOK, "evil")
    result = run(repo)
    assert not result.ok and ran(repo) == {}
    assert all(not s.ok and HOOK in s.message for s in result.steps)


# --- the plan: a file under policies/ or registry/ is governance whatever the globs say ----------


@pytest.mark.parametrize("path", ["policies/hooks/deploy.py", "registry/hooks/deploy.py"])
def test_a_changed_file_under_the_governed_folders_is_governance(repo, cli, path):
    """Not a policy, not a deployment: judged as governance even when the base policy drops
    policies/ from `governance.paths` and a glob matches the file (before: no event at all)."""
    repo.replace("policies/approval.yaml", "    - policies/\n", "")
    scripts_need_no_review(repo)
    repo.commit("scripts need no review", "Mo Admin <mo@acme.example>")
    repo.branch("pr")
    repo.write(path, "print('hi')\n")
    repo.commit()
    _, data = plan_json(cli)
    assert [(e["type"], e["file"]) for e in data["events"]] == [("governance", path)]
    assert data["level"] == "critical" and data["required_approvals"] == 2
    repo.write("tools/deploy.py", "print('hi')\n")  # elsewhere the glob still applies
    repo.commit()
    _, data = plan_json(cli)
    assert [e["file"] for e in data["events"]] == [path]


def test_the_environments_file_line_is_where_the_problem_is(repo, cli):
    """The problem points at the program's own line when the command is a block list."""
    text = repo.read(ENVS)
    repo.write(
        ENVS,
        text.replace(
            "    target:\n      type: local\n      path: .foureyes/serving/staging",
            textwrap.indent("target:\n  type: command\n  command:\n    - ./deploy.sh\n", "    "),
            1,
        ),
    )
    code, problems = problems_of(cli)
    assert code == 1 and problems[0]["line"] == line_of(repo, "- ./deploy.sh")
