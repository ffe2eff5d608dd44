"""Micro-benchmark: parsing a schema-checked ``new_message`` body into typed values, per representation.

The hot path reads the body (orjson) and checks it against its schema (jsonschema_rs) before any
typed value exists; this measures what parsing it *once more* into typed values adds, for the
candidates: frozen slotted dataclasses, slotted dataclasses frozen for the type checker only
(``dataclass_transform(frozen_default=True)``), msgspec Structs (built field by field, or by
``msgspec.convert``), and TypedDicts (a cast: nothing at run time); and the package's own
``parse_send_message`` (frozen msgspec Structs, the chosen representation). The reference rows
are what the request already costs before it: ``orjson.loads`` and the schema check.

The last rows time *defining* a type of seven fields, which every start of the fake pays once
per type it loads (some sixty): a dataclass writes and compiles its methods, a Struct builds
them in C.

    python -m bench.typed_parse            # ~10 s
    python -m bench.typed_parse --quick    # ~2 s

Times are CPU nanoseconds per body, best of 5 rounds.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NotRequired, TypedDict, TypeVar, cast, dataclass_transform

import msgspec
import orjson

from mock_amojo.wire import parse_send_message
from mock_amojo.wire._validation import load_schemas

from .common import incoming_message

# -- frozen slotted dataclasses ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DParty:
    id: str | None = None
    ref_id: str | None = None
    name: str | None = None
    avatar: str | None = None
    profile_link: str | None = None
    phone: str | None = None
    email: str | None = None


@dataclass(frozen=True, slots=True)
class DText:
    text: str


@dataclass(frozen=True, slots=True)
class DNewMessage:
    msgid: str
    conversation_id: str
    timestamp: int
    sender: DParty
    message: DText
    msec_timestamp: int | None = None
    conversation_ref_id: str | None = None
    receiver: DParty | None = None
    silent: bool = False
    source: str | None = None


def _d_party(data: Mapping[str, Any]) -> DParty:
    profile = data.get("profile") or {}
    return DParty(
        data.get("id"),
        data.get("ref_id"),
        data.get("name"),
        data.get("avatar"),
        data.get("profile_link"),
        profile.get("phone"),
        profile.get("email"),
    )


def parse_dataclass(body: Mapping[str, Any]) -> DNewMessage:
    payload = body["payload"]
    receiver = payload.get("receiver")
    source = payload.get("source")
    return DNewMessage(
        payload["msgid"],
        payload["conversation_id"],
        payload["timestamp"],
        _d_party(payload["sender"]),
        DText(payload["message"]["text"]),
        payload.get("msec_timestamp"),
        payload.get("conversation_ref_id"),
        None if receiver is None else _d_party(receiver),
        bool(payload.get("silent")),
        None if source is None else source["external_id"],
    )


# -- slotted dataclasses, frozen for the type checker only ------------------------------------
# A frozen dataclass's __init__ sets each field through object.__setattr__ (~100 ns a field);
# dataclass_transform(frozen_default=True) has mypy refuse assignments while the class built at
# run time keeps the plain __init__.

_T = TypeVar("_T")


@dataclass_transform(frozen_default=True)
def _value(cls: type[_T]) -> type[_T]:
    return dataclass(slots=True)(cls)


@_value
class VParty:
    id: str | None = None
    ref_id: str | None = None
    name: str | None = None
    avatar: str | None = None
    profile_link: str | None = None
    phone: str | None = None
    email: str | None = None


@_value
class VText:
    text: str


@_value
class VNewMessage:
    msgid: str
    conversation_id: str
    timestamp: int
    sender: VParty
    message: VText
    msec_timestamp: int | None = None
    conversation_ref_id: str | None = None
    receiver: VParty | None = None
    silent: bool = False
    source: str | None = None


def _v_party(data: Mapping[str, Any]) -> VParty:
    profile = data.get("profile") or {}
    return VParty(
        data.get("id"),
        data.get("ref_id"),
        data.get("name"),
        data.get("avatar"),
        data.get("profile_link"),
        profile.get("phone"),
        profile.get("email"),
    )


def parse_value(body: Mapping[str, Any]) -> VNewMessage:
    payload = body["payload"]
    receiver = payload.get("receiver")
    source = payload.get("source")
    return VNewMessage(
        payload["msgid"],
        payload["conversation_id"],
        payload["timestamp"],
        _v_party(payload["sender"]),
        VText(payload["message"]["text"]),
        payload.get("msec_timestamp"),
        payload.get("conversation_ref_id"),
        None if receiver is None else _v_party(receiver),
        bool(payload.get("silent")),
        None if source is None else source["external_id"],
    )


# -- msgspec Structs --------------------------------------------------------------------------

if msgspec is not None:

    class SParty(msgspec.Struct, frozen=True, gc=False):
        id: str | None = None
        ref_id: str | None = None
        name: str | None = None
        avatar: str | None = None
        profile_link: str | None = None
        phone: str | None = None
        email: str | None = None

    class SText(msgspec.Struct, frozen=True, gc=False):
        text: str

    class SNewMessage(msgspec.Struct, frozen=True):
        msgid: str
        conversation_id: str
        timestamp: int
        sender: SParty
        message: SText
        msec_timestamp: int | None = None
        conversation_ref_id: str | None = None
        receiver: SParty | None = None
        silent: bool = False
        source: str | None = None

    # What msgspec.convert reads: the wire's own shape (profile nested), unknown keys ignored.
    class WProfile(msgspec.Struct, frozen=True, gc=False):
        phone: str | None = None
        email: str | None = None

    class WParty(msgspec.Struct, frozen=True, gc=False):
        id: str | None = None
        ref_id: str | None = None
        name: str | None = None
        avatar: str | None = None
        profile_link: str | None = None
        profile: WProfile | None = None

    class WContent(msgspec.Struct, frozen=True, gc=False):
        type: str
        text: str | None = None

    class WSource(msgspec.Struct, frozen=True, gc=False):
        external_id: str

    class WPayload(msgspec.Struct, frozen=True):
        msgid: str
        conversation_id: str
        timestamp: int
        sender: WParty
        message: WContent
        msec_timestamp: int | None = None
        conversation_ref_id: str | None = None
        receiver: WParty | None = None
        silent: bool | None = None
        source: WSource | None = None

    class WBody(msgspec.Struct, frozen=True):
        event_type: str
        payload: WPayload

    def _s_party(data: Mapping[str, Any]) -> SParty:
        profile = data.get("profile") or {}
        return SParty(
            data.get("id"),
            data.get("ref_id"),
            data.get("name"),
            data.get("avatar"),
            data.get("profile_link"),
            profile.get("phone"),
            profile.get("email"),
        )

    def parse_struct(body: Mapping[str, Any]) -> SNewMessage:
        payload = body["payload"]
        receiver = payload.get("receiver")
        source = payload.get("source")
        return SNewMessage(
            payload["msgid"],
            payload["conversation_id"],
            payload["timestamp"],
            _s_party(payload["sender"]),
            SText(payload["message"]["text"]),
            payload.get("msec_timestamp"),
            payload.get("conversation_ref_id"),
            None if receiver is None else _s_party(receiver),
            bool(payload.get("silent")),
            None if source is None else source["external_id"],
        )

    def convert_struct(body: Mapping[str, Any]) -> WBody:
        return msgspec.convert(body, WBody)

    _DECODER = msgspec.json.Decoder(WBody)


# -- TypedDicts -------------------------------------------------------------------------------


class TParty(TypedDict):
    id: NotRequired[str | None]
    ref_id: NotRequired[str | None]
    name: NotRequired[str | None]


class TPayload(TypedDict):
    msgid: str
    conversation_id: str
    timestamp: int
    sender: TParty
    message: dict[str, Any]


class TBody(TypedDict):
    event_type: str
    payload: TPayload


def cast_typeddict(body: Mapping[str, Any]) -> TBody:
    return cast(TBody, body)


# -- the run ----------------------------------------------------------------------------------


def _ns_per_call(call: Callable[[], object], n: int) -> float:
    best = float("inf")
    for _ in range(5):
        started = time.process_time_ns()
        for _ in range(n):
            call()
        best = min(best, (time.process_time_ns() - started) / n)
    return best


_SEVEN_FIELDS = "\n".join(f"    f{i}: str | None = None" for i in range(7))


def _define(header: str) -> Callable[[], object]:
    """Running a class statement that starts with ``header`` (decorator and ``class`` line) and declares seven fields."""
    source = compile(f"from __future__ import annotations\n{header}\n{_SEVEN_FIELDS}\n", "<bench>", "exec")
    return lambda: exec(source, {"dataclass": dataclass, "msgspec": msgspec})


def run(quick: bool = False) -> list[tuple[str, float]]:
    n = 20_000 if quick else 100_000
    raw = orjson.dumps(incoming_message("m-1", "c-1", "u-1"))
    body = orjson.loads(raw)
    schemas = load_schemas()
    rows: list[tuple[str, float]] = [
        ("reference: orjson.loads(body)", _ns_per_call(lambda: orjson.loads(raw), n)),
        ("reference: schema check (jsonschema_rs)", _ns_per_call(lambda: schemas.validate("message.request.json", body, raw=raw), n)),
        ("frozen slotted dataclasses", _ns_per_call(lambda: parse_dataclass(body), n)),
        ("slotted dataclasses, frozen for the type checker", _ns_per_call(lambda: parse_value(body), n)),
        ("TypedDict (a cast)", _ns_per_call(lambda: cast_typeddict(body), n)),
        ("msgspec Structs, built field by field", _ns_per_call(lambda: parse_struct(body), n)),
        ("msgspec.convert(dict, Struct)", _ns_per_call(lambda: convert_struct(body), n)),
        ("msgspec.json decode to Struct (replaces orjson.loads)", _ns_per_call(lambda: _DECODER.decode(raw), n)),
        ("the package's parse_send_message (frozen msgspec Structs, chosen)", _ns_per_call(lambda: parse_send_message(body), n)),
    ]
    defined = max(200, n // 100)
    rows += [
        ("defining a 7-field type: @dataclass(slots=True)", _ns_per_call(_define("@dataclass(slots=True)\nclass Defined:"), defined)),
        (
            "defining a 7-field type: @dataclass(frozen=True, slots=True)",
            _ns_per_call(_define("@dataclass(frozen=True, slots=True)\nclass Defined:"), defined),
        ),
        (
            "defining a 7-field type: msgspec.Struct, frozen=True",
            _ns_per_call(_define("class Defined(msgspec.Struct, frozen=True):"), defined),
        ),
    ]
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.typed_parse", description=__doc__)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    print(f"msgspec {msgspec.__version__}")
    for name, ns in run(args.quick):
        print(f"{ns:8.0f} ns  {name}")


if __name__ == "__main__":
    main()
