"""Kept so 0.1.0 imports work; new code imports from mock_amojo."""

from .testing._sandbox import (
    DEFAULT_BASE_URL,
    RefusedRequests,
    Sandbox,
    SandboxHost,
    SandboxSettings,
    ServerErrors,
    webhook_matches,
)

__all__ = [
    "DEFAULT_BASE_URL",
    "RefusedRequests",
    "Sandbox",
    "SandboxHost",
    "SandboxSettings",
    "ServerErrors",
    "webhook_matches",
]
