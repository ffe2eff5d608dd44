"""The served fake's garbage-collection policy: short full passes, and no cycle kept for ever."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from mock_amojo.gcpolicy import FreezingCollector


class _Node:
    def __init__(self) -> None:
        self.me = self


@pytest.fixture
def policy() -> Iterator[FreezingCollector]:
    gc.unfreeze()
    collector = FreezingCollector(minimum=1000)
    collector.install()
    gc.disable()  # only the tests' own gc.collect calls: which pass freezes or thaws is then certain
    try:
        yield collector
    finally:
        gc.enable()
        collector.uninstall()
        gc.unfreeze()


def test_survivors_of_a_full_collection_are_frozen(policy: FreezingCollector) -> None:
    gc.collect()
    gc.collect()  # the first pass may thaw (the whole test process is "new"); the second settles
    kept = [[n] for n in range(5000)]
    gc.collect()
    assert gc.get_freeze_count() >= len(kept)
    assert policy.freezes >= 3
    # Frozen objects are in no generation: no later pass walks them.
    walked = {id(o) for generation in range(3) for o in gc.get_objects(generation)}
    assert not any(id(item) in walked for item in kept)


@pytest.mark.parametrize("generation", [0, 1])
def test_survivors_of_the_younger_generations_passes_are_frozen_too(policy: FreezingCollector, generation: int) -> None:
    gc.collect()
    gc.collect()
    kept = [[n] for n in range(5000)]
    gc.collect(generation)
    walked = {id(o) for g in range(3) for o in gc.get_objects(g)}
    assert not any(id(item) in walked for item in kept)
    assert gc.get_freeze_count() >= len(kept)


def test_the_frozen_heap_is_not_counted_after_every_pass(policy: FreezingCollector, monkeypatch: pytest.MonkeyPatch) -> None:
    # Counting walks the whole frozen heap (tens of ms at a million objects): a running total decides when to.
    gc.collect()
    gc.collect()
    counted = 0
    real_count = gc.get_freeze_count

    def counting() -> int:
        nonlocal counted
        counted += 1
        return real_count()

    monkeypatch.setattr(gc, "get_freeze_count", counting)
    thaws = policy.thaws
    kept = []
    for _ in range(50):
        kept.append([[n] for n in range(100)])
        gc.collect(0)
    assert counted == 0
    assert policy.frozen >= real_count()  # the running total kept up with what was frozen
    kept.append([[n] for n in range(2 * policy.baseline + 1)])
    gc.collect(0)
    assert counted == 1  # doubled: counted for real once, and thawed
    assert policy.thaws == thaws + 1


def test_frozen_objects_that_died_do_not_thaw_the_heap(policy: FreezingCollector) -> None:
    gc.collect()
    gc.collect()
    thaws = policy.thaws
    for _ in range(3):
        churn = [[n] for n in range(policy.baseline // 2)]
        gc.collect(0)  # frozen, and counted in the running total...
        del churn  # ...then freed by reference counting
    assert policy.recounts >= 1  # the total said "doubled", the real count did not
    assert policy.thaws == thaws
    assert policy.frozen < 2 * policy.baseline


def test_a_cycle_frozen_then_dropped_is_freed_once_the_frozen_heap_doubles(policy: FreezingCollector) -> None:
    gc.collect()
    gc.collect()
    node = _Node()
    alive = weakref.ref(node)
    gc.collect()  # node survives: frozen
    del node
    gc.collect()
    assert alive() is not None  # a frozen cycle is out of the collector's sight...
    thaws = policy.thaws
    growth = [[n] for n in range(2 * policy.baseline + 1)]
    gc.collect()  # ...until the frozen heap has doubled: thawed,
    assert policy.thaws == thaws + 1
    gc.collect(1)  # a generation-1 pass in between does not freeze it again,
    assert alive() is not None
    gc.collect()  # and the next full pass frees it.
    assert alive() is None
    assert policy.baseline >= len(growth)


def test_install_is_idempotent_and_uninstall_removes_it() -> None:
    collector = FreezingCollector()
    collector.install()
    collector.install()
    try:
        assert gc.callbacks.count(collector._on_collection) == 1
    finally:
        collector.uninstall()
    assert collector._on_collection not in gc.callbacks
