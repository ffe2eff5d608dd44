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

from typing import TYPE_CHECKING, Any

# Names resolve on first use (PEP 562): the pytest plugin loads this package in every pytest run
# of an environment that has mock-amojo installed, and most of those runs never touch the fake.
_LAZY = {
    "create_app": "app",
    "Clock": "clock",
    "ManualClock": "clock",
    "SequentialIds": "clock",
    "SystemClock": "clock",
    "Config": "config",
    "ConfigError": "errors",
    "RefusedRequests": "errors",
    "ServerErrors": "errors",
    "AmojoClient": "client",
    "Sandbox": "sandbox",
    "SandboxHost": "sandbox",
    "SandboxSettings": "sandbox",
    "ServerThread": "server",
    "load_config": "config",
    "AmojoError": "errors",
    "Backend": "domain",
    "Operator": "operator",
    "Verdict": "signing",
    "canonical_string": "signing",
    "content_md5": "signing",
    "sign_request": "signing",
    "sign_webhook": "signing",
    "verify_request": "signing",
    "verify_webhook": "signing",
    "Delivery": "webhooks",
    "WebhookDispatcher": "webhooks",
    "WebhookFaults": "webhooks",
    "WebhookTimeout": "webhooks",
}

if TYPE_CHECKING:
    from .app import create_app
    from .client import AmojoClient
    from .clock import Clock, ManualClock, SequentialIds, SystemClock
    from .config import Config, load_config
    from .domain import Backend
    from .errors import AmojoError, ConfigError, RefusedRequests, ServerErrors
    from .operator import Operator
    from .sandbox import Sandbox, SandboxHost, SandboxSettings
    from .server import ServerThread
    from .signing import (
        Verdict,
        canonical_string,
        content_md5,
        sign_request,
        sign_webhook,
        verify_request,
        verify_webhook,
    )
    from .webhooks import Delivery, WebhookDispatcher, WebhookFaults, WebhookTimeout


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'mock_amojo' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


__all__ = [
    "AmojoClient",
    "AmojoError",
    "Backend",
    "Clock",
    "Config",
    "ConfigError",
    "Delivery",
    "ManualClock",
    "Operator",
    "RefusedRequests",
    "Sandbox",
    "SandboxHost",
    "SandboxSettings",
    "SequentialIds",
    "ServerErrors",
    "ServerThread",
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
