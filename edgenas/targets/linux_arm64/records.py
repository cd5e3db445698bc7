"""Reading the Linux runner's text records (format in ``targets/linux/runner.c``)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ...errors import ArenaOverrunError, DeviceError, ToolchainError

_RUN = re.compile(r"^EN run input=(\d+) rep=(\d+) total_ns=(\d+) layers_ns=([\d,]*)\s*$")
_OUTPUT = re.compile(r"^EN output input=(\d+) hex=([0-9a-f]*)\s*$")
_DONE = re.compile(r"^EN_DONE status=(\w+)(.*)$")
_KV = re.compile(r"(\w+)=(\S+)")


@dataclass
class InputRuns:
    """Every timed repeat of one input (nanoseconds) and its output bytes."""

    totals_ns: list[int] = field(default_factory=list)
    layers_ns: list[tuple[int, ...]] = field(default_factory=list)
    output: bytes = b""


@dataclass(frozen=True)
class RunnerOutput:
    """A whole runner invocation: ``hello`` fields, one :class:`InputRuns` per input, the arena used."""

    hello: dict[str, str]
    inputs: list[InputRuns]
    arena_touched_bytes: int


def parse_records(text: str, returncode: int, *, where: str, arena_bytes: int = 0) -> RunnerOutput:
    """Parse a runner's stdout, turning its failure records into errors.

    Raises:
        ArenaOverrunError: the model wrote outside its arena (exit 4).
        ToolchainError: the runner was linked without the arena guards (exit 5).
        DeviceError: bad arguments or input, a model failure, a crash (no ``EN_DONE`` line), or
            records that do not add up.
    """
    hello: dict[str, str] = {}
    runs: dict[int, InputRuns] = {}
    done: tuple[str, dict[str, str]] | None = None
    for line in text.replace("\r", "").splitlines():
        if line.startswith("EN hello "):
            hello = dict(_KV.findall(line))
        elif m := _RUN.match(line):
            r = runs.setdefault(int(m.group(1)), InputRuns())
            r.totals_ns.append(int(m.group(3)))
            r.layers_ns.append(tuple(int(v) for v in m.group(4).split(",") if v))
        elif m := _OUTPUT.match(line):
            runs.setdefault(int(m.group(1)), InputRuns()).output = bytes.fromhex(m.group(2))
        elif m := _DONE.match(line):
            done = (m.group(1), dict(_KV.findall(m.group(2))))
    tail = text.strip()[-400:]
    if done is None:
        raise DeviceError(f"the runner {where} stopped without finishing (exit status {returncode}): {tail or 'no output'}",
                          hint="it crashed or was killed; a signal (exit -11, 139) means a crash in the model code")
    status, fields = done
    if status != "ok":
        code, reason = int(fields.get("code", returncode)), fields.get("reason", "unknown")
        if code == 4:
            side = "below" if reason.endswith("below") else "above"
            raise ArenaOverrunError.at(f"in the runner {where}", side, 1, arena_bytes)
        if code == 5:
            raise ToolchainError(f"the runner {where} has no guarded arena ({reason})",
                                 hint="rebuild it with build_runner(), which links the arena guard script")
        raise DeviceError(f"the runner {where} failed: {reason} (code {code})",
                          hint="see targets/linux/runner.c for the codes; 2 = arguments or input file")
    if returncode != 0:
        raise DeviceError(f"the runner {where} said ok but exited with {returncode}: {tail}",
                          hint="the transport may have failed after the run")
    count = int(hello.get("inputs", len(runs)))
    if sorted(runs) != list(range(count)) or any(not r.output or not r.totals_ns for r in runs.values()):
        raise DeviceError(f"the runner {where} reported {len(runs)} of {count} inputs completely",
                          hint="its output was cut short; run again")
    return RunnerOutput(hello, [runs[i] for i in range(count)], int(fields.get("arena_touched_bytes", 0)))
