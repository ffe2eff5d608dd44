"""Assertions the contract tests share: documented statuses, JSON errors, schema-valid bodies.

Schemas and fixtures are data (``schemas/``, ``fixtures/``); they are checked here with
python-jsonschema, independently of the compiled validator the fake uses.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import jsonschema
from referencing import Registry, Resource

__all__ = ["ROOT", "example", "examples", "expect_empty", "expect_error", "expect_json", "schema_errors"]

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = ROOT / "schemas"
EXAMPLES = ROOT / "fixtures" / "examples"
VECTORS = ROOT / "fixtures" / "signing-vectors.json"


@cache
def _registry() -> Registry:
    resources = []
    for path in sorted(SCHEMAS.glob("*.json")):
        document = json.loads(path.read_text(encoding="utf-8"))
        resources.append((document["$id"], Resource.from_contents(document)))
    registry: Registry = Registry().with_resources(resources)
    return registry


@cache
def _validator(schema: str) -> jsonschema.Draft202012Validator:
    document = json.loads((SCHEMAS / schema).read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(document, registry=_registry())


def schema_errors(schema: str, instance: Any) -> list[str]:
    """Every violation of ``schemas/<schema>`` as ``pointer: message`` (empty = valid)."""
    return [f"/{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in _validator(schema).iter_errors(instance)]


def example(name: str) -> Any:
    """A body from fixtures/examples (``invalid/...`` for the must-reject ones)."""
    return json.loads((EXAMPLES / name).read_text(encoding="utf-8"))


def examples(pattern: str) -> list[str]:
    """File names under fixtures/examples matching a glob, relative to it (sorted)."""
    return sorted(str(p.relative_to(EXAMPLES)) for p in EXAMPLES.glob(pattern))


def vectors() -> list[dict[str, str]]:
    loaded: list[dict[str, str]] = json.loads(VECTORS.read_text(encoding="utf-8"))
    return loaded


def _describe(response: httpx.Response) -> str:
    return f"{response.request.method} {response.request.url.path} -> {response.status_code} {response.text[:600]}"


def expect_json(response: httpx.Response, status: int = 200, schema: str | None = None) -> Any:
    """A JSON success body (``application/json``, §1), valid against ``schema`` when given."""
    assert response.status_code == status, _describe(response)
    assert response.headers.get("content-type", "").startswith("application/json"), _describe(response)
    body = response.json()
    if schema is not None:
        problems = schema_errors(schema, body)
        assert not problems, f"{schema}: {problems} in {body}"
    return body


def expect_empty(response: httpx.Response, status: int) -> None:
    """A documented no-body answer (disconnect/delivery_status/react 200, typing/history 204)."""
    assert response.status_code == status, _describe(response)
    assert response.content == b"", _describe(response)


def expect_error(response: httpx.Response, status: int, error_type: str | None = None, *, fake: bool = True) -> dict[str, Any]:
    """A refusal with ``status`` and a JSON body (§3: every error is application/json).

    On the fake, the body must also be the documented error shape and, when given,
    carry ``error_type`` — real amojo's error body is undocumented, so live only checks
    the status and that the body is JSON.
    """
    assert response.status_code == status, _describe(response)
    if not fake:
        if response.content:
            response.json()
        return {}
    body: dict[str, Any] = expect_json(response, status, schema="error.response.json")
    assert body["error_code"] == status, _describe(response)
    if error_type is not None:
        assert body["error_type"] == error_type, _describe(response)
    return body
