import gc
import threading

import numpy as np
import pytest

import tinygrad_ref
from tinygrad_ref import Config, Variable, no_grad, using_config


def backprop_enabled() -> bool:
    return Config.enable_backprop


def test_enable_backprop_is_on_by_default() -> None:
    assert backprop_enabled()


def test_no_grad_records_no_graph() -> None:
    x = Variable(np.array(2.0))
    with no_grad():
        y = x * x
    assert y.creator is None
    assert Config.enable_backprop is True


def test_using_config_restores_the_old_value_when_the_body_raises() -> None:
    def fail_without_backprop() -> None:
        with using_config("enable_backprop", False):
            assert not backprop_enabled()
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        fail_without_backprop()
    assert backprop_enabled()


def test_nested_configs_restore_in_order() -> None:
    with no_grad():
        with using_config("enable_backprop", True):
            assert backprop_enabled()
        assert not backprop_enabled()
    assert backprop_enabled()


def test_using_config_refuses_an_unknown_option() -> None:
    with pytest.raises(ValueError, match="unknown config option 'enable_backdrop'"):
        using_config("enable_backdrop", False).__enter__()


def test_no_grad_in_one_thread_does_not_disable_recording_in_another() -> None:
    inside_no_grad = threading.Event()
    recorded = threading.Event()
    seen_in_thread: list[bool] = []

    def infer() -> None:
        with no_grad():
            inside_no_grad.set()
            recorded.wait(timeout=10)
            seen_in_thread.append(Config.enable_backprop)

    thread = threading.Thread(target=infer)
    thread.start()
    assert inside_no_grad.wait(timeout=10)
    x = Variable(np.array(3.0))
    y = x * x
    recorded.set()
    thread.join()
    assert y.creator is not None
    y.backward()
    assert x.grad is not None
    assert x.grad.data == 6.0
    assert seen_in_thread == [False]


def test_a_new_thread_starts_with_the_defaults() -> None:
    seen: list[bool] = []
    with no_grad():
        thread = threading.Thread(target=lambda: seen.append(Config.enable_backprop))
        thread.start()
        thread.join()
    assert seen == [True]


def test_using_config_refuses_attributes_that_are_not_options() -> None:
    with pytest.raises(ValueError, match="unknown config option '__doc__'"):
        using_config("__doc__", False).__enter__()


def training() -> bool:
    return Config.train


def test_train_is_on_by_default_and_test_mode_turns_it_off_in_its_body() -> None:
    assert training()
    with tinygrad_ref.test_mode():
        assert not training()
        with using_config("train", True):
            assert training()
        assert not training()
    assert training()


def test_test_mode_is_per_thread() -> None:
    seen: list[bool] = []
    with tinygrad_ref.test_mode():
        thread = threading.Thread(target=lambda: seen.append(training()))
        thread.start()
        thread.join()
    assert seen == [True]


def test_gc_paused_pauses_the_collector_and_restores_it() -> None:
    assert gc.isenabled()
    with tinygrad_ref.gc_paused():
        assert not gc.isenabled()
        with tinygrad_ref.gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # NOTE: the outer block still runs
        x = Variable(np.array(2.0))
        y = x * x
        y.backward()
        assert x.grad is not None
        assert x.grad.data == 4.0
    assert gc.isenabled()


def test_gc_paused_restores_on_an_exception_and_keeps_a_disabled_collector_off() -> None:
    with pytest.raises(RuntimeError, match="boom"), tinygrad_ref.gc_paused():
        raise RuntimeError("boom")
    assert gc.isenabled()
    gc.disable()
    try:
        with tinygrad_ref.gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_gc_paused_in_two_threads_enables_the_collector_when_the_last_block_leaves() -> None:
    inside, leave = threading.Event(), threading.Event()

    def other() -> None:
        with tinygrad_ref.gc_paused():
            inside.set()
            leave.wait(10)

    thread = threading.Thread(target=other)
    with tinygrad_ref.gc_paused():
        thread.start()
        assert inside.wait(10)
    assert not gc.isenabled()  # NOTE: the other thread's block still runs
    leave.set()
    thread.join()
    assert gc.isenabled()


def test_importing_and_using_the_library_leaves_the_collector_alone() -> None:
    thresholds = gc.get_threshold()
    x = Variable(np.array(2.0))
    (x * x).backward()
    assert gc.isenabled()
    assert gc.get_threshold() == thresholds
    assert gc.get_freeze_count() == 0
