"""The JSON Schemas in schemas/ against the example bodies in fixtures/.

Every schema must be a valid draft 2020-12 schema, every example under
fixtures/examples/ must validate against the schema its file name starts with, every
example under fixtures/examples/invalid/ must be rejected, and the bodies of the
verified signing vectors must validate. Both jsonschema_rs (what the fake uses) and
python-jsonschema are run, so the schemas do not lean on one engine's quirks.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import jsonschema_rs
import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st
from referencing import Registry, Resource

from mock_amojo.wire._validation import _may_hold_float

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = ROOT / "schemas"
EXAMPLES = ROOT / "fixtures" / "examples"
INVALID = EXAMPLES / "invalid"
VECTORS = ROOT / "fixtures" / "signing-vectors.json"
SOURCES = ROOT / "fixtures" / "SOURCES.md"

DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"
ID_BASE = "https://mock-amojo.local/schemas/"

SCHEMA_FILES = sorted(p.name for p in SCHEMAS.glob("*.json"))
VALID_FILES = sorted(p.name for p in EXAMPLES.glob("*.json"))
INVALID_FILES = sorted(p.name for p in INVALID.glob("*.json"))

# Which request schema each verified vector's body belongs to.
VECTOR_SCHEMA = {
    "connect": "connect.request.json",
    "disconnect": "disconnect.request.json",
    "delivery_status_read": "delivery_status.request.json",
    "typing": "typing.request.json",
    "create_chat": "create_chat.request.json",
    "send_message_text_incoming": "message.request.json",
    "send_message_with_source": "message.request.json",
}


def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


@cache
def schemas() -> dict[str, dict[str, Any]]:
    return {name: load(SCHEMAS / name) for name in SCHEMA_FILES}


@cache
def rs_registry() -> jsonschema_rs.Registry:
    return jsonschema_rs.Registry([(s["$id"], s) for s in schemas().values()])


@cache
def rs_validator(name: str) -> Any:
    return jsonschema_rs.validator_for(schemas()[name], registry=rs_registry())


@cache
def py_validator(name: str) -> jsonschema.Draft202012Validator:
    registry: Registry[Any] = Registry().with_resources((s["$id"], Resource.from_contents(s)) for s in schemas().values())
    return jsonschema.Draft202012Validator(schemas()[name], registry=registry)


def schema_for(example: str) -> str:
    """The schema an example belongs to: the longest schema name its file name starts with."""
    stems = [n.removesuffix(".json") for n in SCHEMA_FILES if n != "definitions.json"]
    matches = [s for s in stems if example.startswith(s + ".")]
    assert matches, f"{example}: name does not start with a schema name (<schema>.<label>.json)"
    return max(matches, key=len) + ".json"


def errors(name: str, instance: Any) -> tuple[list[str], list[str]]:
    rs = [f"{'/'.join(map(str, e.instance_path))}: {e.message}" for e in rs_validator(name).iter_errors(instance)]
    py = [f"{e.json_path}: {e.message}" for e in py_validator(name).iter_errors(instance)]
    return rs, py


def refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for v in node.values() for r in refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in refs(v)]
    return []


# --- the schemas themselves ----------------------------------------------------------


def test_schema_directory_is_not_empty() -> None:
    assert "definitions.json" in SCHEMA_FILES
    assert len(SCHEMA_FILES) > 1


@pytest.mark.parametrize("name", SCHEMA_FILES)
def test_schema_is_valid_2020_12(name: str) -> None:
    schema = schemas()[name]
    jsonschema.Draft202012Validator.check_schema(schema)
    assert jsonschema_rs.meta.is_valid(schema), name
    rs_validator(name)  # compiles, all refs resolve


@pytest.mark.parametrize("name", SCHEMA_FILES)
def test_schema_header(name: str) -> None:
    schema = schemas()[name]
    assert schema.get("$schema") == DRAFT_2020_12
    assert schema.get("$id") == ID_BASE + name
    assert isinstance(schema.get("title"), str) and schema["title"]
    assert isinstance(schema.get("description"), str) and schema["description"]


@pytest.mark.parametrize("name", SCHEMA_FILES)
def test_schema_refs_are_local_or_definitions(name: str) -> None:
    for ref in refs(schemas()[name]):
        target, _, pointer = ref.partition("#")
        assert target in ("", "definitions.json"), f"{name}: cross-file or remote $ref {ref!r}"
        defs = schemas()[target or name].get("$defs", {})
        assert pointer.startswith("/$defs/") and pointer.removeprefix("/$defs/") in defs, f"{name}: dangling {ref!r}"


@pytest.mark.parametrize("name", [n for n in SCHEMA_FILES if n != "definitions.json"])
def test_every_schema_has_a_valid_example(name: str) -> None:
    stem = name.removesuffix(".json")
    assert any(schema_for(e) == name for e in VALID_FILES), f"no fixtures/examples/{stem}.<label>.json"


# --- examples -----------------------------------------------------------------------


@pytest.mark.parametrize("example", VALID_FILES)
def test_valid_example(example: str) -> None:
    name = schema_for(example)
    rs, py = errors(name, load(EXAMPLES / example))
    assert rs == [], f"{example} should match {name} (jsonschema_rs): {rs}"
    assert py == [], f"{example} should match {name} (jsonschema): {py}"


@pytest.mark.parametrize("example", INVALID_FILES)
def test_invalid_example(example: str) -> None:
    name = schema_for(example)
    rs, py = errors(name, load(INVALID / example))
    assert rs, f"{example} should be rejected by {name} (jsonschema_rs)"
    assert py, f"{example} should be rejected by {name} (jsonschema)"


def test_every_fixture_is_listed_in_sources() -> None:
    listed = SOURCES.read_text(encoding="utf-8")
    files = [p.relative_to(ROOT / "fixtures").as_posix() for p in (ROOT / "fixtures").rglob("*.json")]
    missing = [f for f in files if f"`{f}`" not in listed]
    assert missing == [], f"not described in fixtures/SOURCES.md: {missing}"
    stale = [f for f in re.findall(r"`((?:examples/)?[^`\s<]+\.json)`", listed) if f not in files]
    assert stale == [], f"fixtures/SOURCES.md describes files that do not exist: {stale}"


# --- verified signing vectors -------------------------------------------------------


def test_every_vector_has_a_schema() -> None:
    assert sorted(v["name"] for v in load(VECTORS)) == sorted(VECTOR_SCHEMA)


@pytest.mark.parametrize("vector", sorted(VECTOR_SCHEMA))
def test_vector_body_validates(vector: str) -> None:
    (entry,) = [v for v in load(VECTORS) if v["name"] == vector]
    name = VECTOR_SCHEMA[vector]
    rs, py = errors(name, json.loads(entry["body"]))
    assert rs == [] and py == [], f"vector {vector} should match {name}: {rs or py}"


_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


def _has_float(value: object) -> bool:
    if isinstance(value, float):
        return True
    if isinstance(value, dict):
        return any(_has_float(v) for v in value.values())
    return isinstance(value, list) and any(_has_float(v) for v in value)


@given(
    document=_JSON | st.sampled_from([1e300, [-2.5e-300], {"a": 1e16}, {"b": 0.0}]),
    spacing=st.sampled_from([None, "json-indent"]),
)
def test_a_body_with_a_float_never_skips_the_strict_integer_check(document: object, spacing: str | None) -> None:
    # The validator without the strict-integer keyword is only used when _may_hold_float says no float can be in the body.
    raw = json.dumps(document, indent=2).encode() if spacing else orjson.dumps(document)
    if _has_float(json.loads(raw)):
        assert _may_hold_float(raw)


def test_a_schema_set_reads_its_documents_with_the_first_check() -> None:
    # create_app makes the set on every start; a start that checks no body must not read ~30 files.
    from mock_amojo.wire._validation import SchemaSet, schema_dir

    schemas = SchemaSet(schema_dir())
    assert "documents" not in vars(schemas) and "checked" not in vars(schemas)
    assert schemas.is_valid("typing.request.json", {}) in (True, False)
    assert "typing.request.json" in schemas.documents and schemas.checked.keys() == schemas.documents.keys()
