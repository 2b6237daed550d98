import pytest
import yaml

from foureyes.registry import yamlload
from foureyes.registry.yamlload import LoadError, loads


def test_yaml_1_2_scalars_only_true_false_are_booleans():
    doc = loads(
        b"a: on\nb: yes\nc: no\nd: true\ne: False\nf: 012\ng: 2024-01-01\nh: ~\ni: 1.5\nj: 0x10\n",
        "f",
    )
    assert doc == {
        "a": "on",
        "b": "yes",
        "c": "no",
        "d": True,
        "e": False,
        "f": 12,
        "g": "2024-01-01",
        "h": None,
        "i": 1.5,
        "j": 16,
    }


@pytest.mark.parametrize(
    "data, line, fragment",
    [
        (b"a: 1\nb: 2\na: 3\n", 3, "duplicate key 'a'"),
        (b"a: &x [1]\nb: *x\n", 1, "anchors and aliases"),
        (
            b"a: &a [x]\nb: &b [*a, *a]\nc: &c [*b, *b]\n",
            1,
            "anchors and aliases",
        ),  # billion laughs
        (b"a: [1, 2\n", 2, "invalid YAML"),
        (b"ok: 1\nbad: \xff\xfe\n", 2, "not UTF-8"),
        (b"? [a, b]\n: 1\n", 1, "unhashable key"),
    ],
)
def test_bad_yaml_is_refused_with_a_line(data, line, fragment):
    with pytest.raises(LoadError) as info:
        loads(data, "f.yaml")
    assert info.value.line == line
    assert fragment in info.value.message
    assert str(info.value).startswith(f"f.yaml:{line}")


def test_huge_file_is_refused(tmp_path):
    big = tmp_path / "big.yaml"
    big.write_bytes(b"a: " + b"x" * (yamlload.MAX_BYTES + 1))
    with pytest.raises(LoadError, match="over the"):
        yamlload.load_file(big, tmp_path)


def test_symlink_out_of_the_repository_is_refused(tmp_path):
    outside = tmp_path / "outside.yaml"
    outside.write_text("a: 1\n")
    root = tmp_path / "repo"
    root.mkdir()
    (root / "link.yaml").symlink_to(outside)
    with pytest.raises(LoadError, match="outside the repository"):
        yamlload.load_file(root / "link.yaml", root)
    (root / "inside.yaml").write_text("b: 2\n")
    (root / "link2.yaml").symlink_to(root / "inside.yaml")
    assert yamlload.load_file(root / "link2.yaml", root) == {"b": 2}


@pytest.mark.parametrize("text", [b"a: " + b"[" * 100_000, b"a: " + b"[" * 65 + b"]" * 65])
def test_deep_nesting_is_an_error_not_a_crash(text):
    # foureyes stops at 64 levels; a PyYAML that stops earlier with its own words is as good (the
    # behaviour is what counts: a LoadError naming file and line, never a RecursionError)
    with pytest.raises(LoadError) as info:
        loads(text, "f")
    assert info.value.file == "f" and info.value.line == 1 and str(info.value).startswith("f:1")


def test_many_brackets_but_shallow_is_fine():
    assert len(loads(b"a: [" + b"[1], " * 200 + b"]", "f")["a"]) == 200


def test_line_of_points_at_the_field():
    text = "name: x\nmodel:\n  name: m\n  uri: bad\n"
    assert yamlload.line_of(text, ("model", "uri")) == (4, 8)
    assert yamlload.line_of(text, ("model", "missing")) == (3, 3)


# the loader builds plain documents itself; these are the cases where its shortcut could differ from
# PyYAML's constructor (explicit tags, merge keys, complex and duplicate keys, YAML 1.2 scalars)
CONSTRUCTOR_CASES = [
    "a: 1\nb: [x, 2, 0x1f, 012, 1.5, .inf, -.INF, true, False, null, ~, '']\nc: {d: {e: [f]}}\n",
    "owner: \"@acme/team\"\nmodel: {uri: 's3://b/k', version: 3}\n",
    "a: !!str 12\nb: !!int '7'\nc: !!float '1e3'\nd: !!bool yes\ne: !!binary aGVsbG8=\n",
    "when: 2026-01-01\nat: !!timestamp 2026-01-01T10:00:00Z\n",
    "<<: {a: 1}\nb: 2\n",
    "!!merge <<: {a: 1}\nb: 2\n",
    "? [a, b]\n: 1\n",
    "? {a: 1}\n: 1\n",
    "a: 1\na: 2\n",
    "1: x\n1.0: y\n",
    "!!omap [a: 1, b: 2]\n",
    "!!set {a, b}\n",
    "!!str [a]\n",
    "!!map [a]\n",
    "!custom x\n",
    "- !custom {a: 1}\n",
    "",
    "plain\n",
    "[1, [2, [3, {x: ~}]]]\n",
]


@pytest.mark.parametrize("text", CONSTRUCTOR_CASES)
def test_loader_builds_what_pyyaml_s_constructor_builds(text):
    """Result or error: identical to the constructor's own ``construct_document``."""

    def reference():
        loader = yamlload.StrictLoader(text)
        try:
            node = loader.get_single_node()
            return None if node is None else loader.construct_document(node)
        finally:
            loader.dispose()

    def ours():
        loader = yamlload.StrictLoader(text)
        try:
            return loader.get_single_data()
        finally:
            loader.dispose()

    outcomes = []
    for build in (reference, ours):
        try:
            outcomes.append(("value", build()))
        except yaml.YAMLError as exc:
            outcomes.append(("error", str(exc)))
    assert outcomes[0] == outcomes[1]
