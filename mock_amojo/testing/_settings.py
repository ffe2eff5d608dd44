"""The settings of one sandbox (the ``@pytest.mark.amojo(...)`` keywords) and how options become them.

Each setting is checked where it is made, with an error naming the setting and the fix; an unknown
keyword gets a "did you mean".
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from ..config import webhook_url_problem
from ..domain._accounts import SUBDOMAIN
from ..domain._clock import check_instant
from ..errors import AmojoError
from ..webhooks import WebhookFaults
from ..wire._stances import check_stances
from ._outages import Outage

__all__ = ["SandboxSettings"]


def _timestamp(value: Any) -> float | None:
    """A clock start given as unix seconds, a datetime or an ISO 8601 string."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise TypeError("clock: expected unix seconds, a datetime or an ISO 8601 string, got a bool")
    if isinstance(value, (int, float)):
        return check_instant("clock", value)
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(f"clock: {value!r} is not an ISO 8601 date-time (e.g. '2021-12-16T13:15:29+00:00')") from None
        if parsed.tzinfo is None:
            raise ValueError(f"clock: {value!r} has no UTC offset; write e.g. '{value}+00:00'")
        return parsed.timestamp()
    raise TypeError(f"clock: expected unix seconds, a datetime or an ISO 8601 string, got {type(value).__name__}")


@dataclass(frozen=True, slots=True)
class SandboxSettings:
    """Per-test settings (the ``@pytest.mark.amojo(...)`` keywords). Field comments are the docs."""

    #: webhook format when connect does not name one (amojo's default is v1)
    hook_api_version: str = "v1"
    #: a private channel: only ``account_id`` (and ``allowed_accounts``) may connect; others get 403
    strict_accounts: bool = False
    #: extra accounts a strict channel accepts
    allowed_accounts: tuple[str, ...] = ()
    #: where the fake POSTs webhooks (``:scope_id`` is replaced); None: webhooks are only recorded
    webhook_url: str | None = None
    #: virtual clock start: unix seconds, datetime or ISO 8601 string; None: the wall clock at test start
    clock: float | None = None
    #: the channel's id and secret; None: fresh random ones per test
    channel_id: str | None = None
    channel_secret: str | None = None
    channel_name: str = "mock-amojo test channel"
    #: the account created for the test (its amojo_id); None: a fresh random one
    account_id: str | None = None
    #: whether the channel may start chats from the CRM ("write first")
    write_first: bool = True
    #: more hosts to route to the fake in process (e.g. your staging amojo URL's host)
    hosts: tuple[str, ...] = ()
    #: route httpx calls to amojo hosts into the fake with no socket
    inprocess: bool = True
    #: use the session's real HTTP server: ``base_url`` is then ``http://127.0.0.1:<port>``
    served: bool = False
    #: with ``served``: its HTTPS server instead (``https://127.0.0.1:<port>``, a local test CA in ``amojo.ca_bundle``)
    tls: bool = False
    #: fail the test if the fake refused any request (as ``assert_all_accepted()`` at the end)
    assert_all_accepted: bool = False
    #: ids ``00000000-0000-4000-8000-000000000001``, ``…2`` … instead of random UUIDs
    sequential_ids: bool = False
    #: "sync": a manager action returns after its webhook was delivered (deterministic tests);
    #: "async": sent in the background as amojo does — use ``wait_for_webhook``
    webhook_mode: str = "sync"
    #: webhook misbehaviour for this channel: delay, duplicate, out_of_order, tamper_signature, stale_time
    faults: Mapping[str, Any] | None = None
    #: the account's subdomain on amoCRM's REST API (``https://{subdomain}.amocrm.ru``); None: ``account<id>``
    subdomain: str | None = None
    #: amoCRM's REST rate limit per integration and second (amoCRM: 7); 0 (default): off, so fast tests never see 429
    crm_rate_limit: int = 0
    #: API failures: dicts like ``{"endpoint": "send_message", "status": 503, "times": 2}`` (see ``Sandbox.fail_next``)
    outages: tuple[Any, ...] = ()
    #: every fidelity stance strict: a request amoCRM's documents disagree on is refused, not warned about
    #: (``pytest --amojo-strict`` sets it for every test)
    strict: bool = False
    #: per-rule stances, e.g. ``{"msec_timestamp_absent": "strict"}`` (win over ``strict``; docs/fidelity.md lists the rules)
    stances: Mapping[str, str] | None = None
    #: "explain" (the fake's JSON with a hint) or "bare" (amoCRM's sparsest documented error bodies); None: the host's
    error_bodies: str | None = None

    def __post_init__(self) -> None:
        if self.clock is not None:
            check_instant("clock", self.clock)
        if self.hook_api_version not in ("v1", "v2"):
            raise ValueError(f"hook_api_version: 'v1' or 'v2', got {self.hook_api_version!r}")
        if self.webhook_url is not None and (problem := webhook_url_problem(self.webhook_url)):
            raise ValueError(f"webhook_url: {problem}, got {self.webhook_url!r}")
        if self.channel_secret is not None and (len(self.channel_secret) != 40 or self.channel_secret.strip("0123456789abcdef")):
            raise ValueError("channel_secret: 40 lowercase hex characters, as amoCRM issues them")
        if self.subdomain is not None and not SUBDOMAIN.fullmatch(self.subdomain):
            raise ValueError(f"subdomain: lower-case letters, digits and '-', got {self.subdomain!r}")
        if isinstance(self.crm_rate_limit, bool) or not isinstance(self.crm_rate_limit, int) or self.crm_rate_limit < 0:
            raise ValueError(f"crm_rate_limit: a whole number of requests per second, 0 for no limit, got {self.crm_rate_limit!r}")
        if self.tls and not self.served:
            raise ValueError("tls: HTTPS is the served mode's; add served=True")
        if self.webhook_mode not in ("sync", "async"):
            raise ValueError(f"webhook_mode: 'sync' or 'async', got {self.webhook_mode!r}")
        if self.stances is not None:
            check_stances(self.stances)
        if self.error_bodies not in (None, "explain", "bare"):
            raise ValueError(f"error_bodies: 'explain' or 'bare', got {self.error_bodies!r}")
        if self.faults is not None:
            try:
                WebhookFaults.from_dict(dict(self.faults))
            except (AmojoError, TypeError) as err:
                raise ValueError(f"faults: {getattr(err, 'description', err)} {getattr(err, 'hint', '')}".strip()) from None

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> SandboxSettings:
        """Settings from keyword options, with an error naming any unknown or ill-typed one."""
        known = [f.name for f in fields(cls)]
        values: dict[str, Any] = {}
        for name, value in options.items():
            if name not in known:
                close = [k for k in known if name in k] or difflib.get_close_matches(name, known, n=1)
                suggestion = f"; did you mean {close[0]!r}?" if close else f"; known: {', '.join(known)}"
                raise TypeError(f"unknown amojo setting {name!r}{suggestion}")
            if name == "clock":
                value = _timestamp(value)
            elif name in ("hosts", "allowed_accounts"):
                value = (value,) if isinstance(value, str) else tuple(value)
            elif name == "outages":
                value = tuple(Outage.from_options(o) for o in ([value] if isinstance(value, (dict, Outage)) else value))
            values[name] = value
        return cls(**values)
