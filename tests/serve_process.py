"""``mock-amojo`` as a user runs it: a command run to its end, or a ``serve`` process that is ready once its banner is out.

A test that starts a server stops it: ``with start(...) as server:`` (or a fixture that does), or ``server.stop()``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from types import TracebackType


def run(*args: str, env: dict[str, str] | None = None, timeout: float = 20) -> subprocess.CompletedProcess[str]:
    """``mock-amojo args``, run to its end, with ``env`` added to this process's environment."""
    return subprocess.run(
        [sys.executable, "-m", "mock_amojo", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        check=False,
    )


class Served:
    """A ``mock-amojo serve`` process, its URL and the banner it printed."""

    def __init__(self, process: subprocess.Popen[str], base_url: str, banner: str) -> None:
        self.process = process
        self.base_url = base_url
        self.banner = banner

    @property
    def ca(self) -> str:
        """The CA file the banner names (``--tls``)."""
        found = re.search(r"CA +(\S+)", self.banner)
        assert found is not None, self.banner
        return found.group(1)

    def stop(self) -> int:
        """SIGTERM (what a user's Ctrl+C or a supervisor sends), then its exit status; killed if it does not exit."""
        if self.process.poll() is None:
            self.process.terminate()
        try:
            return self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
            raise
        finally:
            for stream in (self.process.stdout, self.process.stderr):
                if stream is not None:
                    stream.close()

    def __enter__(self) -> Served:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None) -> None:
        status = self.stop()
        if kind is None:  # a failing test's own error says more than how the server then exited
            assert status == 0, f"mock-amojo serve exited with {status}"


def start(*args: str) -> Served:
    """``mock-amojo serve args`` on a free port, once its banner (down to its curl line) is out."""
    process = subprocess.Popen(
        [sys.executable, "-m", "mock_amojo", "serve", "--port", "0", "--log-level", "warning", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    lines = []
    for line in process.stdout:
        lines.append(line)
        if line.startswith("  curl "):
            break
    banner = "".join(lines)
    found = re.search(r"fake amojo at (https?://\S+)", banner)
    if found is None:
        process.kill()
        _, errors = process.communicate(timeout=10)
        raise AssertionError(f"no banner: {banner!r} {errors}")
    return Served(process, found.group(1), banner)
