"""The CRM manager's side in contract tests: channels whose webhooks land in the suite's receiver."""

from __future__ import annotations

from dataclasses import dataclass

from .receiver import Hook, Receiver
from .targets import Target
from .wire import Wire, new_id

__all__ = ["Hooked", "hooked_channel"]


@dataclass
class Hooked:
    """A connected channel whose webhooks land in the suite's receiver under ``prefix``."""

    wire: Wire
    target: Target
    receiver: Receiver
    prefix: str
    token: str

    def wait(self, count: int = 1, *, prefix: str | None = None) -> list[Hook]:
        timeout = self.target.manager_wait if not self.target.is_fake else 10.0
        return self.receiver.wait_for(prefix or self.prefix, count, timeout=timeout)


def hooked_channel(target: Target, receiver: Receiver, hook_api_version: str = "v2", *, fail: bool = False) -> Hooked:
    """A channel registered with a webhook URL template holding ``:scope_id`` (§4), connected."""
    token = new_id("hk")
    root = "/fail" if fail else "/hooks"
    channel = target.new_channel(webhook_url=receiver.url(f"{root}/{token}/:scope_id"))
    wire = Wire(target.http, channel)
    response = wire.connect(hook_api_version=hook_api_version)
    assert response.status_code == 200, response.text
    prefix = f"{root}/{token}/{channel.scope_id}" if target.is_fake else "/"
    return Hooked(wire, target, receiver, prefix, token)
