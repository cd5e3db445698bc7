"""A scripted Android device behind a fake ``adb`` executable (for tests; no phone exists here).

The test puts a wrapper named ``adb`` first on PATH that runs this file. ``$FAKE_ADB_STATE``
names a JSON file describing the device(s) and failure modes; the device's filesystem is a local
folder (``root``), so ``push`` copies into it and ``shell`` runs the command with ``sh`` after
mapping device paths (``/data/...``, ``/sys/...``) into it. ``getprop`` and ``taskset`` are small
scripts in ``root/system/bin``; ``taskset`` logs the mask and starts ARM64 executables with
qemu-aarch64, so edgenas's real ARM64 runner runs on this scripted device.

State keys: ``devices`` [{serial, state}], ``root``, ``disconnect_after_shells`` (the device
vanishes before that shell command), ``shells`` (count so far).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

DEVICE_PREFIXES = ("/data/", "/sys/")


def _load() -> tuple[Path, dict]:
    path = Path(os.environ["FAKE_ADB_STATE"])
    return path, json.loads(path.read_text())


def _to_local(root: str, text: str) -> str:
    for prefix in DEVICE_PREFIXES:
        text = text.replace(prefix, f"{root}{prefix}")
    return text


def main(argv: list[str]) -> int:
    state_path, state = _load()
    serial = None
    if argv[:1] == ["-s"]:
        serial, argv = argv[1], argv[2:]
    if argv[:1] == ["devices"]:
        print("* daemon not running; starting now at tcp:5037\n* daemon started successfully")
        print("List of devices attached")
        for d in state["devices"]:
            extra = " product:fake model:Fake_Phone device:fake transport_id:1" if d["state"] == "device" else ""
            print(f"{d['serial']:<22} {d['state']}{extra}")
        print()
        return 0
    ready = [d for d in state["devices"] if d["state"] == "device"]
    chosen = [d for d in ready if serial is None or d["serial"] == serial]
    if not chosen:
        print(f"error: device '{serial}' not found" if serial else "error: no devices/emulators found", file=sys.stderr)
        return 1
    if len(chosen) > 1:
        print("error: more than one device/emulator", file=sys.stderr)
        return 1
    root = state["root"]
    if argv[:1] == ["push"]:
        local, remote = argv[1], argv[2]
        target = Path(_to_local(root, remote))
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(local, target)
        print(f"{local}: 1 file pushed, 0 skipped.")
        return 0
    if argv[:1] == ["shell"]:
        state["shells"] = state.get("shells", 0) + 1
        limit = state.get("disconnect_after_shells")
        if limit is not None and state["shells"] > limit:
            state["devices"] = []  # unplugged
            state_path.write_text(json.dumps(state))
            print("error: closed", file=sys.stderr)
            return 1
        state_path.write_text(json.dumps(state))
        env = {**os.environ, "PATH": f"{root}/system/bin:{os.environ['PATH']}"}
        proc = subprocess.run(["sh", "-c", _to_local(root, " ".join(argv[1:]))], env=env, check=False)
        return proc.returncode
    print(f"fake adb: unsupported command {argv}", file=sys.stderr)
    return 1


GETPROP = """#!/bin/sh
cat "{root}/props/$1" 2>/dev/null
"""

TASKSET = """#!/bin/sh
# taskset MASK PROG ARGS: log the mask; ARM64 executables run under qemu-aarch64.
echo "$1" >> "{root}/taskset.log"
shift
case "$(od -An -tx1 -j18 -N2 "$1" 2>/dev/null | tr -d ' ')" in
  b700) exec qemu-aarch64 "$@" ;;
esac
exec "$@"
"""

PROPS = {"ro.build.version.release": "14", "ro.build.version.sdk": "34", "ro.product.model": "Fake Phone",
         "ro.product.cpu.abi": "arm64-v8a", "ro.build.fingerprint": "fake/fake/fake:14/UQ1A/1:user/release-keys"}


def make_device(tmp: Path, devices: list[dict] | None = None, *, cpus: str = "0-7") -> tuple[Path, Path]:
    """Write the fake adb, a device folder and its state; return (bin dir for PATH, state file)."""
    root = tmp / "device"
    for d in ("system/bin", "props", "data/local/tmp", "sys/devices/system/cpu"):
        (root / d).mkdir(parents=True, exist_ok=True)
    for name, text in (("getprop", GETPROP), ("taskset", TASKSET)):
        (root / "system/bin" / name).write_text(text.format(root=root))
        (root / "system/bin" / name).chmod(0o755)
    for key, value in PROPS.items():
        (root / "props" / key).write_text(value + "\n")
    (root / "sys/devices/system/cpu/online").write_text(cpus + "\n")
    for c in range(8):
        gov = root / f"sys/devices/system/cpu/cpu{c}/cpufreq/scaling_governor"
        gov.parent.mkdir(parents=True, exist_ok=True)
        gov.write_text("schedutil\n")
    bindir = tmp / "bin"
    bindir.mkdir(exist_ok=True)
    (bindir / "adb").write_text(f'#!/bin/sh\nexec "{sys.executable}" "{Path(__file__).resolve()}" "$@"\n')
    (bindir / "adb").chmod(0o755)
    state = tmp / "adb-state.json"
    state.write_text(json.dumps({"devices": devices if devices is not None else [{"serial": "FAKE0001", "state": "device"}],
                                 "root": str(root)}))
    return bindir, state


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
