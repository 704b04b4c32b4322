import importlib
from importlib import resources

import tinygrad_ref


def test_the_package_ships_its_type_marker() -> None:
    assert resources.files("tinygrad_ref").joinpath("py.typed").is_file()


def test_every_public_name_is_importable() -> None:
    for name in tinygrad_ref.__all__:
        assert getattr(tinygrad_ref, name) is not None


def test_importing_the_gradcheck_module_leaves_the_gradcheck_function() -> None:
    module = importlib.import_module("tinygrad_ref.gradcheck")
    assert callable(tinygrad_ref.gradcheck)
    assert module.gradcheck is tinygrad_ref.gradcheck
