"""What an integration changes through amoCRM's REST API: leads, contacts, chat links, incoming leads, talks.

Each function checks the whole request before it changes anything (a refused batch leaves the
state as it was) and works on the same objects the chat flow creates (:mod:`._crm`).
"""

from __future__ import annotations

from ..errors import CrmNotFound, CrmValidation
from ..wire._rest_input import Problems
from ..wire._rest_requests import Accept, Batch, ChatLink, ContactFields, LeadFields, LinkUnsorted
from ._accounts import LOST, WON, CrmAccount
from ._chats import Chat
from ._crm import Contact, Crm, Lead, Unsorted
from ._parties import normalize_phone
from ._talks import Talk

__all__ = [
    "accept_unsorted",
    "add_contacts",
    "add_leads",
    "close_talk",
    "decline_unsorted",
    "link_chats",
    "link_unsorted",
    "update_leads",
]


def _lead(crm: Crm, account: CrmAccount, lead_id: int) -> Lead:
    lead = crm.leads.get(lead_id)
    if lead is None or lead.account_id != account.amojo_id or lead.is_deleted:
        raise CrmNotFound("lead", lead_id)
    return lead


def _contact_ids(problems: Problems, crm: Crm, account: CrmAccount, item: LeadFields) -> list[int]:
    found = []
    for n, cid in enumerate(item.contacts):
        contact = crm.contacts.get(cid) if cid is not None else None
        if cid is not None and (contact is None or contact.account_id != account.amojo_id):
            rid = item.request_id
            problems.add(rid, "NotFound", f"{rid}._embedded.contacts.{n}.id", f"No contact {cid} in this account.")
        elif cid is not None:
            found.append(cid)
    return found


def _placement(problems: Problems, account: CrmAccount, item: LeadFields, current: Lead | None) -> tuple[int, int]:
    """The (pipeline_id, status_id) a lead body asks for; a new lead goes to the main pipeline's first working stage."""
    rid, pipeline_id, status_id = item.request_id, item.pipeline_id, item.status_id
    pipeline = account.pipeline(pipeline_id) if pipeline_id is not None else None
    if pipeline_id is not None and pipeline is None:
        problems.add(rid, "NotFound", f"{rid}.pipeline_id", f"No pipeline {pipeline_id} in this account (GET /api/v4/leads/pipelines).")
        return 0, 0
    if status_id is not None:
        holder = pipeline or account.pipeline_of_status(status_id)
        if holder is None or (status_id not in (WON, LOST) and holder.status(status_id) is None):
            problems.add(rid, "NotFound", f"{rid}.status_id", f"No status {status_id} in the pipeline (GET /api/v4/leads/pipelines).")
            return 0, 0
        return holder.id, status_id
    if pipeline is not None:
        return pipeline.id, pipeline.first_working.id
    if current is not None:
        return current.pipeline_id, current.status_id
    return account.main_pipeline.id, account.main_pipeline.first_working.id


def _responsible(problems: Problems, account: CrmAccount, rid: str, user_id: int | None) -> int | None:
    if user_id is not None and account.amojo_user(user_id) is None:
        problems.add(rid, "NotFound", f"{rid}.responsible_user_id", f"No user {user_id} in this account (GET /api/v4/users).")
    return user_id


def add_leads(crm: Crm, account: CrmAccount, batch: Batch[LeadFields], now: float) -> list[tuple[Lead, str]]:
    """``POST /api/v4/leads``: each lead with its ``request_id``."""
    problems = Problems(batch.problems)
    parsed = []
    for item in batch.items:
        pipeline_id, status_id = _placement(problems, account, item, None)
        _responsible(problems, account, item.request_id, item.responsible_user_id)
        parsed.append((item, pipeline_id, status_id, _contact_ids(problems, crm, account, item)))
    problems.raise_if_any(batch.hint)
    added = []
    for item, pipeline_id, status_id, contact_ids in parsed:
        lead_id = crm.new_id()
        lead = Lead(lead_id, account.amojo_id, "", "", contact_ids[0] if contact_ids else 0, "", now, None, "api")
        lead.name, lead.price, lead.pipeline_id, lead.status_id = item.name or f"Сделка #{lead_id}", item.price or 0, pipeline_id, status_id
        lead.responsible_user_id, lead.updated_at = item.responsible_user_id or 0, now
        lead.closed_at = now if status_id in (WON, LOST) else None
        crm.leads[lead.id] = lead
        added.append((lead, item.request_id))
    return added


def update_leads(crm: Crm, account: CrmAccount, batch: Batch[LeadFields], now: float) -> list[tuple[Lead, str]]:
    """``PATCH /api/v4/leads`` (each item names its ``id``) or ``PATCH /api/v4/leads/{id}``."""
    problems = Problems(batch.problems)
    changes = []
    for item in batch.items:
        lead = _lead(crm, account, item.id or 0)
        pipeline_id, status_id = _placement(problems, account, item, lead)
        _responsible(problems, account, item.request_id, item.responsible_user_id)
        changes.append((lead, item, pipeline_id, status_id, _contact_ids(problems, crm, account, item)))
    problems.raise_if_any(batch.hint)
    for lead, item, pipeline_id, status_id, contact_ids in changes:
        lead.name = item.name or lead.name
        lead.price = lead.price if item.price is None else item.price
        if status_id != lead.status_id:
            lead.closed_at = now if status_id in (WON, LOST) else None
        lead.pipeline_id, lead.status_id = pipeline_id, status_id
        lead.responsible_user_id = lead.responsible_user_id if item.responsible_user_id is None else item.responsible_user_id
        if contact_ids:
            lead.contact_id = contact_ids[0]
        lead.updated_at = now
        # An accepted-by-moving incoming lead is sorted: amoCRM leaves the incoming-leads stage the same way.
        _sort_by_move(crm, lead, now)
    return [(change[0], change[1].request_id) for change in changes]


def _sort_by_move(crm: Crm, lead: Lead, now: float) -> None:
    for unsorted in crm.unsorted.values():
        if unsorted.lead_id == lead.id and unsorted.state == "new":
            account = crm.accounts[lead.account_id]
            pipeline = account.pipeline(lead.pipeline_id)
            if pipeline is None or lead.status_id != pipeline.incoming.id:
                unsorted.state, unsorted.sorted_at = "accepted", now


def add_contacts(crm: Crm, account: CrmAccount, batch: Batch[ContactFields], now: float) -> list[tuple[Contact, str]]:
    """``POST /api/v4/contacts``; their phones and emails are the keys a chat's client is matched by."""
    problems = Problems(batch.problems)
    for item in batch.items:
        _responsible(problems, account, item.request_id, item.responsible_user_id)
    problems.raise_if_any(batch.hint)
    added = []
    for item in batch.items:
        name = item.name or " ".join(p for p in (item.first_name, item.last_name) if p)
        phone = next((p for p in map(normalize_phone, item.phones) if p), "")
        contact = Contact(crm.new_id(), account.amojo_id, name, phone, item.email, now, now, item.responsible_user_id or 0)
        added.append((crm.add_contact(contact), item.request_id))
    return added


def _check_link(problems: Problems, crm: Crm, chats: dict[str, Chat], account: CrmAccount, link: ChatLink) -> None:
    rid, chat_id, contact_id = link.request_id, link.chat_id, link.contact_id
    chat = chats.get(chat_id)
    if chat_id and (chat is None or chat.scope_id.partition("_")[2] != account.amojo_id):
        problems.add(
            rid, "NotFound", f"{rid}.chat_id", "No chat with this id in the account: use amojo's chat id (create chat's answer, id)."
        )
    contact = crm.contacts.get(contact_id) if contact_id is not None else None
    if contact_id is not None and (contact is None or contact.account_id != account.amojo_id):
        problems.add(rid, "NotFound", f"{rid}.contact_id", f"No contact {contact_id} in this account.")
    linked = crm.chat_links.get(chat_id)
    if linked is not None and contact_id is not None and linked != contact_id:
        problems.add(rid, "AlreadyLinked", f"{rid}.chat_id", f"The chat is already linked to contact {linked}.")


def link_chats(crm: Crm, chats: dict[str, Chat], account: CrmAccount, batch: Batch[ChatLink]) -> list[tuple[str, int, str]]:
    """``POST /api/v4/contacts/chats``: later incoming leads of the chat take this contact."""
    problems = Problems(batch.problems)
    for link in batch.items:
        _check_link(problems, crm, chats, account, link)
    problems.raise_if_any(batch.hint)
    links = [(link.chat_id, link.contact_id or 0, link.request_id) for link in batch.items]
    for chat_id, contact_id, _rid in links:
        crm.chat_links[chat_id] = contact_id
    return links


def _unsorted(crm: Crm, account: CrmAccount, uid: str) -> Unsorted:
    found = crm.unsorted.get(uid)
    if found is None or found.account_id != account.amojo_id:
        raise CrmNotFound("unsorted", uid, hint="Incoming leads are named by uid: GET /api/v4/leads/unsorted lists them.")
    if found.state != "new":
        raise CrmValidation(
            [("0", "AlreadySorted", "uid", f"This incoming lead was already {found.state}.")],
            hint="An incoming lead is accepted, declined or linked once.",
        )
    return found


def accept_unsorted(crm: Crm, account: CrmAccount, uid: str, accept: Accept, now: float) -> Unsorted:
    """Accept: the lead moves to ``status_id`` (default: the stage after incoming leads), ``user_id`` becomes responsible."""
    unsorted = _unsorted(crm, account, uid)
    problems = Problems(accept.problems)
    user_id, status_id = accept.user_id, accept.status_id
    pipeline = account.pipeline(unsorted.pipeline_id) or account.main_pipeline
    if user_id is not None and account.amojo_user(user_id) is None:
        problems.add("0", "NotFound", "user_id", f"No user {user_id} in this account (GET /api/v4/users).")
    if status_id is not None and (pipeline.status(status_id) is None or status_id == pipeline.incoming.id):
        problems.add("0", "NotFound", "status_id", f"status_id must be a stage of pipeline {pipeline.id} other than incoming leads.")
    problems.raise_if_any()
    lead = crm.leads[unsorted.lead_id]
    lead.status_id = status_id if status_id is not None else pipeline.first_working.id
    lead.responsible_user_id = user_id if user_id is not None else lead.responsible_user_id
    lead.updated_at = now
    lead.closed_at = now if lead.status_id in (WON, LOST) else None
    unsorted.state, unsorted.sorted_at = "accepted", now
    return unsorted


def decline_unsorted(crm: Crm, chats: dict[str, Chat], account: CrmAccount, uid: str, now: float) -> Unsorted:
    """Decline: the lead is deleted and the talk closed; the chat's next client message opens a new incoming lead."""
    unsorted = _unsorted(crm, account, uid)
    lead = crm.leads[unsorted.lead_id]
    lead.is_deleted, lead.updated_at = True, now
    chat = chats.get(unsorted.chat_id)
    if chat is not None and chat.lead_id == lead.id:
        chat.lead_id = None
    talk = crm.talks.open.get(unsorted.chat_id)
    if talk is not None:
        crm.talks.close(talk, now)
    unsorted.state, unsorted.sorted_at = "declined", now
    return unsorted


def link_unsorted(crm: Crm, chats: dict[str, Chat], account: CrmAccount, uid: str, link: LinkUnsorted, now: float) -> tuple[Unsorted, Lead]:
    """Link a chat's incoming lead to an existing lead: the chat and its talk now belong to that lead."""
    unsorted = _unsorted(crm, account, uid)
    Problems(link.problems).raise_if_any(link.HINT)
    target = _lead(crm, account, link.entity_id or 0)
    own = crm.leads[unsorted.lead_id]
    own.is_deleted, own.updated_at = True, now
    chat = chats.get(unsorted.chat_id)
    if chat is not None:
        chat.lead_id = target.id
    target.chat_id = target.chat_id or unsorted.chat_id
    target.updated_at = now
    talk = crm.talks.open.get(unsorted.chat_id)
    if talk is not None:
        talk.lead_id = target.id
    unsorted.state, unsorted.sorted_at = "linked", now
    return unsorted, target


def close_talk(crm: Crm, account: CrmAccount, talk_id: int, now: float) -> Talk:
    """``POST /api/v4/talks/{id}/close`` (``force_close`` only decides on an NPS bot, which the fake has not)."""
    talk = crm.talks.by_id.get(talk_id)
    if talk is None or talk.account_id != account.amojo_id:
        raise CrmNotFound("talk", talk_id, hint="A talk id comes from the chat's incoming lead or GET /api/v4/talks/{id}.")
    return crm.talks.close(talk, now)
