"""Hypothesis strategies for request bodies, driven by the fake's own ``schemas/``.

The generator follows each schema's shape (types, properties, required keys, enums,
lengths, patterns, the branches of ``anyOf``/``oneOf``/``allOf``) but does not try to
satisfy every conditional rule: it produces bodies that are *mostly* valid plus mutations
that are *mostly* invalid, and python-jsonschema — independent of the fake's compiled
validator — says which is which. ``hypothesis-jsonschema`` does not run on current
hypothesis releases (it calls a removed internal API), hence this small generator.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

__all__ = ["SCHEMAS", "body_strategy", "from_schema", "load_schema", "mutated"]

SCHEMAS = Path(__file__).resolve().parent.parent / "schemas"
_MAX_DEPTH = 6

Json = Any
Hints = Mapping[str, st.SearchStrategy[Json]]

scalars: st.SearchStrategy[Json] = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
)
any_json: st.SearchStrategy[Json] = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)),
    max_leaves=12,
)


@cache
def _documents() -> dict[str, dict[str, Any]]:
    return {p.name: json.loads(p.read_text(encoding="utf-8")) for p in SCHEMAS.glob("*.json")}


def _resolve(ref: str, here: str) -> tuple[dict[str, Any], str]:
    file, _, fragment = ref.partition("#")
    source = file or here
    node: Any = _documents()[source]
    for part in fragment.strip("/").split("/"):
        if part:
            node = node[part]
    return node, source


def _inline(node: Any, here: str, depth: int = 0) -> Any:
    """The schema with every ``$ref`` replaced by its target (the schemas are not recursive)."""
    if isinstance(node, list):
        return [_inline(v, here, depth) for v in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node and depth < 20:
        target, source = _resolve(node["$ref"], here)
        rest = {k: v for k, v in node.items() if k != "$ref"}
        resolved = _inline(copy.deepcopy(target), source, depth + 1)
        return _merge(resolved, _inline(rest, here, depth)) if rest else resolved
    return {k: _inline(v, here, depth) for k, v in node.items() if k not in ("$defs", "$schema", "$id")}


@cache
def load_schema(name: str) -> dict[str, Any]:
    """``schemas/<name>`` with references inlined."""
    inlined: dict[str, Any] = _inline(_documents()[name], name)
    return inlined


def _types(schema: Mapping[str, Any]) -> list[str]:
    kind = schema.get("type")
    if isinstance(kind, list):
        return list(kind)
    if isinstance(kind, str):
        return [kind]
    if "properties" in schema or "required" in schema:
        return ["object"]
    if "items" in schema:
        return ["array"]
    return []


def _merge(a: Mapping[str, Any], b: Mapping[str, Any]) -> dict[str, Any]:
    """A schema meant to satisfy both (properties merged, required united, types intersected)."""
    merged = dict(a)
    for key, value in b.items():
        if key == "properties" and "properties" in merged:
            props = dict(merged["properties"])
            for name, sub in value.items():
                props[name] = _merge(props[name], sub) if name in props else sub
            merged["properties"] = props
        elif key == "required" and "required" in merged:
            merged["required"] = sorted(set(merged["required"]) | set(value))
        elif key == "type" and "type" in merged:
            both = [t for t in _types(merged) if t in _types({"type": value})]
            merged["type"] = both or value
        elif key in ("description", "$comment", "title"):
            continue
        else:
            merged[key] = value
    return merged


def _string(schema: Mapping[str, Any]) -> st.SearchStrategy[str]:
    low, high = schema.get("minLength", 0), schema.get("maxLength", 30)
    if "pattern" in schema:
        return st.from_regex(schema["pattern"], fullmatch=True).filter(lambda s: low <= len(s) <= high)
    return st.text(min_size=low, max_size=max(low, min(high, 30)))


def _number(schema: Mapping[str, Any], integer: bool) -> st.SearchStrategy[Any]:
    low, high = schema.get("minimum"), schema.get("maximum")
    if integer:
        return st.integers(min_value=low, max_value=high if high is not None else 2**53)
    return st.floats(min_value=low, max_value=high, allow_nan=False, allow_infinity=False)


def from_schema(schema: Mapping[str, Any], hints: Hints, depth: int = 0) -> st.SearchStrategy[Json]:
    """Values shaped by ``schema``; ``hints`` offers known values (ids) for property names."""
    if depth > _MAX_DEPTH:
        return scalars
    if "const" in schema:
        return st.just(schema["const"])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    for combinator in ("anyOf", "oneOf"):
        if combinator in schema:
            base = {k: v for k, v in schema.items() if k != combinator}
            return st.one_of([from_schema(_merge(base, branch), hints, depth + 1) for branch in schema[combinator]])
    if "allOf" in schema:
        merged = {k: v for k, v in schema.items() if k != "allOf"}
        for part in schema["allOf"]:
            merged = _merge(merged, {k: v for k, v in part.items() if k not in ("if", "then", "else")})
        return from_schema(merged, hints, depth + 1)
    options: list[st.SearchStrategy[Json]] = []
    for kind in _types(schema) or ["object", "string", "integer"]:
        if kind == "null":
            options.append(st.none())
        elif kind == "boolean":
            options.append(st.booleans())
        elif kind == "integer":
            options.append(_number(schema, True))
        elif kind == "number":
            options.append(_number(schema, False))
        elif kind == "string":
            options.append(_string(schema))
        elif kind == "array":
            items = schema.get("items", {})
            low = schema.get("minItems", 0)
            options.append(st.lists(from_schema(items, hints, depth + 1), min_size=low, max_size=max(low, schema.get("maxItems", 3))))
        elif kind == "object":
            options.append(_object(schema, hints, depth))
    return st.one_of(options) if options else any_json


def _object(schema: Mapping[str, Any], hints: Hints, depth: int) -> st.SearchStrategy[dict[str, Any]]:
    properties: Mapping[str, Any] = schema.get("properties", {})
    required = [name for name in schema.get("required", []) if name in properties] + [
        name for name in schema.get("required", []) if name not in properties
    ]

    def field(name: str) -> st.SearchStrategy[Json]:
        shaped = from_schema(properties.get(name, {}), hints, depth + 1)
        return st.one_of(hints[name], shaped) if name in hints else shaped

    fixed = {name: field(name) for name in required}
    optional = {name: field(name) for name in properties if name not in fixed}
    return st.fixed_dictionaries(fixed, optional=optional)


def body_strategy(schema_name: str, hints: Hints | None = None) -> st.SearchStrategy[Json]:
    """Mostly-valid bodies for ``schemas/<schema_name>``."""
    return from_schema(load_schema(schema_name), hints or {})


def _paths(value: Json, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, sub in value.items():
            found += _paths(sub, (*prefix, key))
    elif isinstance(value, list):
        for index, sub in enumerate(value):
            found += _paths(sub, (*prefix, index))
    return found


def _replace(value: Json, path: tuple[Any, ...], new: Any, *, delete: bool = False) -> Json:
    if not path:
        return new
    head, rest = path[0], path[1:]
    copy_ = dict(value) if isinstance(value, dict) else list(value)
    if delete and not rest:
        del copy_[head]
        return copy_
    copy_[head] = _replace(value[head], rest, new, delete=delete)
    return copy_


@st.composite
def mutated(draw: st.DrawFn, base: st.SearchStrategy[Json]) -> Json:
    """A body with one defect: a key dropped, a value retyped or nulled, an extra key, or the wrong top-level type."""
    value = draw(base)
    paths = _paths(value)
    path = draw(st.sampled_from(paths))
    action = draw(st.sampled_from(["drop", "retype", "null", "extra", "wrap"]))
    if action == "drop" and path:
        return _replace(value, path, None, delete=True)
    if action == "extra" and isinstance(value, dict):
        return {**value, draw(st.text(min_size=1, max_size=12)): draw(any_json)}
    if action == "wrap":
        return [value]
    if action == "null":
        return _replace(value, path, None)
    return _replace(value, path, draw(any_json))
