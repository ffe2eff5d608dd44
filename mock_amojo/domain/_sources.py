"""Sources: where an integration's chats come from, and the pipeline their incoming leads go to.

amoCRM's sources reference (RU ``/developers/content/crm_platform/sources-api``): each source has a
unique ``external_id`` — the ``source.external_id`` amojo messages carry — and a ``pipeline_id``; an
integration manages only its own sources, at most 50 active ones (the www. copy of the page; the
other copy says 100: the fake enforces the lower). A message whose ``source.external_id`` names no
source goes to the integration's ``default`` source's pipeline, else to the main pipeline.
"""

from __future__ import annotations

from typing import Any

import msgspec

from ..errors import CrmNotFound, CrmValidation
from ..wire._rest_input import Problems
from ..wire._rest_requests import Batch, SourceFields
from ._accounts import CrmAccount, CrmIds

__all__ = ["MAX_SOURCES", "Source", "Sources"]

#: Active sources one integration may have in an account.
MAX_SOURCES = 50


class Source(msgspec.Struct):
    id: int
    account_id: str
    client_id: str
    name: str
    external_id: str
    pipeline_id: int
    default: bool = False
    origin_code: str | None = None
    services: list[Any] = msgspec.field(default_factory=list)


class Sources:
    """Every source, and each account's by ``external_id`` (the lookup a first message makes)."""

    def __init__(self) -> None:
        self.by_id: dict[int, Source] = {}
        self.by_external: dict[tuple[str, str], Source] = {}

    def clear(self) -> None:
        self.by_id.clear()
        self.by_external.clear()

    def pipeline_for(self, account: CrmAccount, external_id: str | None) -> tuple[int, Source | None]:
        """The pipeline a chat's incoming lead goes to, and the source that chose it."""
        source = self.by_external.get((account.amojo_id, external_id)) if external_id else None
        if source is None:
            source = next((s for s in self.by_id.values() if s.account_id == account.amojo_id and s.default), None)
        if source is not None and account.pipeline(source.pipeline_id) is not None:
            return source.pipeline_id, source
        return account.main_pipeline.id, source

    def of(self, account_id: str, client_id: str) -> list[Source]:
        return [s for s in self.by_id.values() if s.account_id == account_id and s.client_id == client_id]

    def get(self, account_id: str, client_id: str, source_id: int) -> Source:
        source = self.by_id.get(source_id)
        if source is None or source.account_id != account_id or source.client_id != client_id:
            raise CrmNotFound("source", source_id, hint="An integration sees only its own sources: GET /api/v4/sources lists them.")
        return source

    def add(self, ids: CrmIds, account: CrmAccount, client_id: str, batch: Batch[SourceFields]) -> list[Source]:
        """Add the batch's sources; refused whole, naming its fields' problems and the state's, if any item cannot be added."""
        own = self.of(account.amojo_id, client_id)
        if len(own) + len(batch.items) > MAX_SOURCES:
            raise CrmValidation(
                [("0", "TooManySources", "", f"An integration may have at most {MAX_SOURCES} active sources.")],
                hint=f"This integration has {len(own)}; delete some (DELETE /api/v4/sources) first.",
            )
        problems = Problems(batch.problems)
        seen: set[str] = set()
        for item in batch.items:
            self._check_external_id(problems, item, account, seen, None)
            self._check_pipeline(problems, item, account)
        problems.raise_if_any(batch.hint)
        added = []
        for item in batch.items:
            external_id = item.external_id or ""
            source = Source(
                ids.new("source"),
                account.amojo_id,
                client_id,
                item.name,
                external_id,
                item.pipeline_id or account.main_pipeline.id,
                bool(item.default),
                item.origin_code,
                list(item.services or ()),
            )
            if source.default:
                self._undefault(account.amojo_id, client_id)
            self.by_id[source.id] = source
            self.by_external[(account.amojo_id, external_id)] = source
            added.append(source)
        return added

    def update(self, account: CrmAccount, client_id: str, batch: Batch[SourceFields]) -> list[Source]:
        """Change the batch's sources (each names its ``id``); fields not given are kept."""
        problems = Problems(batch.problems)
        changes = []
        for item in batch.items:
            source = self.get(account.amojo_id, client_id, item.id or 0)
            if item.external_id is not None:
                self._check_external_id(problems, item, account, set(), source)
            self._check_pipeline(problems, item, account)
            changes.append((source, item))
        problems.raise_if_any(batch.hint)
        for source, item in changes:
            external_id = source.external_id if item.external_id is None else item.external_id
            del self.by_external[(source.account_id, source.external_id)]
            source.name, source.external_id = item.name or source.name, external_id
            source.pipeline_id = item.pipeline_id or source.pipeline_id
            source.services = source.services if item.services is None else list(item.services)
            self.by_external[(source.account_id, external_id)] = source
            if item.default is not None:
                if item.default:
                    self._undefault(source.account_id, client_id)
                source.default = item.default
        return [source for source, _item in changes]

    def delete(self, account: CrmAccount, client_id: str, source_ids: list[int]) -> None:
        found = [self.get(account.amojo_id, client_id, sid) for sid in source_ids]
        for source in found:
            self.by_id.pop(source.id, None)
            self.by_external.pop((source.account_id, source.external_id), None)

    def _undefault(self, account_id: str, client_id: str) -> None:
        for other in self.of(account_id, client_id):
            other.default = False

    def _check_external_id(
        self, problems: Problems, item: SourceFields, account: CrmAccount, seen: set[str], current: Source | None
    ) -> None:
        """An external_id is unique in the account (the key a message's ``source.external_id`` finds)."""
        value = item.external_id
        taken = self.by_external.get((account.amojo_id, value)) if value else None
        if value and ((taken is not None and taken is not current) or value in seen):
            rid = item.request_id
            problems.add(rid, "NotUnique", f"{rid}.external_id", f"A source with external_id {value!r} already exists.")
        seen.add(value or "")

    def _check_pipeline(self, problems: Problems, item: SourceFields, account: CrmAccount) -> None:
        if item.pipeline_id is not None and account.pipeline(item.pipeline_id) is None:
            rid = item.request_id
            problems.add(
                rid, "NotFound", f"{rid}.pipeline_id", f"No pipeline {item.pipeline_id} in this account (GET /api/v4/leads/pipelines)."
            )
