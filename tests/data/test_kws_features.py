"""Keyword clips become the (time x mel) uint8 images the existing training machinery reads."""

from __future__ import annotations

import numpy as np

from edgenas.data.kws import load_keyword_dataset

from .test_kws_folder import _layout


def test_features_are_49_by_40_images(tmp_path):
    _layout(tmp_path)
    data = load_keyword_dataset(tmp_path)
    assert data.train.x.shape == (1 * 3, 49, 40, 1) and data.train.x.dtype == np.uint8
    assert data.classes == ("bed", "no", "yes") and data.source == str(tmp_path.resolve())
