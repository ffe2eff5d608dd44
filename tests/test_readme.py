"""The README's tutorial, run as a reader runs it: every block in order, in one shell session.

docs/manager-and-webhooks.md goes on from where the tutorial stops, so its blocks run next, in the
same session (its ``mock-amojo serve`` line is the server the tutorial already started).

The commands that keep running (the webhook receiver and ``mock-amojo serve``) are started as the
README writes them, on free ports instead of 9000 and 8080 (the README's ports are replaced
throughout, the documented outputs included). Everything else becomes one bash script (``set -e``,
``pipefail``), Python blocks run from it in place, and each documented output is checked against
what its command printed: ``# {…}`` is the JSON answer (``…`` stands for anything), ``# → text``
the printed text.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
#: Pages that go on from the tutorial's state (its variables, its chat c-1, its running servers).
CONTINUED_IN = [ROOT / "docs" / "manager-and-webhooks.md"]

#: Lines that start a process that keeps running (a terminal of its own in the README).
BACKGROUND = re.compile(r"^(python examples/receivers/\S+|mock-amojo serve)\b")
MARK = "@@mock-amojo-readme-mark@@"


@dataclass
class Expected:
    kind: str  # "json" or "text"
    text: str
    line: str  # as written in the README, for the failure message


def tutorial(readme: str) -> list[tuple[str, str]]:
    """The tutorial's fenced blocks in order, as (language, code)."""
    start = readme.index("\n## Tutorial")
    section = readme[start : readme.index("\n## ", start + 1)]
    return re.findall(r"^```(\w+)\n(.*?)^```", section, flags=re.S | re.M)


def continuation(page: str) -> list[tuple[str, str]]:
    """A page's bash and python blocks, minus the commands that start servers the tutorial started."""
    found = re.findall(r"^```(bash|python)\n(.*?)^```", page, flags=re.S | re.M)
    return [(language, "".join(line for line in code.splitlines(True) if not BACKGROUND.match(line))) for language, code in found]


def matches(documented: str, printed: str) -> bool:
    """``documented`` with each "…" standing for any text, against the whole of ``printed``."""
    pattern = ".*?".join(re.escape(part) for part in documented.split("…"))
    return re.fullmatch(pattern, printed, flags=re.S) is not None


def script(blocks: list[tuple[str, str]], folder: Path) -> tuple[str, list[str], list[Expected | None]]:
    """One bash script for the foreground commands, the background command lines, and what each
    stretch of output between two marks should be (None: not documented)."""
    lines = ["set -eo pipefail"]
    background: list[str] = []
    expected: list[Expected | None] = []

    def mark(expect: Expected | None) -> None:
        lines.append(f"printf '\\n%s\\n' '{MARK}'")
        expected.append(expect)

    for number, (language, code) in enumerate(blocks):
        if language == "python":
            path = folder / f"block{number}.py"
            path.write_text(code, encoding="utf-8")
            mark(None)
            lines.append(f'python "{path}"')
            for line in code.splitlines():
                if line.startswith("# → "):
                    mark(Expected("text", line.removeprefix("# → "), line))
            continue
        assert language == "bash", f"the tutorial has a {language} block; only bash and python are run"
        for line in code.splitlines():
            if BACKGROUND.match(line):
                background.append(line)
            elif line.startswith("# {"):
                mark(Expected("json", line.removeprefix("# "), line))
            elif line.startswith("# → "):
                mark(Expected("text", line.removeprefix("# → "), line))
            elif not line.strip() or line.startswith("#"):
                mark(None)
            else:
                lines.append(line)
    mark(None)
    return "\n".join(lines) + "\n", background, expected


@dataclass
class Started:
    process: subprocess.Popen[bytes]
    output: Path

    def wait_for(self, pattern: str) -> re.Match[str]:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            found = re.search(pattern, self.output.read_text(encoding="utf-8", errors="replace"))
            if found:
                return found
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"no {pattern!r} in the output of {self.process.args!r}:\n{self.output.read_text(errors='replace')}")


@pytest.fixture
def started(tmp_path: Path) -> Iterator[list[Started]]:
    processes: list[Started] = []
    yield processes
    for item in processes:
        if item.process.poll() is None:
            item.process.terminate()
        try:
            item.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            item.process.kill()
            item.process.wait(timeout=10)


def shell_env() -> dict[str, str]:
    """The environment of a reader who activated the virtual environment: its python and mock-amojo first."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("MOCK_AMOJO_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONUNBUFFERED"] = "1"
    return env


def test_the_tutorial_runs_top_to_bottom_and_prints_what_it_documents(tmp_path: Path, started: list[Started]) -> None:
    blocks = tutorial(README.read_text(encoding="utf-8"))
    assert blocks, "the README has no tutorial"
    then = [block for page in CONTINUED_IN for block in continuation(page.read_text(encoding="utf-8"))]
    env = shell_env()

    def start(line: str, name: str, extra: dict[str, str] | None = None) -> Started:
        output = tmp_path / f"{name}.out"
        with output.open("wb") as sink:
            process = subprocess.Popen(  # the README's own command line
                ["bash", "-c", f"exec {line}"], cwd=ROOT, env={**env, **(extra or {})}, stdout=sink, stderr=subprocess.STDOUT
            )
        started.append(Started(process, output))
        return started[-1]

    text = "\n".join(code for _, code in blocks)  # only the tutorial starts servers
    (receiver_line,) = [line for line in text.splitlines() if line.startswith("python examples/receivers/")]
    (serve_line,) = [line for line in text.splitlines() if line.startswith("mock-amojo serve")]
    receiver = start(re.sub(r"--port 9000\b", "--port 0", receiver_line), "receiver")
    receiver_port = receiver.wait_for(r"listening on http://127\.0\.0\.1:(\d+)").group(1)
    serve = start(serve_line.replace("127.0.0.1:9000", f"127.0.0.1:{receiver_port}"), "serve", {"MOCK_AMOJO_PORT": "0"})
    port = serve.wait_for(r"fake amojo at http://127\.0\.0\.1:(\d+)").group(1)
    assert httpx.get(f"http://127.0.0.1:{port}/__mock__/health").status_code == 200

    ported = [
        (language, code.replace("127.0.0.1:8080", f"127.0.0.1:{port}").replace("127.0.0.1:9000", f"127.0.0.1:{receiver_port}"))
        for language, code in [*blocks, *then]
    ]
    body, background, expected = script(ported, tmp_path)
    assert len(background) == 2, background
    run = subprocess.run(["bash", "-c", body], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 0, f"the tutorial stopped (exit {run.returncode}):\n{run.stderr}\n--- printed:\n{run.stdout}"

    stretches = run.stdout.split(f"\n{MARK}\n")
    assert len(stretches) == len(expected) + 1, run.stdout
    checked = 0
    for expect, printed in zip(expected, stretches, strict=False):
        if expect is None:
            continue
        printed = printed.strip()
        if expect.kind == "json":
            printed = json.dumps(json.loads(printed), ensure_ascii=False)
        assert matches(expect.text, printed), f"the docs say\n  {expect.line}\nbut the command printed\n  {printed}"
        checked += 1
    assert checked == sum(expect is not None for expect in expected) >= 7


def test_an_undocumented_difference_fails_the_match() -> None:
    assert matches('{"a": "x-…", "b": 1}', '{"a": "x-123", "b": 1}')
    assert not matches('{"a": "x-…", "b": 1}', '{"a": "x-123", "b": 2}')
    assert not matches("delivered 200 …", "failed  http://127.0.0.1:1/")
