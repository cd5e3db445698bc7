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

_ADDRESS_LIMIT = 1 << 32
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
_MAX_DESCRIPTION = 200

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


class _Fields:
    """Typed access to a TOML table that names ``file`` and the dotted field path on any error.

    ``keys`` is the set of fields the table may hold; any other key is refused at once, so a
    misspelt nested field (``uart.buad``) is an error rather than a silent default.
    """

    def __init__(self, table: dict[str, Any], file: str, prefix: str = "",
                 keys: frozenset[str] | None = None) -> None:
        self.table, self.file, self.prefix = table, file, prefix
        if keys is not None:
            self._reject_unknown(keys)

    def _reject_unknown(self, keys: frozenset[str]) -> None:
        unknown = sorted(set(self.table) - keys)
        if unknown:
            where = f" in `{self.prefix.rstrip('.')}`" if self.prefix else ""
            raise self.error(unknown[0], "is not a known board field",
                             hint=f"known fields{where}: {', '.join(sorted(keys))}")

    def error(self, key: str, problem: str, hint: str = "") -> BoardError:
        return BoardError(f"{self.file}: field `{self.prefix}{key}` {problem}",
                          hint=hint or "see boards/mps2-an500.toml for a complete profile")

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = ..., type_name: str = "") -> Any:
        if key not in self.table:
            if default is ...:
                raise self.error(key, "is missing")
            return default
        value = self.table[key]
        # bool is an int subclass in Python; a TOML `true` is never a valid number here.
        if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
            raise self.error(key, f"must be {type_name or _name(kind)}, got {value!r}")
        if not isinstance(value, kind):
            raise self.error(key, f"must be {type_name or _name(kind)}, got {type(value).__name__} {_show(value)}")
        return value

    def choice(self, key: str, allowed: tuple[str, ...], default: Any = ...) -> str:
        value = self.get(key, str, default)
        if value not in allowed:
            raise self.error(key, f"is {_show(value)}, expected one of {', '.join(allowed)}")
        return value

    def bounded(self, key: str, bounds: tuple[int, int], default: Any = ...) -> int:
        """An integer within ``bounds`` (inclusive)."""
        value = self.get(key, int, default, "an integer")
        low, high = bounds
        if value is not None and not low <= value <= high:
            raise self.error(key, f"must be between {low:,} and {high:,}, got {_num(value)}")
        return value

    def address(self, key: str) -> int:
        value = self.get(key, int, type_name="an integer address")
        if not 0 <= value < _ADDRESS_LIMIT:
            raise self.error(key, f"= {_hex(value)} is outside the 32-bit address space")
        return value

    def token(self, key: str, pattern: re.Pattern[str], what: str, default: Any = ...) -> Any:
        """A string that must fully match ``pattern`` (it reaches generated code or a command line)."""
        value = self.get(key, str, default)
        if value is not None and not pattern.fullmatch(value):
            raise self.error(key, f"= {_show(value)} is not a valid {what}",
                             hint=f"use letters, digits, '.', '_' or '-' ({pattern.pattern})")
        return value

    def sub(self, key: str, keys: frozenset[str] | None = None) -> _Fields:
        table = self.get(key, dict, type_name="a table")
        return _Fields(table, self.file, f"{self.prefix}{key}.", keys)

    def items(self, key: str, keys: frozenset[str]) -> list[_Fields]:
        values = self.get(key, list, [], "a list of tables")
        out = []
        for i, value in enumerate(values):
            if not isinstance(value, dict):
                raise self.error(f"{key}[{i}]", f"must be a table, got {_show(value)}")
            out.append(_Fields(value, self.file, f"{self.prefix}{key}[{i}].", keys))
        return out


def _name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join({"str": "a string", "int": "an integer", "bool": "true/false", "list": "a list",
                        "dict": "a table"}.get(k.__name__, k.__name__) for k in kinds)


def _show(value: Any, limit: int = 60) -> str:
    """``repr`` cut short, so a hostile value cannot flood the terminal."""
    if isinstance(value, int) and not isinstance(value, bool):
        return _num(value)
    text = repr(value) if not isinstance(value, (list, dict)) else f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[:limit] + "..."


def _num(value: int) -> str:
    """``value`` with thousands separators; a huge one by its size (Python refuses to print >4300 digits)."""
    return f"{value:,}" if value.bit_length() <= 128 else f"a {value.bit_length()}-bit number"


def _hex(value: int) -> str:
    return f"{value:#x}" if value.bit_length() <= 64 else f"a {value.bit_length()}-bit number"


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
        device = parse_device(_Fields(data, file), file, source)
        _check_stem(_Fields(data, file), device.name, file)
        return device
    f = _Fields(data, file, keys=_TOP_LEVEL_KEYS)
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
        description=_description(f),
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


def _check_stem(f: _Fields, name: str, file: str) -> None:
    stem = Path(file).stem
    if Path(file).suffix == ".toml" and stem != name:
        raise f.error("name", f"is {name!r} but the file is named {stem}.toml",
                      hint="a profile's file stem must equal its name")


def _description(f: _Fields) -> str:
    """Free text for listings, but printable and short: it is echoed to terminals."""
    text = f.get("description", str, "")
    if len(text) > _MAX_DESCRIPTION or not text.isprintable():
        raise f.error("description", f"must be at most {_MAX_DESCRIPTION} printable characters (no control "
                                     f"characters or line breaks), got {_show(text)}")
    return text


def _cflags(f: _Fields, core: str) -> tuple[str, ...]:
    """The profile's compiler flags, each checked against the allow-list in ``cflags.py``."""
    cflags = f.get("cflags", list, type_name="a list of strings")
    if len(cflags) > _MAX_CFLAGS:
        raise f.error("cflags", f"has {len(cflags)} entries, at most {_MAX_CFLAGS} are allowed")
    for i, flag in enumerate(cflags):
        if not isinstance(flag, str):
            raise f.error(f"cflags[{i}]", f"must be a string, got {_show(flag)}")
        problem = cflag_problem(flag)
        if problem:
            raise f.error(f"cflags[{i}]", f"flag {_show(flag, 200)} {problem}",
                          hint=f"board cflags may only be: {ALLOWED_SUMMARY}")
    mcpu = [c for c in cflags if c.startswith("-mcpu=")]
    if mcpu and mcpu[-1].split("=", 1)[1].split("+")[0] != core:
        raise f.error("cflags", f"says {mcpu[-1]} but core is {core!r}", hint="make -mcpu match `core`")
    return tuple(cflags)


def _features(feats: _Fields, core: str) -> tuple[str, bool, bool]:
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


def _memory(mem: _Fields) -> dict[str, MemoryRegion]:
    """Every ``[memory.<name>]`` region by name; flash and ram must exist and none may overlap."""
    regions: dict[str, MemoryRegion] = {}
    for key in mem.table:
        if not _REGION_NAME.fullmatch(key):
            raise mem.error(key, "is not a valid memory region name (it names a linker region)",
                            hint=f"use lower-case letters, digits and '_' ({_REGION_NAME.pattern})")
        r = mem.sub(key, _REGION_KEYS)
        region = MemoryRegion(key, r.address("origin"), r.bounded("size", _REGION_BYTES))
        if region.end > _ADDRESS_LIMIT:
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


def _uart(u: _Fields) -> UartSpec:
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


def _flash_method(fm: _Fields) -> FlashSpec:
    method = fm.choice("method", FLASH_METHODS)
    target = fm.token("target", _TOOL_NAME, "pyOCD target name", ... if method == "pyocd" else None)
    return FlashSpec(method, target)


def _serial(s: _Fields) -> SerialSpec:
    kind = s.choice("kind", SERIAL_KINDS)
    if kind != "usb":
        return SerialSpec(kind)
    vid = s.bounded("vid", _USB_ID)
    pids = s.get("pids", list, type_name="a list of USB product ids")
    if not pids or not all(isinstance(p, int) and not isinstance(p, bool) for p in pids):
        raise s.error("pids", "must be a non-empty list of integers")
    for i, pid in enumerate(pids):
        if not _USB_ID[0] <= pid <= _USB_ID[1]:
            raise s.error(f"pids[{i}]", f"= {_hex(pid)} is not a 16-bit USB product id")
    return SerialSpec(kind, vid, tuple(pids))


def _bit(f: _Fields, key: str, limit: int) -> int:
    value = f.get(key, int, type_name="an integer")
    if not 0 <= value <= limit:
        raise f.error(key, f"= {_num(value)} is outside 0..{limit}")
    return value
