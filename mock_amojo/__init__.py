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

from .app import create_app
from .clock import Clock, ManualClock, SequentialIds, SystemClock
from .config import Config, ConfigError, load_config
from .errors import AmojoError
from .models import Backend
from .operator import Operator
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

__all__ = [
    "AmojoError",
    "Backend",
    "Clock",
    "Config",
    "ConfigError",
    "Delivery",
    "ManualClock",
    "Operator",
    "SequentialIds",
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
