"""Who takes part: channels and their bots, accounts and their CRM users, chat participants.

Resolving a participant an amojo request names (a client by the integration's id and/or
amojo's ``ref_id``, a CRM user or the channel bot as the sender of an imported message, the
manager acting in a chat) happens here, on a scope's participant index.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

import msgspec

from ..errors import ControlError, InvalidReference, UserNotFound
from ..wire._redaction import repr_without_secrets, secret_hint
from ..wire._values import Party

if TYPE_CHECKING:
    from ..wire._stances import Stances
    from ._chats import Scope

_NON_DIGITS = re.compile(r"\D+")
#: amojo ids are UUIDs; anything outside letters, digits and '-' cannot be part of a scope id or a path.
AMOJO_ID = re.compile(r"[A-Za-z0-9-]{1,64}")


def normalize_phone(phone: str | None) -> str:
    """amojo keeps digits only: ``+7 (915) 111-22-33`` → ``79151112233``."""
    return _digits_of(phone) if phone else ""


@functools.lru_cache(maxsize=1024)
def _digits_of(phone: str) -> str:
    # A client's profile (phone included) comes with every message it sends: one regex pass per phone.
    return _NON_DIGITS.sub("", phone)


class Bot(msgspec.Struct):
    """The channel's bot: the sender of bot messages (``sender.ref_id`` = its id)."""

    id: str
    client_id: str
    name: str


#: What a registered channel lets change: all it holds but its id and its bot (integrations keep the bot's id).
CHANNEL_SETTINGS = ("secret", "name", "webhook_url", "hook_api_version", "strict", "allowed_accounts", "write_first")


class ChannelChanges:
    """Settings of a channel to change (of :data:`CHANNEL_SETTINGS`), as given: a setting not given keeps its value.

    None is a value here: ``webhook_url=None`` stops sending hooks, ``secret=None`` draws a new secret.

    >>> ChannelChanges(webhook_url=None, write_first=False).as_json()
    {'webhook_url': None, 'write_first': False}
    >>> ChannelChanges(webhok_url="x")
    Traceback (most recent call last):
    ...
    mock_amojo.errors.ControlError: A channel has no setting 'webhok_url'.
    """

    __slots__ = ("_given",)

    def __init__(self, **given: object) -> None:
        unknown = sorted(set(given) - set(CHANNEL_SETTINGS))
        if unknown:
            raise ControlError(f"A channel has no setting {unknown[0]!r}.", hint=f"Change one of: {', '.join(CHANNEL_SETTINGS)}.")
        self._given = given

    def items(self) -> list[tuple[str, Any]]:
        """The settings given and their values, in :data:`CHANNEL_SETTINGS` order."""
        return [(name, self._given[name]) for name in CHANNEL_SETTINGS if name in self._given]

    def as_json(self) -> dict[str, Any]:
        """The settings given, as an event records them."""
        return dict(self.items())


_CHANNEL_SECRETS = frozenset({"secret"})


class Channel(msgspec.Struct):
    """A channel amoCRM support registered: its secret, bot, webhook URL and which accounts may connect."""

    id: str
    secret: str
    name: str
    bot: Bot
    webhook_url: str | None = None
    hook_api_version: str = "v1"
    strict: bool = False
    allowed_accounts: set[str] = msgspec.field(default_factory=set)
    write_first: bool = True

    @property
    def secret_hint(self) -> str:
        """Enough to tell secrets apart in a listing, never enough to sign."""
        return secret_hint(self.secret)

    def __repr__(self) -> str:
        return repr_without_secrets(self, self.__struct_fields__, _CHANNEL_SECRETS)


class User(msgspec.Struct):
    """A CRM user (manager) of an account, with the amojo id amoCRM gives them."""

    id: str
    name: str


class Account(msgspec.Struct):
    """An amoCRM account and its CRM users (the first one replies unless another is named)."""

    id: str
    name: str
    users: list[User]

    def user(self, user_id: str | None) -> User:
        """The account's first user, or the one ``user_id`` names (:class:`UserNotFound` if none)."""
        user = self.users[0] if user_id is None else next((u for u in self.users if u.id == user_id), None)
        if user is None:
            raise UserNotFound("user_id", user_id or "")
        return user


class Participant(msgspec.Struct):
    """A chat party as amojo knows it: amojo id, plus the integration's id for clients."""

    id: str
    name: str
    client_id: str | None = None
    avatar: str = ""
    phone: str = ""
    email: str = ""
    profile_link: str = ""
    kind: Literal["client", "user", "bot"] = "client"

    def update_profile(self, party: Party) -> None:
        """Take the name, avatar, link, phone and email a request sends (absent or empty ones keep their value)."""
        if party.name:
            self.name = party.name
        if party.avatar:
            self.avatar = party.avatar
        if party.profile_link:
            self.profile_link = party.profile_link
        if party.phone:
            self.phone = normalize_phone(party.phone)
        if party.email:
            self.email = party.email


def client_participant(scope: Scope, party: Party, pointer: str, new_id: Callable[[], str], *, update: bool = True) -> Participant:
    """Find or create the client an integration user id (and/or amojo ref_id) names.

    ``update=False`` keeps a known client's profile as it is (create chat: "you will get the existing information").
    """
    client_id = party.id
    ref_id = party.ref_id
    participant: Participant | None = None
    if ref_id is not None:
        participant = scope.participants.get(ref_id)
        if participant is None or participant.kind != "client":
            raise UserNotFound(f"{pointer}/ref_id", ref_id)
        if client_id is not None:
            bound = scope.participants_by_client_id.get(client_id)
            if bound is not None and bound is not participant:
                raise InvalidReference(
                    f"{pointer}/id {client_id!r} already belongs to another amojo user than ref_id {ref_id!r}.",
                    hint="Send the ref_id amojo gave this client (the webhook's receiver.id), or omit ref_id.",
                    detail={"pointer": f"{pointer}/ref_id", "value": ref_id},
                )
            if participant.client_id is None:
                participant.client_id = client_id
                scope.participants_by_client_id[client_id] = participant
            elif participant.client_id != client_id:
                raise InvalidReference(
                    f"{pointer}/ref_id {ref_id!r} is linked to id {participant.client_id!r}, not {client_id!r}.",
                    hint="A client keeps the integration id it was first linked with; send that id with this ref_id.",
                    detail={"pointer": f"{pointer}/id", "value": client_id},
                )
    elif client_id is not None:
        participant = scope.participants_by_client_id.get(client_id)
        if participant is None:
            participant = Participant(id=new_id(), name=party.name or client_id, client_id=client_id)
            scope.participants[participant.id] = participant
            scope.participants_by_client_id[client_id] = participant
            update = True
    else:
        raise InvalidReference(f"{pointer} needs id or ref_id.", hint="Send the integration's user id as id.", detail={"pointer": pointer})
    if update:
        participant.update_profile(party)
    return participant


def crm_participant(scope: Scope, channel: Channel, account: Account, party: Party, pointer: str, stances: Stances) -> Participant:
    """The CRM side of an outgoing (imported) message: an account user or the channel bot."""
    ref_id = party.ref_id
    if ref_id is None:
        raise InvalidReference(
            f"{pointer}/ref_id is required when a receiver is given (an outgoing message).",
            hint="Outgoing messages are imported as a CRM user (sender.ref_id = the user's amojo_id) or the channel bot (sender.ref_id = bot id).",
            detail={"pointer": f"{pointer}/ref_id"},
        )
    existing = scope.participants.get(ref_id)
    if existing is not None and existing.kind != "client":
        return existing
    if ref_id == channel.bot.id:
        bot = Participant(id=channel.bot.id, name=channel.bot.name, client_id=channel.bot.client_id, kind="bot")
        scope.participants[bot.id] = bot
        return bot
    user = next((u for u in account.users if u.id == ref_id), None)
    if user is None:
        if channel.strict:
            raise UserNotFound(f"{pointer}/ref_id", ref_id)
        stances.fire(
            "import_unknown_sender",
            f"{pointer}/ref_id {ref_id!r} is no CRM user of the account nor the channel bot; the fake adds a CRM user with that id",
            UserNotFound(f"{pointer}/ref_id", ref_id),
        )
        # Otherwise the account learns the CRM users an integration imports, like a real account has them.
        user = User(id=ref_id, name=party.name if party.name is not None else "Manager")
        account.users.append(user)
    participant = Participant(id=user.id, name=user.name, kind="user")
    scope.participants[participant.id] = participant
    return participant


def manager(scope: Scope, account: Account, user_id: str | None) -> Participant:
    """The CRM user acting in a scope (the account's first user unless one is named); changes nothing."""
    user = account.user(user_id)
    return scope.participants.get(user.id) or Participant(id=user.id, name=user.name, kind="user")
