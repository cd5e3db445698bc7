"""Shared fixtures for target tests: firmware builds are cached per session (one per board/variant)."""

from __future__ import annotations

import pytest

from edgenas.boards import BoardRegistry
from edgenas.targets.cortex_m.build import Firmware, build_firmware
from edgenas.targets.cortex_m.testmodel import TESTMODEL_DIR


@pytest.fixture(scope="session")
def boards() -> BoardRegistry:
    return BoardRegistry(entry_points=False, user_dir=None)


@pytest.fixture(scope="session")
def build_testmodel(tmp_path_factory, boards):
    """``build_testmodel(board_name, **kwargs) -> Firmware``, cached by arguments.

    The fixture needs no kernels, so runtime_c is left out unless ``with_runtime=True`` (saves
    a few seconds per build; test_firmware_build checks the runtime build separately)."""
    cache: dict[tuple, Firmware] = {}

    def build(name: str, **kwargs) -> Firmware:
        key = (name, tuple(sorted((k, str(v)) for k, v in kwargs.items())))
        if key not in cache:
            out = tmp_path_factory.mktemp(f"fw-{name}")
            kwargs.setdefault("with_runtime", False)
            cache[key] = build_firmware(TESTMODEL_DIR, boards.get(name), out, **kwargs)
        return cache[key]

    return build
