"""Safe, strict and fast YAML loading for registry and policy files.

The happy path is PyYAML's C parser with a small Python constructor: duplicate keys are refused,
only ``true``/``false`` are booleans (YAML 1.2 core schema: no ``on``/``yes``/``no`` surprises, no
timestamps), and anchors/aliases are refused outright (no alias bombs; registry files never need
them). Line numbers cost nothing until there is an error to report: ``line_of`` re-composes the text
only then.
"""

from __future__ import annotations

import functools
import os
import re
import stat
from collections.abc import Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import yaml

from ..errors import FoureyesError

MAX_BYTES = 256 * 1024  # a deployment file is a few hundred bytes; anything this big is a mistake

try:  # the C parser is the fast path; the pure-Python one gives the same results, slower
    # the stubs import CParser into yaml.cyaml without re-exporting it; PyYAML's own loaders
    # (yaml.CLoader) take it from there
    from yaml.cyaml import CParser as _Parser  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml.composer import Composer
    from yaml.parser import Parser
    from yaml.reader import Reader
    from yaml.scanner import Scanner

    class _Parser(Reader, Scanner, Parser, Composer):  # type: ignore[no-redef]
        def __init__(self, stream: str) -> None:
            Reader.__init__(self, stream)
            Scanner.__init__(self)
            Parser.__init__(self)
            Composer.__init__(self)


@dataclass
class LoadError(FoureyesError):
    """A problem in one file, located at a line (1-based) and column (1-based) when known."""

    file: str
    message: str
    line: int | None = None
    col: int | None = None

    def __str__(self) -> str:
        where = self.file
        if self.line:
            where += f":{self.line}"
            if self.col:
                where += f":{self.col}"
        return f"{where}: {self.message}"


class _CoreResolver(yaml.resolver.BaseResolver):
    """YAML 1.2 core schema: null, true/false, ints, floats; everything else is a string."""


_CoreResolver.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_CoreResolver.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(r"^(?:[-+]?[0-9]+|0x[0-9a-fA-F]+)$"),
    list("-+0123456789"),
)
_CoreResolver.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+0123456789."),
)
_CoreResolver.add_implicit_resolver(
    "tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""]
)


class _CachedCoreResolver(_CoreResolver):
    """The same tags, remembered: registry files repeat their keys and values, and with no path
    resolvers a tag depends on (kind, value, implicit) alone."""

    def resolve(self, kind: type[yaml.Node], value: str | None, implicit: tuple[bool, bool]) -> str:
        if (
            value is not None and len(value) > 64
        ):  # keys and short values repeat; long text is not kept
            return super().resolve(kind, value, implicit)
        return _core_tag(kind, value, implicit)  # type: ignore[arg-type]  # a class is hashable; the stubs disagree


@functools.lru_cache(maxsize=100_000)
def _core_tag(kind: type[yaml.Node], value: str | None, implicit: tuple[bool, bool]) -> str:
    """The core schema's tag for a scalar: a pure function of its arguments, so kept."""
    return _CoreResolver.resolve(_CORE, kind, value, implicit)


_CORE = _CoreResolver()


class _StrictConstructor(yaml.constructor.SafeConstructor):
    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        mapping = super().construct_mapping(node, deep=deep)
        if isinstance(node, yaml.MappingNode) and len(mapping) != len(node.value):
            self._raise_duplicate(node)  # slow path: only when a key was overwritten
        return mapping

    def _raise_duplicate(self, node: yaml.MappingNode) -> None:
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)


def _construct_int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int:
    # (typed as the SafeLoader the stubs accept; called with a StrictLoader, whose constructor it is)
    # YAML 1.2: "012" is twelve, not an octal ten as PyYAML's YAML 1.1 constructor reads it
    value = loader.construct_scalar(node)
    return int(value, 16) if value.startswith("0x") else int(value, 10)


_StrictConstructor.add_constructor("tag:yaml.org,2002:int", _construct_int)


_STR, _NULL = "tag:yaml.org,2002:str", "tag:yaml.org,2002:null"
_MAP, _SEQ = "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"
_SCALAR_TAGS = {"tag:yaml.org,2002:bool", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"}
_KEY_TAGS_FLATTENED = {
    "tag:yaml.org,2002:merge",
    "tag:yaml.org,2002:value",
}  # SafeConstructor.flatten_mapping


class StrictLoader(_Parser, _StrictConstructor, _CachedCoreResolver):
    def __init__(self, stream: str) -> None:
        _Parser.__init__(self, stream)
        _StrictConstructor.__init__(self)
        _CachedCoreResolver.__init__(self)

    def get_single_data(self) -> Any:
        node = self.get_single_node()
        return None if node is None else self._build(node)

    def _build(self, node: yaml.Node) -> Any:
        """What ``construct_document`` returns, without its per-node bookkeeping (the recursion
        guard, deferred generators, the constructed-object memo are for aliases, refused before
        parsing). Plain maps, lists, strings and nulls are built here; every other tag, and any
        mapping ``flatten_mapping`` would change or an unhashable key, goes to the constructor
        itself, so results and errors are the constructor's."""
        tag, kind = node.tag, type(node)
        if kind is yaml.ScalarNode:
            if tag == _STR:
                return node.value
            if tag == _NULL:
                return None
            if tag in _SCALAR_TAGS:
                return self.yaml_constructors[tag](self, node)  # the constructor's own functions
            return self.construct_object(node, deep=True)
        if tag == _MAP and kind is yaml.MappingNode:
            mapping = {}
            for key_node, value_node in node.value:
                if key_node.tag in _KEY_TAGS_FLATTENED:
                    return self.construct_object(node, deep=True)
                key = self._build(key_node)
                try:
                    mapping[key] = self._build(value_node)
                except TypeError:  # unhashable key: the constructor's own error
                    return self.construct_object(node, deep=True)
            if len(mapping) != len(node.value):
                self._raise_duplicate(cast(yaml.MappingNode, node))
            return mapping
        if tag == _SEQ and kind is yaml.SequenceNode:
            return [self._build(item) for item in node.value]
        return self.construct_object(node, deep=True)


def _place(event: yaml.Event | None) -> tuple[int | None, int | None]:
    """Line and column (1-based) where a parser event starts (the parser marks every event)."""
    mark = event.start_mark if event is not None else None
    return (None, None) if mark is None else (mark.line + 1, mark.column + 1)


def compose(text: str) -> yaml.Node | None:
    """The node tree of ``text`` under the strict loader (what `yaml.compose(text,
    Loader=StrictLoader)` does; the stubs only accept PyYAML's own loader classes there)."""
    loader = StrictLoader(text)
    try:
        return loader.get_single_node()
    finally:
        loader.dispose()


def _refuse_aliases(text: str, file: str) -> None:
    """Anchors are refused: every alias needs one, so text without '&' cannot hold an alias bomb."""
    if "&" not in text:
        return
    loader = StrictLoader(text)
    try:
        while loader.check_event():
            event = loader.get_event()
            if isinstance(event, (yaml.AliasEvent,)) or getattr(event, "anchor", None):
                raise LoadError(file, "anchors and aliases are not allowed", *_place(event))
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, file, text) from None
    finally:
        loader.dispose()


MAX_DEPTH = 64  # registry files nest 3 deep; the C composer recurses, so depth is bounded first


def _refuse_deep_nesting(text: str, file: str) -> None:
    """Walk the event stream (the C parser keeps its own stack; composing recurses) when the text
    could nest deeply: block nesting is bounded by the size limit, flow nesting is not."""
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return
    loader = StrictLoader(text)
    depth = 0
    try:
        while loader.check_event():
            event = loader.get_event()
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                depth += 1
                if depth > MAX_DEPTH:
                    raise LoadError(
                        file, f"nested more than {MAX_DEPTH} levels deep", *_place(event)
                    )
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                depth -= 1
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, file, text) from None
    finally:
        loader.dispose()


def _yaml_error(exc: yaml.YAMLError, file: str, text: str = "") -> LoadError:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    message = f"invalid YAML: {context + ', ' if context else ''}{problem}"
    if mark is None:
        return LoadError(file, message)
    message = _plain_yaml_message(problem, mark, text) or message
    return LoadError(file, message, mark.line + 1, mark.column + 1)


def _plain_yaml_message(problem: str, mark: yaml.Mark, text: str) -> str | None:
    """libyaml's wording for the mistakes people make most, said as what to do."""
    lines = text.splitlines()
    line = lines[mark.line] if mark.line < len(lines) else ""
    char = line[mark.column] if mark.column < len(line) else ""
    if char == "\t" or "tab character" in problem:
        return "invalid YAML: a tab; tabs are not allowed in YAML indentation, indent with spaces"
    if "cannot start any token" in problem and char in "@`":
        return (
            f"invalid YAML: a value cannot start with {char!r} unquoted; quote it, "
            'e.g. owner: "@acme/team"'
        )
    return None


def decode(data: bytes, file: str) -> str:
    if len(data) > MAX_BYTES:
        raise LoadError(file, f"file is {len(data)} bytes, over the {MAX_BYTES}-byte limit")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise LoadError(file, f"not UTF-8 text (byte 0x{data[exc.start]:02x})", line, col) from None


def loads(data: bytes | str, file: str) -> Any:
    """Parse one YAML document from bytes or text; raise LoadError with file and line on any problem."""
    text = decode(data, file) if isinstance(data, bytes) else data
    if "\x00" in text:
        raise LoadError(file, "file contains NUL characters")
    _refuse_aliases(text, file)
    _refuse_deep_nesting(text, file)
    loader = StrictLoader(text)
    try:
        return loader.get_single_data()
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, file, text) from None
    except RecursionError:
        raise LoadError(file, "document is nested too deeply") from None
    finally:
        loader.dispose()


def read_bytes(path: Path, root: Path | None = None) -> bytes:
    """Read a file, refusing symlinks that resolve outside ``root`` and files over the size bound.
    A missing file raises FileNotFoundError; one lstat and one read on the happy path."""
    display = str(path)
    try:
        if root is not None and stat.S_ISLNK(os.lstat(path).st_mode):
            target = Path(os.path.realpath(path))
            if not target.is_relative_to(Path(os.path.realpath(root))):
                raise LoadError(display, "symlink points outside the repository")
        with open(path, "rb") as fh:
            data = fh.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise LoadError(display, f"cannot read file: {exc.strerror or exc}") from None
    if len(data) > MAX_BYTES:
        raise LoadError(display, f"file is over the {MAX_BYTES}-byte limit")
    return data


def load_file(path: Path, root: Path | None = None) -> Any:
    return loads(read_bytes(path, root), str(path))


def line_of(text: str, path: tuple, at_key: bool = False) -> tuple[int | None, int | None]:
    """Line and column (1-based) of the node at a JSON path such as ("model", "uri"), or of its
    nearest existing parent; with ``at_key``, of the last key itself. Only called when an error
    is reported."""
    try:
        node = compose(text)
    except yaml.YAMLError:
        return None, None
    best = node
    for part in path:
        if node is None:
            break
        child = None
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if key.value == str(part):
                    empty = isinstance(value, yaml.ScalarNode) and value.value == ""
                    child = key if empty or (at_key and part == path[-1]) else value
                    break
        elif (
            isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value)
        ):
            child = node.value[part]
        if child is None:
            break
        node = best = child
    if best is None:
        return None, None
    return best.start_mark.line + 1, best.start_mark.column + 1
