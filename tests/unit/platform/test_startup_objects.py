"""A started service leaves what its start built to reference counting: the cyclic
collector's full passes then walk only what was made since, not the modules, models and
schemas of the start (a pass over them held the event loop for 80-120 ms)."""

from __future__ import annotations

import gc
import weakref

from repairline_platform.runtime import _freeze_startup_objects


class _Node:
    pass


def test_the_start_is_frozen_and_later_cycles_are_still_collected():
    built_at_start = [[n] for n in range(1000)]  # tracked containers alive at the start
    try:
        _freeze_startup_objects()
        assert gc.get_freeze_count() >= len(built_at_start)
        walked = {id(o) for o in gc.get_objects()}
        assert not any(id(o) in walked for o in built_at_start)

        later = _Node()
        later.itself = later  # a cycle only the collector frees
        gone = weakref.ref(later)
        del later
        gc.collect()
        assert gone() is None
    finally:
        gc.unfreeze()
