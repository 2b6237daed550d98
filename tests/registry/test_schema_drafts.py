"""Every schema is enforced for the JSON Schema draft its `$schema` declares, or refused.

A keyword a validator does not know is ignored: an organisation rule written for 2020-12 and
checked as draft-07 passes everything. These tests write the rules a reviewer would and run
`foureyes validate` on them.
"""

import json

import pytest

from support.repos import DEP

DEPLOYMENT = """\
name: {name}
owner: "@acme/team"
importance: low
model:
  name: m
  version: "1"
  uri: models:/m/1
labels:
{labels}
"""

URIS = {
    "draft-04": "http://json-schema.org/draft-04/schema#",
    "draft-06": "http://json-schema.org/draft-06/schema#",
    "draft-07": "http://json-schema.org/draft-07/schema#",
    "2019-09": "https://json-schema.org/draft/2019-09/schema",
    "2020-12": "https://json-schema.org/draft/2020-12/schema",
}

# Per draft, a rule on `labels` (using a keyword of that draft where draft-07 lacks one), labels
# that
# pass it and labels that break it. The example registry's deployments pass every rule.
_TEAM_TIER = {"team": {"type": "string"}, "tier": {"type": "string"}}
CASES = {
    "draft-04": ({"maxProperties": 2}, {"tier": "a"}, {"tier": "a", "b": "1", "c": "2"}),
    "draft-06": ({"propertyNames": {"maxLength": 12}}, {"team": "a"}, {"a-long-label-name": "x"}),
    "draft-07": (
        {"if": {"required": ["cost-centre"]}, "then": {"required": ["team"]}},
        {"cost-centre": "cc", "team": "t"},
        {"cost-centre": "cc"},
    ),
    "2019-09": (
        {"dependentRequired": {"cost-centre": ["team"]}},
        {"cost-centre": "cc", "team": "t"},
        {"cost-centre": "cc"},
    ),
    "2020-12": (
        {"properties": _TEAM_TIER, "unevaluatedProperties": False},
        {"team": "t"},
        {"team": "t", "extra": "x"},
    ),
}


def rule(draft: str | None, labels_schema: dict, **extra) -> str:
    schema = {
        "title": "labels rule",
        "description": "labels must follow the labels rule",
        "properties": {"labels": labels_schema},
        **extra,
    }
    if draft:
        schema["$schema"] = URIS.get(draft, draft)
    return json.dumps(schema, indent=2)


def deployment(name: str, labels: dict) -> str:
    return DEPLOYMENT.format(name=name, labels="\n".join(f"  {k}: {v}" for k, v in labels.items()))


def validate(cli):
    result = cli("validate", "--format", "json")
    return result.exit_code, result.output


def test_a_2020_12_rule_is_enforced_for_2020_12(repo, cli):
    """The attack: `unevaluatedProperties` on labels, a deployment with an extra label. Checked as
    draft-07 the keyword is unknown and the deployment passes."""
    repo.write("policies/rules/labels.schema.json", rule("2020-12", *CASES["2020-12"][:1]))
    repo.write(DEP.format("sneaky"), deployment("sneaky", {"team": "t", "extra": "x"}))
    code, out = validate(cli)
    assert code == 1, out
    problems = json.loads(out)["problems"]
    assert [p["file"] for p in problems] == [DEP.format("sneaky")]
    assert "labels" in problems[0]["message"]
    assert problems[0]["line"] is not None


def test_a_2019_09_rule_is_enforced_for_2019_09(repo, cli):
    repo.write("policies/rules/labels.schema.json", rule("2019-09", *CASES["2019-09"][:1]))
    repo.write(DEP.format("sneaky"), deployment("sneaky", {"cost-centre": "cc"}))
    code, out = validate(cli)
    assert code == 1, out
    assert [p["file"] for p in json.loads(out)["problems"]] == [DEP.format("sneaky")]


@pytest.mark.parametrize("draft", sorted(CASES))
def test_each_draft_accepts_the_good_and_refuses_the_bad_and_both_validators_agree(
    repo, cli, draft
):
    from foureyes.registry.model import _Schema

    labels_schema, good, bad = CASES[draft]
    text = rule(draft, labels_schema)
    repo.write("policies/rules/labels.schema.json", text)
    repo.write(DEP.format("good"), deployment("good", good))
    code, out = validate(cli)
    assert code == 0, out

    repo.write(DEP.format("bad"), deployment("bad", bad))
    code, out = validate(cli)
    assert code == 1, out
    assert {p["file"] for p in json.loads(out)["problems"]} == {DEP.format("bad")}

    # the validator that decides and the one that words the message agree on both examples
    schema = _Schema.from_bytes(text.encode(), "labels.schema.json")
    for labels, expected in ((good, True), (bad, False)):
        doc = {"labels": labels}
        assert schema.is_valid(doc) is expected
        assert (not list(schema._detailed.iter_errors(doc))) is expected
        assert bool(schema.errors(doc)) is not expected


def test_a_schema_without_dollar_schema_is_draft_07(repo, cli):
    """No `$schema`: draft-07, as the README says. A 2020-12-only keyword is then not a rule, and
    the draft-07 one is."""
    repo.write("policies/rules/labels.schema.json", rule(None, *CASES["draft-07"][:1]))
    repo.write(DEP.format("bad"), deployment("bad", {"cost-centre": "cc"}))
    assert validate(cli)[0] == 1


@pytest.mark.parametrize(
    "declared",
    [
        "https://example.com/my-meta-schema",  # a custom meta-schema: its vocabulary is unknown
        "http://json-schema.org/draft-03/schema#",  # a draft jsonschema-rs does not implement
        "https://json-schema.org/draft/2020-12/schem",  # a typo
        "https://json-schema.org/draft-07/schema#",  # not the draft's canonical URI
    ],
)
def test_an_unknown_dollar_schema_is_refused_naming_the_file(repo, cli, declared):
    repo.write("policies/rules/labels.schema.json", rule(declared, {"maxProperties": 1}))
    code, out = validate(cli)
    assert code == 2, out
    assert "policies/rules/labels.schema.json" in out
    assert "draft-07" in out and "2020-12" in out  # what it can enforce
    assert "Traceback" not in out


def test_a_non_string_dollar_schema_is_refused(repo, cli):
    repo.write("policies/rules/labels.schema.json", json.dumps({"$schema": 7, "maxProperties": 1}))
    code, out = validate(cli)
    assert code == 2 and "policies/rules/labels.schema.json" in out


def test_the_deployment_schema_is_enforced_for_its_draft_too(repo, cli):
    """The repository's own deployment schema moved to 2020-12 with `unevaluatedProperties`."""
    schema = json.loads(repo.read("policies/deployment.schema.json"))
    schema["$schema"] = URIS["2020-12"]
    schema["$defs"] = schema.pop("definitions")
    text = json.dumps(schema).replace("#/definitions/", "#/$defs/")
    schema = json.loads(text)
    schema["properties"]["labels"] = {
        "type": "object",
        "properties": _TEAM_TIER,
        "unevaluatedProperties": False,
    }
    repo.write("policies/deployment.schema.json", json.dumps(schema))
    repo.write(DEP.format("good"), deployment("good", {"team": "t"}))
    assert validate(cli)[0] == 0
    repo.write(DEP.format("bad"), deployment("bad", {"team": "t", "extra": "x"}))
    code, out = validate(cli)
    assert code == 1 and {p["file"] for p in json.loads(out)["problems"]} == {DEP.format("bad")}


def test_a_remote_ref_is_refused_not_fetched(repo, cli):
    repo.write(
        "policies/rules/labels.schema.json",
        rule("2020-12", {"$ref": "https://schemas.example.com/labels.json"}),
    )
    code, out = validate(cli)
    assert code == 2, out
    assert "policies/rules/labels.schema.json" in out and "remote $ref" in out


def test_an_unknown_format_is_refused(repo, cli):
    repo.write(
        "policies/rules/labels.schema.json",
        rule("2020-12", {"properties": {"contact": {"format": "e-mail"}}}),
    )
    code, out = validate(cli)
    assert code == 2, out
    assert "policies/rules/labels.schema.json" in out


@pytest.mark.parametrize("draft", ["draft-07", "2020-12"])
def test_a_format_is_asserted_in_every_draft(repo, cli, draft):
    """2020-12 only annotates `format` by default; a rule that names one means it."""
    repo.write(
        "policies/rules/labels.schema.json",
        rule(draft, {"properties": {"contact": {"format": "email"}}}),
    )
    repo.write(DEP.format("good"), deployment("good", {"contact": "dana@acme.example"}))
    assert validate(cli)[0] == 0
    repo.write(DEP.format("bad"), deployment("bad", {"contact": "nobody"}))
    code, out = validate(cli)
    assert code == 1 and {p["file"] for p in json.loads(out)["problems"]} == {DEP.format("bad")}


def test_a_refusal_the_message_validator_misses_is_still_explained():
    """Where the Python validator accepts what jsonschema-rs refuses (an engine edge), the refusal
    stands and carries jsonschema-rs's own message."""
    from foureyes.registry.model import _Schema

    schema = _Schema.from_bytes(
        json.dumps({"properties": {"a": {"type": "string"}}}).encode(), "x.schema.json"
    )
    schema.__dict__["_detailed"] = type(
        "Lenient", (), {"iter_errors": lambda self, data: iter(())}
    )()
    assert not schema.is_valid({"a": 1})
    [(path, message, _)] = schema.errors({"a": 1})
    assert path == ("a",) and message.startswith("a: ")
