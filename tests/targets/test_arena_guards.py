"""Arena guards and paint in the firmware (QEMU): a model writing outside its arena fails the run
with the bytes named, and a good one reports the arena it really touched."""

from __future__ import annotations

import numpy as np
import pytest

from edgenas.errors import ArenaOverrunError
from edgenas.targets.cortex_m import driver
from edgenas.targets.cortex_m.testmodel import reference

pytestmark = pytest.mark.board

X = np.random.default_rng(3).integers(-128, 128, 256).astype(np.int8).tobytes()


def test_good_model_reports_the_arena_it_touched(build_testmodel):
    (m,) = driver.run(build_testmodel("mps2-an500"), [X])
    assert m.output == reference(X)
    # The fixture uses a[256], b[256] and acc[16] int32 from the arena start: 576 of 1024 bytes
    # (the top bytes of acc[15] could equal the paint, hence the range).
    assert m.arena_bytes == 1024 and 560 < m.arena_touched_bytes <= 576


@pytest.mark.parametrize("overrun, side, reach", [(1, "above", 1), (16, "above", 16), (-1, "below", 1),
                                                  (-7, "below", 7)])
def test_write_outside_the_arena_fails_the_run_naming_the_bytes(build_testmodel, overrun, side, reach):
    """Regression: a stray write past the arena used to pass (and corrupt the stack paint)."""
    fw = build_testmodel("mps2-an500", defines={"EN_TESTMODEL_OVERRUN": overrun})
    with pytest.raises(ArenaOverrunError) as e:
        driver.run(fw, [X])
    assert (e.value.side, e.value.reach_bytes, e.value.arena_bytes) == (side, reach, 1024)
    assert f"wrote {reach} byte(s)" in str(e.value) and "1,024-byte arena on the device" in str(e.value)
    assert e.value.hint
