"""The served amojo: the Starlette app, the amojo pipeline, the control plane, the OpenAPI document, the console.

``_app`` assembles the others; ``_api`` routes an amojo request through ``_pipeline`` (size, signature, type,
JSON, schema; ``_exchange`` reads it and sends the answer) to its handler in ``_handlers``, and
``_api_journal`` keeps it in the journal, secrets redacted;
``_control`` is ``/__mock__/…``; ``_console`` the browser console (with its ``templates/`` and ``static/``;
``_console_views`` what its pages show, ``_console_stream`` its event stream); ``_guard`` who may drive a
served fake (Host, Origin, JSON and token checks in front of ``/__mock__/…``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import exports

_LAZY = {
    "create_app": "_app",
    "guarded": "_guard",
    "openapi_document": "_openapi",
}

if TYPE_CHECKING:
    from ._app import create_app
    from ._guard import guarded
    from ._openapi import openapi_document

__getattr__, __dir__ = exports(__name__, _LAZY)

__all__ = [
    "create_app",
    "guarded",
    "openapi_document",
]
