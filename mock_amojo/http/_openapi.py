"""The OpenAPI 3.1 document of amojo's API, the webhooks it sends and the control plane.

Built, not written: operations come from the app's routes and the amojo endpoint table
(:func:`mock_amojo.http._api.api_endpoints`), bodies from ``schemas/`` — each schema file
becomes a component and the shared ``definitions.json`` ``$defs`` become components of
their own, with every ``$ref`` rewritten to point inside the document.

>>> from mock_amojo import create_app
>>> document = openapi_document(create_app())
>>> document["openapi"], sorted(document["webhooks"])[:2]
('3.1.0', ['message_v1', 'message_v2'])
>>> document["components"]["schemas"]["profile"]["type"]
['object', 'null']
"""

from __future__ import annotations

import re
from typing import Any

from starlette.applications import Starlette
from starlette.routing import Route

from .. import __version__
from ..wire._endpoints import OAUTH_PREFIX, REST_PREFIX
from ..wire._validation import STRICT_INTEGER, SchemaSet
from ._api import PREFIX, api_endpoints
from ._control import CONTROL_PREFIX
from ._lazy_routes import expand_routes

__all__ = ["bundle_schemas", "component_name", "openapi_document"]

_DIALECT = "https://json-schema.org/draft/2020-12/schema"
_SHARED = "definitions.json"
_REF = "#/components/schemas/"
_CONVERTER = re.compile(r"\{(\w+):\w+\}")

#: Control-plane POSTs that take no body. The others' schema is found by name: ``/__mock__/operator/reply`` →
#: ``operator_reply.request.json``, ``/__mock__/channels`` → ``control_channel.request.json`` (its PATCH:
#: ``control_channel_update.request.json``); without one, any object.
CONTROL_BODILESS = frozenset({CONTROL_PREFIX + "/reset"})

#: The webhooks amojo POSTs to a channel's hook URL, and the schema of each body.
WEBHOOKS = {
    "message_v2": ("webhook_v2_message.json", "A manager's message (or a CRM-initiated first message) in the v2 format."),
    "message_v1": ("webhook_v1_message.json", "A manager's message in the deprecated flat v1 format (connect's default)."),
    "typing_v2": ("webhook_v2_typing.json", "A manager is typing (needs a subscription; at most once per 5 s)."),
    "reaction_v2": ("webhook_v2_reaction.json", "A manager reacted to a message, or took the reaction back."),
}

_SIGNING = (
    "Every amojo request is signed: `X-Signature` = lowercase hex HMAC-SHA1 (key: channel secret) of "
    "`METHOD\\nContent-MD5\\nContent-Type\\nDate\\npath` — path without scheme, host or query. `Content-MD5` is the "
    "hex MD5 of the exact body bytes (of the empty string for a bodiless GET); `Date` is RFC 2822 and valid 15 minutes. "
    "A refusal (403) names the failed check and shows the canonical string the fake signed."
)
_INTEGERS = (
    "Integers are strict, as amojo's types are: `1956.0` is refused where an integer is due, though JSON Schema "
    f"counts it as one. Every such schema carries `{STRICT_INTEGER}: true` and `format: int64`: send a JSON integer "
    "(no decimal point) that fits 64 bits."
)
# amojo's reference (§6) answers a wrong Content-Type with 400, so the fake does too: no 415 here.
_ERROR_ANSWERS = {
    "400": "Invalid JSON, a Content-Type other than application/json (UNSUPPORTED_MEDIA_TYPE), a schema violation "
    "(the body names the JSON pointer and rule) or a state conflict (e.g. duplicate msgid).",
    "403": "Signature, Content-MD5 or Date rejected; the body shows the canonical string the fake signed.",
    "404": "Unknown channel, scope, chat or message.",
    "413": "Body larger than the configured limit.",
}


#: What the served fake's guard answers on the control plane (mock_amojo.http._guard); in process nothing is checked.
_GUARD_ANSWERS = {
    "401": "The fake runs with --control-token and the request carries no `Authorization: Bearer` token, or a wrong one.",
    "403": "HOST_NOT_ALLOWED: a Host outside localhost, IP addresses, the bound host and --allowed-hosts; "
    "CROSS_ORIGIN_REFUSED: a write from a web page of another origin.",
    "415": "A body sent without `Content-Type: application/json` (forms, text/plain).",
}


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": _REF + "error.response"}}}}


def component_name(file: str) -> str:
    """``connect.request.json`` → ``connect.request`` (a valid OpenAPI component key)."""
    return file.removesuffix(".json")


def _rewrite(node: Any, file: str, shared_defs: set[str]) -> Any:
    """A copy of ``node`` with ``$ref`` s pointing into ``#/components/schemas`` and no ``$id`` / ``$schema``."""
    if isinstance(node, list):
        return [_rewrite(item, file, shared_defs) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("$id", "$schema"):
            continue
        if key == "$ref" and isinstance(value, str):
            out[key] = _target(value, file, shared_defs)
        else:
            out[key] = _rewrite(value, file, shared_defs)
    return out


def _target(ref: str, file: str, shared_defs: set[str]) -> str:
    target_file, _, pointer = ref.partition("#")
    target_file = target_file.rsplit("/", 1)[-1] or file
    if target_file == _SHARED and pointer.startswith("/$defs/"):
        name = pointer.removeprefix("/$defs/").split("/", 1)[0]
        if name in shared_defs:
            return _REF + pointer.removeprefix("/$defs/")
    return _REF + component_name(target_file) + pointer


def bundle_schemas(schemas: SchemaSet) -> dict[str, Any]:
    """Every schema as an OpenAPI component, as the server checks it, ``$ref`` s resolved inside the bundle."""
    shared: dict[str, Any] = schemas.checked.get(_SHARED, {}).get("$defs", {})
    names = set(shared)
    components: dict[str, Any] = {name: _rewrite(schema, _SHARED, names) for name, schema in shared.items()}
    for file, document in schemas.checked.items():
        if file == _SHARED:
            continue
        name = component_name(file)
        if name in components:
            raise ValueError(f"schema {file} and definitions.json#/$defs/{name} would share the component name {name!r}")
        components[name] = _rewrite(document, file, names)
    return components


def _body(schema: str | None, description: str = "") -> dict[str, Any]:
    content = {"application/json": {"schema": {"$ref": _REF + component_name(schema)}}} if schema else None
    out: dict[str, Any] = {"description": description or "JSON body"}
    if content:
        out["content"] = content
    return out


def _path_parameters(path: str) -> list[dict[str, Any]]:
    return [{"name": name, "in": "path", "required": True, "schema": {"type": "string"}} for name in re.findall(r"\{(\w+)\}", path)]


def _summary(doc: str | None, fallback: str) -> tuple[str, str]:
    text = " ".join((doc or "").split())
    if not text:
        return fallback.replace("_", " ").capitalize(), ""
    first = text.split(". ", 1)[0].rstrip(".")
    return first, text


def _amojo_paths(app: Starlette) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    state = app.state
    for endpoint in api_endpoints(state.backend):
        summary, description = _summary(endpoint.action.__doc__, endpoint.name)
        responses: dict[str, Any] = {}
        for status, schema in endpoint.answers:
            responses[str(status)] = _body(schema, "Success" if schema else "Success, no body")
        for code, text in _ERROR_ANSWERS.items():
            responses[code] = {"description": text, "content": {"application/json": {"schema": {"$ref": _REF + "error.response"}}}}
        operation: dict[str, Any] = {
            "operationId": endpoint.name,
            "tags": ["amojo"],
            "summary": summary,
            "description": description,
            "parameters": _path_parameters(endpoint.path) + _signed_headers(),
            "security": [{"amojoSignature": []}],
            "responses": responses,
        }
        if endpoint.name == "history":
            operation["parameters"] += [
                {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0, "default": 0}},
                {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 50, "default": 50}},
            ]
        if endpoint.schema is not None:
            operation["requestBody"] = {**_body(endpoint.schema, "Signed JSON body (the exact bytes are hashed)"), "required": True}
        paths.setdefault(PREFIX + endpoint.path, {})[endpoint.method.lower()] = operation
    return paths


def _signed_headers() -> list[dict[str, Any]]:
    return [
        {"name": "Date", "in": "header", "required": True, "schema": {"type": "string"}, "example": "Thu, 16 Dec 2021 13:15:29 +0000"},
        {"name": "Content-MD5", "in": "header", "required": True, "schema": {"type": "string", "pattern": "^[0-9a-fA-F]{32}$"}},
    ]


def _control_schema(path: str, method: str, schemas: SchemaSet) -> str | None:
    """The request schema a control path's handler validates against, by the naming convention of ``schemas/``.

    A PATCH takes ``<name>_update.request.json``: ``PATCH /__mock__/channels/{channel_id}`` → ``control_channel_update``.
    """
    joined = "_".join(part for part in path.removeprefix(CONTROL_PREFIX).split("/") if part and not part.startswith("{"))
    candidates: tuple[str, ...] = (joined, f"control_{joined}", f"control_{joined.removesuffix('s')}")
    if method == "PATCH":
        candidates = tuple(f"{candidate}_update" for candidate in candidates)
    for candidate in candidates:
        if f"{candidate}.request.json" in schemas.documents:
            return f"{candidate}.request.json"
    return None


def _control_paths(app: Starlette) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for route in expand_routes(app.routes):
        if not isinstance(route, Route) or not route.path.startswith(CONTROL_PREFIX + "/"):
            continue
        if route.path.startswith(CONTROL_PREFIX + "/ui"):
            continue  # the console's HTML pages are for browsers, not an API
        path = _CONVERTER.sub(r"{\1}", route.path)
        handler = getattr(route.endpoint, "__wrapped__", route.endpoint)
        name = getattr(handler, "__name__", "control")
        summary, description = _summary(handler.__doc__, name)
        for method in sorted((route.methods or set()) - {"HEAD"}):
            operation: dict[str, Any] = {
                "operationId": "mock_" + re.sub(r"\W+", "_", path.removeprefix(CONTROL_PREFIX)).strip("_") + "_" + method.lower(),
                "tags": ["control plane"],
                "summary": summary,
                "description": description,
                "parameters": _path_parameters(path),
                "security": [{}, {"controlToken": []}],
                "responses": {
                    "2XX": {"description": "Success", "content": {"application/json": {"schema": {}}}},
                    **{code: _error(text) for code, text in _GUARD_ANSWERS.items() if code != "415" or method not in ("GET", "HEAD")},
                    "4XX": _error("Refused"),
                },
            }
            if method in ("POST", "PUT", "PATCH") and path not in CONTROL_BODILESS:
                schema = _control_schema(path, method, app.state.schemas)
                operation["requestBody"] = (
                    _body(schema, "JSON body") if schema else {"content": {"application/json": {"schema": {"type": "object"}}}}
                )
                # The control plane reads an empty body as {}: the body is optional exactly when {} is valid.
                if schema is not None and not app.state.schemas.is_valid(schema, {}):
                    operation["requestBody"]["required"] = True
            paths.setdefault(path, {})[method.lower()] = operation
    return paths


_PROBLEM = {"application/problem+json": {"schema": {"type": "object", "required": ["title", "type", "status", "detail"]}}}
_REST_ANSWERS = {
    "400": {"description": "Refused: amoCRM's validation-errors naming each field (request_id, code, path, detail)", "content": _PROBLEM},
    "401": {"description": "No bearer token, or one unknown, expired, revoked or of another account", "content": _PROBLEM},
    "404": {"description": "No such entity in the account", "content": _PROBLEM},
    "429": {"description": "More than 7 requests per second from this integration", "content": _PROBLEM},
}


def _rest_paths(app: Starlette) -> dict[str, Any]:
    """amoCRM's REST API v4 and its OAuth endpoint: bearer tokens, HAL answers, problem+json refusals."""
    paths: dict[str, Any] = {}
    for route in expand_routes(app.routes):
        if not isinstance(route, Route) or not route.path.startswith((REST_PREFIX + "/", OAUTH_PREFIX)):
            continue
        path = _CONVERTER.sub(r"{\1}", route.path)
        handler = getattr(route.endpoint, "__wrapped__", route.endpoint)
        summary, description = _summary(handler.__doc__, getattr(handler, "__name__", "rest"))
        oauth = path.startswith(OAUTH_PREFIX)
        for method in sorted((route.methods or set()) - {"HEAD"}):
            ok = {"description": "Success", "content": {"application/hal+json" if not oauth else "application/json": {"schema": {}}}}
            operation: dict[str, Any] = {
                "operationId": "crm_" + re.sub(r"\W+", "_", path).strip("_") + "_" + method.lower(),
                "tags": ["amoCRM REST"],
                "summary": summary,
                "description": description,
                "parameters": _path_parameters(path),
                "responses": {"2XX": ok, "204": {"description": "An empty list"}, **_REST_ANSWERS},
            }
            if not oauth:
                operation["security"] = [{"amocrmBearer": []}]
            if method in ("POST", "PATCH", "DELETE") and "/unsorted/" not in path and "/talks/" not in path:
                operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": {}}}}
            paths.setdefault(path, {})[method.lower()] = operation
    return paths


def _webhooks() -> dict[str, Any]:
    hooks: dict[str, Any] = {}
    for name, (schema, summary) in WEBHOOKS.items():
        hooks[name] = {
            "post": {
                "operationId": f"webhook_{name}",
                "summary": summary,
                "description": "POSTed to the channel's hook URL, signed: `X-Signature` = hex HMAC-SHA1(channel secret, raw body). "
                "Only an HTTP 200 within 5 s counts; amojo does not retry.",
                "parameters": [{"name": "X-Signature", "in": "header", "required": True, "schema": {"type": "string"}}],
                "requestBody": {**_body(schema, "Compact UTF-8 JSON"), "required": True},
                "responses": {"200": {"description": "Accepted by the integration"}},
            }
        }
    return hooks


def openapi_document(app: Starlette) -> dict[str, Any]:
    """The OpenAPI 3.1 document for ``app`` (its routes, its schema set)."""
    return {
        "openapi": "3.1.0",
        "jsonSchemaDialect": _DIALECT,
        "info": {
            "title": "mock-amojo: amoCRM chat API (amojo) and the fake's control plane",
            "version": __version__,
            "description": "amojo's custom chat channel API as mock-amojo implements it (`/v2/origin/custom`), the webhooks it "
            "sends, and the fake's own unsigned control plane (`/__mock__`). " + _SIGNING + " " + _INTEGERS,
        },
        "servers": [{"url": "/", "description": "this fake"}, {"url": "https://amojo.amocrm.com", "description": "real amojo"}],
        "tags": [
            {"name": "amojo", "description": "amoCRM's chat API, signed."},
            {"name": "amoCRM REST", "description": "amoCRM's REST API v4 on {subdomain}.amocrm.ru: OAuth 2.0 bearer tokens."},
            {"name": "control plane", "description": "The fake's own endpoints: never signed, never part of amojo."},
        ],
        "paths": {**_amojo_paths(app), **_rest_paths(app), **_control_paths(app)},
        "webhooks": _webhooks(),
        "components": {
            "schemas": bundle_schemas(app.state.schemas),
            "securitySchemes": {
                "amojoSignature": {"type": "apiKey", "in": "header", "name": "X-Signature", "description": _SIGNING},
                "amocrmBearer": {"type": "http", "scheme": "bearer", "description": "An access token from POST /oauth2/access_token."},
                "controlToken": {"type": "http", "scheme": "bearer", "description": "Only when the fake runs with --control-token."},
            },
        },
    }
