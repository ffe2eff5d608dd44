"""amoCRM's REST bodies are parsed once at the edge; the domain takes the typed values.

What a body's fields break is found at the edge, what the state refuses in the domain, and one
400 names both (amoCRM's ``validation-errors``: ``request_id``, ``code``, ``path``, ``detail``).
The durable log records each body as received, so files written before the bodies were typed
replay as they did, refused requests included.
"""

from __future__ import annotations

from typing import Any

import pytest

from mock_amojo.domain import Backend
from mock_amojo.domain._changes import Change
from mock_amojo.domain._clock import ManualClock, SequentialIds
from mock_amojo.errors import CrmValidation, OAuthRefused
from mock_amojo.wire import _rest_requests as rest
from mock_amojo.wire._oauth_requests import Install, parse_access_token, parse_install


def _paths(error: CrmValidation) -> set[tuple[str, str, str]]:
    problem = error.problem()["validation-errors"]
    return {(group["request_id"], e["code"], e["path"]) for group in problem for e in group["errors"]}


@pytest.fixture
def backend() -> Backend:
    backend = Backend(clock=ManualClock(1639609975), ids=SequentialIds())
    backend.register_account(amojo_id="acc-1", name="Shop")
    return backend


def test_a_lead_body_becomes_typed_fields_with_its_fields_problems() -> None:
    batch = rest.parse_leads_add(
        [
            {"name": "Deal", "price": 10, "request_id": "r-1", "_embedded": {"contacts": [{"id": 5}, {"id": "x"}]}},
            {"price": 1.5, "status_id": True},
            "not an object",
        ]
    )
    assert batch.items[0] == rest.LeadFields("r-1", "Deal", 10, None, None, None, (5, None))
    assert set(batch.problems) >= {
        ("r-1._embedded.contacts.1", "InvalidType", "r-1._embedded.contacts.1.id", "This value should be of type int."),
        ("1", "InvalidType", "1.price", "This value should be of type int."),
        ("1", "InvalidType", "1.status_id", "This value should be of type int."),
        ("2", "InvalidType", "2", "This value should be of type object."),
    }


@pytest.mark.parametrize("body", [None, [], "leads", 5, [{}] * 251])
def test_a_body_that_is_no_batch_is_refused_at_the_edge(body: Any) -> None:
    with pytest.raises(CrmValidation) as refused:
        rest.parse_leads_add(body)
    assert refused.value.problem()["validation-errors"][0]["errors"][0]["code"] in ("InvalidType", "TooMany")


def test_the_fields_problems_and_the_states_come_in_one_answer_and_change_nothing(backend: Backend) -> None:
    with pytest.raises(CrmValidation) as refused:
        backend.add_leads("acc-1", rest.parse_leads_add([{"name": "ok"}, {"price": "1000", "status_id": 999, "responsible_user_id": 7}]))
    assert _paths(refused.value) == {
        ("1", "InvalidType", "1.price"),
        ("1", "NotFound", "1.status_id"),
        ("1", "NotFound", "1.responsible_user_id"),
    }
    assert backend.crm_leads("acc-1") == []


def test_a_source_batch_names_each_bad_field_and_a_taken_external_id(backend: Backend) -> None:
    backend.register_integration(client_id="app", redirect_uri="https://app.test/oauth")
    backend.add_sources("acc-1", "app", rest.parse_sources_add([{"name": "A", "external_id": "a"}]))
    body = [
        {"name": "", "external_id": "a"},
        {"name": "B", "external_id": "é", "pipeline_id": 1},
        {"name": "C", "external_id": "c", "services": 5},
    ]
    with pytest.raises(CrmValidation) as refused:
        backend.add_sources("acc-1", "app", rest.parse_sources_add(body))
    assert _paths(refused.value) == {
        ("0", "NotBlank", "0.name"),
        ("0", "NotUnique", "0.external_id"),
        ("1", "InvalidValue", "1.external_id"),
        ("1", "NotFound", "1.pipeline_id"),
        ("2", "InvalidType", "2.services"),
    }
    assert [s.external_id for s in backend.crm_sources("acc-1", "app")] == ["a"]


def test_a_source_update_keeps_what_it_does_not_name() -> None:
    (item,) = rest.parse_sources_update({"name": "Renamed"}, 7).items
    assert (item.id, item.name, item.external_id, item.pipeline_id, item.default, item.services) == (7, "Renamed", None, None, None, None)
    assert rest.parse_sources_update({"external_id": None}, 7).problems[0][1:3] == ("NotBlank", "0.external_id")


def test_a_contacts_phone_is_the_first_phone_field_that_has_digits(backend: Backend) -> None:
    fields = [
        {"field_code": "PHONE", "values": [{"value": "n/a"}]},
        {"field_code": "PHONE", "values": [{"value": "+7 (916) 000-11-22"}]},
        {"field_code": "EMAIL", "values": [{"value": ""}, {"value": "bob@example.com"}]},
    ]
    ((contact, rid),) = backend.add_contacts(
        "acc-1", rest.parse_contacts_add([{"first_name": "Bob", "last_name": "Lee", "custom_fields_values": fields}])
    )
    assert (contact.name, contact.phone, contact.email, rid) == ("Bob Lee", "79160001122", "bob@example.com", "0")


def test_accept_link_and_close_bodies_are_typed() -> None:
    accept = {"user_id": 5, "status_id": 142}
    assert rest.parse_accept(accept) == rest.Accept(5, 142, recorded=accept)  # the body as received, for the durable log
    assert rest.parse_accept({"status_id": "142"}).problems[0][1:3] == ("InvalidType", "0.status_id")
    link: dict[str, Any] = {"link": {"entity_id": 3, "entity_type": "leads"}}
    assert rest.parse_link_unsorted(link) == rest.LinkUnsorted(3, recorded=link)
    assert {p[2] for p in rest.parse_link_unsorted({"link": {"entity_type": "contacts"}}).problems} == {
        "link.entity_id",
        "link.entity_type",
    }
    assert rest.parse_close_talk({}) is False and rest.parse_close_talk({"force_close": True}) is True
    with pytest.raises(CrmValidation):
        rest.parse_close_talk({"force_close": "yes"})


def test_oauth_and_install_bodies_are_typed() -> None:
    with pytest.raises(OAuthRefused, match="параметры") as refused:
        parse_access_token({"client_id": "app", "client_secret": "s", "grant_type": "authorization_code", "code": 5})
    assert refused.value.hint == '"code" is a string.'
    assert parse_install({"account_id": "acc-1", "deliver": False}) == Install("acc-1", "", False)


def test_events_record_the_body_as_received_and_old_refusals_replay_as_refusals(backend: Backend) -> None:
    heard: list[Change] = []
    backend.changes.subscribe(heard.append)
    body: list[Any] = [{"name": "Deal", "price": 10, "unknown": {"kept": True}}]
    backend.add_leads("acc-1", rest.parse_leads_add(body))
    with pytest.raises(CrmValidation):
        backend.add_leads("acc-1", rest.parse_leads_add([{"price": "x"}]))
    assert [(c.data["body"], c.failed) for c in heard] == [(body, False), ([{"price": "x"}], True)]
    replayed = Backend(clock=ManualClock(0), ids=SequentialIds())
    replayed.register_account(amojo_id="acc-1", name="Shop")
    assert all(replayed.changes.replay(replayed, Change.decode(c.encode())) for c in heard)
    assert [(lead.name, lead.price) for lead in replayed.crm_leads("acc-1")] == [("Deal", 10)]
