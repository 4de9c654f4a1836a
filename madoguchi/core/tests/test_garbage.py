"""`serve` tunes the garbage collector: the start-up heap frozen, the thresholds from settings."""

import gc

from madoguchi.core.garbage import tune_for_serving


def test_tune_for_serving_freezes_the_heap_and_sets_the_thresholds():
    before = gc.get_threshold()
    try:
        tune_for_serving((12_345, 11, 12))
        assert gc.get_threshold() == (12_345, 11, 12)
        assert gc.get_freeze_count() > 10_000  # modules, classes, functions of the start-up
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


def test_the_default_thresholds_raise_only_the_young_generation(settings):
    assert tuple(settings.SERVE_GC_THRESHOLDS) == (10_000, 10, 10)
