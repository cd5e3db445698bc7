"""The Board value: one frozen description of a microcontroller board, read from a TOML profile.

Every field a build, a run or the cost model needs lives here, so no caller reads TOML itself.
Addresses and sizes are plain ints in bytes; clocks are in Hz.
"""

from __future__ import annotations

from dataclasses import dataclass, field

CORES = ("cortex-m0", "cortex-m0plus", "cortex-m3", "cortex-m4", "cortex-m7", "cortex-m33", "cortex-m55")
FPU_KINDS = ("none", "sp", "dp")
UART_KINDS = ("cmsdk", "stm32")
TIMER_KINDS = ("systick", "dwt")
FLASH_METHODS = ("none", "pyocd")
SERIAL_KINDS = ("qemu", "usb")

# Which optional features each core can have at all (a profile claiming more is an error).
CORE_CAN_HAVE = {
    "cortex-m0": frozenset(),
    "cortex-m0plus": frozenset(),
    "cortex-m3": frozenset(),
    "cortex-m4": frozenset({"fpu-sp", "dsp"}),
    "cortex-m7": frozenset({"fpu-sp", "fpu-dp", "dsp"}),
    "cortex-m33": frozenset({"fpu-sp", "dsp"}),
    "cortex-m55": frozenset({"fpu-sp", "fpu-dp", "dsp", "mve"}),
}


@dataclass(frozen=True)
class MemoryRegion:
    """A contiguous address range; ``name`` is the profile key (``flash``, ``ram``, ``dtcm`` ...)."""

    name: str
    origin: int
    size_bytes: int

    @property
    def end(self) -> int:
        """One past the last byte."""
        return self.origin + self.size_bytes

    def overlaps(self, other: MemoryRegion) -> bool:
        return self.origin < other.end and other.origin < self.end

    def contains(self, address: int) -> bool:
        return self.origin <= address < self.end


@dataclass(frozen=True)
class RegisterBit:
    """One bit to set in a memory-mapped register (peripheral clock enables)."""

    reg: int
    bit: int


@dataclass(frozen=True)
class PinMux:
    """An STM32-style GPIO pin switched to an alternate function (UART TX/RX)."""

    gpio: int
    pin: int
    af: int


@dataclass(frozen=True)
class UartSpec:
    """The UART that carries the host link. ``clock_hz`` is the peripheral clock feeding its divider."""

    kind: str
    base: int
    baud: int
    clock_hz: int
    clock_enable: tuple[RegisterBit, ...] = ()
    pins: tuple[PinMux, ...] = ()


@dataclass(frozen=True)
class SerialSpec:
    """How the host finds the link: ``qemu`` (a TCP socket to the emulator) or ``usb`` (VID/PIDs)."""

    kind: str
    vid: int | None = None
    pids: tuple[int, ...] = ()


@dataclass(frozen=True)
class FlashSpec:
    """How firmware reaches the chip: ``none`` (emulated) or ``pyocd`` with a target name."""

    method: str
    target: str | None = None


@dataclass(frozen=True)
class Board:
    """A board profile. ``source`` says where it came from (file path, plugin), for listings."""

    name: str
    description: str
    driver: str
    core: str
    clock_hz: int
    cflags: tuple[str, ...]
    fpu: str
    dsp: bool
    mve: bool
    flash: MemoryRegion
    ram: MemoryRegion
    uart: UartSpec
    timer: str
    flash_method: FlashSpec
    serial: SerialSpec
    qemu_machine: str | None = None
    extra_regions: tuple[MemoryRegion, ...] = ()
    source: str = field(default="", compare=False)
    replaces_builtin: bool = field(default=False, compare=False)
    """The profile says ``replaces_builtin = true``: a user or plugin file may then take a built-in's name."""

    @property
    def emulated(self) -> bool:
        return self.qemu_machine is not None

    @property
    def regions(self) -> tuple[MemoryRegion, ...]:
        return (self.flash, self.ram, *self.extra_regions)

    @property
    def counter_unit(self) -> str:
        """What the firmware's counter measures: emulated boards count instructions, real ones cycles."""
        return "instructions" if self.emulated else "cycles"
