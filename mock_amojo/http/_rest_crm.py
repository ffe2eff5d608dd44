"""REST handlers: account, users, pipelines, leads, contacts and contacts↔chats (``/api/v4``).

Shapes are in :mod:`mock_amojo.wire._rest_views`; the rules in the domain
(:mod:`mock_amojo.domain._crm_rest`). Lists answer 204 when empty, as amoCRM does.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from ..domain import Backend
from ..errors import CrmNotFound, CrmValidation
from ..wire import _rest_requests as rest
from ..wire import _rest_views as views
from ._rest import RestCall, hal_response, path_int

__all__ = ["CrmHandlers"]


def _path_int(call: RestCall, name: str = "id") -> int:
    return path_int(call.request.path_params[name], name)


class CrmHandlers:
    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    # -- account and users -----------------------------------------------------------------

    async def account(self, call: RestCall) -> Response:
        """``GET /api/v4/account`` (``with=amojo_id,amojo_rights,users_groups``)."""
        current = call.crm.user_id(call.account.users[0].id) if call.account.users else 0
        return hal_response(views.account_view(call.base, call.crm, call.account, current, call.with_))

    def _users(self, call: RestCall) -> list[dict[str, Any]]:
        names = {u.id: u.name for u in call.account.users}
        return [
            views.user_view(call.base, rest_id, amojo_id, names.get(amojo_id, "Manager"), call.with_)
            for amojo_id, rest_id in call.crm.user_ids.items()
        ]

    async def users(self, call: RestCall) -> Response:
        """``GET /api/v4/users`` (``with=amojo_id``: the ids ``sender.ref_id`` takes)."""
        page, limit = call.page()
        return hal_response(views.page_of(call.base, "/api/v4/users", "users", self._users(call), page, limit, total=True))

    async def user(self, call: RestCall) -> Response:
        user_id = _path_int(call)
        found = next((u for u in self._users(call) if u["id"] == user_id), None)
        if found is None:
            raise CrmNotFound("user", user_id)
        return hal_response(found)

    # -- pipelines ----------------------------------------------------------------------------

    async def pipelines(self, call: RestCall) -> Response:
        items = [views.pipeline_view(call.base, call.crm, p) for p in call.crm.pipelines]
        return hal_response(
            {"_total_items": len(items), "_links": views.link(call.base, "/api/v4/leads/pipelines"), "_embedded": {"pipelines": items}}
        )

    async def add_pipelines(self, call: RestCall) -> Response:
        """``POST /api/v4/leads/pipelines``: ``[{"name": …}]``; each gets the system stages."""
        added = self.backend.add_pipelines(call.account_id, rest.parse_pipelines_add(await call.body()))
        items = [views.pipeline_view(call.base, call.crm, p) for p in added]
        return hal_response({"_total_items": len(items), "_embedded": {"pipelines": items}})

    def _pipeline(self, call: RestCall) -> dict[str, Any]:
        pipeline = call.crm.pipeline(_path_int(call))
        if pipeline is None:
            raise CrmNotFound("pipeline", _path_int(call), hint="GET /api/v4/leads/pipelines lists them.")
        return views.pipeline_view(call.base, call.crm, pipeline)

    async def pipeline(self, call: RestCall) -> Response:
        return hal_response(self._pipeline(call))

    async def statuses(self, call: RestCall) -> Response:
        statuses = self._pipeline(call)["_embedded"]["statuses"]
        return hal_response({"_total_items": len(statuses), "_embedded": {"statuses": statuses}})

    async def status(self, call: RestCall) -> Response:
        status_id = _path_int(call, "status_id")
        found = next((s for s in self._pipeline(call)["_embedded"]["statuses"] if s["id"] == status_id), None)
        if found is None:
            raise CrmNotFound("status", status_id, hint="GET /api/v4/leads/pipelines/{id}/statuses lists them.")
        return hal_response(found)

    # -- leads ------------------------------------------------------------------------------

    def _lead_view(self, call: RestCall, lead: Any) -> dict[str, Any]:
        sources = {s.id: s for s in self.backend.crm_sources(call.account_id)} if "source" in call.with_ else {}
        return views.lead_view(call.base, call.crm, lead, call.with_, sources.get(lead.source_id) if lead.source_id else None)

    async def leads(self, call: RestCall) -> Response:
        """``GET /api/v4/leads``: ``filter[id]``, ``filter[pipeline_id]``, ``filter[statuses]``, ``query``, ``with=contacts,source``."""
        page, limit = call.page()
        leads = self.backend.crm_leads(call.account_id)
        filters = call.filters()
        if "id" in filters:
            ids = call.ints("filter[id]", filters["id"])
            leads = [lead for lead in leads if lead.id in ids]
        if "pipeline_id" in filters:
            pipelines = call.ints("filter[pipeline_id]", filters["pipeline_id"])
            leads = [lead for lead in leads if lead.pipeline_id in pipelines]
        if "status_id" in filters:
            statuses = call.ints("filter[status_id]", filters["status_id"])
            leads = [lead for lead in leads if lead.status_id in statuses]
        query = call.request.query_params.get("query")
        if query:
            leads = [lead for lead in leads if query.lower() in lead.name.lower() or query == str(lead.id)]
        items = [self._lead_view(call, lead) for lead in leads]
        return hal_response(views.page_of(call.base, "/api/v4/leads", "leads", items, page, limit))

    async def lead(self, call: RestCall) -> Response:
        lead_id = _path_int(call)
        lead = next((lead for lead in self.backend.crm_leads(call.account_id) if lead.id == lead_id), None)
        if lead is None:
            raise CrmNotFound("lead", lead_id)
        return hal_response(self._lead_view(call, lead))

    def _written(self, call: RestCall, kind: str, written: list[Any]) -> Response:
        items = [
            {"id": entity.id, "request_id": rid, "_links": views.link(call.base, f"/api/v4/{kind}/{entity.id}")} for entity, rid in written
        ]
        return hal_response({"_links": views.link(call.base, f"/api/v4/{kind}"), "_embedded": {kind: items}})

    async def add_leads(self, call: RestCall) -> Response:
        return self._written(call, "leads", self.backend.add_leads(call.account_id, rest.parse_leads_add(await call.body())))

    async def update_leads(self, call: RestCall) -> Response:
        return self._written(call, "leads", self.backend.update_leads(call.account_id, rest.parse_leads_update(await call.body())))

    async def update_lead(self, call: RestCall) -> Response:
        body = await call.body()
        if not isinstance(body, dict):
            raise CrmValidation([("0", "InvalidType", "", "PATCH /api/v4/leads/{id} takes one lead object.")])
        lead_id = _path_int(call)
        ((lead, _rid),) = self.backend.update_leads(call.account_id, rest.parse_leads_update(body, lead_id), lead_id)
        return hal_response(
            {"id": lead.id, "updated_at": int(lead.updated_at), "_links": views.link(call.base, f"/api/v4/leads/{lead.id}")}
        )

    # -- contacts -------------------------------------------------------------------------

    def _lead_ids(self, call: RestCall) -> dict[int, list[int]]:
        by_contact: dict[int, list[int]] = {}
        for lead in self.backend.crm_leads(call.account_id):
            by_contact.setdefault(lead.contact_id, []).append(lead.id)
        return by_contact

    async def contacts(self, call: RestCall) -> Response:
        """``GET /api/v4/contacts``: ``query`` finds by phone (any spelling), email or name; ``filter[id]``; ``with=leads``."""
        page, limit = call.page()
        contacts = self.backend.crm_contacts(call.account_id)
        filters = call.filters()
        if "id" in filters:
            ids = call.ints("filter[id]", filters["id"])
            contacts = [c for c in contacts if c.id in ids]
        query = call.request.query_params.get("query", "").strip()
        if query:
            digits = "".join(ch for ch in query if ch.isdigit())
            lowered = query.lower()
            contacts = [
                c
                for c in contacts
                if (digits and len(digits) >= 3 and digits in c.phone) or lowered in c.email.lower() or lowered in c.name.lower()
            ]
        leads = self._lead_ids(call) if "leads" in call.with_ else {}
        items = [views.contact_view(call.base, call.crm, c, call.with_, leads.get(c.id, ())) for c in contacts]
        return hal_response(views.page_of(call.base, "/api/v4/contacts", "contacts", items, page, limit))

    async def contact(self, call: RestCall) -> Response:
        contact_id = _path_int(call)
        contact = next((c for c in self.backend.crm_contacts(call.account_id) if c.id == contact_id), None)
        if contact is None:
            raise CrmNotFound("contact", contact_id)
        leads = self._lead_ids(call) if "leads" in call.with_ else {}
        return hal_response(views.contact_view(call.base, call.crm, contact, call.with_, leads.get(contact.id, ())))

    async def add_contacts(self, call: RestCall) -> Response:
        return self._written(call, "contacts", self.backend.add_contacts(call.account_id, rest.parse_contacts_add(await call.body())))

    # -- contacts <-> chats -------------------------------------------------------------------

    async def chats(self, call: RestCall) -> Response:
        """``GET /api/v4/contacts/chats?chat_id[]=…`` or ``?contact_id=…``: which contact each amojo chat belongs to."""
        chat_ids = set(call.query_list("chat_id"))
        contact_ids = call.ints("contact_id", call.query_list("contact_id"))
        if not chat_ids and not contact_ids:
            raise CrmValidation([("0", "NotBlank", "chat_id", "Give chat_id[] or contact_id[].")], hint="e.g. ?chat_id[]=<amojo chat id>")
        links = [
            (chat, contact) for chat, contact in self.backend.chat_links(call.account_id) if chat in chat_ids or contact in contact_ids
        ]
        if not links:
            return hal_response(None)
        items = [{"chat_id": chat, "contact_id": contact} for chat, contact in links]
        return hal_response({"_total_items": len(items), "_embedded": {"chats": items}})

    async def link_chats(self, call: RestCall) -> Response:
        """``POST /api/v4/contacts/chats``: ``[{chat_id, contact_id}]``."""
        links = self.backend.link_chats(call.account_id, rest.parse_chat_links(await call.body()))
        items = [{"chat_id": chat, "contact_id": contact, "request_id": rid} for chat, contact, rid in links]
        return hal_response({"_total_items": len(items), "_embedded": {"chats": items}})
