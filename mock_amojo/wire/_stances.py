"""Fidelity stances: the rules where amoCRM's documents disagree (or are silent), and what the fake does about each.

Where the RU reference, the EN pages, Kommo's Chats OpenAPI document and the published clients agree,
the fake simply follows them (always strict, not listed here). Where they disagree or say nothing,
the fake takes a named **stance** per rule: ``strict`` (refuse with the usual 4xx), ``warn``
(accept, and record a warning: journal, ``X-Mock-Amojo-Warning`` header, console, pytest report)
or ``off`` (accept silently). :data:`RULES` is the registry; :class:`Stances` is one resolved
choice per rule, made once per configuration.

>>> Stances.resolve().stance("msec_timestamp_absent")
'warn'
>>> Stances.resolve(strict=True).stance("msec_timestamp_absent")
'strict'
>>> Stances.resolve({"msec_timestamp_absent": "off"}).stance("msec_timestamp_absent")
'off'
>>> Stances.resolve({"msec_timestamp": "off"})
Traceback (most recent call last):
...
mock_amojo.errors.ConfigError: stances: unknown rule 'msec_timestamp' (did you mean 'msec_timestamp_absent'?)
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any, Literal, NamedTuple

import msgspec

from ..errors import AmojoError, ConfigError

__all__ = [
    "FIRED",
    "RULES",
    "STANCES",
    "Rule",
    "Stance",
    "StanceWarning",
    "Stances",
    "check_stances",
    "header_value",
    "markdown_table",
    "parse_stances",
    "take_warnings",
]

Stance = Literal["strict", "warn", "off"]
STANCES: tuple[Stance, ...] = ("strict", "warn", "off")


class Rule(msgspec.Struct, frozen=True):
    """One rule the documents disagree on: what it is, who says what, the fake's default and what ``strict`` answers."""

    id: str
    summary: str
    default: Stance
    #: What the strict stance answers (status and error type).
    refusal: str
    #: Who says what, with where: "doc RU: …", "doc EN: …", "Kommo OAS: …", "seed: …", "client X: …".
    evidence: tuple[str, ...]


#: Kommo's Chats API OpenAPI document (developers.kommo.com; a copy: hr-esmaeili/amocrm-chat-api-nodejs, .api/apis/kommo/openapi.json).
_KOMMO = "Kommo OAS"

#: Every stance rule, by id (the order is the order of the documentation table).
RULES: Mapping[str, Rule] = {
    rule.id: rule
    for rule in (
        Rule(
            "msec_timestamp_absent",
            "new_message payload without msec_timestamp",
            "warn",
            "400 SCHEMA_VIOLATION at /payload/msec_timestamp",
            (
                "doc RU: chat API reference, «Отправка, редактирование или импорт сообщения» — the payload table lists msec_timestamp",
                f"{_KOMMO}: POST /{{scope_id}} — payload.required has msec_timestamp",
                "seed: EN «Connecting a chat channel», «Message sending» example — no msec_timestamp",
            ),
        ),
        Rule(
            "delivery_status_msgid_mismatch",
            "delivery_status body msgid differs from the msgid in the URL",
            "strict",
            "400 INVALID_REFERENCE at /msgid",
            (
                f"{_KOMMO}: POST /{{scope_id}}/{{msgid}}/delivery_status — body msgid «Must match the msgid in the method URL»",
                "doc RU: chat API reference, delivery status — every sample sends the path's id in the body; nothing allows another",
            ),
        ),
        Rule(
            "delivery_status_string",
            'delivery_status / status_code / error_code sent as strings ("1", "-1", "905") instead of integers',
            "warn",
            "400 SCHEMA_VIOLATION at /delivery_status",
            (
                "doc RU: chat API reference, delivery status — status_code and error_code are int; «strict typing» for every method; "
                'the verified signing vector sends "delivery_status":2',
                f"{_KOMMO}: POST /{{scope_id}}/{{msgid}}/delivery_status — delivery_status and error_code are type string "
                '(enum "1", "2", "-1"; "901"…"905")',
            ),
        ),
        Rule(
            "import_unknown_sender",
            "outgoing (imported) message whose sender.ref_id is neither a known CRM user nor the channel bot",
            "warn",
            "404 USER_NOT_FOUND at /payload/sender/ref_id",
            (
                "doc RU: chat API reference, sending messages — an outgoing message's sender.ref_id is a CRM user's amojo_id "
                "(/api/v4/users?with=amojo_id) or the channel bot's id",
                "no document says what amojo answers for another id; the fake knows an account's users only when they are "
                "registered (POST /__mock__/accounts), so refusing by default would be a false alarm",
            ),
        ),
        Rule(
            "write_first_new_conversation_id",
            "a write-first chat answered with another conversation_id than the one it was linked with",
            "warn",
            "400 INVALID_REFERENCE at /payload/conversation_ref_id",
            (
                "doc RU/EN: write first — the client's answer carries the integration's conversation_id plus conversation_ref_id "
                "and sender.ref_id; amoCRM links the chats",
                "client @mobilon-dev/amotop: src/AmoJoScopeClient/AmoJoScopeClient.ts, getConversationIds() — conversation_id: "
                "randomUUID() beside the known conversation_ref_id, on every message it sends",
            ),
        ),
        Rule(
            "create_chat_ref_id_only",
            "create chat with user {ref_id} and no user.id / user.name",
            "warn",
            "400 SCHEMA_VIOLATION at /user/id",
            (
                "doc RU: chat API reference, create chat — user.id and user.name required",
                f"{_KOMMO}: POST /{{scope_id}}/chats — user.required is [id, name]",
                "client @mobilon-dev/amotop: src/AmoJoScopeClient/AmoJoScopeClient.ts, getChatDto() — user: {ref_id} only "
                "(id and name commented out)",
            ),
        ),
        Rule(
            "legacy_signature_new_message",
            "send_message signed the legacy way: X-Signature = HMAC-SHA1 of the body alone, no Date, no Content-MD5",
            "warn",
            "403 MISSING_DATE",
            (
                "doc RU: chat API reference, authorization — the older signature stays valid for existing connections and the "
                "methods that used it; methods added since autumn 2019 need the new one",
                "doc RU: the older «API online чатов» page (amocrm.ru/developers/content/chats/development) signs a new_message "
                "body as HMAC-SHA1 of the body alone (connect and disconnect keep that scheme silently: allow_legacy_signature)",
                "client: a published mobilon PHP integration signs new_message that way",
            ),
        ),
        Rule(
            "reply_to_flat",
            "reply_to as Kommo's flat quoted message (reply_to.id / reply_to.msgid) instead of reply_to.message",
            "warn",
            "400 SCHEMA_VIOLATION at /payload/reply_to/message",
            (
                "doc RU: chat API reference, sending messages — reply_to is {message: embedded_message}",
                f"{_KOMMO}: POST /{{scope_id}} — reply_to is the embedded message itself (id, msgid, type, text…)",
            ),
        ),
        Rule(
            "file_fields_absent",
            "file, video or picture message without file_name or file_size",
            "warn",
            "400 SCHEMA_VIOLATION at /payload/message/file_name or /file_size",
            (
                "doc RU: chat API reference, sending messages — file_name and file_size required for file, video, picture",
                f"{_KOMMO}: POST /{{scope_id}} — file_name «the field is optional», file_size «(Optional)»",
                "client @mobilon-dev/amotop: src/AmoJoScopeClient/AmoJoScopeClient.ts, getImageMessage() and getVideoMessage() — "
                "picture and video with media only",
            ),
        ),
        Rule(
            "media_absent",
            "audio, voice or sticker message without media (e.g. a sticker with only sticker_id)",
            "warn",
            "400 SCHEMA_VIOLATION at /payload/message/media",
            (
                f"doc RU and {_KOMMO}: media is the download URL for picture, file, video, audio, voice and sticker; neither says "
                "when it may be absent",
                "doc RU: sticker_id is a global sticker id, which names a sticker without a URL",
            ),
        ),
        Rule(
            "empty_text",
            "text message whose text is empty",
            "warn",
            "400 SCHEMA_VIOLATION at /payload/message/text",
            (
                f"doc RU and {_KOMMO}: text is mandatory for type text; neither says whether it may be empty",
                'doc RU webhook reference: amoCRM itself sends text "" for non-text messages',
            ),
        ),
    )
}


def markdown_table(*, short: bool = False) -> str:
    """The registry as a Markdown table (docs/fidelity.md and the parity ledger embed it; a test keeps them in sync).

    ``short``: rule, summary and default only — the README's table.
    """
    if short:
        rows = [f"| `{r.id}` | {r.summary.replace('|', chr(92) + '|')} | {r.default} |" for r in RULES.values()]
        return "\n".join(["| Rule | When a request… | Default |", "|---|---|---|", *rows])
    lines = ["| Rule | When a request… | Default | `strict` answers | Evidence |", "|---|---|---|---|---|"]
    for rule in RULES.values():
        evidence = "<br>".join(e.replace("|", "\\|") for e in rule.evidence)
        lines.append(f"| `{rule.id}` | {rule.summary.replace('|', chr(92) + '|')} | {rule.default} | {rule.refusal} | {evidence} |")
    return "\n".join(lines)


class StanceWarning(NamedTuple):
    """A rule a request broke under the ``warn`` stance: accepted, and said so."""

    rule: str
    message: str

    def as_dict(self) -> dict[str, str]:
        """``{rule, message, evidence}`` as the journal shows it."""
        return {"rule": self.rule, "message": self.message, "evidence": " | ".join(RULES[self.rule].evidence)}

    def header(self) -> str:
        """The ``X-Mock-Amojo-Warning`` value: ``<rule>: <message>``, ASCII-safe."""
        return header_value(f"{self.rule}: {self.message}")


def header_value(text: str) -> str:
    """``text`` as one header line: non-ASCII escaped, line breaks dropped (a value may quote what a client sent)."""
    return text.encode("ascii", "backslashreplace").decode("ascii").replace("\r", " ").replace("\n", " ")


class _Fired(threading.local):
    # The warnings of the request this thread is answering; None until a rule fires (most requests).
    warnings: list[StanceWarning] | None = None


#: This thread's warnings: ``FIRED.warnings is None`` is the cheap test that no rule fired.
FIRED = _Fired()


def take_warnings() -> list[StanceWarning] | None:
    """The warnings fired on this thread since the last call (None if none), forgetting them."""
    fired = FIRED.warnings
    if fired is not None:
        FIRED.warnings = None
    return fired


def parse_stances(source: str, raw: Any) -> dict[str, str]:
    """``RULE=STANCE`` pairs as written in a flag, env var (comma-separated) or TOML (a table or a list); not yet checked.

    >>> parse_stances("MOCK_AMOJO_STANCES", "empty_text=strict, media_absent=off")
    {'empty_text': 'strict', 'media_absent': 'off'}
    """
    if isinstance(raw, Mapping):
        return {str(k): v for k, v in raw.items()}
    items = raw.split(",") if isinstance(raw, str) else raw
    if not isinstance(items, (list, tuple)):
        raise ConfigError(f"{source}: expected RULE=STANCE pairs, got {raw!r}")
    pairs: dict[str, str] = {}
    for item in items:
        if not isinstance(item, str) or "=" not in item:
            raise ConfigError(f"{source}: expected RULE=STANCE (stance: strict, warn or off), got {item!r}")
        rule, stance = item.split("=", 1)
        if rule.strip():
            pairs[rule.strip()] = stance.strip()
    return pairs


class Stances:
    """One stance per rule, resolved once from defaults, ``strict`` and per-rule overrides; fires rules cheaply.

    Per-rule overrides win over ``strict`` (``--strict --stance empty_text=warn``: all strict but that one).
    """

    __slots__ = ("by_rule", "error_bodies")

    def __init__(self, by_rule: Mapping[str, Stance], error_bodies: str = "explain") -> None:
        self.by_rule: dict[str, Stance] = dict(by_rule)
        #: ``explain`` (the fake's JSON with a hint) or ``bare`` (the sparsest shapes amoCRM's documents show).
        self.error_bodies = error_bodies

    @classmethod
    def resolve(cls, overrides: Mapping[str, Any] | None = None, *, strict: bool = False, error_bodies: str = "explain") -> Stances:
        """The stances ``overrides`` (rule id → stance) and ``strict`` make; a :class:`ConfigError` names a bad id or stance."""
        chosen: dict[str, Stance] = {rule.id: "strict" if strict else rule.default for rule in RULES.values()}
        for rule_id, stance in check_stances(overrides or {}).items():
            chosen[rule_id] = stance
        return cls(chosen, error_bodies)

    def stance(self, rule: str) -> Stance:
        return self.by_rule[rule]

    def all(self, stance: Stance) -> Stances:
        """The same settings with every rule at ``stance``."""
        return Stances(dict.fromkeys(self.by_rule, stance), self.error_bodies)

    def any_on(self, *rules: str) -> bool:
        """Whether any of ``rules`` is not ``off`` (a check whose rules are all off is skipped)."""
        return any(self.by_rule[r] != "off" for r in rules)

    def fire(self, rule: str, message: str, refusal: AmojoError) -> None:
        """A request broke ``rule``: raise ``refusal`` (strict), record a warning (warn) or nothing (off).

        Called only when the rule is broken, so ``refusal`` is built only then.
        """
        stance = self.by_rule[rule]
        if stance == "warn":
            fired = FIRED.warnings
            if fired is None:
                fired = FIRED.warnings = []
            fired.append(StanceWarning(rule, message))
        elif stance == "strict":
            refusal.hint = (
                f"{refusal.hint} (mock-amojo stance {rule}=strict; amoCRM's documents disagree here: "
                f"--stance {rule}=warn accepts it with a warning)"
            ).lstrip()
            refusal.detail = {**refusal.detail, "stance": rule}
            raise refusal

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Stances) and (self.by_rule, self.error_bodies) == (other.by_rule, other.error_bodies)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        changed = {k: v for k, v in self.by_rule.items() if v != RULES[k].default}
        return f"Stances({changed!r}, error_bodies={self.error_bodies!r})"


def check_stances(overrides: Mapping[str, Any], source: str = "stances") -> dict[str, Stance]:
    """``overrides`` checked: every key a rule id (did-you-mean otherwise), every value strict, warn or off."""
    checked: dict[str, Stance] = {}
    for rule_id, stance in overrides.items():
        if rule_id not in RULES:
            import difflib  # only for a misspelt rule: not on every start

            close = difflib.get_close_matches(rule_id, list(RULES), n=1, cutoff=0.5)
            hint = f"did you mean {close[0]!r}?" if close else f"rules: {', '.join(RULES)}"
            raise ConfigError(f"{source}: unknown rule {rule_id!r} ({hint})")
        if stance not in STANCES:
            raise ConfigError(f"{source}: {rule_id}: strict, warn or off, got {stance!r}")
        checked[rule_id] = stance
    return checked
