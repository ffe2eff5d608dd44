"""The package's public names, and what loading it costs a pytest run that never uses the fake."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

import mock_amojo


@pytest.mark.parametrize("name", [n for n in mock_amojo.__all__ if n != "__version__"])
def test_every_public_name_is_its_modules_object(name: str) -> None:
    value = getattr(mock_amojo, name)
    assert value is getattr(importlib.import_module(f"mock_amojo.{mock_amojo._LAZY[name]}"), name)
    assert name in dir(mock_amojo)


def test_unknown_names_are_attribute_errors() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = mock_amojo.nope


def test_loading_the_pytest_plugin_does_not_load_the_fake() -> None:
    code = (
        "import sys, mock_amojo.pytest_plugin; print(sorted(m for m in ('starlette', 'mock_amojo.http._app', 'respx') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
