"""The package as a user gets it: built into an sdist and a wheel, installed into a fresh venv, used from there.

``python -m build`` makes both artifacts (the wheel from the sdist, so a file the sdist leaves out
breaks the wheel), ``twine check --strict`` accepts them, and a virtual environment that has only
the wheel, its dependencies and pytest runs ``mock-amojo serve``, ``mock-amojo sign`` and the
README's ``amojo`` fixture example from a folder with no checkout in sight. The dependencies come
from the package index (pip's cache makes a second run take seconds); ``-m "not packaging"``
leaves this out.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.packaging


def run(*command: str | Path, cwd: Path, env: dict[str, str] | None = None, timeout: float = 300) -> str:
    done = subprocess.run([str(part) for part in command], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    assert done.returncode == 0, f"{' '.join(map(str, command))} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def clean_env() -> dict[str, str]:
    """This environment minus whatever could put the checkout or this venv on the fresh one's path."""
    drop = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTEST_ADDOPTS", "PYTEST_PLUGINS")
    return {key: value for key, value in os.environ.items() if key not in drop and not key.startswith(("MOCK_AMOJO_", "PYTEST_XDIST"))}


def wheel_files(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())


def expected_data_files() -> set[str]:
    """What the package reads at run time besides its modules: schemas, console templates and static files."""
    schemas = {f"mock_amojo/wire/_schemas/{path.name}" for path in (ROOT / "schemas").glob("*.json")}
    console = {
        path.relative_to(ROOT).as_posix()
        for folder in ("templates", "static")
        for path in (ROOT / "mock_amojo" / "http" / folder).rglob("*")
        if path.is_file()
    }
    return schemas | console | {"mock_amojo/py.typed"}


def fixture_example() -> str:
    """The README's pytest example (the last python block of "Three ways to use it")."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Three ways to use it") :]
    examples: list[str] = [code for code in re.findall(r"^```python\n(.*?)^```", section, flags=re.S | re.M) if "(amojo)" in code]
    (example,) = examples
    return example


def test_the_built_wheel_installs_into_a_fresh_venv_and_works_there(tmp_path: Path) -> None:
    env = clean_env()
    dist = tmp_path / "dist"
    run(sys.executable, "-m", "build", "--no-isolation", "--outdir", dist, ROOT, cwd=tmp_path, env=env)
    (wheel,) = dist.glob("mock_amojo-*-py3-none-any.whl")
    (sdist,) = dist.glob("mock_amojo-*.tar.gz")
    run(sys.executable, "-m", "twine", "check", "--strict", wheel, sdist, cwd=tmp_path, env=env)
    assert expected_data_files() - wheel_files(wheel) == set()

    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp_path, env=env)
    bin_dir = venv / ("Scripts" if os.name == "nt" else "bin")
    python = bin_dir / "python"
    pip = (sys.executable, "-m", "pip", "--python", python, "--disable-pip-version-check")
    run(*pip, "install", "--quiet", wheel, "pytest", cwd=tmp_path, env=env)

    project = tmp_path / "project"  # a user's repository: no checkout, no conftest of ours
    project.mkdir()
    signed = run(bin_dir / "mock-amojo", "sign", "POST", "/v2/origin/custom/x/connect", "--body", "{}", cwd=project, env=env)
    assert re.search(r"^X-Signature: [0-9a-f]{40}$", signed, flags=re.M), signed

    served = project / "serve.out"
    with served.open("wb") as sink:
        command = [str(bin_dir / "mock-amojo"), "serve", "--port", "0"]
        server = subprocess.Popen(command, cwd=project, env=env, stdout=sink, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while not (found := re.search(r"fake amojo at (http://\S+)", served.read_text(errors="replace"))) and server.poll() is None:
            assert time.monotonic() < deadline, served.read_text(errors="replace")
            time.sleep(0.05)
        assert found, served.read_text(errors="replace")
        assert httpx.get(f"{found.group(1)}/__mock__/health").status_code == 200
    finally:
        server.terminate()
        server.wait(timeout=10)

    (project / "test_from_the_wheel.py").write_text(
        fixture_example()
        + "\n\ndef test_the_fake_is_the_installed_wheel():\n"
        + "    import sys\n    from pathlib import Path\n\n    import mock_amojo\n\n"
        + "    assert Path(mock_amojo.__file__).resolve().is_relative_to(Path(sys.prefix).resolve())\n",
        encoding="utf-8",
    )
    outcome = run(python, "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=project, env=env)
    assert re.search(r"\b2 passed\b", outcome), outcome
