"""JSON the fake keeps (answers in the journal, hook bodies in the delivery log) occupies its length, not orjson's buffer."""

from __future__ import annotations

import gc
import tracemalloc
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mock_amojo.webhooks import encode_body
from mock_amojo.wire._jsonbytes import dumps

from .conftest import Fake, text_payload

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=50),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner, max_size=5),
    max_leaves=30,
)


def _allocated(make: Any) -> tuple[bytes, int]:
    tracemalloc.start()
    try:
        value = make()
        return value, tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()


@given(_JSON)
def test_same_bytes_as_orjson(data: Any) -> None:
    assert dumps(data) == orjson.dumps(data)


@pytest.mark.parametrize("size", [10, 176, 3000, 20_000])
def test_the_bytes_occupy_their_length(size: int) -> None:
    data = {"text": "x" * size}
    value, allocated = _allocated(lambda: dumps(data))
    assert allocated <= len(value) + 64  # the bytes object's header; orjson's own result holds 4 KiB and up
    hook, allocated = _allocated(lambda: encode_body(data))
    assert allocated <= len(hook) + 64


def test_a_journaled_request_keeps_little_memory(connected: Fake) -> None:
    # Each request stays in the journal for the next 10,000: what it keeps is what a served fake carries.
    for n in range(200):
        assert connected.amojo.send_message(text_payload(f"warm-{n}")).status_code == 200
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for n in range(500):
            assert connected.amojo.send_message(text_payload(f"m-{n}", conversation_id=f"c-{n % 20}")).status_code == 200
        gc.collect()
        per_request = (tracemalloc.get_traced_memory()[0] - before) / 500
    finally:
        tracemalloc.stop()
    # Measured: ~2.2 KiB (the stored message and its journal entry); 6.6 KiB when answers kept orjson's buffer.
    assert per_request < 4096, per_request
