"""Which JSON Schema draft a schema is enforced with, and the validators that know that draft.

The yes/no comes from jsonschema-rs, which implements drafts 4, 6, 7, 2019-09 and 2020-12; the
Python `jsonschema` validator of the same draft only words the messages. A `$schema` outside this
table (draft 3, a custom meta-schema, a typo) is refused: a keyword the validator does not know is
silently ignored, so a rule written for another draft would pass everything.
"""

from __future__ import annotations

import functools
import json
from typing import TYPE_CHECKING

from ..errors import ConfigError

if TYPE_CHECKING:
    import jsonschema.protocols
    import jsonschema_rs

# Canonical meta-schema URIs (json-schema.org "Specification links"), without their empty fragment
_DRAFTS = {
    "http://json-schema.org/draft-04/schema": ("draft-04", "Draft4Validator", "Draft4Validator"),
    "http://json-schema.org/draft-06/schema": ("draft-06", "Draft6Validator", "Draft6Validator"),
    "http://json-schema.org/draft-07/schema": ("draft-07", "Draft7Validator", "Draft7Validator"),
    "https://json-schema.org/draft/2019-09/schema": (
        "2019-09",
        "Draft201909Validator",
        "Draft201909Validator",
    ),
    "https://json-schema.org/draft/2020-12/schema": (
        "2020-12",
        "Draft202012Validator",
        "Draft202012Validator",
    ),
}
DEFAULT = (
    "http://json-schema.org/draft-07/schema"  # a schema without `$schema` (the README says so)
)
KNOWN = ", ".join(name for name, _, _ in _DRAFTS.values())


def draft_of(schema: dict, file: str) -> str:
    """The meta-schema URI a schema declares, or ConfigError naming the file."""
    declared = schema.get("$schema", DEFAULT)
    if not isinstance(declared, str):
        raise ConfigError(
            f"{file}: $schema must be a meta-schema URI (a string); foureyes enforces {KNOWN}"
        )
    uri = declared.removesuffix("#")
    if uri not in _DRAFTS:
        raise ConfigError(
            f"{file}: $schema {declared!r} is not a JSON Schema draft foureyes can enforce "
            f"(it enforces {KNOWN}); use one of {', '.join(u for u in _DRAFTS)}"
        )
    return uri


def name_of(uri: str) -> str:
    return _DRAFTS[uri][0]


def python_validator(schema: dict, uri: str) -> type[jsonschema.protocols.Validator]:
    """The Python `jsonschema` validator class of the draft: meta-schema checks and messages."""
    import jsonschema

    return getattr(jsonschema, _DRAFTS[uri][2])


def _refuse_remote(uri: str) -> dict:
    # a schema is policy read from a commit: it must not depend on what a server answers today
    raise ValueError(
        f"{uri}: remote $ref is not followed; inline the definition under $defs/definitions"
    )


def enforcer(schema: dict, uri: str, file: str) -> jsonschema_rs.Validator:
    """The jsonschema-rs validator of ``schema`` for its draft. `format` is asserted in every
    draft, unknown formats are refused: a rule that names a format means it (2019-09 and 2020-12
    only annotate by default)."""
    import jsonschema_rs

    try:
        return _compiled(uri, json.dumps(schema, sort_keys=True))
    except (jsonschema_rs.ValidationError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"{file}: cannot be enforced as {name_of(uri)}: {first}") from None


@functools.lru_cache(maxsize=256)
def _compiled(uri: str, text: str) -> jsonschema_rs.Validator:
    """The validator of one canonical schema text for its draft: a pure function of the two, so it
    is compiled once per run for each distinct schema (every PR a deploy re-checks reads the
    schemas at its own base, and they are almost always the same); a schema that does not compile
    is not kept."""
    import jsonschema_rs

    cls = getattr(jsonschema_rs, _DRAFTS[uri][1])
    return cls(
        json.loads(text),
        validate_formats=True,
        ignore_unknown_formats=False,
        retriever=_refuse_remote,
    )
