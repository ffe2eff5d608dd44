"""The fake's own control plane under ``/__mock__/`` — never signed, never part of amojo.

Like moto's ``/moto-api``: health, reset, registering channels and accounts, reading the
journal and the whole state, and signing a request for you (the secret stays server-side).
"""

from __future__ import annotations

import functools
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .. import __version__
from ..config import Config, webhook_url_problem
from ..crm._operator import Operator
from ..domain import Backend, Channel, ChannelChanges
from ..errors import AmojoError, ControlError
from ..webhooks import OUTCOMES, WebhookFaults
from ..wire import _views as views
from ..wire._limits import MAX_INTEGER
from ..wire._signing import format_date, sign_request
from ..wire._stances import RULES
from ..wire._validation import SchemaSet
from ._exchange import error_response, json_response, parse_json, read_body

__all__ = ["CONTROL_PREFIX", "channel_public", "control_routes", "state_snapshot"]

CONTROL_PREFIX = "/__mock__"


def channel_public(channel: Channel) -> dict[str, Any]:
    """A channel as listings show it: everything but the secret."""
    return {
        "id": channel.id,
        "name": channel.name,
        "secret_hint": channel.secret_hint,
        "webhook_url": channel.webhook_url,
        "hook_api_version": channel.hook_api_version,
        "strict": channel.strict,
        "allowed_accounts": sorted(channel.allowed_accounts),
        "write_first": channel.write_first,
        "bot": {"id": channel.bot.id, "client_id": channel.bot.client_id, "name": channel.bot.name},
    }


def state_snapshot(backend: Backend, scope_id: str | None = None) -> dict[str, Any]:
    """Everything the fake holds, as JSON: what a test asserts on."""
    from ..wire import _rest_views as rest_views  # with the first snapshot: a start does without the REST views

    state = backend.snapshot(scope_id)
    return {
        "channels": [channel_public(c) for c in state.channels],
        "accounts": [{"id": a.id, "name": a.name, "users": [{"id": u.id, "name": u.name} for u in a.users]} for a in state.accounts],
        "scopes": [
            {
                "id": s.id,
                "channel_id": s.channel_id,
                "account_id": s.account_id,
                "title": s.title,
                "hook_api_version": s.hook_api_version,
                "is_time_window_disabled": s.is_time_window_disabled,
                "connected": s.connected,
            }
            for s in state.scopes
        ],
        "chats": [views.chat_state(c) for c in state.chats],
        "messages": [views.message_state(m) for c in state.chats for m in c.messages],
        "leads": [views.lead_state(lead) for lead in state.leads],
        "contacts": [{"id": c.id, "account_id": c.account_id, "name": c.name, "phone": c.phone, "email": c.email} for c in state.contacts],
        "crm": rest_views.crm_state(backend.crm_snapshot()),
    }


class _Control:
    def __init__(self, backend: Backend, config: Config, schemas: SchemaSet, operator: Operator | None = None) -> None:
        self.backend = backend
        self.config = config
        self.schemas = schemas
        self.operator = operator

    async def _json(self, request: Request, schema: str) -> Any:
        body = await read_body(request, self.config.body_limit)
        data = parse_json(body) if body.strip() else {}
        self.schemas.validate(schema, data, raw=body)
        return data

    async def health(self, request: Request) -> Response:
        """Liveness: status, version and how many channels are registered."""
        return json_response({"status": "ok", "version": __version__, "channels": len(self.backend.channel_list())})

    async def reset(self, request: Request) -> Response:
        """Forget all state (chats, messages, leads, journal), then re-create the start-up channel and account."""
        self.backend.reset()
        return json_response({"status": "reset", "channels": [c.id for c in self.backend.channel_list()]})

    async def list_channels(self, request: Request) -> Response:
        """Registered channels (secrets shown as hints only)."""
        return json_response({"channels": [channel_public(c) for c in self.backend.channel_list()]})

    async def add_channel(self, request: Request) -> Response:
        """Register a channel as amoCRM support would; a generated secret is shown once, in this answer."""
        data = _channel_settings(await self._json(request, "control_channel.request.json"))
        generated = not data.get("secret")
        channel = self.backend.register_channel(**data)
        body = channel_public(channel)
        if generated:
            # The only time a generated secret is shown: the caller has no other way to learn it.
            body["secret"] = channel.secret
        return json_response(body, 201)

    async def get_channel(self, request: Request) -> Response:
        """One registered channel (its secret shown as a hint only)."""
        return json_response(channel_public(self.backend.channel(request.path_params["channel_id"])))

    async def update_channel(self, request: Request) -> Response:
        """Change a registered channel while the fake runs. The fields given change, by the rules of registering one; the others keep their value.

        A change holds from the next request on: the next webhook goes to the new webhook_url, the next connect meets
        the new strict/allowed_accounts; a scope keeps the hook_api_version it connected with (connect again to
        change it). "secret": null draws a new secret, shown once in this answer; a secret you give is not echoed.
        """
        channel_id = request.path_params["channel_id"]
        self.backend.channel(channel_id)  # an unknown channel is a 404 whatever the body says
        data = _channel_settings(await self._json(request, "control_channel_update.request.json"))
        channel = self.backend.update_channel(channel_id, ChannelChanges(**data))
        body = channel_public(channel)
        if "secret" in data and data["secret"] is None:
            body["secret"] = channel.secret
        return json_response(body)

    async def list_accounts(self, request: Request) -> Response:
        """Accounts and their CRM users (managers)."""
        return json_response(state_snapshot(self.backend)["accounts"])

    async def add_account(self, request: Request) -> Response:
        """Create or update an account with its CRM users."""
        data = await self._json(request, "control_account.request.json")
        account = self.backend.register_account(**data)
        return json_response({"id": account.id, "name": account.name, "users": [{"id": u.id, "name": u.name} for u in account.users]}, 201)

    async def journal(self, request: Request) -> Response:
        """Every amojo API request with its verdict; ?since=SEQ, ?limit=N, ?refused=1 for refusals only."""
        since = _int_param(request, "since", 0)
        limit = _int_param(request, "limit", 0)
        refused = request.query_params.get("refused", "").lower() in ("1", "true", "yes")
        entries = self.backend.journal.entries(since=since, refused_only=refused, limit=limit or None)
        return json_response({"entries": entries, "count": len(entries)})

    async def stances(self, request: Request) -> Response:
        """The fidelity stances: each rule amoCRM's documents disagree on, its stance now, its default and evidence."""
        current = self.backend.stances
        rules = [
            {
                "id": rule.id,
                "summary": rule.summary,
                "stance": current.stance(rule.id),
                "default": rule.default,
                "strict_answers": rule.refusal,
                "evidence": list(rule.evidence),
            }
            for rule in RULES.values()
        ]
        return json_response({"error_bodies": current.error_bodies, "rules": rules})

    async def state(self, request: Request) -> Response:
        """Everything the fake holds (?scope_id= narrows it): what a test asserts on."""
        return json_response(state_snapshot(self.backend, request.query_params.get("scope_id")))

    async def sign(self, request: Request) -> Response:
        """Sign a request with a registered channel's secret, so curl users need no code."""
        data = await self._json(request, "control_sign.request.json")
        channel_id = data.get("channel_id") or next((c.id for c in self.backend.channel_list()), None)
        if channel_id is None:
            raise ControlError("No channel is registered.", hint="Register one with POST /__mock__/channels.")
        channel = self.backend.channel(channel_id)
        raw = data.get("body", "")
        body = raw.encode() if isinstance(raw, str) else orjson.dumps(raw)
        headers = sign_request(channel.secret, data.get("method", "POST"), data["path"], body, date=format_date(self.backend.clock.now()))
        return json_response({"headers": headers, "body": body.decode()})


class _OperatorControl:
    """``/__mock__/operator/*``, ``/__mock__/webhooks`` and ``/__mock__/faults``: amoCRM's side of the chat."""

    def __init__(self, control: _Control, operator: Operator) -> None:
        self.control = control
        self.operator = operator
        self.webhooks = operator.dispatcher

    async def reply(self, request: Request) -> Response:
        """A CRM manager answers in a chat; the message is stored and a message webhook is sent. Answers the ids and the delivery."""
        data = await self.control._json(request, "operator_reply.request.json")
        return json_response(self.operator.reply(**data), 201)

    async def initiate(self, request: Request) -> Response:
        """A CRM manager writes first to a phone ("write first"): a new chat and a hook without conversation.client_id."""
        data = await self.control._json(request, "operator_initiate.request.json")
        return json_response(self.operator.initiate(**data), 201)

    async def typing(self, request: Request) -> Response:
        """A CRM manager types in a chat: a typing webhook, at most once per 5 s."""
        data = await self.control._json(request, "operator_typing.request.json")
        return json_response(self.operator.typing(**data))

    async def react(self, request: Request) -> Response:
        """A CRM manager reacts to a message (or takes the reaction back): a reaction webhook."""
        data = await self.control._json(request, "operator_react.request.json")
        return json_response(self.operator.react(**data))

    async def list_webhooks(self, request: Request) -> Response:
        """Every webhook delivery with url, headers, raw body, outcome, status code, latency and error; filter by scope_id, conversation_id, chat_id, kind, outcome (or its former name status), since, limit."""
        query = request.query_params
        name = "status" if "status" in query and "outcome" not in query else "outcome"
        outcome = query.get(name) or None
        if outcome is not None and outcome not in OUTCOMES:
            raise ControlError(f"{name}={outcome!r} is not a webhook outcome.", hint=f"One of: {', '.join(OUTCOMES)}.")
        deliveries = self.webhooks.deliveries(
            query.get("scope_id") or None,
            query.get("conversation_id") or None,
            chat_id=query.get("chat_id") or None,
            kind=query.get("kind") or None,
            outcome=outcome,
            since=_int_param(request, "since", 0),
        )
        limit = _int_param(request, "limit", 0)
        if limit:
            deliveries = deliveries[-limit:]
        return json_response({"deliveries": [d.as_dict() for d in deliveries], "count": len(deliveries)})

    async def list_faults(self, request: Request) -> Response:
        """The webhook faults in force, by channel id ("*": every channel)."""
        return json_response({"faults": {key: f.as_dict() for key, f in self.webhooks.faults().items()}})

    async def set_faults(self, request: Request) -> Response:
        """Set the webhook faults of a channel (or of every channel): delay, duplicate, out_of_order, tamper_signature, stale_time."""
        data = await self.control._json(request, "control_faults.request.json")
        channel_id = data.get("channel_id")
        if channel_id is not None:
            self.backend_channel(channel_id)
        self.webhooks.set_faults(WebhookFaults.from_dict(data["faults"]), channel_id)
        return await self.list_faults(request)

    async def clear_faults(self, request: Request) -> Response:
        """Switch webhook faults off for ?channel_id= (or for every channel)."""
        self.webhooks.clear_faults(request.query_params.get("channel_id") or None)
        return await self.list_faults(request)

    def backend_channel(self, channel_id: str) -> Channel:
        return self.control.backend.channel(channel_id)


def _channel_settings(data: dict[str, Any]) -> dict[str, Any]:
    """A channel body the schema accepted, refused if no client could send a webhook to its webhook_url."""
    url = data.get("webhook_url")
    if url is not None and (problem := webhook_url_problem(url)):
        raise ControlError(
            f"webhook_url {problem}: {url!r}.",
            hint="Give the receiver's http(s) URL with a host and a port from 1 to 65535; :scope_id is replaced by the scope id.",
            detail={"pointer": "/webhook_url", "value": url},
        )
    return data


# How deep a control-plane body's fields may nest. Deeper cannot be encoded back (the JSON encoder
# stops at 254 levels) nor schema-checked with a precise pointer; control bodies nest a few levels.
def _int_param(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if not raw:
        return default
    # ASCII digits only (str.isdigit() also takes "²", which int() refuses), at most MAX_INTEGER's 16 of them.
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 16 and int(raw) <= MAX_INTEGER):
        raise ControlError(
            f"Query parameter {name}={raw[:40]!r} must be a whole number from 0 to {MAX_INTEGER}.",
            hint=f"e.g. ?{name}=10",
            detail={"parameter": name},
        )
    return int(raw)


def _guard(handler: Any) -> Any:
    @functools.wraps(handler)
    async def guarded(request: Request) -> Response:
        try:
            response: Response = await handler(request)
            return response
        except AmojoError as error:
            return error_response(error)

    return guarded


def control_routes(backend: Backend, config: Config, schemas: SchemaSet, *, operator: Operator | None = None) -> list[Route]:
    control = _Control(backend, config, schemas, operator)
    table = [
        ("/health", control.health, ["GET"]),
        ("/reset", control.reset, ["POST"]),
        ("/channels", control.list_channels, ["GET"]),
        ("/channels", control.add_channel, ["POST"]),
        ("/channels/{channel_id}", control.get_channel, ["GET"]),
        ("/channels/{channel_id}", control.update_channel, ["PATCH"]),
        ("/accounts", control.list_accounts, ["GET"]),
        ("/accounts", control.add_account, ["POST"]),
        ("/journal", control.journal, ["GET"]),
        ("/state", control.state, ["GET"]),
        ("/stances", control.stances, ["GET"]),
        ("/sign", control.sign, ["POST"]),
    ]
    if operator is not None:
        manager = _OperatorControl(control, operator)
        table += [
            ("/operator/reply", manager.reply, ["POST"]),
            ("/operator/initiate", manager.initiate, ["POST"]),
            ("/operator/typing", manager.typing, ["POST"]),
            ("/operator/react", manager.react, ["POST"]),
            ("/webhooks", manager.list_webhooks, ["GET"]),
            ("/faults", manager.list_faults, ["GET"]),
            ("/faults", manager.set_faults, ["PUT", "POST"]),
            ("/faults", manager.clear_faults, ["DELETE"]),
        ]
    return [Route(CONTROL_PREFIX + path, _guard(handler), methods=methods) for path, handler, methods in table]
