"""An account as amoCRM's REST API shows it: integer id, subdomain, users with integer ids, pipelines.

amojo knows an account by its ``amojo_id`` (a UUID) and its users by their amojo ids; the REST API
(``GET /api/v4/account?with=amojo_id``, ``/api/v4/users?with=amojo_id``) gives the integer ids and
maps them to the amojo ones. Each account has one main pipeline with amoCRM's system statuses:
the incoming-leads stage (``type`` 1, first), the stages a manager works in, then 142 ("won") and
143 ("lost"), whose ids are the same in every account (amoCRM's pipelines reference).

>>> ids = CrmIds()
>>> account = CrmAccount.new(ids, "3f0c6f7a-0000-4000-8000-000000000001", "Shop")
>>> account.subdomain, [s.id for s in account.main_pipeline.statuses][-2:]
('account30000001', [142, 143])
"""

from __future__ import annotations

import re
from typing import ClassVar

import msgspec

__all__ = ["LOST", "MAX_PIPELINES", "SUBDOMAIN", "WON", "CrmAccount", "CrmIds", "Pipeline", "Status"]

#: Pipelines an account may have (amoCRM's pipelines reference: 50).
MAX_PIPELINES = 50
#: amoCRM's fixed status ids for "successfully realised" and "closed and not realised".
WON, LOST = 142, 143
#: A subdomain as amoCRM allows one (letters, digits, '-'), lower case.
SUBDOMAIN = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")

# (name, color, type) of a new account's main pipeline; type 1 is the incoming-leads stage.
_STAGES = (
    ("Неразобранное", "#c1c1c1", 1),
    ("Первичный контакт", "#99ccff", 0),
    ("Переговоры", "#ffff99", 0),
    ("Принимают решение", "#ffcc66", 0),
)


class CrmIds:
    """Integer ids per kind, counting up as amoCRM's do (each kind from its own base, so ids of kinds differ)."""

    _BASES: ClassVar[dict[str, int]] = {
        "account": 30_000_001,
        "user": 8_000_001,
        "pipeline": 7_000_001,
        "status": 60_000_001,
        "source": 1,
        "talk": 1,
    }

    def __init__(self) -> None:
        self._next = dict(self._BASES)

    def new(self, kind: str) -> int:
        value = self._next[kind]
        self._next[kind] = value + 1
        return value


class Status(msgspec.Struct):
    """A stage of a pipeline."""

    id: int
    name: str
    sort: int
    color: str
    type: int = 0
    is_editable: bool = True


class Pipeline(msgspec.Struct):
    """A leads pipeline and its stages, incoming leads first, 142 and 143 last."""

    id: int
    name: str
    sort: int
    is_main: bool
    statuses: list[Status]
    is_unsorted_on: bool = True
    is_archive: bool = False

    @property
    def incoming(self) -> Status:
        """The incoming-leads ("unsorted") stage."""
        return self.statuses[0]

    @property
    def first_working(self) -> Status:
        """Where an accepted incoming lead goes unless a status is named: the stage after incoming leads."""
        return self.statuses[1]

    def status(self, status_id: int) -> Status | None:
        return next((s for s in self.statuses if s.id == status_id), None)

    @classmethod
    def new(cls, ids: CrmIds, name: str = "Воронка", *, is_main: bool = True) -> Pipeline:
        statuses = [
            Status(ids.new("status"), title, 10 * (n + 1), color, kind, kind == 0) for n, (title, color, kind) in enumerate(_STAGES)
        ]
        statuses += [
            Status(WON, "Успешно реализовано", 10000, "#CCFF66", 0, False),
            Status(LOST, "Закрыто и не реализовано", 11000, "#D5D8DB", 0, False),
        ]
        return cls(ids.new("pipeline"), name, 1, is_main, statuses)


class CrmAccount(msgspec.Struct):
    """The REST side of one account: its integer id and subdomain, its users' integer ids, its pipelines."""

    id: int
    amojo_id: str
    subdomain: str
    name: str
    pipelines: list[Pipeline]
    #: amojo user id -> the user's integer REST id, in the order users joined.
    user_ids: dict[str, int] = msgspec.field(default_factory=dict)
    created_at: int = 0

    @classmethod
    def new(cls, ids: CrmIds, amojo_id: str, name: str, created_at: int = 0) -> CrmAccount:
        crm_id = ids.new("account")
        return cls(crm_id, amojo_id, f"account{crm_id}", name, [Pipeline.new(ids)], created_at=created_at)

    @property
    def main_pipeline(self) -> Pipeline:
        return next((p for p in self.pipelines if p.is_main), self.pipelines[0])

    def pipeline(self, pipeline_id: int) -> Pipeline | None:
        return next((p for p in self.pipelines if p.id == pipeline_id), None)

    def pipeline_of_status(self, status_id: int) -> Pipeline | None:
        """The pipeline holding ``status_id`` (142 and 143 are in every one: the main pipeline then)."""
        if status_id in (WON, LOST):
            return self.main_pipeline
        return next((p for p in self.pipelines if p.status(status_id) is not None), None)

    def user_id(self, amojo_user_id: str) -> int:
        """The integer REST id of a user named by amojo id (0: not a user of this account)."""
        return self.user_ids.get(amojo_user_id, 0)

    def amojo_user(self, user_id: int) -> str | None:
        """The amojo id of a user named by integer REST id."""
        return next((amojo for amojo, rest in self.user_ids.items() if rest == user_id), None)
