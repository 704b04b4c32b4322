import importlib
import re
from importlib import metadata, resources
from pathlib import Path

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


def test_the_version_is_the_installed_one_and_the_changelogs_latest() -> None:
    assert tinygrad_ref.__version__ == metadata.version("tinygrad_ref")
    changelog = (Path(__file__).parents[2] / "CHANGELOG.md").read_text()
    latest = re.search(r"^## (\S+)", changelog, flags=re.M)
    assert latest is not None
    assert latest.group(1) == tinygrad_ref.__version__


def test_the_license_is_the_one_pyproject_names() -> None:
    root = Path(__file__).parents[2]
    assert 'license = "MIT"' in (root / "pyproject.toml").read_text()
    assert (root / "LICENSE").read_text().startswith("MIT License\n")
