"""What a test reads back from its sandbox: the fake's state, the journal of requests, refusals explained, injected failures, server errors.

A mixin of :class:`~mock_amojo.testing._sandbox.Sandbox` (the ``amojo`` fixture); it only reads the
host's backend and outage plan.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..domain import Backend
from ..domain._journal import JournalEntry, explain_entry
from ..errors import AmojoError, RefusedRequests, StanceWarnings
from ..http._control import state_snapshot
from ..wire import _views as views
from ._outages import Outage

if TYPE_CHECKING:
    from ._sandbox import SandboxHost

__all__ = ["SandboxReports"]


class SandboxReports:
    """The sandbox's state and failure reporting (``chats``, ``messages``, ``refused``, ``assert_all_accepted``…)."""

    host: SandboxHost
    backend: Backend
    #: How many of ``server_errors`` the pytest plugin has been told about.
    _reported_errors: int

    # -- state ------------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """Everything the fake holds (as ``GET /__mock__/state`` answers)."""
        return state_snapshot(self.backend)

    @property
    def chats(self) -> list[dict[str, Any]]:
        """Chats of every scope of this channel, oldest first."""
        return [views.chat_state(chat) for chat in self.backend.all_chats()]

    def chat(self, conversation_id: str) -> dict[str, Any]:
        """The chat with this integration-side id (KeyError naming the known ones if absent)."""
        for chat in self.chats:
            if chat["conversation_id"] == conversation_id:
                return chat
        known = [c["conversation_id"] for c in self.chats]
        raise KeyError(f"no chat with conversation_id {conversation_id!r}; the fake has {known}")

    @property
    def messages(self) -> list[dict[str, Any]]:
        """Every message the fake holds, oldest first (with direction, origin, statuses, reactions, edits)."""
        return [views.message_state(m) for chat in self.backend.all_chats() for m in chat.messages]

    def messages_in(self, conversation_id: str) -> list[dict[str, Any]]:
        """Messages of one chat, oldest first."""
        chat_id = self.chat(conversation_id)["id"]
        return [m for m in self.messages if m["chat_id"] == chat_id]

    @property
    def leads(self) -> list[dict[str, Any]]:
        """Incoming leads amoCRM created (one per chat's first non-silent client message)."""
        return [views.lead_state(lead) for lead in self.backend.snapshot().leads]

    # -- the journal and failure reporting ----------------------------------------------

    @property
    def journal(self) -> list[JournalEntry]:
        """Every amojo API request of this test, oldest first, with status and verdict."""
        return self.backend.journal.entries()

    @property
    def refused(self) -> list[JournalEntry]:
        """Requests the fake answered with 4xx/5xx (injected outages are not refusals: see ``outages_hit``)."""
        return [e for e in self.backend.journal.entries(refused_only=True) if not e.get("injected")]

    @property
    def outages_hit(self) -> list[JournalEntry]:
        """Requests failed on purpose by :meth:`fail_next` or the ``outages`` marker."""
        return [e for e in self.backend.journal.entries(refused_only=True) if e.get("injected")]

    def explain_refusals(self, *, include_injected: bool = False) -> str:
        """Every refused request of this test with the fake's explanation ('' if none); optionally injected failures too."""
        entries = self.backend.journal.entries(refused_only=True) if include_injected else self.refused
        return "\n\n".join(explain_entry(entry) for entry in entries)

    @property
    def warnings(self) -> list[dict[str, Any]]:
        """Every fidelity warning of this test's requests, oldest first: ``{rule, message, evidence, seq, endpoint, status}``.

        A warning means the fake accepted something amoCRM's documents disagree on (docs/fidelity.md);
        ``pytest --amojo-strict`` or ``@pytest.mark.amojo(strict=True)`` refuses it instead.
        """
        return [
            {**warning, "seq": entry["seq"], "endpoint": entry["endpoint"], "status": entry["status"]}
            for entry in self.backend.journal.entries()
            for warning in entry.get("warnings") or ()
        ]

    def explain_warnings(self) -> str:
        """Each warning as a line: the request, the rule and why ('' if none)."""
        return "\n".join(
            f"#{w['seq']} {w['endpoint']} -> {w['status']}: {w['rule']}: {w['message']}\n  evidence: {w['evidence']}" for w in self.warnings
        )

    def assert_no_warnings(self) -> None:
        """Fail (:class:`StanceWarnings`) if any request of this test was accepted with a fidelity warning, saying which rule."""
        warnings = self.warnings
        if warnings:
            raise StanceWarnings(f"mock-amojo accepted {len(warnings)} request(s) with a fidelity warning:\n{self.explain_warnings()}")

    def fail_next(
        self, endpoint: str = "*", status: int = 503, *, times: int | None = 1, error: str | None = None, retry_after: int | None = None
    ) -> Outage:
        """Make the next ``times`` requests to ``endpoint`` fail (``times=None``: until the test ends).

        ``endpoint``: connect, disconnect, create_chat, send_message, delivery_status, history,
        typing, react, or ``"*"``. ``status``: the gateway's answer (503, 502, 504, 500, 429 with
        ``retry_after``…). ``error="timeout"`` / ``"connect"``: in process, the client raises
        ``httpx.ReadTimeout`` / ``httpx.ConnectError`` instead (served: 504). Returns the rule;
        its ``hits`` counts the failures so far.
        """
        return self.host.outages.add(Outage(endpoint=endpoint, status=status, times=times, error=error, retry_after=retry_after))

    def assert_all_accepted(self) -> None:
        """Fail (:class:`RefusedRequests`) if the fake refused any request of this test, saying why."""
        refused = self.refused
        if refused:
            raise RefusedRequests(f"mock-amojo refused {len(refused)} request(s):\n\n{self.explain_refusals()}")

    @property
    def server_errors(self) -> list[AmojoError]:
        """Unexpected failures of the fake while serving this test (each one is a mock-amojo bug)."""
        return [e for e in self.backend.server_errors if isinstance(e, AmojoError)]

    def take_new_server_errors(self) -> list[AmojoError]:
        """Server errors not reported yet (the pytest plugin fails the test on them)."""
        errors = self.server_errors
        new = errors[self._reported_errors :]
        self._reported_errors = len(errors)
        return new
