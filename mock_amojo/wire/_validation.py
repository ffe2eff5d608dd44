"""JSON Schema checks for every body, compiled once from ``schemas/``.

Schemas are data (``schemas/*.json``, draft 2020-12); this module only loads them into
compiled ``jsonschema_rs`` validators (a few microseconds a check) and turns the first
failure into a :class:`~mock_amojo.errors.SchemaViolation` that names the JSON pointer,
the rule and the value.

>>> schemas = load_schemas()
>>> schemas.validate("typing.request.json", {"conversation_id": "c1", "sender": {"id": "u1"}})
>>> try:
...     schemas.validate("typing.request.json", {"conversation_id": 5, "sender": {"id": "u1"}})
... except SchemaViolation as err:
...     print(err.detail["pointer"], err.detail["rule"])
/conversation_id type
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import SchemaViolation
from ._limits import LONE_SURROGATE, MAX_DEPTH, advice, lone_surrogate, printable, too_deep

__all__ = ["STRICT_INTEGER", "SchemaSet", "load_schemas", "lone_surrogate_in_json", "schema_dir"]

#: The keyword that marks amojo's strict integers. JSON Schema counts ``1956.0`` as an integer; amojo
#: does not. A vendor extension (``x-``), so the OpenAPI document can carry it as the server checks it.
STRICT_INTEGER = "x-strict-integer"

_MAX_REPORTED_ERRORS = 10
#: A JSON number with a fraction or exponent has a digit right before its "." or "e"/"E": with
#: every digit mapped to "0", three substring searches find one (a regex scan costs 10× more).
_DIGITS_TO_ZERO = bytes.maketrans(b"123456789", b"000000000")


#: The JSON parser reads an integer literal outside 64 bits (below -2**63: 19 digits) as a float.
_LONG_NUMBER = b"0" * 19


def _may_hold_float(raw: bytes) -> bool:
    """False when ``raw`` has no number with a fraction or exponent (a digit then ".", "e" or "E") and no 19-digit run.

    >>> _may_hold_float(b'{"timestamp": 1639610000}'), _may_hold_float(b'{"lat": 55.75}'), _may_hold_float(b'[1E3]')
    (False, True, True)
    >>> _may_hold_float(b'[18446744073709551616]'), _may_hold_float(b'[-9223372036854775809]')
    (True, True)
    """
    zeroed = raw.translate(_DIGITS_TO_ZERO)
    return b"0." in zeroed or b"0e" in zeroed or b"0E" in zeroed or _LONG_NUMBER in zeroed


_MAX_VALUE_CHARS = 200


def schema_dir() -> Path:
    """Where the schema files are: inside the installed wheel, or the source checkout."""
    packaged = Path(__file__).parent / "_schemas"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "schemas"


def _pointer(path: Any) -> str:
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in path)


def _at(document: Any, path: list[str | int]) -> Any:
    for part in path:
        document = document[part]
    return document


def _small(value: Any) -> Any:
    """The value as reported back: scalars as they are, big structures elided."""
    if isinstance(value, (dict, list)):
        text = json.dumps(value, ensure_ascii=False)
        return value if len(text) <= _MAX_VALUE_CHARS else f"<{type(value).__name__} of {len(value)} items>"
    if isinstance(value, str) and len(value) > _MAX_VALUE_CHARS:
        return value[:_MAX_VALUE_CHARS] + "…"
    return value


class _StrictInteger:
    """amojo's "strict typing": JSON Schema counts ``1.0`` as an integer, amojo does not."""

    def __init__(self, parent_schema: dict[str, Any], value: Any, schema_path: list[str | int]) -> None:
        pass

    def validate(self, instance: Any) -> None:
        if isinstance(instance, float):
            if instance.is_integer() and abs(instance) >= 2**63:
                # The JSON parser reads an integer literal beyond 64 bits as a float: this client may
                # well have sent an integer, so "no decimal point" would send them looking for one.
                raise ValueError(f"{instance!r} is not a 64-bit integer: amojo's integers are 64-bit JSON integers")
            raise ValueError(f"{instance!r} is not an integer: amojo's types are strict, send a JSON integer (no decimal point)")


def _strict_integers(node: Any) -> Any:
    """A copy of a schema where every integer-only ``type`` also carries :data:`STRICT_INTEGER` and ``format: int64``.

    The format says what the JSON parser can read as an integer at all (an annotation: bounds, where a
    field has them, are ``minimum`` / ``maximum``).
    """
    if isinstance(node, list):
        return [_strict_integers(item) for item in node]
    if not isinstance(node, dict):
        return node
    copy = {key: _strict_integers(value) for key, value in node.items()}
    kind = node.get("type")
    kinds = kind if isinstance(kind, list) else [kind]
    if "integer" in kinds and "number" not in kinds:
        copy[STRICT_INTEGER] = True
        copy.setdefault("format", "int64")
    return copy


class _Compiled(dict[str, Any]):
    """Validators by schema name, each compiled on first use: a start compiles none, a fake uses a few."""

    def __init__(self, compile_: Callable[[str], Any]) -> None:
        super().__init__()
        self._compile = compile_

    def __missing__(self, name: str) -> Any:
        validator = self[name] = self._compile(name)
        return validator


class SchemaSet:
    """Every schema in a folder, cross-references resolved, each compiled once (when first used)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._validators = _Compiled(self._compile_strict)
        # The same schemas without the strict-integer keyword (a Python callback per integer, ~3× the cost):
        # they give the same verdict on any body that has no float literal in it.
        self._without_floats = _Compiled(self._compile_plain)
        self._lock = threading.Lock()
        self._registries: dict[bool, Any] = {}

    # Read with the first check, like the validators: a start that checks nothing reads no schema.
    @functools.cached_property
    def documents(self) -> dict[str, dict[str, Any]]:
        """Every schema document of the folder, by file name, as written."""
        return {path.name: json.loads(path.read_text(encoding="utf-8")) for path in sorted(self.folder.glob("*.json"))}

    @functools.cached_property
    def checked(self) -> dict[str, dict[str, Any]]:
        """The documents as the server checks them (and the OpenAPI document shows them): integers marked strict."""
        return {name: _strict_integers(doc) for name, doc in self.documents.items()}

    def _registry(self, strict: bool) -> Any:
        import jsonschema_rs  # with the first check: a start that checks nothing does not load it

        with self._lock:
            found = self._registries.get(strict)
            if found is None:
                documents = self.checked if strict else self.documents
                found = self._registries[strict] = jsonschema_rs.Registry([(doc["$id"], doc) for doc in documents.values() if "$id" in doc])
            return found

    def _compile_strict(self, name: str) -> Any:
        import jsonschema_rs

        return jsonschema_rs.validator_for(self.checked[name], registry=self._registry(True), keywords={STRICT_INTEGER: _StrictInteger})

    def _compile_plain(self, name: str) -> Any:
        import jsonschema_rs

        return jsonschema_rs.validator_for(self.documents[name], registry=self._registry(False))

    def names(self) -> list[str]:
        return sorted(self.documents)

    def is_valid(self, name: str, instance: Any) -> bool:
        """The verdict of :meth:`validate` (for a value from Python: ``raw=None``), without the error."""
        return too_deep(instance) is None and lone_surrogate(instance) is None and bool(self._validators[name].is_valid(instance))

    def errors(self, name: str, instance: Any) -> list[dict[str, Any]]:
        """All violations as ``{pointer, rule, message, value}`` (at most ten)."""
        import jsonschema_rs  # loaded already: the schema was compiled to give the verdict

        found: list[dict[str, Any]] = []
        try:
            for error in self._validators[name].iter_errors(instance):
                schema_path = list(error.schema_path)
                message = error.message
                if isinstance(error.kind, jsonschema_rs.ValidationErrorKind.Maximum):
                    # A limit of the fake's (mock_amojo.wire._limits) says what the value above it most likely is.
                    likely = advice(error.kind.limit, error.instance)
                    message = f"{message}; {likely}" if likely else message
                found.append(
                    {
                        "pointer": _pointer(error.instance_path) or "/",
                        "rule": str(schema_path[-1]) if schema_path else "schema",
                        "message": message,
                        "value": _small(error.instance),
                    }
                )
                if len(found) >= _MAX_REPORTED_ERRORS:
                    break
        except ValueError:
            # jsonschema_rs gives up on very deep documents ("Recursion limit reached") when it
            # collects errors; no amojo body nests that deep, so that is the error to report.
            found.append(
                {
                    "pointer": "/",
                    "rule": "depth",
                    "message": "the document nests too deeply to be checked; amojo bodies are a few levels deep",
                    "value": f"<{type(instance).__name__}>",
                }
            )
        return found

    def validate(self, name: str, instance: Any, *, raw: bytes | None = None) -> None:
        """Raise :class:`SchemaViolation` for the first violation; the fast path is one compiled check.

        ``raw``, the bytes ``instance`` was parsed from, lets a body without any float literal skip
        the strict-integer callbacks (no float, nothing for them to refuse).
        """
        deep = too_deep(instance, raw)
        if deep is not None:
            # JSON Schema has no depth keyword; nesting this deep would break the reads of what is stored.
            error = {
                "pointer": _pointer(deep),
                "rule": "maxDepth",
                "message": f"nests deeper than {MAX_DEPTH} levels, mock-amojo's limit (deeper values cannot be stored and read back safely)",
                "value": f"<{type(_at(instance, deep)).__name__} at level {MAX_DEPTH + 1}>",
            }
            raise SchemaViolation(name, error["pointer"], error["rule"], error["message"], error["value"], errors=[error])
        if raw is None:
            # Parsed JSON never holds a lone surrogate; a value from Python may (the checks below would
            # choke on it, or pass it on to a store and answers that cannot encode it).
            _refuse_lone_surrogate(name, instance)
        fast = raw is not None and not _may_hold_float(raw)
        if (self._without_floats if fast else self._validators)[name].is_valid(instance):
            return
        errors = self.errors(name, instance)
        # The deepest pointer is usually the most precise complaint (a field rather than "anyOf").
        first = max(errors, key=lambda e: e["pointer"].count("/") + (0 if e["rule"] in ("anyOf", "oneOf", "if", "then", "allOf") else 1))
        raise SchemaViolation(name, first["pointer"], first["rule"], first["message"], first["value"], errors=errors)


def lone_surrogate_in_json(raw: bytes) -> str | None:
    """The JSON pointer (printable) of the first string in ``raw`` holding a lone surrogate, if that is why it is not JSON.

    For the error path only: it parses ``raw`` again with a parser that lets surrogates through.

    >>> lone_surrogate_in_json(b'{"payload": {"text": "a\\\\ud800"}}'), lone_surrogate_in_json(b'{"a": 1')
    ('/payload/text', None)
    """
    try:
        document = json.loads(raw.decode("utf-8", "surrogatepass"))
    except (ValueError, RecursionError):
        return None
    path = lone_surrogate(document)
    return None if path is None else printable(_pointer(path)) or "/"


def _refuse_lone_surrogate(name: str, instance: Any) -> None:
    path = lone_surrogate(instance)
    if path is None:
        return
    last = path[-1] if path else None
    # The offending string: the last key itself when it is the one holding the surrogate.
    found = last if isinstance(last, str) and lone_surrogate(last) is not None else _at(instance, path)
    error = {
        "pointer": printable(_pointer(path)) or "/",
        "rule": "unicode",
        "message": LONE_SURROGATE,
        "value": _small(printable(str(found))),
    }
    raise SchemaViolation(name, error["pointer"], error["rule"], error["message"], error["value"], errors=[error])


@functools.cache
def load_schemas(folder: str | None = None) -> SchemaSet:
    """The schema set, loaded and compiled once per process (apps share it)."""
    return SchemaSet(Path(folder) if folder else schema_dir())
