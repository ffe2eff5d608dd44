"""Subtly invalid bodies (:mod:`mock_amojo.testing.strategies`): a valid body broken in exactly one rule,
with the JSON pointer of the break.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from ..wire._validation import load_schemas
from ._strategies_base import Body

# -- subtly invalid bodies ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Invalid:
    """A body that breaks one rule: ``pointer`` names where, ``mutation`` says how."""

    body: Body
    schema: str
    pointer: str
    mutation: str


def _paths(node: Any, pointer: str = "") -> list[tuple[str, Any]]:
    found = [(pointer, node)]
    if isinstance(node, dict):
        for key, value in node.items():
            # JSON pointer escaping (RFC 6901): a key may hold "/" or "~".
            found += _paths(value, f"{pointer}/{str(key).replace('~', '~0').replace('/', '~1')}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, f"{pointer}/{index}")
    return found


def _set(body: Body, pointer: str, value: Any, *, delete: bool = False) -> Body:
    """``body`` with the value at ``pointer`` replaced (or deleted); only the containers on the way are copied.

    Copying only those keeps the rest shared, and deep values (hundreds of levels) out of a recursive copy.
    """
    parts = [part.replace("~1", "/").replace("~0", "~") for part in pointer.split("/")[1:]]

    def rebuilt(node: Any, level: int) -> Any:
        copied: Any = list(node) if isinstance(node, list) else dict(node)
        key: Any = int(parts[level]) if isinstance(node, list) else parts[level]
        if level < len(parts) - 1:
            copied[key] = rebuilt(node[key], level + 1)
        elif delete:
            del copied[key]
        else:
            copied[key] = value
        return copied

    result: Body = rebuilt(body, 0)
    return result


def _mutations(value: Any) -> list[tuple[str, Callable[[Any], Any]]]:
    """Ways a value goes subtly wrong, as real clients get it wrong."""
    if isinstance(value, bool):
        return [("a boolean sent as the string 'true'/'false'", lambda v: str(v).lower())]
    if isinstance(value, int):
        return [
            ("an integer sent as a string (amojo types strictly)", str),
            ("an integer sent as a float", lambda v: v + 0.5),
        ]
    if isinstance(value, float):
        return [("a number sent as a string", str)]
    if isinstance(value, str):
        return [
            ("a string sent as a number", lambda v: len(v)),
            ("an empty string", lambda v: ""),
            ("an unknown value / too long", lambda v: v + "-unknown" + "x" * 40),
            ("a non-ASCII character added", lambda v: v + "\u00a0ё"),
        ]
    if isinstance(value, dict):
        return [("an object sent as a list", lambda v: [v]), ("an object sent as a JSON string", lambda v: str(v))]
    if isinstance(value, list):
        return [("an extra item", lambda v: [*v, *v]), ("an empty list", lambda v: [])]
    return []


def invalid(valid: st.SearchStrategy[Body], schema: str) -> st.SearchStrategy[Invalid]:
    """Bodies from ``valid`` with one subtle break each; every one is rejected by ``schemas/<schema>``.

    >>> from hypothesis import given, settings
    >>> from mock_amojo.testing.strategies import create_chat_requests
    >>> @settings(max_examples=20, database=None)
    ... @given(invalid(create_chat_requests(), "create_chat.request.json"))
    ... def check(case):
    ...     assert not load_schemas().is_valid(case.schema, case.body)
    >>> check()
    """
    schemas = load_schemas()
    return _one_break(valid, schema).filter(lambda case: not schemas.is_valid(case.schema, case.body))


def one_defect(valid: st.SearchStrategy[Body]) -> st.SearchStrategy[Body]:
    """Bodies from ``valid`` with one subtle break each, as :func:`invalid` makes them, but unchecked:
    a few still pass the schema (a non-ASCII character added to a free-text field).

    Never filters, so it never rejects a draw — which a step of a state machine cannot afford.
    """
    return _one_break(valid, "").map(lambda case: case.body)


def _one_break(valid: st.SearchStrategy[Body], schema: str) -> st.SearchStrategy[Invalid]:
    @st.composite
    def mutate(draw: st.DrawFn) -> Invalid:
        body = draw(valid)
        paths = [(p, v) for p, v in _paths(body) if p]
        pointer, value = draw(st.sampled_from(paths))
        options: list[tuple[str, Callable[[Any], Any] | None]] = [("a field left out", None), *_mutations(value)]
        mutation, change = draw(st.sampled_from(options))
        broken = _set(body, pointer, None, delete=True) if change is None else _set(body, pointer, change(value))
        return Invalid(broken, schema, pointer, mutation)

    return mutate()
