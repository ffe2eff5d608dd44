"""GET /__mock__/openapi.json: a valid OpenAPI 3.1 document built from the routes and schemas/."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
from openapi_spec_validator import validate
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from starlette.applications import Starlette
from starlette.routing import Route

from mock_amojo import create_app
from mock_amojo.api import PREFIX
from mock_amojo.control import CONTROL_PREFIX
from mock_amojo.inprocess import SyncASGITransport
from mock_amojo.openapi import bundle_schemas, component_name
from mock_amojo.validation import SchemaSet, schema_dir

EXAMPLES = Path(__file__).resolve().parent.parent / "fixtures" / "examples"
DOC_URI = "urn:mock-amojo:openapi"


@pytest.fixture(scope="module")
def app() -> Starlette:
    return create_app()


@pytest.fixture(scope="module")
def document(app: Starlette) -> dict[str, Any]:
    with httpx.Client(transport=SyncASGITransport(app), base_url="http://amojo") as http:
        response = http.get("/__mock__/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    data: dict[str, Any] = response.json()
    return data


def test_document_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    assert document["openapi"] == "3.1.0"
    validate(document)  # raises on any violation, unresolvable $ref included


def test_every_route_is_documented(app: Starlette, document: dict[str, Any]) -> None:
    for route in app.routes:
        if not isinstance(route, Route) or route.path == "/" or route.path.startswith(CONTROL_PREFIX + "/ui"):
            continue
        for method in (route.methods or set()) - {"HEAD"}:
            assert method.lower() in document["paths"].get(route.path, {}), f"{method} {route.path} missing"


def test_amojo_operations_carry_schemas_and_signing(document: dict[str, Any]) -> None:
    send = document["paths"][PREFIX + "/{scope_id}"]["post"]
    assert send["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/message.request"}
    assert send["responses"]["200"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/message.response"}
    assert send["responses"]["403"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/error.response"}
    assert send["security"] == [{"amojoSignature": []}]
    assert {p["name"] for p in send["parameters"]} >= {"scope_id", "Date", "Content-MD5"}
    history = document["paths"][PREFIX + "/{scope_id}/chats/{chat_id}/history"]["get"]
    assert set(history["responses"]) >= {"200", "204"}
    assert "requestBody" not in history
    channels = document["paths"]["/__mock__/channels"]["post"]
    assert channels["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/control_channel.request"}


def test_webhooks_section(document: dict[str, Any]) -> None:
    hooks = document["webhooks"]
    assert set(hooks) == {"message_v1", "message_v2", "typing_v2", "reaction_v2"}
    body = hooks["message_v2"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/webhook_v2_message"}


def test_every_schema_file_is_one_component_and_no_ref_leaves_the_document(document: dict[str, Any]) -> None:
    components = document["components"]["schemas"]
    for path in schema_dir().glob("*.json"):
        if path.name != "definitions.json":
            assert component_name(path.name) in components
    text = json.dumps(document)
    assert ".json#" not in text
    assert '"$id"' not in text


def test_bundled_components_accept_and_reject_what_the_schema_files_do(document: dict[str, Any]) -> None:
    """Bundling rewrote every $ref; the examples prove the meaning did not change."""
    registry: Registry[Any] = Registry().with_resource(DOC_URI, Resource.from_contents(document, default_specification=DRAFT202012))
    names = {p.stem for p in schema_dir().glob("*.json")}

    def validator(example: str) -> jsonschema.Draft202012Validator:
        stem = max((n for n in names if example.startswith(n + ".")), key=len)
        return jsonschema.Draft202012Validator({"$ref": f"{DOC_URI}#/components/schemas/{stem}"}, registry=registry)

    valid = sorted(EXAMPLES.glob("*.json"))
    invalid = sorted((EXAMPLES / "invalid").glob("*.json"))
    assert valid
    assert invalid
    for path in valid:
        errors = list(validator(path.name).iter_errors(json.loads(path.read_text(encoding="utf-8"))))
        assert not errors, f"{path.name}: {errors[0].message}"
    for path in invalid:
        assert list(validator(path.name).iter_errors(json.loads(path.read_text(encoding="utf-8")))), f"{path.name} accepted"


def test_component_names_must_not_collide(tmp_path: Path) -> None:
    for path in schema_dir().glob("*.json"):
        (tmp_path / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    shared = json.loads((tmp_path / "definitions.json").read_text(encoding="utf-8"))
    (tmp_path / "profile.json").write_text(json.dumps({**shared["$defs"]["profile"], "$id": "https://x/profile.json"}), encoding="utf-8")
    with pytest.raises(ValueError, match="share the component name 'profile'"):
        bundle_schemas(SchemaSet(tmp_path))


def test_every_request_schema_is_used_by_an_operation(document: dict[str, Any]) -> None:
    """A control endpoint whose schema the naming convention misses would be documented as 'any object'."""
    operations = json.dumps(document["paths"])
    for path in schema_dir().glob("*.request.json"):
        assert f'"#/components/schemas/{component_name(path.name)}"' in operations, path.name
