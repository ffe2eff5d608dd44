"""Sources: where an integration's chats come from, and the pipeline their incoming leads go to.

amoCRM's sources reference (RU ``/developers/content/crm_platform/sources-api``): each source has a
unique ``external_id`` — the ``source.external_id`` amojo messages carry — and a ``pipeline_id``; an
integration manages only its own sources, at most 50 active ones (the www. copy of the page; the
other copy says 100: the fake enforces the lower). A message whose ``source.external_id`` names no
source goes to the integration's ``default`` source's pipeline, else to the main pipeline.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import CrmNotFound, CrmValidation
from ._accounts import CrmAccount, CrmIds
from ._crm_input import Problems, body_list

__all__ = ["MAX_SOURCES", "Source", "Sources"]

#: Active sources one integration may have in an account.
MAX_SOURCES = 50
#: amojo-api.md: source.external_id is at most 40 printable ASCII characters.
_EXTERNAL_ID_LIMIT = 40


@dataclass(slots=True)
class Source:
    id: int
    account_id: str
    client_id: str
    name: str
    external_id: str
    pipeline_id: int
    default: bool = False
    origin_code: str | None = None
    services: list[Any] = field(default_factory=list)


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

    def add(self, ids: CrmIds, account: CrmAccount, client_id: str, body: Any) -> list[Source]:
        items = body_list(body, "sources")
        problems = Problems()
        own = self.of(account.amojo_id, client_id)
        if len(own) + len(items) > MAX_SOURCES:
            raise CrmValidation(
                [("0", "TooManySources", "", f"An integration may have at most {MAX_SOURCES} active sources.")],
                hint=f"This integration has {len(own)}; delete some (DELETE /api/v4/sources) first.",
            )
        seen: set[str] = set()
        parsed = []
        for index in range(len(items)):
            rid = str(index)
            item = problems.item(items, index)
            name = problems.text(item, "name", rid, required=True)
            external_id = self._external_id(problems, item, rid, account, seen, None)
            pipeline_id = self._pipeline(problems, item, rid, account)
            default = problems.flag(item, "default", rid)
            origin = problems.text(item, "origin_code", rid) or None
            services = self._services(problems, item, rid)
            parsed.append((name, external_id, pipeline_id, bool(default), origin, services))
        problems.raise_if_any(
            "Each source needs name and a unique external_id (≤ 40 characters); pipeline_id must be a pipeline of the account."
        )
        added = []
        for name, external_id, pipeline_id, default, origin, services in parsed:
            source = Source(
                ids.new("source"),
                account.amojo_id,
                client_id,
                name,
                external_id,
                pipeline_id or account.main_pipeline.id,
                default,
                origin,
                services,
            )
            if default:
                self._undefault(account.amojo_id, client_id)
            self.by_id[source.id] = source
            self.by_external[(account.amojo_id, external_id)] = source
            added.append(source)
        return added

    def update(self, account: CrmAccount, client_id: str, body: Any, source_id: int | None = None) -> list[Source]:
        items = body_list(body, "sources")
        problems = Problems()
        changes = []
        for index in range(len(items)):
            rid = str(index)
            item = problems.item(items, index)
            sid = source_id if source_id is not None else problems.integer(item, "id", rid, required=True)
            if sid is None:
                continue
            source = self.get(account.amojo_id, client_id, sid)
            name = problems.text(item, "name", rid) or source.name
            external_id = self._external_id(problems, item, rid, account, set(), source) if "external_id" in item else source.external_id
            pipeline_id = self._pipeline(problems, item, rid, account) if "pipeline_id" in item else source.pipeline_id
            default = problems.flag(item, "default", rid)
            services = self._services(problems, item, rid) if "services" in item else source.services
            changes.append((source, name, external_id, pipeline_id or source.pipeline_id, default, services))
        problems.raise_if_any()
        for source, name, external_id, pipeline_id, default, services in changes:
            del self.by_external[(source.account_id, source.external_id)]
            source.name, source.external_id, source.pipeline_id, source.services = name, external_id, pipeline_id, services
            self.by_external[(source.account_id, external_id)] = source
            if default is not None:
                if default:
                    self._undefault(source.account_id, client_id)
                source.default = default
        return [change[0] for change in changes]

    def delete(self, account: CrmAccount, client_id: str, source_ids: list[int]) -> None:
        found = [self.get(account.amojo_id, client_id, sid) for sid in source_ids]
        for source in found:
            self.by_id.pop(source.id, None)
            self.by_external.pop((source.account_id, source.external_id), None)

    def _undefault(self, account_id: str, client_id: str) -> None:
        for other in self.of(account_id, client_id):
            other.default = False

    def _external_id(
        self, problems: Problems, item: dict[str, Any], rid: str, account: CrmAccount, seen: set[str], current: Source | None
    ) -> str:
        value = problems.text(item, "external_id", rid, required=True, limit=_EXTERNAL_ID_LIMIT)
        if value and not (value.isascii() and value.isprintable()):
            problems.add(rid, "InvalidValue", f"{rid}.external_id", "external_id takes printable ASCII characters only.")
        taken = self.by_external.get((account.amojo_id, value))
        if value and ((taken is not None and taken is not current) or value in seen):
            problems.add(rid, "NotUnique", f"{rid}.external_id", f"A source with external_id {value!r} already exists.")
        seen.add(value)
        return value

    def _pipeline(self, problems: Problems, item: dict[str, Any], rid: str, account: CrmAccount) -> int | None:
        pipeline_id = problems.integer(item, "pipeline_id", rid)
        if pipeline_id is not None and account.pipeline(pipeline_id) is None:
            problems.add(rid, "NotFound", f"{rid}.pipeline_id", f"No pipeline {pipeline_id} in this account (GET /api/v4/leads/pipelines).")
        return pipeline_id

    def _services(self, problems: Problems, item: dict[str, Any], rid: str) -> list[Any]:
        services = item.get("services")
        if services is None:
            return []
        if not isinstance(services, list) or not all(isinstance(s, dict) for s in services):
            problems.add(rid, "InvalidType", f"{rid}.services", "services is an array of objects ({type, pages}).")
            return []
        return services
