"""A tiny amojo webhook receiver that passes `mock-amojo check-receiver` — standard library only.

What makes it conform:
- it verifies X-Signature = hex HMAC-SHA1(channel secret, raw body) over the bytes received,
  in constant time, before parsing anything, and refuses (401) what does not verify;
- it answers 200 at once and leaves the work for later (amojo waits 5 s and never retries);
- it reads optional fields with .get(): a CRM-initiated chat has no client_id, typing and
  reaction hooks have no "message", and amojo may add fields at any time;
- it deduplicates on the amojo message id, so a duplicate delivery is answered but not processed twice.

    python examples/receivers/good_receiver.py --secret YOUR_CHANNEL_SECRET --port 8765
    mock-amojo check-receiver http://127.0.0.1:8765/amojo/:scope_id --secret YOUR_CHANNEL_SECRET
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import queue
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

work: queue.Queue[dict[str, Any]] = queue.Queue()
seen: set[str] = set()


def event_key(body: dict[str, Any]) -> str | None:
    """What identifies one event, for de-duplication (None: nothing to dedupe on)."""
    message = body.get("message") or {}
    inner = message.get("message") or {}
    if inner.get("id"):
        return f"message:{inner['id']}"
    reaction = (body.get("action") or {}).get("reaction")
    if reaction:
        return f"reaction:{reaction.get('msgid')}:{reaction.get('type')}:{body.get('time')}"
    return None


def make_handler(secret: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            expected = hmac.new(secret.encode(), raw, hashlib.sha1).hexdigest()
            received = (self.headers.get("X-Signature") or "").strip().lower()
            if not hmac.compare_digest(expected, received):
                return self.answer(401)
            try:
                body = json.loads(raw)
            except ValueError:
                return self.answer(400)
            key = event_key(body) if isinstance(body, dict) else None
            if key is None or key not in seen:
                if key is not None:
                    seen.add(key)
                work.put(body)  # processed elsewhere; amojo only needs a quick 200
            return self.answer(200)

        def answer(self, status: int) -> None:
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--secret", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    server = ThreadingHTTPServer((args.host, args.port), make_handler(args.secret))
    print(f"listening on http://{args.host}:{server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
