"""Testing against the fake: the sandbox (what the ``amojo`` fixture yields), in-process transports, outages, a signed client, receiver conformance.

``strategies`` (hypothesis strategies for every amojo body) is a public module of its own: it needs
hypothesis, which the package does not depend on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import exports

_LAZY = {
    "AmojoClient": "_client",
    "InProcessRouting": "_inprocess",
    "Outage": "_outages",
    "OutagePlan": "_outages",
    "Sandbox": "_sandbox",
    "SandboxHost": "_sandbox",
    "SandboxSettings": "_settings",
    "SyncASGITransport": "_transports",
    "assert_receiver_conforms": "_conformance",
    "check_receiver": "_conformance",
}

if TYPE_CHECKING:
    from ._client import AmojoClient
    from ._conformance import assert_receiver_conforms, check_receiver
    from ._inprocess import InProcessRouting
    from ._outages import Outage, OutagePlan
    from ._sandbox import Sandbox, SandboxHost
    from ._settings import SandboxSettings
    from ._transports import SyncASGITransport

__getattr__, __dir__ = exports(__name__, _LAZY)

__all__ = [
    "AmojoClient",
    "InProcessRouting",
    "Outage",
    "OutagePlan",
    "Sandbox",
    "SandboxHost",
    "SandboxSettings",
    "SyncASGITransport",
    "assert_receiver_conforms",
    "check_receiver",
]
