"""GET /__mock__/openapi.json: a valid OpenAPI 3.1 document built from the routes and schemas/."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
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

from mock_amojo import Config, create_app
from mock_amojo.domain._parties import AMOJO_ID
from mock_amojo.http._api import PREFIX
from mock_amojo.http._control import CONTROL_PREFIX
from mock_amojo.http._lazy_routes import expand_routes
from mock_amojo.http._openapi import bundle_schemas, component_name
from mock_amojo.testing._client import AmojoClient
from mock_amojo.testing._inprocess import SyncASGITransport
from mock_amojo.wire._signing import sign_request
from mock_amojo.wire._validation import STRICT_INTEGER, SchemaSet, schema_dir

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
    for route in expand_routes(app.routes):
        if not isinstance(route, Route) or route.path == "/" or route.path.startswith(CONTROL_PREFIX + "/ui"):
            continue
        path = re.sub(r"\{(\w+):\w+\}", r"{\1}", route.path)  # {id:int} is documented as {id}
        for method in (route.methods or set()) - {"HEAD"}:
            assert method.lower() in document["paths"].get(path, {}), f"{method} {route.path} missing"


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


# -- the document says what the server does (issue #14, item 11) ------------------------------


def _schemas_in(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _schemas_in(value)
    elif isinstance(node, list):
        for value in node:
            yield from _schemas_in(value)


@pytest.fixture
def amojo(app: Starlette) -> Iterator[AmojoClient]:
    config = Config()
    with httpx.Client(transport=SyncASGITransport(app), base_url="http://amojo") as http:
        client = AmojoClient(http, config.channel_id, config.channel_secret)
        assert client.connect(config.account_id).status_code == 200
        yield client


def test_every_integer_the_server_checks_strictly_is_marked_so(document: dict[str, Any], amojo: AmojoClient) -> None:
    """JSON Schema counts 1956.0 as an integer; the server does not, and the document must say so."""
    integers = [node for node in _schemas_in(document["components"]["schemas"]) if node.get("type") in ("integer", ["integer", "null"])]
    assert integers
    unmarked = [node for node in integers if node.get(STRICT_INTEGER) is not True or node.get("format") != "int64"]
    assert unmarked == []
    typing = document["components"]["schemas"]["typing.request"]["properties"]["duration_ms"]
    assert typing[STRICT_INTEGER] is True
    assert amojo.create_chat("c1", {"id": "u1", "name": "U"}).status_code == 200
    refused = amojo.typing("c1", "u1", duration_ms=1956.0)
    assert refused.status_code == 400
    assert refused.json()["detail"]["rule"] == STRICT_INTEGER  # the keyword the document shows is the one that refused
    assert amojo.typing("c1", "u1", duration_ms=1956).status_code == 204


def test_an_integer_beyond_64_bits_is_not_told_to_drop_a_decimal_point(amojo: AmojoClient) -> None:
    # The JSON parser reads 2**64 as a float; the client sent an integer, and the answer must not say otherwise.
    body = b'{"conversation_id": "c1", "sender": {"id": "u1"}, "duration_ms": 18446744073709551616}'
    refused = amojo.request("POST", f"{amojo.scope_id}/typing", raw=body)
    assert refused.status_code == 400
    assert refused.json()["detail"]["pointer"] == "/duration_ms"
    assert "decimal point" not in refused.json()["error_description"]


def test_a_wrong_content_type_is_documented_as_the_400_it_is(document: dict[str, Any], amojo: AmojoClient) -> None:
    path = f"{PREFIX}/{amojo.scope_id}/typing"
    headers = sign_request(Config().channel_secret, "POST", path, b"{}", content_type="text/plain")
    refused = amojo.http.post(path, content=b"{}", headers=headers)
    assert (refused.status_code, refused.json()["error_type"]) == (400, "UNSUPPORTED_MEDIA_TYPE")
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if path.startswith(PREFIX):  # the control plane is the fake's own: its writes answer 415
                assert "415" not in operation["responses"], f"{method.upper()} {path} lists 415; the server answers 400"
    send = document["paths"][PREFIX + "/{scope_id}"]["post"]["responses"]["400"]
    assert "UNSUPPORTED_MEDIA_TYPE" in send["description"]


def test_a_control_body_is_required_exactly_when_an_empty_one_is_refused(app: Starlette, document: dict[str, Any]) -> None:
    """The control plane reads an empty body as {}: the document must not call a body optional that the server needs."""
    checked = 0
    with httpx.Client(transport=SyncASGITransport(app), base_url="http://amojo") as http:
        for path, operations in document["paths"].items():
            for method, operation in operations.items():
                if not path.startswith(CONTROL_PREFIX) or "requestBody" not in operation:
                    continue
                # Path parameters name what exists: an unknown one would be a 404 whatever the body.
                answer = http.request(method.upper(), path.replace("{channel_id}", Config().channel_id))
                required = operation["requestBody"].get("required", False)
                assert (answer.status_code == 400) == required, f"{method.upper()} {path}: required={required}, empty body → {answer.text}"
                checked += 1
    assert checked >= 8


def test_sign_body_is_documented_by_the_schema_the_server_checks(document: dict[str, Any], app: Starlette) -> None:
    sign = document["paths"][CONTROL_PREFIX + "/sign"]["post"]["requestBody"]
    assert sign["required"] is True
    assert sign["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/control_sign.request"}
    assert document["components"]["schemas"]["control_sign.request"]["required"] == ["path"]
    with httpx.Client(transport=SyncASGITransport(app), base_url="http://amojo") as http:
        refused = http.post(CONTROL_PREFIX + "/sign", json={"path": "/v2/origin/custom/x", "channel_id": [Config().channel_id]})
        assert (refused.status_code, refused.json()["detail"]["pointer"]) == (400, "/channel_id")
        assert http.post(CONTROL_PREFIX + "/sign", json={"method": "GET"}).json()["detail"]["pointer"] == "/"


def test_the_account_id_pattern_is_the_one_the_server_enforces(document: dict[str, Any], amojo: AmojoClient) -> None:
    components = document["components"]["schemas"]
    patterns = {
        components["connect.request"]["properties"]["account_id"]["pattern"],
        components["control_account.request"]["properties"]["amojo_id"]["pattern"],
    }
    assert patterns == {f"^{AMOJO_ID.pattern}$"}
    refused = amojo.connect("acc 1/2")
    assert (refused.status_code, refused.json()["detail"]["pointer"]) == (400, "/account_id")
