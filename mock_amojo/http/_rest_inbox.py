"""REST handlers: sources, incoming leads (``/api/v4/leads/unsorted``) and talks.

amoCRM's references: RU ``crm_platform/sources-api``, ``crm_platform/unsorted-api``,
``crm_platform/talks-api`` (EN/Kommo: ``api_v4/incoming-leads``, ``api_v4/conversations``).
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from ..domain import Backend
from ..errors import CrmNotFound, CrmValidation
from ..wire import _rest_requests as rest
from ..wire import _rest_views as views
from ._rest import RestCall, hal_response, path_int

__all__ = ["InboxHandlers"]

_CATEGORIES = ("sip", "mail", "forms", "chats")


class InboxHandlers:
    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    # -- sources (an integration sees and changes only its own) -----------------------------

    def _sources_answer(self, call: RestCall, sources: list[Any], request_ids: bool = False) -> Response:
        items = [views.source_view(call.base, s) for s in sources]
        if request_ids:
            items = [{**item, "request_id": str(n)} for n, item in enumerate(items)]
        return hal_response(
            {"_total_items": len(items), "_links": views.link(call.base, "/api/v4/sources"), "_embedded": {"sources": items}}
        )

    async def sources(self, call: RestCall) -> Response:
        """``GET /api/v4/sources`` (``filter[external_id][]``)."""
        sources = self.backend.crm_sources(call.account_id, call.token.client_id)
        wanted = call.filters().get("external_id")
        if wanted is not None:
            sources = [s for s in sources if s.external_id in wanted]
        return self._sources_answer(call, sources) if sources else hal_response(None)

    async def source(self, call: RestCall) -> Response:
        source_id = path_int(call.request.path_params["id"])
        found = next((s for s in self.backend.crm_sources(call.account_id, call.token.client_id) if s.id == source_id), None)
        if found is None:
            raise CrmNotFound("source", source_id)
        return hal_response(views.source_view(call.base, found))

    async def add_sources(self, call: RestCall) -> Response:
        added = self.backend.add_sources(call.account_id, call.token.client_id, rest.parse_sources_add(await call.body()))
        return self._sources_answer(call, added, True)

    async def update_sources(self, call: RestCall) -> Response:
        updated = self.backend.update_sources(call.account_id, call.token.client_id, rest.parse_sources_update(await call.body()))
        return self._sources_answer(call, updated)

    async def update_source(self, call: RestCall) -> Response:
        body = await call.body()
        if not isinstance(body, dict):
            raise CrmValidation([("0", "InvalidType", "", "PATCH /api/v4/sources/{id} takes one source object.")])
        source_id = path_int(call.request.path_params["id"])
        (source,) = self.backend.update_sources(
            call.account_id, call.token.client_id, rest.parse_sources_update(body, source_id), source_id
        )
        return hal_response(views.source_view(call.base, source))

    async def delete_sources(self, call: RestCall) -> Response:
        body = await call.body()
        items = body if isinstance(body, list) else []
        ids = [item.get("id") if isinstance(item, dict) else None for item in items]
        bad = [n for n, value in enumerate(ids) if isinstance(value, bool) or not isinstance(value, int)]
        if not items or bad:
            raise CrmValidation(
                [("0", "InvalidType", f"{bad[0] if bad else 0}.id", 'DELETE /api/v4/sources takes [{"id": <source id>}, …].')]
            )
        self.backend.delete_sources(call.account_id, call.token.client_id, [int(i) for i in ids if isinstance(i, int)])
        return hal_response(None)

    async def delete_source(self, call: RestCall) -> Response:
        self.backend.delete_sources(call.account_id, call.token.client_id, [path_int(call.request.path_params["id"])])
        return hal_response(None)

    # -- incoming leads ------------------------------------------------------------------------

    def _filtered(self, call: RestCall) -> list[Any]:
        found = self.backend.crm_unsorted(call.account_id)
        filters = call.filters()
        categories = filters.get("category")
        if categories is not None:
            unknown = [c for c in categories if c not in _CATEGORIES]
            if unknown:
                raise CrmValidation(
                    [("0", "NotSupportedChoice", "filter.category", f"{unknown[0]!r} is none of {', '.join(_CATEGORIES)}.")]
                )
            found = [u for u in found if u.category in categories]
        if "uid" in filters:
            found = [u for u in found if u.uid in filters["uid"]]
        if "pipeline_id" in filters:
            pipelines = call.ints("filter[pipeline_id]", filters["pipeline_id"])
            found = [u for u in found if u.pipeline_id in pipelines]
        return found

    async def unsorted(self, call: RestCall) -> Response:
        """``GET /api/v4/leads/unsorted``: those still waiting, ``filter[category][]=chats``, ``filter[uid]``, ``filter[pipeline_id]``, ``order[created_at]``."""
        page, limit = call.page()
        waiting = [u for u in self._filtered(call) if u.state == "new"]
        if call.request.query_params.get("order[created_at]") == "desc":
            waiting.reverse()
        items = [views.unsorted_view(call.base, call.crm, u) for u in waiting]
        return hal_response(views.page_of(call.base, "/api/v4/leads/unsorted", "unsorted", items, page, limit))

    async def summary(self, call: RestCall) -> Response:
        """``GET /api/v4/leads/unsorted/summary``: totals, accepted, declined, average sort time (seconds), per category."""
        found = self._filtered(call)
        sorted_times = [u.sorted_at - u.created_at for u in found if u.sorted_at is not None]
        categories = {c: {"total": sum(1 for u in found if u.category == c)} for c in _CATEGORIES}
        return hal_response(
            {
                "total": len(found),
                "accepted": sum(1 for u in found if u.state in ("accepted", "linked")),
                "declined": sum(1 for u in found if u.state == "declined"),
                "average_sort_time": int(sum(sorted_times) / len(sorted_times)) if sorted_times else 0,
                "categories": categories,
            }
        )

    def _one(self, call: RestCall) -> Any:
        uid: str = call.request.path_params["uid"]
        found = next((u for u in self.backend.crm_unsorted(call.account_id) if u.uid == uid), None)
        if found is None:
            raise CrmNotFound("unsorted", uid, hint="Incoming leads are named by uid: GET /api/v4/leads/unsorted lists them.")
        return found

    async def unsorted_one(self, call: RestCall) -> Response:
        return hal_response(views.unsorted_view(call.base, call.crm, self._one(call)))

    async def accept(self, call: RestCall) -> Response:
        """``POST …/{uid}/accept`` ``{user_id, status_id}``."""
        accept = rest.parse_accept(await call.body(optional=True))
        unsorted = self.backend.accept_unsorted(call.account_id, self._one(call).uid, accept)
        return hal_response(views.sorted_view(call.base, unsorted, unsorted.lead_id))

    async def decline(self, call: RestCall) -> Response:
        """``DELETE …/{uid}/decline``."""
        unsorted = self.backend.decline_unsorted(call.account_id, self._one(call).uid)
        return hal_response(views.sorted_view(call.base, unsorted, unsorted.lead_id))

    async def link(self, call: RestCall) -> Response:
        """``POST …/{uid}/link`` ``{"link": {"entity_id": <lead id>, "entity_type": "leads"}}``."""
        link = rest.parse_link_unsorted(await call.body())
        unsorted, lead = self.backend.link_unsorted(call.account_id, self._one(call).uid, link)
        return hal_response({"uid": unsorted.uid, "_embedded": {"leads": [{"id": lead.id}], "contacts": [{"id": unsorted.contact_id}]}})

    # -- talks ----------------------------------------------------------------------------------

    async def talk(self, call: RestCall) -> Response:
        return hal_response(
            views.talk_view(call.base, call.crm, self.backend.crm_talk(call.account_id, path_int(call.request.path_params["id"])))
        )

    async def close_talk(self, call: RestCall) -> Response:
        """``POST /api/v4/talks/{id}/close`` ``{force_close}``: 202 with no body (Kommo's reference)."""
        force = rest.parse_close_talk(await call.body(optional=True))
        self.backend.close_talk(call.account_id, path_int(call.request.path_params["id"]), force)
        return Response(status_code=202)
