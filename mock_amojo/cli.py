"""The ``mock-amojo`` command: ``serve`` a fake amojo, ``sign`` a request for curl, ``check-receiver`` a webhook endpoint,
show or change a running fake's ``channel``.

Errors in flags, environment or config file print one line and exit with status 2. The command line's
grammar is in ``_cli_parser``; each command runs in its own module (``_cli_serve``, ``_cli_commands``,
``_channel_command``).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

from ._cli_commands import run_check_receiver, run_sign
from ._cli_parser import command_parser, not_text
from ._cli_serve import run_serve
from .config import ConfigError

__all__ = ["main"]


def main(argv: Sequence[str] | None = None, *, started: Callable[[], None] | None = None) -> int:
    """Run the command ``argv`` (default: the process's arguments); its exit status.

    ``started`` is called once the command has started — for ``serve``, when the app is built and the
    server about to listen (the entry point turns garbage collection back on there).
    """
    argv = sys.argv[1:] if argv is None else argv
    complaint = not_text(argv)
    if complaint is not None:
        print(f"mock-amojo: error: {complaint}", file=sys.stderr)
        return 2
    args = command_parser(argv).parse_args(argv)
    try:
        if args.command == "serve":
            return run_serve(args, started or (lambda: None))
        if started is not None:
            started()
        if args.command == "sign":
            return run_sign(args)
        if args.command == "channel":
            from ._channel_command import run_channel

            return run_channel(args)
        return run_check_receiver(args)
    except ConfigError as err:
        print(f"mock-amojo: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0
