"""The served fake's garbage-collection policy: short passes, and no cycle kept for ever."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import sys
import weakref
from collections.abc import Callable, Iterator

import pytest

from mock_amojo.serve._gcpolicy import FreezingCollector, start_policy


class _Node:
    def __init__(self) -> None:
        self.me = self


@pytest.fixture
def policy() -> Iterator[FreezingCollector]:
    gc.unfreeze()
    collector = FreezingCollector(minimum=1000, check_every=0)  # looks at the memory after every pass
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


def _double_the_memory(policy: FreezingCollector) -> list[float]:
    """Enough new allocated blocks (a float is one) to take the process past twice the baseline."""
    return [float(n) for n in range(2 * policy.baseline - sys.getallocatedblocks() + 1000)]


def _count_calls(monkeypatch: pytest.MonkeyPatch, owner: object, name: str) -> list[int]:
    """Wrap ``owner.name`` (a function of no arguments) to count its calls; the count is the list's one item."""
    real: Callable[[], int] = getattr(owner, name)
    calls = [0]

    def counting() -> int:
        calls[0] += 1
        return real()

    monkeypatch.setattr(owner, name, counting)
    return calls


def test_the_frozen_heap_is_never_walked_to_decide_a_full_collection(policy: FreezingCollector, monkeypatch: pytest.MonkeyPatch) -> None:
    # Counting the frozen heap walks it object by object (tens of ms at a million objects).
    gc.collect()
    policy.collect()
    counted = _count_calls(monkeypatch, gc, "get_freeze_count")
    _kept = [[[n] for n in range(100)] for _ in range(50)]
    for _ in range(50):
        gc.collect(0)
    assert not policy.due
    _growth = _double_the_memory(policy)
    gc.collect(0)
    assert policy.due  # the memory doubled: a full collection is due...
    assert counted == [0]  # ...and the frozen heap was not counted once


def test_the_memory_is_looked_at_no_more_often_than_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    # Reading the allocator's pool headers costs ~0.5 ms at 2M blocks; a pass comes every few hundred requests.
    gc.unfreeze()
    collector = FreezingCollector(minimum=1000, check_every=3600)
    looks = _count_calls(monkeypatch, sys, "getallocatedblocks")
    collector.install()
    gc.disable()  # only this test's passes
    try:
        for _ in range(50):
            gc.collect(0)
        assert looks == [0]
        assert collector.freezes >= 50  # every pass still froze its survivors
        collector.check_every = 0
        gc.collect(0)
        assert looks == [1]
    finally:
        gc.enable()
        collector.uninstall()
        gc.unfreeze()


def test_frozen_objects_that_died_do_not_make_a_collection_due(policy: FreezingCollector) -> None:
    gc.collect()
    policy.collect()
    for _ in range(4):
        churn = [[n] for n in range(policy.baseline // 5)]  # ~0.6 × the baseline in blocks
        gc.collect(0)  # frozen...
        del churn  # ...then freed by reference counting: their memory is back, and counts no more
    gc.collect(0)
    assert not policy.due


def test_a_cycle_frozen_then_dropped_is_freed_by_the_full_collection_a_doubling_makes_due(policy: FreezingCollector) -> None:
    gc.collect()
    policy.collect()
    node = _Node()
    alive = weakref.ref(node)
    gc.collect()  # node survives: frozen
    del node
    gc.collect()
    assert alive() is not None  # a frozen cycle is out of the collector's sight...
    growth = _double_the_memory(policy)
    gc.collect()
    assert policy.due and alive() is not None  # ...the memory doubled: due, but CPython's own passes leave it be,
    collections = policy.full_collections
    assert policy.collect() >= 1  # the due collection frees it,
    assert alive() is None and not policy.due and policy.full_collections == collections + 1
    assert policy.baseline >= len(growth)  # and the new baseline counts the grown memory
    walked = {id(o) for generation in range(3) for o in gc.get_objects(generation)}
    assert id(growth) not in walked  # what survived it is frozen again


def _run_quietly(policy: FreezingCollector, activity: Callable[[], int], seconds: float, **options: float) -> None:
    async def run() -> None:
        task = asyncio.create_task(policy.collect_when_quiet(activity, **options))
        await asyncio.sleep(seconds)
        task.cancel()

    asyncio.run(run())


def test_a_due_collection_waits_for_a_moment_without_requests(policy: FreezingCollector) -> None:
    served = [0]

    def busy() -> int:
        served[0] += 1  # a request between every two looks
        return served[0]

    policy.due = True
    _run_quietly(policy, busy, 0.3, poll=0.01, patience=60)
    assert policy.due and policy.full_collections == 0  # never quiet, and patience not exhausted
    _run_quietly(policy, lambda: served[0], 0.1, poll=0.01, patience=60)
    assert not policy.due and policy.full_collections == 1  # quiet: collected, once


def test_a_due_collection_runs_anyway_after_its_patience(policy: FreezingCollector) -> None:
    served = [0]

    def busy() -> int:
        served[0] += 1
        return served[0]

    policy.due = True
    _run_quietly(policy, busy, 0.5, poll=0.01, patience=0.1)
    assert policy.full_collections >= 1


def test_nothing_is_collected_while_nothing_is_due(policy: FreezingCollector) -> None:
    _run_quietly(policy, lambda: 0, 0.1, poll=0.01)
    assert policy.full_collections == 0


def _collectors() -> list[object]:
    return [callback for callback in gc.callbacks if isinstance(getattr(callback, "__self__", None), FreezingCollector)]


def test_the_freeze_policy_freezes_the_server_and_its_task_uninstalls_it_when_cancelled() -> None:
    gc.unfreeze()

    async def serve() -> None:
        task = start_policy("freeze", lambda: 0)
        assert task is not None
        assert len(_collectors()) == 1 and gc.get_freeze_count() > 0
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    try:
        asyncio.run(serve())
        assert _collectors() == []
    finally:
        gc.unfreeze()


def test_the_off_policy_leaves_collection_to_cpython() -> None:
    gc.unfreeze()

    async def serve() -> asyncio.Task[None] | None:
        return start_policy("off", lambda: 0)

    assert asyncio.run(serve()) is None
    assert _collectors() == [] and gc.get_freeze_count() == 0


_START_PROBE = """
import gc, sys
from mock_amojo import cli
gc.disable()  # as the entry point starts the command
def started():
    print(gc.get_freeze_count(), gc.isenabled())
    raise SystemExit(0)
cli.main(["serve", "--port", "0", "--quiet", *sys.argv[1:]], started=started)
"""


@pytest.mark.parametrize(("args", "frozen"), [((), True), (("--gc-policy", "off"), False)])
def test_what_the_start_built_is_frozen_before_collection_comes_back(args: tuple[str, ...], frozen: bool) -> None:
    # Enabling collection over an unfrozen start makes its first pass walk everything the start built
    # (~12 ms, a tenth of `mock-amojo serve`'s start); --gc-policy off leaves CPython's collection as it is.
    import subprocess

    out = subprocess.run([sys.executable, "-c", _START_PROBE, *args], capture_output=True, text=True, timeout=60, check=True).stdout
    count, enabled = out.split()
    assert enabled == "False"  # still off: the entry point's started turns it on, after the freeze
    assert (int(count) > 10_000) is frozen, out
