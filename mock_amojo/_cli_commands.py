"""``mock-amojo sign`` and ``mock-amojo check-receiver``: the commands that run once and print what they found.

A refusal is a :class:`~mock_amojo.config.ConfigError` (the command line prints it as one line, exit 2).
"""

from __future__ import annotations

import argparse
import shlex

import orjson

from .config import CHANNEL_SECRET, ConfigError
from .wire._endpoints import ENDPOINTS
from .wire._signing import sign_request

__all__ = ["curl_command", "run_check_receiver", "run_sign"]


def curl_command(base_url: str, method: str, path: str, body: str, headers: dict[str, str], cacert: str | None = None) -> str:
    """A copy-pastable curl for a signed request (trusting the CA file ``cacert``, for --tls).

    >>> curl_command("http://127.0.0.1:8080/", "post", "/p", "{}", {"Date": "now"})
    "curl -sS -X POST http://127.0.0.1:8080/p -H 'Date: now' --data-binary '{}'"
    """
    parts = [
        "curl",
        "-sS",
        *(("--cacert", shlex.quote(cacert)) if cacert else ()),
        "-X",
        method.upper(),
        shlex.quote(base_url.rstrip("/") + path),
    ]
    for name, value in headers.items():
        parts += ["-H", shlex.quote(f"{name}: {value}")]
    if body:
        parts += ["--data-binary", shlex.quote(body)]
    return " ".join(parts)


def run_check_receiver(args: argparse.Namespace) -> int:
    """Fire genuine and forged webhooks at ``args.url``; the exit status says whether the receiver conforms."""
    from .testing._conformance import check_receiver, report_json

    if args.scope_id is not None and "_" not in args.scope_id:
        raise ConfigError(f"--scope-id {args.scope_id!r}: a scope id is '{{channel_id}}_{{account_id}}'")
    report = check_receiver(args.url, args.secret, scope_id=args.scope_id, timeout=args.timeout)
    if report.unreachable is not None:
        raise ConfigError(report.table())
    print(report_json(report.outcomes).decode() if args.json else report.table())
    return report.exit_code


def run_sign(args: argparse.Namespace) -> int:
    """Print the headers (or a curl command) that sign ``args``' request as an amojo client must."""
    from .errors import SchemaViolation
    from .wire._validation import load_schemas

    try:
        # The rules of POST /__mock__/sign's body: a method of letters, a path starting with "/".
        load_schemas().validate("control_sign.request.json", {"method": args.method, "path": args.path})
    except SchemaViolation as err:
        problem = next(e["message"] for e in err.detail["errors"] if e["pointer"] == err.detail["pointer"])
        raise ConfigError(f"{err.detail['pointer'].lstrip('/')}: {problem}") from None
    method = args.method.upper()
    methods = sorted({spec.method for spec in ENDPOINTS})
    if method not in methods:
        import difflib

        close = difflib.get_close_matches(method, methods, n=1)
        guess = f"; did you mean {close[0]}?" if close else ""
        raise ConfigError(f"method: {args.method!r} is not the method of any amojo endpoint ({', '.join(methods)}){guess}")
    if not CHANNEL_SECRET.match(args.secret):
        # A signature made with anything else matches no channel: amoCRM issues 40 lowercase hex characters (amojo-api.md §1).
        raise ConfigError(
            f"--secret: must be 40 lowercase hex characters, as amoCRM issues channel secrets; got {len(args.secret)} characters"
        )
    if args.body and not args.not_json:
        try:
            orjson.loads(args.body)
        except orjson.JSONDecodeError as err:
            raise ConfigError(f"--body: not valid JSON ({err}); amojo takes JSON bodies (--not-json signs it anyway)") from None
    if args.curl and not args.base_url.startswith(("http://", "https://")):
        raise ConfigError(f"--base-url: must start with http:// or https://, got {args.base_url!r}")
    headers = sign_request(args.secret, method, args.path, args.body.encode())
    if args.curl:
        print(curl_command(args.base_url, method, args.path, args.body, headers))
    else:
        for name, value in headers.items():
            print(f"{name}: {value}")
    return 0
