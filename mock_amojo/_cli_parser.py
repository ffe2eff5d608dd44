"""The ``mock-amojo`` command line's grammar: its commands and their flags, and refusals that say what was meant.

Every command is listed (for ``--help`` and for a misspelt command's suggestion); only the ones a
command line names get their flags, so a start builds the one command parser it uses.
"""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import fields
from typing import NoReturn

from . import __version__
from .config import DEMO_CHANNEL_SECRET, FLAGS, Config, help_text

__all__ = ["COMMANDS", "CommandParser", "command_parser", "not_text"]


class CommandParser(argparse.ArgumentParser):
    """A parser whose errors are one line with a "did you mean" for a misspelt flag or command."""

    #: The command line being parsed: what a suggestion is worded against.
    arguments: Sequence[str] = ()

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}{_suggestion(self, message)} (see {self.prog} --help)\n")


def command_parser(argv: Sequence[str] | None = None) -> CommandParser:
    """The parser for the command line ``argv``; every command's flags when ``argv`` is None.

    >>> command_parser(["sign", "POST", "/x"]).parse_args(["sign", "POST", "/x"]).command
    'sign'
    """
    parser = CommandParser(prog="mock-amojo", description="A faithful, fast fake of amoCRM's chat API (amojo).")
    parser.add_argument("--version", action="version", version=f"mock-amojo {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=CommandParser)
    for name, summary, description, add_flags in COMMANDS:
        chosen = commands.add_parser(name, help=summary, description=description)
        # A word of argv that names a command is the one argparse runs (or an argument's value: harmless).
        if argv is None or name in argv:
            add_flags(chosen)
    for each in _parsers(parser):
        each.arguments = () if argv is None else argv
    return parser


def _suggestion(parser: CommandParser, message: str) -> str:
    """ "; did you mean ...?" for a misspelled flag or command (argparse suggests none before Python 3.14)."""
    import difflib  # only when there is an error to word: serving starts without it

    arguments = list(parser.arguments)
    words = [arg for arg in arguments if not arg.startswith("-")]
    unknown = re.match(r"unrecognized arguments: (\S+)", message)
    choice = re.match(r"argument \S+: invalid choice: '([^']*)'", message)
    if unknown:
        word, known = unknown.group(1).split("=", 1)[0], _flags(parser, words)
    elif choice:
        word, known = choice.group(1), [c for a in parser._actions if a.choices for c in a.choices]
    elif message.startswith("the following arguments are required"):
        # A required flag misspelled is reported as missing first: suggest for the flag no parser knows.
        known = _flags(parser, words)
        word = next((flag for flag in (a.split("=", 1)[0] for a in arguments if a.startswith("--")) if flag not in known), "")
    else:
        return ""
    close = difflib.get_close_matches(word, known, n=1, cutoff=0.6) if word else []
    return f"; did you mean {close[0]}?" if close else ""


def _flags(parser: argparse.ArgumentParser, words: list[str]) -> list[str]:
    """Every flag of ``parser`` and of the commands ``words`` choose under it (the root parser reports unknown flags)."""
    flags = [flag for action in parser._actions for flag in action.option_strings]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            chosen = next((word for word in words if word in action.choices), None)
            if chosen is not None:
                flags += _flags(action.choices[chosen], words[words.index(chosen) + 1 :])
    return flags


def _parsers(parser: CommandParser) -> list[CommandParser]:
    """``parser`` and every command's parser under it."""
    found = [parser]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in dict.fromkeys(action.choices.values()):
                if isinstance(child, CommandParser):  # every one is: subparsers take their parser's class
                    found += _parsers(child)
    return found


def not_text(argv: Sequence[str]) -> str | None:
    """The complaint about the first argument that is not UTF-8 text (raw bytes from the shell), if any."""
    for index, arg in enumerate(argv):
        if arg.isascii():
            continue
        try:
            arg.encode()
        except UnicodeEncodeError:
            if arg.startswith("--"):
                name = arg.split("=", 1)[0]
            elif index and argv[index - 1].startswith("--"):
                name = argv[index - 1]
            else:
                name = f"argument {index + 1}"
            return f"{name}: not valid UTF-8 text, got {arg!r}; amojo requests, secrets and settings are UTF-8"
    return None


# -- each command's flags ---------------------------------------------------------------------------


def _serve_flags(parser: argparse.ArgumentParser) -> None:
    """A flag per :class:`~mock_amojo.Config` setting, and ``--config``."""
    parser.add_argument("--config", metavar="FILE", help="TOML file with settings (top level, [mock-amojo] or [tool.mock-amojo])")
    defaults = Config()
    for f in fields(Config):
        flag = FLAGS.get(f.name, "--" + f.name.replace("_", "-"))
        kind = str(f.type)
        # The flag's own default is None (unset: the config file and MOCK_AMOJO_* may set it); show the setting's.
        default = getattr(defaults, f.name)
        shown = {True: "on", False: "off", None: "none"}.get(default, default) if isinstance(default, bool | None) else default
        text = f"{help_text(f.name)} (default: {shown}; {f'MOCK_AMOJO_{f.name.upper()}'})".replace("%", "%%")
        if kind == "Mapping[str, str]":
            parser.add_argument(flag, dest=f.name, action="append", default=None, metavar="RULE=STANCE", help=help_text(f.name))
        elif kind == "bool":
            parser.add_argument(flag, dest=f.name, action=argparse.BooleanOptionalAction, default=None, help=text)
        elif kind.startswith("tuple"):
            parser.add_argument(flag, dest=f.name, action="append", default=None, metavar="HOST", help=text)
        else:
            parser.add_argument(flag, dest=f.name, default=None, metavar=f.name.upper().split("_")[-1], help=text)


def _sign_flags(sign: argparse.ArgumentParser) -> None:
    sign.add_argument("method", help="HTTP method of an amojo endpoint: GET, POST or DELETE")
    sign.add_argument("path", help="request path, e.g. /v2/origin/custom/{channel_id}/connect")
    sign.add_argument("--body", default="", help="the exact body bytes to send: JSON, as amojo takes (default: empty)")
    sign.add_argument("--not-json", action="store_true", help="sign a --body that is not JSON (to see the fake refuse it)")
    sign.add_argument(
        "--secret",
        default=os.environ.get("MOCK_AMOJO_CHANNEL_SECRET", DEMO_CHANNEL_SECRET),
        help="channel secret, 40 lowercase hex characters (default: the demo channel's, or MOCK_AMOJO_CHANNEL_SECRET)",
    )
    sign.add_argument("--base-url", default="http://127.0.0.1:8080", help="for --curl: where the fake runs")
    sign.add_argument("--curl", action="store_true", help="print a complete curl command instead of headers")


def _check_receiver_flags(check: argparse.ArgumentParser) -> None:
    check.add_argument("url", help="the receiver's URL; ':scope_id' in it is replaced by --scope-id, as amojo does")
    check.add_argument("--secret", required=True, help="the channel secret the receiver verifies X-Signature with")
    check.add_argument("--scope-id", default=None, help="scope id the hooks describe ({channel_id}_{account_id}; default: random)")
    check.add_argument("--timeout", type=float, default=5.0, help="seconds to wait per call (amojo: 5)")
    check.add_argument("--json", action="store_true", help="print the results as JSON instead of a table")


def _channel_flags(channel: argparse.ArgumentParser) -> None:
    from ._channel_command import channel_parser  # its module loads only for a command line that can run it

    channel_parser(channel)


#: Each command: its name, its line in ``mock-amojo --help``, the top of its own help, and what adds its flags.
COMMANDS: tuple[tuple[str, str, str, Callable[[argparse.ArgumentParser], object]], ...] = (
    (
        "serve",
        "run the fake amojo server",
        "Run the fake amojo server (settings also from MOCK_AMOJO_* env vars).",
        _serve_flags,
    ),
    (
        "sign",
        "print the signed headers (or a curl command) for a request",
        "Sign a request as an amojo client must.",
        _sign_flags,
    ),
    (
        "check-receiver",
        "test an integration's webhook endpoint with genuine and forged amojo webhooks",
        (
            "Fire amojo's Webhook v2.0 calls at URL: genuine ones (every message type, write first, typing, reactions, "
            "unknown fields, a duplicate) must get 200 within 5 s; forged ones (bad, missing or replayed signature, "
            "altered body) must not. Exit 0: conforms; 1: accepted something forged; 3: mishandled genuine calls."
        ),
        _check_receiver_flags,
    ),
    (
        "channel",
        "show or change a channel of a running fake (webhook URL, hook version, write first, accounts, secret)",
        "Show or change a channel of a fake that is running, through its control plane (/__mock__/channels).",
        _channel_flags,
    ),
)
