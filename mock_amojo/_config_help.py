"""What each setting does, in one line: the text of ``mock-amojo serve --help`` and of configuration errors."""

from __future__ import annotations

#: One line per :class:`mock_amojo.Config` field (a test checks every field has one).
HELP = {
    "host": "address to bind (127.0.0.1: only this machine can connect; 0.0.0.0: every interface)",
    "port": "TCP port (0 picks a free one)",
    "channel_id": "id of the channel registered at start-up (a UUID)",
    "channel_secret": "its secret: 40 lowercase hex characters",
    "channel_name": "its display name (connect's default title)",
    "account_id": "amojo id of the account created at start-up",
    "webhook_url": "where manager replies are POSTed; ':scope_id' is replaced by the scope id",
    "hook_api_version": "webhook format when connect does not say: v1 (amojo's default, deprecated) or v2",
    "strict_accounts": "private channel: connect only the start-up account (others get 403)",
    "demo": "register the start-up channel and account (false: start empty)",
    "max_age": "seconds a signature stays valid after its Date (amojo: 900)",
    "max_future_skew": "seconds a Date may lie in the future",
    "allow_legacy_signature": (
        "accept the body-only signature when Date and Content-MD5 are absent: on connect/disconnect, and on send_message "
        "unless its stance legacy_signature_new_message is strict (false: nowhere)"
    ),
    "body_limit": "largest request body in bytes (larger: 413)",
    "journal_size": "how many requests /__mock__/journal keeps",
    "journal_bytes": "most bytes of request and answer bodies /__mock__/journal keeps (64 MiB; the oldest entries go first)",
    "webhook_timeout": "seconds to wait for a webhook receiver (amojo: 5)",
    "webhook_mode": "async: hooks are sent in the background, the API never waits (amojo); sync: sent before the operator call returns (tests)",
    "webhook_client": (
        "what sends webhooks: httpx (respx mocks and in-process routing see them), lean (a keep-alive client "
        "without httpx, for speed) or auto (lean under `mock-amojo serve`, httpx in process and in tests)"
    ),
    "log_level": "uvicorn log level: critical, error, warning, info, debug",
    "quiet": "print no line per amojo request and webhook (the journal and the console still have them)",
    "log_format": "the line per amojo request and webhook: text (coloured on a terminal) or json (one object a line, for CI)",
    "db": "SQLite file keeping all state across restarts (none: in memory only)",
    "db_synchronous": "SQLite durability: normal (survives kill -9) or full (also power loss; an fsync per change)",
    "http": (
        "HTTP protocol: inline (amojo's endpoints answered as the request is parsed; on the uvicorn versions it is "
        "tested with, else stock with a notice) or stock (uvicorn's own httptools protocol)"
    ),
    "crm_rate_limit": "requests per second each integration may make to the amoCRM REST API (/api/v4) before 429 (amoCRM: 7; 0: no limit, for load tests)",
    "gc_policy": "garbage collection while serving: freeze (survivors frozen, full collections when idle) or off (CPython's own)",
    "tls": "serve HTTPS with a certificate for localhost, 127.0.0.1 and amojo's hosts from a local test CA (needs mock-amojo[tls])",
    "tls_dir": "with --tls: keep the CA (ca.pem) and the server's certificate and key in DIR, reused at the next start while valid",
    "strict": "every fidelity stance strict: refuse wherever amoCRM's documents disagree (docs/fidelity.md lists the rules)",
    "stances": "RULE=strict|warn|off for one fidelity rule (repeatable; wins over --strict; env: comma-separated)",
    "error_bodies": (
        "explain: errors answer the fake's JSON with a hint; bare: the sparsest shapes amoCRM documents (400 {}, other "
        "statuses an empty text/plain body), the explanation in X-Mock-Amojo-Explain and the journal"
    ),
    "allowed_hosts": (
        "extra Host names the control plane and console answer to (repeatable or comma-separated; '.example.com' takes "
        "its subdomains too): a compose service name, a tunnel. Loopback, IP addresses and the bound host always pass. "
        "'*' turns the check off, which lets a DNS-rebinding web page drive the fake"
    ),
    "control_token": "require 'Authorization: Bearer TOKEN' on the control plane and console; 'auto' generates one and prints it",
}
