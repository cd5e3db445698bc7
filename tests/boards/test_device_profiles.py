"""Phone and Linux board profiles (driver android / linux_arm64): built-ins, plugins, validation."""

from __future__ import annotations

import json

import pluggy
import pytest
from typer.testing import CliRunner

from edgenas.boards import BoardRegistry, DeviceProfile, hookimpl, load_board_file, registry
from edgenas.cli import app
from edgenas.errors import BoardError
from edgenas.paths import BOARDS_DIR

DEVICES = {"pixel-cpu": "android", "android-arm64": "android", "raspberry-pi-4": "linux_arm64",
           "qemu-arm64": "linux_arm64"}


def _variant(tmp_path, base: str, old: str, new: str, name: str = "x-dev"):
    text = (BOARDS_DIR / f"{base}.toml").read_text().replace(f'name = "{base}"', f'name = "{name}"')
    assert old in text
    path = tmp_path / f"{name}.toml"
    path.write_text(text.replace(old, new))
    return path


def test_builtin_device_profiles_load():
    reg = BoardRegistry(entry_points=False, user_dir=None)
    for name, driver in DEVICES.items():
        d = reg.get(name)
        assert isinstance(d, DeviceProfile) and d.driver == driver and d.abi == "arm64-v8a" and d.counter_unit == "ns"
    assert reg.get("pixel-cpu").pin == (7,) and reg.get("pixel-cpu").runner.kind == "litert-benchmark"
    assert reg.get("android-arm64").pin == ()  # highest-numbered CPU, found on the device
    assert reg.get("qemu-arm64").emulated and not reg.get("raspberry-pi-4").emulated
    assert reg.get("raspberry-pi-4").host == "pi@raspberrypi.local"


@pytest.mark.parametrize(("base", "old", "new", "match"), [
    ("pixel-cpu", "threads = 1", "threads = 1\nthreds = 2", "runner.threds` is not a known board field"),
    ("pixel-cpu", 'kind = "adb"', 'kind = "ssh"', "connection.kind` is 'ssh', expected one of adb"),
    ("raspberry-pi-4", 'host = "pi@raspberrypi.local"', 'host = "-oProxyCommand=x"', "not a valid ssh host"),
    ("raspberry-pi-4", 'host = "pi@raspberrypi.local"\n', "", "connection.host` is missing"),
    ("raspberry-pi-4", '"-mcpu=cortex-a72"', '"-fplugin=evil.so"', "cflags\\[0\\]` = '-fplugin=evil.so' is not allowed"),
    ("pixel-cpu", "pin = [7]", "pin = [-1]", "cpu.pin` must be CPU numbers"),
    ("pixel-cpu", 'dir = "/data/local/tmp/edgenas"', 'dir = "/data/../etc"', "must not contain '..'"),
    ("pixel-cpu", "runs = 50", "runs = 0", "runner.runs` must be between 1"),
])
def test_bad_device_profiles_name_the_field(tmp_path, base, old, new, match):
    with pytest.raises(BoardError, match=match):
        load_board_file(_variant(tmp_path, base, old, new))


class _Plugin:
    def __init__(self, path) -> None:
        self.path = path

    @hookimpl
    def register_boards(self, register):
        register(self.path)


def test_a_plugin_adds_a_phone(tmp_path, monkeypatch):
    path = _variant(tmp_path, "pixel-cpu", "pin = [7]", "pin = [4, 5]", name="acme-phone")

    def fake_entry_points(self, group, name=None):
        self.register(_Plugin(path), name="acme")
        return 1

    monkeypatch.setattr(pluggy.PluginManager, "load_setuptools_entrypoints", fake_entry_points)
    reg = BoardRegistry(entry_points=True, user_dir=None)
    assert reg.get("acme-phone").pin == (4, 5) and reg.get("acme-phone").source.startswith("plugin:acme")


def test_boards_cli_lists_and_shows_phones_and_pis(monkeypatch, tmp_path):
    monkeypatch.setattr(registry, "_default", None)
    monkeypatch.setenv("EDGENAS_BOARDS_DIR", str(tmp_path))
    try:
        result = CliRunner().invoke(app, ["boards", "--json"])
        assert result.exit_code == 0, result.output
        rows = {r["name"]: r for r in json.loads(result.stdout)}
        for name, driver in DEVICES.items():
            assert rows[name]["driver"] == driver and rows[name]["source"] == "builtin"
        assert rows["qemu-arm64"]["emulated"] and rows["pixel-cpu"]["connection"] == "adb"
        shown = CliRunner().invoke(app, ["boards", "show", "pixel-cpu", "--json"])
        assert shown.exit_code == 0 and json.loads(shown.stdout)["runner"]["kind"] == "litert-benchmark"
    finally:
        registry._default = None
