"""Read and validate one board TOML profile into a frozen Board.

Validation is strict: a missing or mistyped field, an unknown core or kind, a feature the core
cannot have, or overlapping memory regions raises BoardError naming the file and the field, so a
typo never turns into a firmware that boots nowhere.
"""

from __future__ import annotations

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

_ADDRESS_LIMIT = 1 << 32
_TOP_LEVEL_KEYS = {
    "name", "description", "driver", "core", "clock_hz", "cflags", "features", "memory", "uart",
    "timer", "flash_method", "serial", "qemu",
}


class _Fields:
    """Typed access to a TOML table that names ``file`` and the dotted field path on any error."""

    def __init__(self, table: dict[str, Any], file: str, prefix: str = "") -> None:
        self.table, self.file, self.prefix = table, file, prefix

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
            raise self.error(key, f"must be {type_name or _name(kind)}, got {type(value).__name__} {value!r}")
        return value

    def choice(self, key: str, allowed: tuple[str, ...], default: Any = ...) -> str:
        value = self.get(key, str, default)
        if value not in allowed:
            raise self.error(key, f"is {value!r}, expected one of {', '.join(allowed)}")
        return value

    def positive(self, key: str, default: Any = ...) -> int:
        value = self.get(key, int, default, "an integer")
        if value is not None and value <= 0:
            raise self.error(key, f"must be > 0, got {value}")
        return value

    def address(self, key: str) -> int:
        value = self.get(key, int, type_name="an integer address")
        if not 0 <= value < _ADDRESS_LIMIT:
            raise self.error(key, f"= {value:#x} is outside the 32-bit address space")
        return value

    def sub(self, key: str) -> _Fields:
        table = self.get(key, dict, type_name="a table")
        return _Fields(table, self.file, f"{self.prefix}{key}.")

    def items(self, key: str) -> list[_Fields]:
        values = self.get(key, list, [], "a list of tables")
        out = []
        for i, value in enumerate(values):
            if not isinstance(value, dict):
                raise self.error(f"{key}[{i}]", f"must be a table, got {value!r}")
            out.append(_Fields(value, self.file, f"{self.prefix}{key}[{i}]."))
        return out


def _name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join({"str": "a string", "int": "an integer", "bool": "true/false", "list": "a list",
                        "dict": "a table"}.get(k.__name__, k.__name__) for k in kinds)


def load_board_file(path: Path | str, source: str = "") -> Board:
    """Parse and validate the TOML profile at ``path``.

    Raises:
        BoardError: unreadable file, bad TOML, or any invalid field (message names file and field).
    """
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise BoardError(f"{path}: cannot read board profile ({e.strerror})", hint="check the path") from e
    except UnicodeDecodeError as e:
        raise BoardError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})", hint="save the profile as UTF-8") from e
    except tomllib.TOMLDecodeError as e:
        raise BoardError(f"{path}: invalid TOML: {e}", hint="fix the syntax error at that line") from e
    except RecursionError as e:
        raise BoardError(f"{path}: nested too deeply to be a board profile") from e
    return parse_board(data, str(path), source=source or str(path))


def parse_board(data: dict[str, Any], file: str, source: str = "") -> Board:
    """Validate an already-parsed profile table; ``file`` is used in error messages."""
    f = _Fields(data, file)
    unknown = sorted(set(data) - _TOP_LEVEL_KEYS)
    if unknown:
        raise f.error(unknown[0], "is not a known board field",
                      hint=f"known fields: {', '.join(sorted(_TOP_LEVEL_KEYS))}")

    name = f.get("name", str)
    stem = Path(file).stem
    if Path(file).suffix == ".toml" and stem != name:
        raise f.error("name", f"is {name!r} but the file is named {stem}.toml",
                      hint="a profile's file stem must equal its name")
    core = f.choice("core", CORES)
    driver = f.get("driver", str)
    cflags = f.get("cflags", list, type_name="a list of strings")
    if not all(isinstance(c, str) for c in cflags):
        raise f.error("cflags", "must contain only strings")
    mcpu = [c for c in cflags if c.startswith("-mcpu=")]
    if mcpu and mcpu[-1].split("=", 1)[1].split("+")[0] != core:
        raise f.error("cflags", f"says {mcpu[-1]} but core is {core!r}", hint="make -mcpu match `core`")

    feats = f.sub("features")
    fpu = feats.choice("fpu", FPU_KINDS)
    dsp = feats.get("dsp", bool)
    mve = feats.get("mve", bool, False)
    wanted = {f"fpu-{fpu}"} if fpu != "none" else set()
    wanted |= {"dsp"} if dsp else set()
    wanted |= {"mve"} if mve else set()
    impossible = sorted(wanted - CORE_CAN_HAVE[core])
    if impossible:
        raise feats.error(impossible[0].split("-")[0], f"{impossible[0]!r} is not available on a {core}")

    mem = f.sub("memory")
    regions = []
    for key in mem.table:
        r = mem.sub(key)
        region = MemoryRegion(key, r.address("origin"), r.positive("size"))
        if region.end > _ADDRESS_LIMIT:
            raise r.error("size", f"= {region.size_bytes:#x} runs past the 32-bit address space")
        regions.append(region)
    by_name = {r.name: r for r in regions}
    for required in ("flash", "ram"):
        if required not in by_name:
            raise mem.error(required, "is missing", hint="every board needs [memory.flash] and [memory.ram]")
    for i, a in enumerate(regions):
        for b in regions[i + 1:]:
            if a.overlaps(b):
                raise mem.error(b.name, f"[{b.origin:#010x}, {b.end:#010x}) overlaps region `{a.name}` "
                                        f"[{a.origin:#010x}, {a.end:#010x})",
                                hint="memory regions must be disjoint")

    u = f.sub("uart")
    uart = UartSpec(
        kind=u.choice("kind", UART_KINDS),
        base=u.address("base"),
        baud=u.positive("baud"),
        clock_hz=u.positive("clock_hz"),
        clock_enable=tuple(RegisterBit(e.address("reg"), _bit(e, "bit", 31)) for e in u.items("clock_enable")),
        pins=tuple(PinMux(p.address("gpio"), _bit(p, "pin", 15), _bit(p, "af", 15)) for p in u.items("pins")),
    )
    if uart.clock_hz // uart.baud < 16 and uart.kind == "cmsdk":
        raise u.error("baud", f"{uart.baud} is too fast for a {uart.clock_hz} Hz CMSDK UART (divider < 16)")

    timer = f.sub("timer").choice("kind", TIMER_KINDS)
    if timer == "dwt" and core in ("cortex-m0", "cortex-m0plus"):
        raise f.error("timer.kind", f"'dwt' has no cycle counter on a {core}", hint="use 'systick'")

    fm = f.sub("flash_method")
    method = fm.choice("method", FLASH_METHODS)
    flash_spec = FlashSpec(method, fm.get("target", str) if method == "pyocd" else fm.get("target", str, None))

    s = f.sub("serial")
    kind = s.choice("kind", SERIAL_KINDS)
    if kind == "usb":
        vid = s.get("vid", int, type_name="an integer USB vendor id")
        pids = s.get("pids", list, type_name="a list of USB product ids")
        if not pids or not all(isinstance(p, int) and not isinstance(p, bool) for p in pids):
            raise s.error("pids", "must be a non-empty list of integers")
        serial = SerialSpec(kind, vid, tuple(pids))
    else:
        serial = SerialSpec(kind)

    qemu_machine = None
    if "qemu" in data:
        qemu_machine = f.sub("qemu").get("machine", str)
    if kind == "qemu" and qemu_machine is None:
        raise f.error("qemu.machine", "is missing but serial.kind is 'qemu'")

    return Board(
        name=name,
        description=f.get("description", str, ""),
        driver=driver,
        core=core,
        clock_hz=f.positive("clock_hz"),
        cflags=tuple(cflags),
        fpu=fpu,
        dsp=dsp,
        mve=mve,
        flash=by_name["flash"],
        ram=by_name["ram"],
        uart=uart,
        timer=timer,
        flash_method=flash_spec,
        serial=serial,
        qemu_machine=qemu_machine,
        extra_regions=tuple(r for r in regions if r.name not in ("flash", "ram")),
        source=source or file,
    )


def _bit(f: _Fields, key: str, limit: int) -> int:
    value = f.get(key, int, type_name="an integer")
    if not 0 <= value <= limit:
        raise f.error(key, f"= {value} is outside 0..{limit}")
    return value
