"""``python -m mock_amojo`` and the installed ``mock-amojo`` script: the command, started without garbage collection.

What the command loads and builds as it starts lives as long as the process, yet CPython's collector
walks it all again and again while it grows (a fifth of `mock-amojo serve`'s start). Collection is
off until the command says it has started (:func:`mock_amojo.cli.main`'s ``started``), then on again.
"""

from __future__ import annotations

import gc


def main() -> int:
    gc.disable()
    try:
        from .cli import main as command

        return command(started=gc.enable)
    finally:
        gc.enable()


if __name__ == "__main__":
    raise SystemExit(main())
