"""Edge-case values (:mod:`mock_amojo.testing.strategies`): integers, floats, texts and nesting depths that
clients and parsers trip on, and odd ``markup`` and ``template`` values.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from ._strategies_base import _object, _optional, ids, names, texts, urls

# -- edge cases: bodies the schema may allow, hard on whoever stores and renders them ------------

#: Integers at the edges clients and parsers trip on: zero and -1, the 32-, 53-, 63- and 64-bit
#: limits (and just past them), milliseconds (``10**13``) or nanoseconds sent where seconds belong.
EDGE_INTEGERS = (0, -1, 2**31, 2**53, 2**63 - 1, 2**63, 2**64 - 1, 10**17, 10**13, 2**64, -(2**63) - 1)
#: Floats that are whole (``1956.0``: an integer to JSON Schema, not to amojo), signed zero, the
#: largest and the smallest doubles, and 2^53 (the last integer a double holds exactly).
EDGE_FLOATS = (0.0, -0.0, 0.5, 1956.0, 1e17, 2.0**53, 1e308, -1e308, 1.7976931348623157e308, 5e-324)
#: Nesting depths (objects and arrays counted alike) around the limits of JSON libraries:
#: orjson serialises 254 levels and no more, Python's recursion limit is about 1000.
EDGE_DEPTHS = (1, 2, 64, 253, 254, 255, 256, 300, 512)
#: Strings that break naive storage and rendering: NUL, lone surrogates (sent as ``\\u`` escapes,
#: which no UTF-8 decoder accepts), right-to-left overrides, combining marks, 4-byte emoji with
#: joiners and skin tones, a byte-order mark, markup, and strings long enough to be truncated somewhere.
EDGE_TEXTS = (
    "",
    " ",
    "\x00",
    "a\x00b",
    "\ud800",
    "\udfff",
    "a\udc00b",
    "\u202eevil\u202c",
    "שלום עולם",
    "مرحبا",
    "e\u0301\u0301\u0301",
    "👍🏽",
    "\U0001f9d1\u200d\U0001f4bb",
    "🏳️‍🌈",
    "\ufeffbom",
    "\u2028\u2029",
    '<script>alert(1)</script>"',
    "{{ 7*7 }}",
    "x" * 4096,
    "я" * 40_000,
)


def edge_integers() -> st.SearchStrategy[int]:
    """Integers from :data:`EDGE_INTEGERS` or anywhere, unbounded (beyond 64 bits too)."""
    return st.sampled_from(EDGE_INTEGERS) | st.integers()


def edge_numbers() -> st.SearchStrategy[int | float]:
    """:func:`edge_integers` and finite floats, :data:`EDGE_FLOATS` first (JSON has no NaN or infinity)."""
    return edge_integers() | st.sampled_from(EDGE_FLOATS) | st.floats(allow_nan=False, allow_infinity=False)


def edge_texts() -> st.SearchStrategy[str]:
    """Strings from :data:`EDGE_TEXTS` or of any code points, surrogates included."""
    return st.sampled_from(EDGE_TEXTS) | st.text(st.characters(exclude_categories=()), max_size=30)


def nested(depth: int, leaf: Any = "deep") -> Any:
    """``leaf`` inside ``depth`` containers, objects and arrays alternating.

    >>> nested(3)
    {'nested': [{'nested': 'deep'}]}
    """
    value = leaf
    for level in range(depth):
        value = {"nested": value} if (depth - level) % 2 else [value]
    return value


def deep_values(depths: tuple[int, ...] = EDGE_DEPTHS) -> st.SearchStrategy[Any]:
    """Values nested as deep as :data:`EDGE_DEPTHS` (shrinking towards the shallowest)."""
    return st.tuples(st.sampled_from(depths), st.sampled_from(["deep", 1, None, 2**64 - 1, "\x00"])).map(lambda t: nested(*t))


def json_values() -> st.SearchStrategy[Any]:
    """Any JSON value, with edge-case leaves and keys, or one nested :func:`deep_values`."""
    leaves = st.none() | st.booleans() | edge_numbers() | edge_texts()
    keys = st.sampled_from(["type", "text", "id", "", "__proto__", "$ref"]) | edge_texts()
    shallow = st.recursive(leaves, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=3), max_leaves=8)
    return shallow | deep_values()


_BUTTON_ROWS = st.lists(st.lists(_object(text=names, url=_optional(urls, null=False)), min_size=1, max_size=3), min_size=1, max_size=3)
_LIST_MESSAGE = st.fixed_dictionaries(
    {
        "body": names,
        "button": names,
        "sections": st.lists(
            st.fixed_dictionaries(
                {"rows": st.lists(st.fixed_dictionaries({"callback_data": ids, "title": names}), min_size=1, max_size=3)},
                optional={"title": names.map(lambda s: s[:24])},
            ),
            min_size=1,
            max_size=2,
        ),
    },
    optional={"header": names.map(lambda s: s[:60]), "footer": names.map(lambda s: s[:60])},
)
#: ``markup`` values that are not a keyboard amojo knows: what a sloppy client sends.
ODD_MARKUPS: tuple[Any, ...] = (
    "s",
    "",
    1,
    -1,
    1.5,
    True,
    False,
    [1],
    [],
    {},
    {"mode": "inline"},
    {"mode": "inline", "buttons": "x"},
    {"mode": "inline", "buttons": [1]},
    {"mode": "inline", "buttons": ["x"]},
    {"mode": "inline", "buttons": [[1]]},
    {"mode": "inline", "buttons": [[{"text": 1}]]},
    {"mode": "inline", "buttons": [[{"url": "https://x.example"}]]},
    {"mode": "inline", "buttons": [{"text": "a"}]},
    {"mode": "inline", "buttons": {"0": [{"text": "a"}]}},
    {"mode": "inline", "list_message": "x"},
    {"mode": "inline", "list_message": {"sections": "x"}},
    {"mode": "inline", "list_message": {"button": 1, "header": ["h"]}},
    {"mode": "reply", "buttons": [[{"text": "a"}]]},
)


def markups(*, odd: bool = True) -> st.SearchStrategy[Any]:
    """``message.markup``: inline button rows or a WhatsApp list, as amojo documents them; with ``odd``
    also :data:`ODD_MARKUPS`, edge-case JSON and deep nesting."""
    valid = st.sampled_from(["buttons", "list_message"]).flatmap(
        lambda kind: st.fixed_dictionaries({"mode": st.just("inline"), kind: _BUTTON_ROWS if kind == "buttons" else _LIST_MESSAGE})
    )
    if not odd:
        return valid
    odd_shapes = st.sampled_from(ODD_MARKUPS)
    return st.one_of(valid, odd_shapes, odd_shapes, json_values())


def message_templates(*, odd: bool = True) -> st.SearchStrategy[Any]:
    """``message.template`` (the template a manager sent from): id, content, params; with ``odd`` also
    edge-case ids and shapes that are not a template at all."""
    params = st.lists(st.fixed_dictionaries({"key": ids, "value": texts}), max_size=3)
    valid = st.fixed_dictionaries({"id": st.integers(1, 10**6), "content": texts}, optional={"external_id": ids, "params": params})
    if not odd:
        return valid
    edged = st.fixed_dictionaries({"id": edge_integers(), "content": edge_texts()}, optional={"params": json_values()})
    return valid | edged | json_values()
