"""Read and validate one board TOML profile into a frozen Board.

Validation is strict: a missing, mistyped or unknown field (at any depth), a number out of its
bounds, an unknown core or kind, a compiler flag off the allow-list, a feature the core cannot have,
or overlapping memory regions raises BoardError naming the file and the dotted field path, so a
typo never turns into a firmware that boots nowhere and a hostile profile never reaches gcc.
"""

from __future__ import annotations

import re
import stat
import tomllib
from pathlib import Path
from typing import Any

from ..errors import BoardError
from .board import (
    CORE_CAN_HAVE,
    CORES,
    FLASH_METHODS,
    FPU_KINDS,
    SERIAL_KINDS,
    TIMER_KINDS,
    UART_KINDS,
    Board,
    FlashSpec,
    MemoryRegion,
    PinMux,
    RegisterBit,
    SerialSpec,
    UartSpec,
)
from .cflags import ALLOWED_SUMMARY, cflag_problem
from .device import DeviceProfile, is_device_table, parse_device
from .fields import ADDRESS_LIMIT, Fields, description, show, show_hex, show_int

_MAX_FILE_BYTES = 1 << 20  # real profiles are ~2 KiB; a larger file is not a board profile
_MAX_CFLAGS = 64
_MAX_KEY_DOTS = 8  # real profiles: uart.pins[0].pin; tomllib is quadratic in a dotted key's depth
# The harness sends EN_COUNTER_HZ to the host as a uint32 and the UART divider is computed in 32
# bits, so a clock above 2**32 - 1 would wrap (10**23 Hz read back as a tiny clock, wrong
# instruction counts, exit 0). Below 1 kHz no UART or timer of ours works.
_CLOCK_HZ = (1_000, (1 << 32) - 1)
_BAUD = (300, 20_000_000)
_REGION_BYTES = (1, 1 << 32)
_USB_ID = (1, 0xFFFF)
# Dividers the kit's UART drivers can program: both oversample by 16; STM32 BRR is 16 bits,
# CMSDK BAUDDIV 20 bits.
_UART_DIVIDER = {"cmsdk": (16, 0xFFFFF), "stm32": (16, 0xFFFF)}

# Strings that end up in generated C (EN_BOARD_NAME), the linker script, or a QEMU/pyOCD command
# line are kept to characters that need no quoting anywhere.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_DRIVER = re.compile(r"[a-z][a-z0-9_]{0,31}")
_REGION_NAME = re.compile(r"[a-z][a-z0-9_]{0,31}")
_TOOL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")

_TOP_LEVEL_KEYS = frozenset({
    "name", "description", "driver", "core", "clock_hz", "cflags", "features", "memory", "uart",
    "timer", "flash_method", "serial", "qemu", "replaces_builtin",
})
_FEATURE_KEYS = frozenset({"fpu", "dsp", "mve"})
_REGION_KEYS = frozenset({"origin", "size"})
_UART_KEYS = frozenset({"kind", "base", "baud", "clock_hz", "clock_enable", "pins"})
_CLOCK_ENABLE_KEYS = frozenset({"reg", "bit"})
_PIN_KEYS = frozenset({"gpio", "pin", "af"})
_TIMER_KEYS = frozenset({"kind"})
_FLASH_METHOD_KEYS = frozenset({"method", "target"})
_SERIAL_KEYS = frozenset({"kind", "vid", "pids"})
_QEMU_KEYS = frozenset({"machine"})


def _read_text(path: Path) -> str:
    """The file's text, refusing anything that is not a small regular file (a FIFO would block)."""
    if not stat.S_ISREG(path.stat().st_mode):
        raise BoardError(f"{path}: not a regular file", hint="a board profile is a .toml file")
    with path.open("rb") as file:
        raw = file.read(_MAX_FILE_BYTES + 1)
    if len(raw) > _MAX_FILE_BYTES:
        raise BoardError(f"{path}: too large for a board profile (more than {_MAX_FILE_BYTES:,} bytes)",
                         hint="check that this is the file you meant")
    text = raw.decode("utf-8")
    _check_key_depth(path, text)
    return text


def _check_key_depth(path: Path, text: str) -> None:
    """Refuse dotted keys deeper than any profile needs before tomllib sees them: 40,000 of them in
    an 80 KB file took tomllib 110 s and 6.3 GB. One linear pass over each line's key part."""
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.lstrip()
        key = stripped if stripped.startswith("[") else stripped.split("=", 1)[0]
        if key.count(".") > _MAX_KEY_DOTS:
            raise BoardError(f"{path}:{number}: a key nested more than {_MAX_KEY_DOTS} levels deep is not a board profile",
                             hint="a profile nests tables at most three deep (uart.pins[0].pin)")


def load_board_file(path: Path | str, source: str = "") -> Board | DeviceProfile:
    """Parse and validate the TOML profile at ``path``.

    Raises:
        BoardError: unreadable, oversized or non-UTF-8 file, bad TOML, or any invalid field
            (the message names the file and the field's dotted path).
    """
    path = Path(path)
    try:
        data = tomllib.loads(_read_text(path))
    except OSError as e:
        raise BoardError(f"{path}: cannot read board profile ({e.strerror})", hint="check the path") from e
    except UnicodeDecodeError as e:
        raise BoardError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})", hint="save the profile as UTF-8") from e
    except tomllib.TOMLDecodeError as e:
        raise BoardError(f"{path}: invalid TOML: {e}", hint="fix the syntax error at that line") from e
    except ValueError as e:  # tomllib refuses decimal integers over 4,300 digits with a plain ValueError
        raise BoardError(f"{path}: a value is too large to read ({str(e)[:80]})",
                         hint="board numbers are at most 32-bit") from e
    except RecursionError as e:
        raise BoardError(f"{path}: nested too deeply to be a board profile",
                         hint="a profile nests tables at most three deep (uart.pins[0].pin)") from e
    return parse_board(data, str(path), source=source or str(path))


def parse_board(data: dict[str, Any], file: str, source: str = "") -> Board | DeviceProfile:
    """Validate an already-parsed profile table; ``file`` is used in error messages.

    A profile whose ``driver`` is a phone or Linux driver is a :class:`DeviceProfile` (device.py).
    """
    if is_device_table(data):
        device = parse_device(Fields(data, file), file, source)
        _check_stem(Fields(data, file), device.name, file)
        return device
    f = Fields(data, file, keys=_TOP_LEVEL_KEYS)
    name = f.token("name", _NAME, "board name")
    _check_stem(f, name, file)
    core = f.choice("core", CORES)
    fpu, dsp, mve = _features(f.sub("features", _FEATURE_KEYS), core)
    regions = _memory(f.sub("memory"))
    timer = f.sub("timer", _TIMER_KEYS).choice("kind", TIMER_KINDS)
    if timer == "dwt" and core in ("cortex-m0", "cortex-m0plus"):
        raise f.error("timer.kind", f"'dwt' has no cycle counter on a {core}", hint="use 'systick'")
    serial = _serial(f.sub("serial", _SERIAL_KEYS))
    qemu_machine = None
    if "qemu" in data:
        qemu_machine = f.sub("qemu", _QEMU_KEYS).token("machine", _TOOL_NAME, "QEMU machine name")
    if serial.kind == "qemu" and qemu_machine is None:
        raise f.error("qemu.machine", "is missing but serial.kind is 'qemu'")

    return Board(
        name=name,
        description=description(f),
        driver=f.token("driver", _DRIVER, "target driver name"),
        core=core,
        clock_hz=f.bounded("clock_hz", _CLOCK_HZ),
        cflags=_cflags(f, core),
        fpu=fpu,
        dsp=dsp,
        mve=mve,
        flash=regions["flash"],
        ram=regions["ram"],
        uart=_uart(f.sub("uart", _UART_KEYS)),
        timer=timer,
        flash_method=_flash_method(f.sub("flash_method", _FLASH_METHOD_KEYS)),
        serial=serial,
        qemu_machine=qemu_machine,
        extra_regions=tuple(r for r in regions.values() if r.name not in ("flash", "ram")),
        source=source or file,
        replaces_builtin=f.get("replaces_builtin", bool, False),
    )


def _check_stem(f: Fields, name: str, file: str) -> None:
    stem = Path(file).stem
    if Path(file).suffix == ".toml" and stem != name:
        raise f.error("name", f"is {name!r} but the file is named {stem}.toml",
                      hint="a profile's file stem must equal its name")


def _cflags(f: Fields, core: str) -> tuple[str, ...]:
    """The profile's compiler flags, each checked against the allow-list in ``cflags.py``."""
    cflags = f.get("cflags", list, type_name="a list of strings")
    if len(cflags) > _MAX_CFLAGS:
        raise f.error("cflags", f"has {len(cflags)} entries, at most {_MAX_CFLAGS} are allowed")
    for i, flag in enumerate(cflags):
        if not isinstance(flag, str):
            raise f.error(f"cflags[{i}]", f"must be a string, got {show(flag)}")
        problem = cflag_problem(flag)
        if problem:
            raise f.error(f"cflags[{i}]", f"flag {show(flag, 200)} {problem}",
                          hint=f"board cflags may only be: {ALLOWED_SUMMARY}")
    mcpu = [c for c in cflags if c.startswith("-mcpu=")]
    if mcpu and mcpu[-1].split("=", 1)[1].split("+")[0] != core:
        raise f.error("cflags", f"says {mcpu[-1]} but core is {core!r}", hint="make -mcpu match `core`")
    return tuple(cflags)


def _features(feats: Fields, core: str) -> tuple[str, bool, bool]:
    """``(fpu, dsp, mve)``, refusing a feature the core cannot have."""
    fpu = feats.choice("fpu", FPU_KINDS)
    dsp = feats.get("dsp", bool)
    mve = feats.get("mve", bool, False)
    wanted = {f"fpu-{fpu}"} if fpu != "none" else set()
    wanted |= {"dsp"} if dsp else set()
    wanted |= {"mve"} if mve else set()
    impossible = sorted(wanted - CORE_CAN_HAVE[core])
    if impossible:
        raise feats.error(impossible[0].split("-")[0], f"{impossible[0]!r} is not available on a {core}")
    return fpu, dsp, mve


def _memory(mem: Fields) -> dict[str, MemoryRegion]:
    """Every ``[memory.<name>]`` region by name; flash and ram must exist and none may overlap."""
    regions: dict[str, MemoryRegion] = {}
    for key in mem.table:
        if not _REGION_NAME.fullmatch(key):
            raise mem.error(key, "is not a valid memory region name (it names a linker region)",
                            hint=f"use lower-case letters, digits and '_' ({_REGION_NAME.pattern})")
        r = mem.sub(key, _REGION_KEYS)
        region = MemoryRegion(key, r.address("origin"), r.bounded("size", _REGION_BYTES))
        if region.end > ADDRESS_LIMIT:
            raise r.error("size", f"= {region.size_bytes:#x} runs past the 32-bit address space")
        regions[key] = region
    for required in ("flash", "ram"):
        if required not in regions:
            raise mem.error(required, "is missing", hint="every board needs [memory.flash] and [memory.ram]")
    ordered = list(regions.values())
    for i, a in enumerate(ordered):
        for b in ordered[i + 1:]:
            if a.overlaps(b):
                raise mem.error(b.name, f"[{b.origin:#010x}, {b.end:#010x}) overlaps region `{a.name}` "
                                        f"[{a.origin:#010x}, {a.end:#010x})",
                                hint="memory regions must be disjoint")
    return regions


def _uart(u: Fields) -> UartSpec:
    """The host-link UART; its clock over its baud rate must be a divider the kit's driver can set."""
    uart = UartSpec(
        kind=u.choice("kind", UART_KINDS),
        base=u.address("base"),
        baud=u.bounded("baud", _BAUD),
        clock_hz=u.bounded("clock_hz", _CLOCK_HZ),
        clock_enable=tuple(RegisterBit(e.address("reg"), _bit(e, "bit", 31))
                           for e in u.items("clock_enable", _CLOCK_ENABLE_KEYS)),
        pins=tuple(PinMux(p.address("gpio"), _bit(p, "pin", 15), _bit(p, "af", 15))
                   for p in u.items("pins", _PIN_KEYS)),
    )
    low, high = _UART_DIVIDER[uart.kind]
    divider = uart.clock_hz // uart.baud
    if not low <= divider <= high:
        raise u.error("baud", f"{uart.baud} with a {uart.clock_hz} Hz clock needs a divider of {divider}, "
                              f"a {uart.kind} UART takes {low}..{high}",
                      hint="check uart.baud and uart.clock_hz")
    return uart


def _flash_method(fm: Fields) -> FlashSpec:
    method = fm.choice("method", FLASH_METHODS)
    target = fm.token("target", _TOOL_NAME, "pyOCD target name", ... if method == "pyocd" else None)
    return FlashSpec(method, target)


def _serial(s: Fields) -> SerialSpec:
    kind = s.choice("kind", SERIAL_KINDS)
    if kind != "usb":
        return SerialSpec(kind)
    vid = s.bounded("vid", _USB_ID)
    pids = s.get("pids", list, type_name="a list of USB product ids")
    if not pids or not all(isinstance(p, int) and not isinstance(p, bool) for p in pids):
        raise s.error("pids", "must be a non-empty list of integers")
    for i, pid in enumerate(pids):
        if not _USB_ID[0] <= pid <= _USB_ID[1]:
            raise s.error(f"pids[{i}]", f"= {show_hex(pid)} is not a 16-bit USB product id")
    return SerialSpec(kind, vid, tuple(pids))


def _bit(f: Fields, key: str, limit: int) -> int:
    value = f.get(key, int, type_name="an integer")
    if not 0 <= value <= limit:
        raise f.error(key, f"= {show_int(value)} is outside 0..{limit}")
    return value
