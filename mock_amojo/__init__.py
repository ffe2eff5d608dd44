"""mock-amojo: a faithful, fast fake of amoCRM's chat API (amojo) for development and tests.

>>> import httpx
>>> from mock_amojo import Config, create_app, sign_request
>>> config = Config()
>>> path = f"/v2/origin/custom/{config.channel_id}/connect"
>>> body = b'{"account_id":"%s","hook_api_version":"v2"}' % config.account_id.encode()
>>> async def demo() -> int:
...     transport = httpx.ASGITransport(app=create_app(config))
...     async with httpx.AsyncClient(transport=transport, base_url="http://amojo") as client:
...         response = await client.post(path, content=body, headers=sign_request(config.channel_secret, "POST", path, body))
...     return response.status_code
>>> import asyncio; asyncio.run(demo())
200
"""

from __future__ import annotations

__version__ = "0.1.0"

from typing import TYPE_CHECKING

from ._lazy import exports

# Names resolve on first use (PEP 562): the pytest plugin loads this package in every pytest run
# of an environment that has mock-amojo installed, and most of those runs never touch the fake.
_LAZY = {
    "create_app": "http._app",
    "Clock": "domain._clock",
    "ManualClock": "domain._clock",
    "SequentialIds": "domain._clock",
    "SystemClock": "domain._clock",
    "Config": "config",
    "ConfigError": "errors",
    "RefusedRequests": "errors",
    "ServerErrors": "errors",
    "StanceWarnings": "errors",
    "AmojoClient": "testing._client",
    "Sandbox": "testing._sandbox",
    "SandboxHost": "testing._sandbox",
    "SandboxSettings": "testing._sandbox",
    "CrmIntegration": "testing._crm",
    "SandboxCrm": "testing._crm",
    "ServerThread": "serve._server",
    "load_config": "config",
    "AmojoError": "errors",
    "Backend": "domain",
    "Operator": "crm._operator",
    "Verdict": "wire._signing",
    "canonical_string": "wire._signing",
    "content_md5": "wire._signing",
    "sign_request": "wire._signing",
    "sign_webhook": "wire._signing",
    "verify_request": "wire._signing",
    "verify_webhook": "wire._signing",
    "Delivery": "webhooks",
    "WebhookDispatcher": "webhooks",
    "WebhookFaults": "webhooks",
    "WebhookTimeout": "webhooks",
}

if TYPE_CHECKING:
    from .config import Config, load_config
    from .crm._operator import Operator
    from .domain import Backend
    from .domain._clock import Clock, ManualClock, SequentialIds, SystemClock
    from .errors import AmojoError, ConfigError, RefusedRequests, ServerErrors, StanceWarnings
    from .http._app import create_app
    from .serve._server import ServerThread
    from .testing._client import AmojoClient
    from .testing._crm import CrmIntegration, SandboxCrm
    from .testing._sandbox import Sandbox, SandboxHost, SandboxSettings
    from .webhooks import Delivery, WebhookDispatcher, WebhookFaults, WebhookTimeout
    from .wire._signing import (
        Verdict,
        canonical_string,
        content_md5,
        sign_request,
        sign_webhook,
        verify_request,
        verify_webhook,
    )

__getattr__, __dir__ = exports(__name__, _LAZY)

__all__ = [
    "AmojoClient",
    "AmojoError",
    "Backend",
    "Clock",
    "Config",
    "ConfigError",
    "CrmIntegration",
    "Delivery",
    "ManualClock",
    "Operator",
    "RefusedRequests",
    "Sandbox",
    "SandboxCrm",
    "SandboxHost",
    "SandboxSettings",
    "SequentialIds",
    "ServerErrors",
    "ServerThread",
    "StanceWarnings",
    "SystemClock",
    "Verdict",
    "WebhookDispatcher",
    "WebhookFaults",
    "WebhookTimeout",
    "__version__",
    "canonical_string",
    "content_md5",
    "create_app",
    "load_config",
    "sign_request",
    "sign_webhook",
    "verify_request",
    "verify_webhook",
]
