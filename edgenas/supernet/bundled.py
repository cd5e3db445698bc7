"""The supernets shipped inside the package, so ``edgenas extract`` works right after set-up: one
per kind of data (images: Fashion-MNIST in ``mcu-mbv2``; keyword audio: the synthetic keyword set
in ``kws-mbv2``), each with its accuracy predictor under ``assets/predictor/<dataset>``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import CheckpointError
from ..paths import SUPERNETS_DIR

if TYPE_CHECKING:
    from ..data import DataSplits

BUNDLED_SUPERNETS = {"fashion-mnist": SUPERNETS_DIR / "fashion-mnist", "kws": SUPERNETS_DIR / "kws"}
IMAGE_BUNDLE = "fashion-mnist"
AUDIO_BUNDLE = "kws"


def bundled_supernet_dir(dataset: str = IMAGE_BUNDLE) -> Path:
    """Directory of the bundled checkpoint for ``dataset``."""
    path = BUNDLED_SUPERNETS.get(dataset)
    if path is None or not (path / "supernet.json").is_file():
        raise CheckpointError(
            f"no bundled supernet for {dataset!r}",
            hint="train one with `edgenas train --data ... --out DIR` and pass --supernet DIR",
        )
    return path


def installed_bundles() -> dict[str, Path]:
    """The bundled checkpoints present in this installation, by dataset."""
    return {name: path for name, path in BUNDLED_SUPERNETS.items() if (path / "supernet.json").is_file()}


def bundle_trained_on(source: str) -> Path | None:
    """The bundled checkpoint trained on the bundled dataset named ``source``, without loading any
    data; None when there is none. A path never matches here: other data may sit at the path a
    bundle was trained from, so paths are matched by content (:func:`bundle_for`)."""
    from .checkpoint import load_meta

    return next((path for path in installed_bundles().values() if bundle_source(load_meta(path)) == source), None)


def bundle_source(meta: dict) -> str | None:
    """The bundled dataset name a checkpoint was trained on (None for a user's path)."""
    from ..data.registry import BUNDLED

    source = meta.get("data_source")
    return source if source in BUNDLED else None


def bundle_for(data: DataSplits) -> tuple[Path, bool]:
    """The bundled checkpoint a search of ``data`` starts from, and whether it was trained on this
    very data (same content hash or source: nothing to adapt). Otherwise the one of its kind, to
    adapt: keyword audio (the Speech Commands layout) starts from the audio supernet when it is
    installed, everything else from the image one."""
    from ..data.kws.cache import is_keyword_folder
    from .checkpoint import load_meta

    for path in installed_bundles().values():
        meta = load_meta(path)
        if data.fingerprint == meta.get("data_fingerprint") or (data.source and data.source == bundle_source(meta)):
            return path, True
    audio = bool(data.source) and is_keyword_folder(Path(data.source))
    kind = AUDIO_BUNDLE if audio and AUDIO_BUNDLE in installed_bundles() else IMAGE_BUNDLE
    return bundled_supernet_dir(kind), False
