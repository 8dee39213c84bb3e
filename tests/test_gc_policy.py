"""The collector policy of the bot's, the trainer's and ``python -m model``'s start-up."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from model.gc_policy import collector_paused, freeze_start_up_objects


@pytest.fixture
def thawed() -> Iterator[None]:
    """Leave the worker's collector as the test found it (frozen objects stay frozen:
    gc.unfreeze would make every later full scan walk them again)."""
    enabled = gc.isenabled()
    yield
    if enabled:
        gc.enable()
    else:
        gc.disable()


def test_imports_run_without_collections_and_what_they_made_is_frozen(thawed: None) -> None:
    gc.enable()
    with collector_paused():
        assert not gc.isenabled()
        made = [[] for _ in range(1000)]
        before = gc.get_freeze_count()
    assert gc.isenabled()
    assert gc.get_freeze_count() >= before + len(made)


def test_the_collector_comes_back_on_when_an_import_fails(thawed: None) -> None:
    gc.enable()
    with pytest.raises(ImportError), collector_paused():
        import model.no_such_module  # type: ignore[import-not-found]  # noqa: F401
    assert gc.isenabled()


def test_a_paused_collector_stays_paused_for_a_caller_that_paused_it(thawed: None) -> None:
    gc.disable()
    with collector_paused():
        pass
    assert not gc.isenabled()


def test_start_up_garbage_is_collected_before_the_rest_is_frozen(thawed: None) -> None:
    class Node:
        other: object = None

    a, b = Node(), Node()
    a.other, b.other = b, a  # a cycle only a collection frees
    gone = weakref.ref(a)
    gc.disable()  # nothing but the freeze's own collection may free it
    del a, b
    assert gone() is not None
    before = gc.get_freeze_count()
    freeze_start_up_objects()
    assert gone() is None
    assert gc.get_freeze_count() > before
