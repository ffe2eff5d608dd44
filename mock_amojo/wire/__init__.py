"""amojo's wire format, pure (no I/O, no state): signing, the endpoint table, limits, schemas, JSON rendering.

The place to look up an amojo rule: routes in ``_endpoints``, request/answer schemas in ``_validation``
(the files in ``schemas/``), value limits in ``_limits``, the signature in ``_signing``, the JSON
shapes of state in ``_views``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import exports

_LAZY = {
    "ENDPOINTS": "_endpoints",
    "PREFIX": "_endpoints",
    "EndpointSpec": "_endpoints",
    "LIMITS": "_limits",
    "SchemaSet": "_validation",
    "load_schemas": "_validation",
    "Verdict": "_signing",
    "canonical_string": "_signing",
    "content_md5": "_signing",
    "format_date": "_signing",
    "sign_request": "_signing",
    "sign_webhook": "_signing",
    "verify_request": "_signing",
    "verify_webhook": "_signing",
}

if TYPE_CHECKING:
    from ._endpoints import ENDPOINTS, PREFIX, EndpointSpec
    from ._limits import LIMITS
    from ._signing import (
        Verdict,
        canonical_string,
        content_md5,
        format_date,
        sign_request,
        sign_webhook,
        verify_request,
        verify_webhook,
    )
    from ._validation import SchemaSet, load_schemas

__getattr__, __dir__ = exports(__name__, _LAZY)

__all__ = [
    "ENDPOINTS",
    "LIMITS",
    "PREFIX",
    "EndpointSpec",
    "SchemaSet",
    "Verdict",
    "canonical_string",
    "content_md5",
    "format_date",
    "load_schemas",
    "sign_request",
    "sign_webhook",
    "verify_request",
    "verify_webhook",
]
