"""amoCRM's REST API v4 as Starlette routes: the table of paths, methods and handlers.

Every route is behind :func:`~mock_amojo.http._rest.guarded` (bearer token, account, rate limit,
problem+json refusals). ``{id}`` keeps ``/api/v4/leads/unsorted`` and ``/api/v4/leads/pipelines``
apart from ``/api/v4/leads/{id}``.
"""

from __future__ import annotations

from starlette.routing import Route

from ..domain import Backend
from ..wire._endpoints import REST_PREFIX
from ._ratelimit import RateLimiter
from ._rest import Rest, guarded
from ._rest_crm import CrmHandlers
from ._rest_inbox import InboxHandlers

__all__ = ["rest_routes"]


def rest_routes(backend: Backend, limiter: RateLimiter) -> list[Route]:
    """The routes of ``/api/v4``, behind one gate counting requests with ``limiter``."""
    rest = Rest(backend, limiter)
    crm = CrmHandlers(backend)
    inbox = InboxHandlers(backend)
    table = [
        ("/account", crm.account, ["GET"]),
        ("/users", crm.users, ["GET"]),
        ("/users/{id:int}", crm.user, ["GET"]),
        ("/leads/pipelines", crm.pipelines, ["GET"]),
        ("/leads/pipelines", crm.add_pipelines, ["POST"]),
        ("/leads/pipelines/{id:int}", crm.pipeline, ["GET"]),
        ("/leads/pipelines/{id:int}/statuses", crm.statuses, ["GET"]),
        ("/leads/pipelines/{id:int}/statuses/{status_id:int}", crm.status, ["GET"]),
        ("/leads/unsorted", inbox.unsorted, ["GET"]),
        ("/leads/unsorted/summary", inbox.summary, ["GET"]),
        ("/leads/unsorted/{uid}", inbox.unsorted_one, ["GET"]),
        ("/leads/unsorted/{uid}/accept", inbox.accept, ["POST"]),
        ("/leads/unsorted/{uid}/decline", inbox.decline, ["DELETE"]),
        ("/leads/unsorted/{uid}/link", inbox.link, ["POST"]),
        ("/leads", crm.leads, ["GET"]),
        ("/leads", crm.add_leads, ["POST"]),
        ("/leads", crm.update_leads, ["PATCH"]),
        ("/leads/{id:int}", crm.lead, ["GET"]),
        ("/leads/{id:int}", crm.update_lead, ["PATCH"]),
        ("/contacts", crm.contacts, ["GET"]),
        ("/contacts", crm.add_contacts, ["POST"]),
        ("/contacts/chats", crm.chats, ["GET"]),
        ("/contacts/chats", crm.link_chats, ["POST"]),
        ("/contacts/{id:int}", crm.contact, ["GET"]),
        ("/sources", inbox.sources, ["GET"]),
        ("/sources", inbox.add_sources, ["POST"]),
        ("/sources", inbox.update_sources, ["PATCH"]),
        ("/sources", inbox.delete_sources, ["DELETE"]),
        ("/sources/{id:int}", inbox.source, ["GET"]),
        ("/sources/{id:int}", inbox.update_source, ["PATCH"]),
        ("/sources/{id:int}", inbox.delete_source, ["DELETE"]),
        ("/talks/{id:int}", inbox.talk, ["GET"]),
        ("/talks/{id:int}/close", inbox.close_talk, ["POST"]),
    ]
    return [
        Route(REST_PREFIX + path, guarded(rest, handler), methods=methods, name=f"crm_{handler.__name__}")
        for path, handler, methods in table
    ]
