"""Settings of a fake amojo, from defaults, a TOML file, ``MOCK_AMOJO_*`` env vars and flags.

Later sources win: defaults < config file < environment < command line. Every value is
checked; a typo'd key or a bad value is a :class:`ConfigError` naming the source, the key
and what was expected.

>>> Config().channel_id
'f90ba33d-c9d9-44da-b76c-c349b0ecbe41'
>>> load_config(env={"MOCK_AMOJO_PORT": "9000"}).port
9000
>>> load_config(env={"MOCK_AMOJO_PORT": "ninety"})
Traceback (most recent call last):
...
mock_amojo.errors.ConfigError: MOCK_AMOJO_PORT: expected an integer, got 'ninety'
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ._config_help import HELP
from .errors import ConfigError
from .wire._signing import DEFAULT_MAX_AGE, DEFAULT_MAX_FUTURE_SKEW
from .wire._stances import check_stances, parse_stances

__all__ = [
    "DEMO_ACCOUNT_ID",
    "DEMO_CHANNEL_ID",
    "DEMO_CHANNEL_SECRET",
    "Config",
    "ConfigError",
    "check_number",
    "load_config",
    "webhook_url_problem",
]

#: The built-in demo channel, so a newcomer can sign requests before configuring anything.
DEMO_CHANNEL_ID = "f90ba33d-c9d9-44da-b76c-c349b0ecbe41"
DEMO_CHANNEL_SECRET = "f2d7f8704eff95087ed45b23ba99c0b5aac8278e"  # noqa: S105  # public demo secret (amoCRM docs sample)
DEMO_ACCOUNT_ID = "af9945ff-1490-4cad-807d-945c15d88bec"

#: MOCK_AMOJO_* variables that are not settings: read by the test harness and CI, not by the server.
HARNESS_VARIABLES = frozenset({"MOCK_AMOJO_CONFIG", "MOCK_AMOJO_TARGET", "MOCK_AMOJO_REQUIRE_BROWSER"})

#: Tokens ``control_token = "auto"`` generated in this process.
_GENERATED_TOKENS: set[str | None] = set()

_UUIDISH = re.compile(r"^[A-Za-z0-9-]{1,64}$")
#: A channel id as amoCRM support issues it (amojo-api.md §1); the pattern of control_channel.request.json's id.
CHANNEL_ID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
#: A channel secret as amoCRM support issues it: 40 lowercase hex characters (amojo-api.md §1).
CHANNEL_SECRET = re.compile(r"^[0-9a-f]{40}$")
#: A host name as allowed_hosts takes it (lower case, no port); a leading '.' takes the subdomains too.
_HOST_PATTERN = re.compile(r"^\.?([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?\.)*[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$")
#: A token goes in an Authorization header and a URL: visible ASCII, no spaces; long enough not to be guessed.
_TOKEN = re.compile(r"^[\x21-\x7e]{16,256}$")


#: Longest a webhook receiver may be waited for: far beyond any receiver, far below where time arithmetic overflows.
MAX_TIMEOUT = 3600.0
#: Most requests the journal (and as many webhook deliveries) may keep; each is a few hundred bytes to kilobytes.
MAX_JOURNAL_SIZE = 10_000_000
#: Most bytes of bodies the journal keeps by default (each entry keeps at most 16 KiB of its request and of its answer).
DEFAULT_JOURNAL_BYTES = 64 * 1024 * 1024


def check_number(source: str, value: Any, *, minimum: float = -math.inf, maximum: float = math.inf, whole: bool = False) -> Any:
    """``value`` if it is a number from ``minimum`` to ``maximum`` (an int when ``whole``), else a :class:`ConfigError`.

    The one check of every numeric setting (config, sandbox, outages, clocks, CLI flags): NaN and
    ±inf never pass, since NaN compares false with every bound and infinity makes deadlines endless.

    >>> check_number("max_age", 60.0, minimum=0)
    60.0
    >>> check_number("max_age", float("nan"), minimum=0)
    Traceback (most recent call last):
    ...
    mock_amojo.errors.ConfigError: max_age: must be a finite number, at least 0, got nan
    """
    kind = "a whole number" if whole else "a finite number"
    finite = isinstance(value, int) or (isinstance(value, float) and math.isfinite(value))
    if isinstance(value, bool) or not finite or (whole and not isinstance(value, int)) or not minimum <= value <= maximum:
        if minimum > -math.inf and maximum < math.inf:
            span = f", {_plain(minimum)}..{_plain(maximum)}"
        elif minimum > -math.inf:
            span = f", at least {_plain(minimum)}"
        else:
            span = f", at most {_plain(maximum)}" if maximum < math.inf else ""
        raise ConfigError(f"{source}: must be {kind}{span}, got {value!r}")
    return value


def webhook_url_problem(url: str) -> str | None:
    """Why no HTTP client could send a webhook to ``url``, or None: refused up front, not at the first manager reply.

    >>> webhook_url_problem("http://127.0.0.1:8000/hooks/:scope_id") is None
    True
    >>> webhook_url_problem("http://127.0.0.1:99999/x")
    'is not a URL a client can send to (Port out of range 0-65535)'
    """
    if not url.startswith(("http://", "https://")):
        return "must start with http:// or https://"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - parsing the port is the check
    except ValueError as err:
        return f"is not a URL a client can send to ({err})"
    if not parts.hostname:
        return "has no host"
    return None


def _plain(bound: float) -> str:
    return str(int(bound)) if float(bound).is_integer() else str(bound)


@dataclass(frozen=True, slots=True)
class Config:
    """Everything that shapes one fake amojo. Field docs are the ``--help`` texts."""

    host: str = "127.0.0.1"
    port: int = 8080
    channel_id: str = DEMO_CHANNEL_ID
    channel_secret: str = DEMO_CHANNEL_SECRET
    channel_name: str = "mock-amojo demo channel"
    account_id: str = DEMO_ACCOUNT_ID
    webhook_url: str | None = None
    hook_api_version: str = "v1"
    strict_accounts: bool = False
    demo: bool = True
    max_age: float = DEFAULT_MAX_AGE
    max_future_skew: float = DEFAULT_MAX_FUTURE_SKEW
    allow_legacy_signature: bool = True
    body_limit: int = 1024 * 1024
    journal_size: int = 10_000
    journal_bytes: int = DEFAULT_JOURNAL_BYTES
    webhook_timeout: float = 5.0
    webhook_mode: str = "async"
    webhook_client: str = "auto"
    log_level: str = "info"
    quiet: bool = False
    log_format: str = "text"
    db: str | None = None
    db_synchronous: str = "normal"
    http: str = "inline"
    gc_policy: str = "freeze"
    crm_rate_limit: int = 7
    tls: bool = False
    tls_dir: str | None = None
    strict: bool = False
    stances: Mapping[str, str] = dataclasses.field(default_factory=dict)
    error_bodies: str = "explain"
    allowed_hosts: tuple[str, ...] = ()
    control_token: str | None = dataclasses.field(default=None, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "allowed_hosts", _coerce_hosts("allowed_hosts", self.allowed_hosts))
        if self.control_token == "auto":  # noqa: S105 - the word that asks for a generated token
            import secrets  # only when asked: not on every start

            # Generated once, here: a replace() copies the token, so every copy of the config agrees on it.
            object.__setattr__(self, "control_token", secrets.token_urlsafe(24))
            _GENERATED_TOKENS.add(self.control_token)
        check(self)

    @property
    def token_generated(self) -> bool:
        """Whether ``control_token`` was generated (``auto``): only such a token is shown at start-up, never one you chose."""
        return self.control_token in _GENERATED_TOKENS

    def replace(self, **changes: Any) -> Config:
        return dataclasses.replace(self, **changes)


#: Settings whose flag is not their name spelled with dashes.
FLAGS = {"stances": "--stance"}


def check(config: Config) -> None:
    """Reject settings the fake cannot run with, naming the setting."""
    for field in fields(config):
        value = getattr(config, field.name)
        if isinstance(value, str) and not value.isascii():
            try:
                value.encode()
            except UnicodeEncodeError:
                shown = "(not shown)" if field.name == "control_token" else repr(value)
                raise ConfigError(f"{field.name}: not valid UTF-8 text, got {shown}") from None
    if not config.host.strip():
        # An empty host binds every interface: say so instead of exposing the fake by accident.
        raise ConfigError("host: empty; give an address (127.0.0.1: this machine only, 0.0.0.0: every interface)")
    check_number("port", config.port, minimum=0, maximum=65535, whole=True)
    if not CHANNEL_ID.match(config.channel_id):
        raise ConfigError(f"channel_id: must be a UUID (8-4-4-4-12 hex digits), as amoCRM issues channel ids; got {config.channel_id!r}")
    if not _UUIDISH.match(config.account_id):
        raise ConfigError(f"account_id: letters, digits and '-' only (a UUID), got {config.account_id!r}")
    if not CHANNEL_SECRET.match(config.channel_secret):
        raise ConfigError("channel_secret: must be 40 lowercase hex characters, as amoCRM issues them")
    if config.hook_api_version not in ("v1", "v2"):
        raise ConfigError(f"hook_api_version: v1 or v2, got {config.hook_api_version!r}")
    if config.webhook_url is not None and (problem := webhook_url_problem(config.webhook_url)):
        raise ConfigError(f"webhook_url: {problem}, got {config.webhook_url!r}")
    if config.webhook_mode not in ("async", "sync"):
        raise ConfigError(f"webhook_mode: async or sync, got {config.webhook_mode!r}")
    if config.webhook_client not in ("auto", "lean", "httpx"):
        raise ConfigError(f"webhook_client: auto, lean or httpx, got {config.webhook_client!r}")
    check_number("max_age", config.max_age, minimum=0)
    check_number("max_future_skew", config.max_future_skew, minimum=0)
    check_number("webhook_timeout", config.webhook_timeout, minimum=0, maximum=MAX_TIMEOUT)
    check_number("body_limit", config.body_limit, minimum=1024, whole=True)
    check_number("journal_size", config.journal_size, minimum=1, maximum=MAX_JOURNAL_SIZE, whole=True)
    check_number("crm_rate_limit", config.crm_rate_limit, minimum=0, maximum=1_000_000, whole=True)
    check_number("journal_bytes", config.journal_bytes, minimum=64 * 1024, maximum=2**62, whole=True)
    if config.db_synchronous not in ("normal", "full"):
        raise ConfigError(f"db_synchronous: normal or full, got {config.db_synchronous!r}")
    if config.log_level not in ("critical", "error", "warning", "info", "debug", "trace"):
        raise ConfigError(f"log_level: one of critical, error, warning, info, debug, got {config.log_level!r}")
    if config.log_format not in ("text", "json"):
        raise ConfigError(f"log_format: text or json, got {config.log_format!r}")
    if config.http not in ("inline", "stock"):
        raise ConfigError(f"http: inline or stock, got {config.http!r}")
    if config.gc_policy not in ("freeze", "off"):
        raise ConfigError(f"gc_policy: freeze or off, got {config.gc_policy!r}")
    if config.tls_dir is not None and not config.tls:
        raise ConfigError(f"tls_dir: {config.tls_dir!r} is set but TLS is off; add --tls (MOCK_AMOJO_TLS=true, tls = true)")
    check_stances(config.stances)
    if config.error_bodies not in ("explain", "bare"):
        raise ConfigError(f"error_bodies: explain or bare, got {config.error_bodies!r}")
    for host in config.allowed_hosts:
        if host != "*" and not _HOST_PATTERN.match(host) and not _is_address(host):
            raise ConfigError(
                f"allowed_hosts: {host!r} is not a host name (letters, digits, '-' and '.', no port; "
                "'.example.com' also takes its subdomains, '*' any host)"
            )
    if config.control_token is not None and not _TOKEN.match(config.control_token):
        raise ConfigError("control_token: 16 to 256 visible ASCII characters without spaces; 'auto' generates one")


def env_setting(name: str, env: Mapping[str, str]) -> Any:
    """The setting ``name`` as ``MOCK_AMOJO_<NAME>`` in ``env`` makes it (its default if unset), checked as :func:`load_config` checks it.

    For a harness that takes that one setting from the environment and no other (the served pytest mode: ``http``).

    >>> env_setting("http", {"MOCK_AMOJO_HTTP": "stock", "MOCK_AMOJO_PORT": "ignored"})
    'stock'
    """
    key = f"MOCK_AMOJO_{name.upper()}"
    return getattr(load_config(env={key: env[key]} if key in env else {}), name)


def help_text(name: str) -> str:
    return HELP[name]


def _field_types() -> dict[str, str]:
    return {f.name: str(f.type) for f in fields(Config)}


def _coerce(source: str, name: str, kind: str, raw: Any) -> Any:
    """Turn a raw value (a string from env/CLI, or a TOML value) into the field's type."""
    if kind == "Mapping[str, str]":
        return check_stances(parse_stances(source, raw), source)
    if kind.startswith("tuple"):
        return _coerce_hosts(source, raw)
    if kind == "bool":
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.strip().lower() in ("1", "true", "yes", "on"):
            return True
        if isinstance(raw, str) and raw.strip().lower() in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"{source}: expected true or false, got {raw!r}")
    if kind == "int":
        if isinstance(raw, bool) or not isinstance(raw, (int, str)):
            raise ConfigError(f"{source}: expected an integer, got {raw!r}")
        try:
            return int(raw)
        except ValueError:
            raise ConfigError(f"{source}: expected an integer, got {raw!r}") from None
    if kind == "float":
        if isinstance(raw, bool) or not isinstance(raw, (int, float, str)):
            raise ConfigError(f"{source}: expected a number, got {raw!r}")
        try:
            number = float(raw)
        except (ValueError, OverflowError):
            raise ConfigError(f"{source}: expected a number, got {raw!r}") from None
        try:
            return check_number(source, number)
        except ConfigError:
            # float() reads "nan", "inf" and "1e400" (TOML has nan and inf too): show what was written.
            raise ConfigError(f"{source}: must be a finite number, got {raw!r}") from None
    if not isinstance(raw, str):
        raise ConfigError(f"{source}: expected a string, got {raw!r}")
    if kind == "str | None" and raw.strip() == "":
        return None
    return raw


def _is_address(host: str) -> bool:
    import ipaddress  # only for an allowed host that is not a name: not on every start

    try:
        ipaddress.ip_address(host.removeprefix("[").removesuffix("]"))
    except ValueError:
        return False
    return True


def _coerce_hosts(source: str, raw: Any) -> tuple[str, ...]:
    """A list of host names from a TOML array, repeated flags, or one comma-separated string (env, TOML, a flag)."""
    items = raw if isinstance(raw, (list, tuple)) else [raw]
    if not all(isinstance(item, str) for item in items):
        raise ConfigError(f"{source}: expected host names (strings), got {raw!r}")
    # '*.example.com' is how Vite and webpack users write '.example.com'.
    hosts = (host.strip().lower().rstrip(".") for item in items for host in item.split(","))
    return tuple(host[1:] if host.startswith("*.") else host for host in hosts if host)


def _unknown(source: str, key: str, known: list[str]) -> ConfigError:
    import difflib  # only when a setting is misspelt: not on every start

    close = difflib.get_close_matches(key, known, n=1)
    suggestion = f" (did you mean {close[0]!r}?)" if close else f" (known: {', '.join(known)})"
    return ConfigError(f"{source}: unknown setting {key!r}{suggestion}")


def _read_file(path: Path) -> dict[str, Any]:
    import tomllib  # only when a config file is given: not on every start

    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file {str(path)!r} does not exist") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"config file {str(path)!r} cannot be read: {err}") from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"config file {str(path)!r} is not valid TOML: {err}") from None
    # Settings may sit at top level or under [mock-amojo] / [tool.mock-amojo] (pyproject.toml).
    for section in (("tool", "mock-amojo"), ("mock-amojo",)):
        node: Any = data
        for key in section:
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, dict):
            return node
    return data


def load_config(
    *,
    file: str | Path | None = None,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Config:
    """Merge defaults, ``file`` (TOML), ``env`` (``MOCK_AMOJO_*``) and ``overrides`` (flags)."""
    types = _field_types()
    known = sorted(types)
    values: dict[str, Any] = {}
    if file is not None:
        path = Path(file)
        for key, raw in _read_file(path).items():
            name = key.replace("-", "_")
            if name not in types:
                raise _unknown(f"config file {str(path)!r}", key, known)
            values[name] = _coerce(f"{path.name}: {key}", name, types[name], raw)
    for key, raw in (env or {}).items():
        if not key.startswith("MOCK_AMOJO_") or key in HARNESS_VARIABLES or key.startswith("MOCK_AMOJO_TEST_"):
            continue
        name = key.removeprefix("MOCK_AMOJO_").lower()
        if name not in types:
            raise _unknown("environment", key, [f"MOCK_AMOJO_{k.upper()}" for k in known])
        values[name] = _coerce(key, name, types[name], raw)
    for name, raw in (overrides or {}).items():
        if raw is not None:
            values[name] = _coerce(FLAGS.get(name, f"--{name.replace('_', '-')}"), name, types[name], raw)
    try:
        return Config(**values)
    except ConfigError:
        raise
    except TypeError as err:  # pragma: no cover - guarded by the key checks above
        raise ConfigError(str(err)) from None
