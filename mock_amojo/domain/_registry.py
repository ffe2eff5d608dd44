"""What amoCRM support and the integration set up: channels, accounts and their connections (scopes)."""

from __future__ import annotations

import secrets

from ..errors import AccountNotAllowed, ChannelExists, ControlError, InvalidReference
from ..wire._limits import LONE_SURROGATE, lone_surrogate
from ..wire._requests import Connect
from ._changes import ChangeFeed
from ._chats import Scope
from ._parties import AMOJO_ID, Account, Bot, Channel, ChannelChanges, User
from ._state import State


def refuse_lone_surrogates(what: str, fields: dict[str, object]) -> None:
    """Refuse text no JSON can carry before it is stored: the state, its views and the durable log could not write it.

    Requests never carry one (their JSON could not); a Python caller of the domain can.
    """
    path = lone_surrogate(fields)
    if path is not None:
        where = ".".join(str(step) for step in path)
        raise ControlError(f"{what}: {where} {LONE_SURROGATE}.", hint="Pass text as whole characters.")


def register_channel(
    state: State,
    feed: ChangeFeed,
    *,
    id: str | None,
    secret: str | None,
    name: str,
    webhook_url: str | None,
    hook_api_version: str,
    strict: bool,
    allowed_accounts: list[str] | None,
    write_first: bool,
    replace: bool,
) -> Channel:
    """A channel as amoCRM support registers it (``id`` and ``secret`` generated if absent); re-registering keeps its bot."""
    refuse_lone_surrogates(
        "channel", {"id": id, "secret": secret, "name": name, "webhook_url": webhook_url, "allowed_accounts": allowed_accounts}
    )
    channel_id = id or state.ids.new()
    if "_" in channel_id or "/" in channel_id:
        raise ControlError(
            f"Channel id {channel_id!r} contains '_' or '/'.",
            hint="scope ids are '{channel_id}_{account_id}', so a channel id cannot contain '_' or '/'; use a UUID.",
        )
    if channel_id in state.channels and not replace:
        raise ChannelExists(
            f"A channel with id {channel_id!r} is already registered.",
            hint=f"Change it with PATCH /__mock__/channels/{channel_id} (the same fields but id), or use another id.",
        )
    replaced = state.channels.get(channel_id)
    # Re-registering keeps the channel's bot: integrations hold its id as sender.ref_id.
    bot_id = replaced.bot.id if replaced is not None else state.ids.new()
    channel = Channel(
        id=channel_id,
        secret=secret or str(feed.draw(lambda: secrets.token_hex(20))),
        name=name,
        bot=Bot(id=bot_id, client_id=f"{channel_id}-bot", name=f"{name} bot"),
        webhook_url=webhook_url,
        hook_api_version=hook_api_version,
        strict=strict,
        allowed_accounts=set(allowed_accounts or ()),
        write_first=write_first,
    )
    state.channels[channel_id] = channel
    return channel


def update_channel(channel: Channel, feed: ChangeFeed, changes: ChannelChanges) -> Channel:
    """Change the settings ``changes`` gives; the others keep their value. A secret given as None is drawn anew.

    What a setting governs is read when it is used, so a change holds from the next request on: the
    next webhook goes to the new URL, the next connect meets the new allow-list; a scope keeps the
    hook version it connected with.
    """
    refuse_lone_surrogates("channel", changes.as_json())
    for name, value in changes.items():
        if name == "secret":
            channel.secret = value or str(feed.draw(lambda: secrets.token_hex(20)))
        elif name == "name":
            channel.name = value
            channel.bot.name = f"{value} bot"
        elif name == "allowed_accounts":
            channel.allowed_accounts = set(value or ())
        else:
            setattr(channel, name, value)
    return channel


def register_account(state: State, amojo_id: str | None, name: str | None, users: list[dict[str, str]] | None) -> Account:
    """Create (or update) an account with its CRM users; a manager is added if none is given."""
    refuse_lone_surrogates("account", {"amojo_id": amojo_id, "name": name, "users": users})
    account_id = amojo_id or state.ids.new()
    if not AMOJO_ID.fullmatch(account_id):
        raise ControlError(
            f"Account id {account_id!r} is not an amojo id: letters, digits and '-' only.", hint="Use a UUID, as amoCRM does."
        )
    members = [User(id=u.get("amojo_id") or state.ids.new(), name=u["name"]) for u in users or []]
    existing = state.accounts.get(account_id)
    if existing is not None:
        if name:
            existing.name = name
        existing.users.extend(m for m in members if all(m.id != u.id for u in existing.users))
        state.crm.account(account_id, existing.name)
        state.crm.add_users(account_id, [u.id for u in existing.users])
        return existing
    account = Account(id=account_id, name=name or f"Account {account_id[:8]}", users=members or [User(id=state.ids.new(), name="Manager")])
    state.accounts[account_id] = account
    # The REST side (integer ids, subdomain, pipeline) exists from the start, as in amoCRM.
    state.crm.account(account_id, account.name)
    state.crm.add_users(account_id, [u.id for u in account.users])
    return account


def connect(state: State, channel: Channel, request: Connect) -> Scope:
    """Connect an account to ``channel`` (again: the scope keeps its chats and takes the new settings)."""
    account_id = request.account_id
    if not AMOJO_ID.fullmatch(account_id):
        raise InvalidReference(
            f"account_id {account_id!r} is not an amojo account id.",
            hint="Use the account's amojo_id (GET /api/v4/account?with=amojo_id), a UUID.",
            detail={"pointer": "/account_id", "value": account_id},
        )
    if channel.strict and account_id not in channel.allowed_accounts:
        raise AccountNotAllowed(
            f"Account {account_id!r} is not allowed on private channel {channel.id!r}.",
            hint=f"A private channel connects only the accounts listed at registration; add it to allowed_accounts with PATCH /__mock__/channels/{channel.id}.",
            detail={"account_id": account_id},
        )
    if account_id not in state.accounts:
        register_account(state, account_id, None, None)
    scope_id = f"{channel.id}_{account_id}"
    version = request.hook_api_version if request.hook_api_version is not None else channel.hook_api_version
    title = request.title if request.title is not None else channel.name
    disabled = request.is_time_window_disabled is True
    scope = state.scopes.get(scope_id)
    if scope is None:
        scope = Scope(scope_id, channel.id, account_id, title, version, disabled)
        state.scopes[scope_id] = scope
    else:
        scope.title, scope.hook_api_version, scope.is_time_window_disabled = title, version, disabled
        scope.connected = True
    return scope
