"""A training checkpoint's files committed as one unit, through a small manifest.

Why: a checkpoint is several files (weights, description, optimizer buffers, resume position,
teacher). Renamed into place one by one, a ``kill -9`` between two renames left one epoch's
weights beside the previous epoch's position, and the resume repeated an epoch or mixed two.

So every file of a checkpoint is written under a new unique name, and ``checkpoint.json`` (each
role's file name and sha256) is replaced in one ``os.replace``: the commit point. Files it does not
name are stale and removed after it. Readers trust only what it names, and check the hashes.

A finished run is *published*: each file gets its plain name (a hard link) and the manifest is
removed, so a finished checkpoint keeps the plain layout (``supernet.safetensors``,
``supernet.json``, ``teacher.safetensors``) that the bundled one and older runs have. Without a
manifest the plain names are the checkpoint, as they always were.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ..errors import CheckpointError

MANIFEST = "checkpoint.json"
WEIGHTS = "supernet.safetensors"
META = "supernet.json"
TEACHER = "teacher.safetensors"
RESUME_TENSORS = "resume.safetensors"
RESUME_JSON = "resume.json"
ROLES = (WEIGHTS, META, TEACHER, RESUME_TENSORS, RESUME_JSON)
"""The files a checkpoint may hold, by their plain names."""

_UNIQUE = re.compile(r"^(supernet|teacher|resume)\.\d{6}-[0-9a-f]{8}\.(safetensors|json)$")
"""Names ``commit`` gives (``supernet.000012-9f3a1c2b.safetensors``): only these, plain role
names and ``.tmp`` leftovers are ever removed, so other files in the folder are safe."""


@dataclass(frozen=True)
class Entry:
    """One role's file in the manifest."""

    name: str
    sha256: str


@dataclass(frozen=True)
class Manifest:
    """The committed checkpoint: ``serial`` counts commits (it makes file names readable)."""

    serial: int
    files: dict[str, Entry]

    def to_bytes(self) -> bytes:
        files = {role: {"name": e.name, "sha256": e.sha256} for role, e in sorted(self.files.items())}
        return (json.dumps({"schema": 1, "serial": self.serial, "files": files}, indent=2) + "\n").encode()


def read_manifest(directory: Path) -> Manifest | None:
    """The manifest of ``directory``, or None for a plain (published or older) checkpoint.

    Raises:
        CheckpointError: the manifest is unreadable.
    """
    path = Path(directory) / MANIFEST
    try:
        data = json.loads(path.read_text())
        if data["schema"] > 1:
            raise CheckpointError(f"{path} was written by a newer edgenas (schema {data['schema']})",
                                  hint="upgrade edgenas to read this checkpoint")
        files = {role: Entry(e["name"], e["sha256"]) for role, e in data["files"].items()}
        if any(Path(e.name).name != e.name or e.name in ("", ".", "..") for e in files.values()):
            raise ValueError("a file name with a folder in it")
        return Manifest(int(data["serial"]), files)
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CheckpointError(f"{path} is not a valid checkpoint manifest: {exc}",
                              hint="the file was edited or damaged; start a new --out directory") from exc


def role_path(directory: Path, role: str) -> Path | None:
    """The file holding ``role`` (its hash checked when a manifest names it), or None if none.

    Raises:
        CheckpointError: the manifest names a file that is missing or whose content changed.
    """
    found = _read(Path(directory), role)
    return None if found is None else found[0]


def read_role(directory: Path, role: str) -> bytes | None:
    """The bytes of ``role`` (hash checked as in :func:`role_path`), or None if the checkpoint has none."""
    found = _read(Path(directory), role)
    return None if found is None else found[1]


def _read(directory: Path, role: str, tries: int = 3) -> tuple[Path, bytes] | None:
    """``role``'s file and bytes; read again when a commit or publish in another process replaced
    the manifest between our reading it and the file (it removes the files it no longer names)."""
    for attempt in range(tries):
        manifest = read_manifest(directory)
        if manifest is None:
            path = directory / role
            return (path, path.read_bytes()) if path.is_file() else None
        entry = manifest.files.get(role)
        if entry is None:
            return None
        path = directory / entry.name
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            if attempt + 1 < tries and read_manifest(directory) != manifest:
                continue
            raise CheckpointError(f"checkpoint file {path} is missing ({MANIFEST} names it)",
                                  hint="the folder was changed by hand; restore the file or start a new --out directory"
                                  ) from None
        if hashlib.sha256(data).hexdigest() != entry.sha256:
            raise CheckpointError(f"checkpoint file {path} is corrupt (its sha256 is not the one {MANIFEST} records)",
                                  hint="restore the file, or start a new --out directory")
        return path, data
    return None  # not reached: the last try returns or raises


def commit(directory: Path, changes: Mapping[str, bytes | None]) -> None:
    """Make ``changes`` (role → new content, or None to drop the role) the checkpoint, at once.

    Roles not in ``changes`` keep their files; the first commit in a plain folder takes its plain
    files over as they are. A crash at any step leaves either the old or the new checkpoint.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    old = read_manifest(directory)
    files = dict(old.files) if old else _plain_entries(directory, set(ROLES) - set(changes))
    serial = (old.serial if old else 0) + 1
    for role, data in sorted(changes.items()):
        if data is None:
            files.pop(role, None)
            continue
        name = _unique_name(role, serial)
        _write(directory / name, data)
        files[role] = Entry(name, hashlib.sha256(data).hexdigest())
    tmp = directory / (MANIFEST + ".tmp")
    _write(tmp, Manifest(serial, files).to_bytes())
    _rename(tmp, directory / MANIFEST)  # the commit point
    _sync_dir(directory)
    _remove_stale(directory, {e.name for e in files.values()} | {MANIFEST})


def publish(directory: Path) -> None:
    """Give each file of a committed checkpoint its plain name and drop the manifest. Until the
    manifest is gone it is the checkpoint, so a crash here loses nothing; without one, only what
    an interrupted publish left behind is removed."""
    directory = Path(directory)
    manifest = read_manifest(directory)
    if manifest is None:
        _remove_stale(directory, set(ROLES))
        return
    for role, entry in sorted(manifest.files.items()):
        if entry.name != role:
            tmp = directory / (role + ".tmp")
            _link(directory / entry.name, tmp)
            _rename(tmp, directory / role)
    # plain files of roles the checkpoint no longer has would be read as its own once the manifest is gone
    _remove_stale(directory, {e.name for e in manifest.files.values()} | set(manifest.files) | {MANIFEST})
    _sync_dir(directory)
    _remove(directory / MANIFEST)  # from here on the plain names are the checkpoint
    _sync_dir(directory)
    _remove_stale(directory, set(manifest.files))


def _plain_entries(directory: Path, roles: set[str]) -> dict[str, Entry]:
    """Entries for the plain files of ``roles`` that exist (an older checkpoint's, taken over)."""
    return {role: Entry(role, hashlib.sha256((directory / role).read_bytes()).hexdigest())
            for role in sorted(roles) if (directory / role).is_file()}


def _unique_name(role: str, serial: int) -> str:
    stem, _, suffix = role.partition(".")
    return f"{stem}.{serial:06d}-{secrets.token_hex(4)}.{suffix}"


def _remove_stale(directory: Path, keep: set[str]) -> None:
    """Remove checkpoint files (plain role names, unique names, ``.tmp`` leftovers) not in ``keep``."""
    ours = set(ROLES) | {r + ".tmp" for r in ROLES} | {MANIFEST + ".tmp"}
    for path in sorted(directory.iterdir()):
        if path.name not in keep and (path.name in ours or _UNIQUE.match(path.name)):
            _remove(path)


# Every change a commit makes to the folder goes through these four, so a test can crash between any two.

def _write(path: Path, data: bytes) -> None:
    """Write and flush to disk: the manifest must never name a file the disk has not got."""
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def _rename(src: Path, dst: Path) -> None:
    os.replace(src, dst)


def _link(src: Path, dst: Path) -> None:
    """Hard-link ``src`` as ``dst`` (a copy where the file system has no hard links)."""
    dst.unlink(missing_ok=True)
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


def _remove(path: Path) -> None:
    path.unlink(missing_ok=True)


def _sync_dir(directory: Path) -> None:
    """Flush the folder's entries (the rename itself) to disk; not every platform can."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
