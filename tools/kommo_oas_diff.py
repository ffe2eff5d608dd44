"""List where Kommo's Chats OpenAPI document and mock-amojo's request schemas disagree, field by field.

Usage: ``python tools/kommo_oas_diff.py PATH/TO/kommo-openapi.json`` (the document is Kommo's; it is not
part of this repository — a copy is in the public repository hr-esmaeili/amocrm-chat-api-nodejs,
``.api/apis/kommo/openapi.json``). Prints one line per disagreement: a field only one side has, a field
one side requires and the other does not, a type or enum that differs. docs/fidelity.md lists the
disagreements with the decision taken for each; this script is how that list was made.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = ROOT / "schemas"

#: Kommo's path and method -> our request schema.
OPERATIONS = {
    ("/{channel_id}/connect", "post"): "connect.request.json",
    ("/{channel_id}/disconnect", "delete"): "disconnect.request.json",
    ("/{scope_id}/chats", "post"): "create_chat.request.json",
    ("/{scope_id}", "post"): "message.request.json",
    ("/{scope_id}/{msgid}/delivery_status", "post"): "delivery_status.request.json",
    ("/{scope_id}/typing", "post"): "typing.request.json",
    ("/{scope_id}/react", "post"): "react.request.json",
}

Field = dict[str, Any]


def _resolve(node: Any, document: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """``node`` with its ``$ref`` followed (siblings kept), and the document the result lives in."""
    while isinstance(node, dict) and "$ref" in node:
        target, _, pointer = node["$ref"].partition("#")
        if target:
            document = json.loads((SCHEMAS / target).read_text(encoding="utf-8"))
        base: Any = document
        for part in pointer.strip("/").split("/"):
            base = base[part]
        node = {**base, **{k: v for k, v in node.items() if k != "$ref"}}
    return node, document


def _types(node: dict[str, Any]) -> set[str]:
    kind = node.get("type")
    kinds = set(kind) if isinstance(kind, list) else ({kind} if kind else set())
    return kinds - {"null"}


def flatten(
    node: Any, document: dict[str, Any], prefix: str = "", out: dict[str, Field] | None = None, required: bool = True
) -> dict[str, Field]:
    """Every property path -> its types, enum and whether the top level of its object requires it."""
    out = {} if out is None else out
    node, document = _resolve(node, document)
    if not isinstance(node, dict):
        return out
    needed = set(node.get("required", [])) if required else set()
    for key in ("allOf", "anyOf", "oneOf"):
        for part in node.get(key, []):
            flatten(part, document, prefix, out, required=required and key == "allOf")
    for key in ("then", "else"):
        if key in node:
            flatten(node[key], document, prefix, out, required=False)
    for name, child in (node.get("properties") or {}).items():
        child, where = _resolve(child, document)
        path = f"{prefix}/{name}"
        field = out.setdefault(path, {"types": set(), "enum": None, "required": False})
        if isinstance(child, dict):
            field["types"] |= _types(child)
            if child.get("enum") is not None:
                field["enum"] = [e for e in child["enum"] if e is not None]
        field["required"] = field["required"] or name in needed
        flatten(child, where, path, out, required=True)
        if isinstance(child, dict) and "items" in child:
            flatten(child["items"], where, f"{path}/[]", out)
    return out


def kommo_request(operation: dict[str, Any]) -> Any:
    content = operation.get("requestBody", {}).get("content", {})
    schema = (content.get("application/json") or next(iter(content.values()), {})).get("schema", {})
    # Kommo's readme export wraps some bodies in a RAW_BODY property.
    return schema.get("properties", {}).get("RAW_BODY", schema)


def diff(kommo: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    for (path, method), ours_name in OPERATIONS.items():
        operation = kommo["paths"].get(path, {}).get(method)
        if operation is None:
            lines.append(f"{method.upper()} {path}: not in Kommo's document")
            continue
        theirs = flatten(kommo_request(operation), kommo)
        ours_doc = json.loads((SCHEMAS / ours_name).read_text(encoding="utf-8"))
        ours = flatten(ours_doc, ours_doc)
        where = f"{method.upper()} {path} ({ours_name})"
        for field in sorted(set(theirs) | set(ours)):
            t, o = theirs.get(field), ours.get(field)
            if t is None:
                lines.append(f"{where} {field}: only in mock-amojo")
            elif o is None:
                lines.append(f"{where} {field}: only in Kommo ({'required' if t['required'] else 'optional'})")
            else:
                if t["required"] != o["required"]:
                    lines.append(
                        f"{where} {field}: Kommo {'requires' if t['required'] else 'does not require'} it, mock-amojo "
                        f"{'requires' if o['required'] else 'does not'}"
                    )
                if t["types"] and o["types"] and not (t["types"] <= o["types"] or (t["types"] == {"number"} and "integer" in o["types"])):
                    lines.append(f"{where} {field}: type {sorted(t['types'])} in Kommo, {sorted(o['types'])} in mock-amojo")
                if t["enum"] is not None and o["enum"] is not None and [str(e) for e in t["enum"]] != [str(e) for e in o["enum"]]:
                    lines.append(f"{where} {field}: enum {t['enum']} in Kommo, {o['enum']} in mock-amojo")
    return lines


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    print("\n".join(diff(json.loads(Path(argv[0]).read_text(encoding="utf-8")))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
