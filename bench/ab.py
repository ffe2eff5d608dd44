"""Before/after in one run: `mock-amojo serve` from another git revision beside this checkout's.

    python -m bench.ab d40fd10                    # signed new_message at 1 and 64 connections
    python -m bench.ab main --connections 64 --rounds 7

The other revision is checked out into a temporary git worktree (removed afterwards) and served
by this checkout's Python environment, next to this checkout's fake and the bare Starlette echo
app; wrk runs alternate between the three and each keeps its best round, so a ratio compares
runs that saw the same machine. Same pinning and load generator as ``bench/served.py``.
"""

from __future__ import annotations

import argparse
import contextlib
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx

from mock_amojo.testing._client import AmojoClient

from .common import ACCOUNT_ID, CHANNEL_ID, HOST, ROOT, SECRET, bare_command, free_port, server
from .loadgen import LoadResult, have_wrk, run_load
from .served import MAX_RPS, _best, _compared_row, _message_pool, _row


def serve_tree(tree: Path, port: int) -> list[str]:
    """`mock-amojo serve` importing the package from ``tree`` (not from wherever it is installed)."""
    code = (
        f"import sys; sys.path.insert(0, {str(tree)!r}); "
        f"sys.argv = ['mock-amojo', 'serve', '--port', '{port}', '--log-level', 'warning']; "
        "from mock_amojo.cli import main; sys.exit(main())"
    )
    return [sys.executable, "-c", code]


@contextlib.contextmanager
def checkout(revision: str) -> Iterator[Path]:
    """``revision`` in a temporary detached worktree of this repository."""
    with tempfile.TemporaryDirectory(prefix="mock-amojo-ab-") as folder:
        tree = Path(folder) / "tree"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "--quiet", str(tree), revision], check=True)
        try:
            yield tree
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=False)


def run(revision: str, connections: list[int], rounds: int, seconds: float) -> list[dict[str, object]]:
    generator = "wrk" if have_wrk() else "python"
    cap = int(MAX_RPS * seconds)
    rows: list[dict[str, object]] = []
    with checkout(revision) as before_tree:
        ports = {"bare": free_port(), "before": free_port(), "after": free_port()}
        commands = {
            "bare": bare_command(ports["bare"]),
            "before": serve_tree(before_tree, ports["before"]),
            "after": serve_tree(ROOT, ports["after"]),
        }
        with contextlib.ExitStack() as stack:
            for name, command in commands.items():
                stack.enter_context(server(command, f"http://{HOST}:{ports[name]}/__mock__/health"))
                if name != "bare":
                    with httpx.Client(base_url=f"http://{HOST}:{ports[name]}", timeout=10) as http:
                        assert AmojoClient(http, CHANNEL_ID, SECRET).connect(ACCOUNT_ID, hook_api_version="v2").status_code == 200
            for conns in connections:
                runs: dict[str, list[LoadResult]] = {name: [] for name in commands}
                for _ in range(rounds):
                    for name in commands:
                        runs[name].append(run_load(_message_pool(seconds), ports[name], conns, seconds, cap, generator))
                bare = _best(runs["bare"])
                rows.append(_row("bare Starlette echo (ceiling)", conns, bare, None))
                for name, case in (("before", f"mock-amojo new_message at {revision}"), ("after", "mock-amojo new_message, this checkout")):
                    rows.append(_compared_row(case, conns, runs[name], runs["bare"]))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ab", description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("revision", help="git revision to compare with (a commit, branch or tag)")
    parser.add_argument("--connections", default="1,64", help="comma-separated connection counts (default 1,64)")
    parser.add_argument("--rounds", type=int, default=5, help="runs per server and connection count (best kept)")
    parser.add_argument("--seconds", type=float, default=3.0, help="seconds per run")
    args = parser.parse_args(argv)
    try:
        connections = [int(c) for c in args.connections.split(",") if c.strip()]
    except ValueError:
        parser.error(f"--connections: comma-separated integers, got {args.connections!r}")
    from .__main__ import table

    try:
        rows = run(args.revision, connections, args.rounds, args.seconds)
    except subprocess.CalledProcessError:
        print(f"bench.ab: cannot check out {args.revision!r} (git says why, above)", file=sys.stderr)
        return 2
    print(table(rows), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
