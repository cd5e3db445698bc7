"""Memory use of a linked firmware, read from its ELF with pyelftools.

Conventions (shared with the code generator): model weights are ``const`` arrays whose names
start with ``en_w_`` (the linker script gathers their ``.rodata.en_w_*`` sections into
``.en_weights``); the activation arena is the symbol ``en_arena``.
"""

from __future__ import annotations

from pathlib import Path

from elftools.elf.constants import SH_FLAGS
from elftools.elf.elffile import ELFFile
from elftools.elf.sections import SymbolTableSection

from ...errors import ToolchainError

WEIGHT_PREFIX = "en_w_"
ARENA_SYMBOL = "en_arena"


def elf_memory(elf: Path | str) -> dict[str, int]:
    """Byte counts of a firmware image.

    Returns:
        ``flash_bytes``: the flash image span (code, read-only data, weights, .data initialisers and
        the alignment gaps between them; equals the size of the objcopy'd .bin);
        ``weights_bytes``: sizes of ``en_w_*`` objects (part of flash_bytes);
        ``code_bytes``: .text; ``rodata_bytes``: other read-only data (incl. .ARM.exidx);
        ``data_bytes``/``bss_bytes``/``stack_reserve_bytes``: RAM parts;
        ``ram_bytes`` = data + bss + stack reserve; ``arena_bytes``: size of ``en_arena`` (in bss; 0 if none).
    """
    path = Path(elf)
    try:
        f = path.open("rb")
    except OSError as e:
        raise ToolchainError(f"cannot open ELF {path}: {e.strerror}", hint="build the firmware first") from e
    with f:
        try:
            elffile = ELFFile(f)
        except Exception as e:  # pyelftools raises its own ELFError and struct errors on junk
            raise ToolchainError(f"{path} is not a valid ELF file: {e}", hint="rebuild the firmware") from e
        out = {k: 0 for k in ("flash_bytes", "weights_bytes", "code_bytes", "rodata_bytes", "data_bytes",
                              "bss_bytes", "stack_reserve_bytes", "ram_bytes", "arena_bytes")}
        for sec in elffile.iter_sections():
            flags, size, name = sec["sh_flags"], sec["sh_size"], sec.name
            if not flags & SH_FLAGS.SHF_ALLOC or size == 0:
                continue
            nobits = sec["sh_type"] == "SHT_NOBITS"
            if name == ".stack":
                out["stack_reserve_bytes"] += size
            elif nobits:
                out["bss_bytes"] += size
            elif flags & SH_FLAGS.SHF_WRITE:
                out["data_bytes"] += size
            else:
                if flags & SH_FLAGS.SHF_EXECINSTR:
                    out["code_bytes"] += size
                elif name != ".en_weights":
                    out["rodata_bytes"] += size
        # Flash use is the span of everything loaded from the image, by load (physical) address.
        loads = [(seg["p_paddr"], seg["p_paddr"] + seg["p_filesz"]) for seg in elffile.iter_segments()
                 if seg["p_type"] == "PT_LOAD" and seg["p_filesz"] > 0]
        if loads:
            out["flash_bytes"] = max(end for _, end in loads) - min(start for start, _ in loads)
        symtab = elffile.get_section_by_name(".symtab")
        if isinstance(symtab, SymbolTableSection):
            for sym in symtab.iter_symbols():
                if sym["st_info"]["type"] != "STT_OBJECT":
                    continue
                if sym.name.startswith(WEIGHT_PREFIX):
                    out["weights_bytes"] += sym["st_size"]
                elif sym.name == ARENA_SYMBOL:
                    out["arena_bytes"] = sym["st_size"]
        out["ram_bytes"] = out["data_bytes"] + out["bss_bytes"] + out["stack_reserve_bytes"]
        return out
