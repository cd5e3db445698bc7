"""Transfer to other data: shared weights copied, stem adapted to the input channels, classifier fresh."""

import pytest
import torch
import torch.nn.functional as F

from edgenas.data import make_synthetic
from edgenas.errors import CheckpointError
from edgenas.space import get_space
from edgenas.supernet import OFASupernet, Phase, TrainConfig, load_meta, load_supernet, train_supernet
from edgenas.supernet.transfer import adapt_stem, transfer_weights

TINY = TrainConfig(phases=(Phase("full", 1, 0.1),), batch_size=32, seed=0, max_steps_per_epoch=2, threads=1, eval_images=16)


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    out = tmp_path_factory.mktemp("source") / "net"
    train_supernet(make_synthetic(seed=0), get_space("tiny-test"), out, TINY)
    return out


def test_adapted_stem_answers_a_grey_image_copied_into_colour_channels_like_the_grey_stem():
    weight = torch.randn(8, 1, 3, 3)
    grey = torch.rand(2, 1, 9, 9)
    colour = adapt_stem(weight, 3)
    assert colour.shape == (8, 3, 3, 3)
    assert torch.allclose(F.conv2d(grey.repeat(1, 3, 1, 1), colour), F.conv2d(grey, weight), atol=1e-5)
    assert torch.allclose(adapt_stem(colour, 1), weight, atol=1e-6)


@pytest.mark.slow
def test_transfer_copies_every_shared_tensor_and_leaves_the_classifier_fresh(source):
    old, _ = load_supernet(source)
    fresh = OFASupernet(get_space("tiny-test", in_channels=3, num_classes=7))
    before = {k: v.clone() for k, v in fresh.state_dict().items()}
    record = transfer_weights(source, fresh)
    assert record["sha256"] and record["epochs"] == 1 and "space" not in record
    new, ref = fresh.state_dict(), old.state_dict()
    for name, value in new.items():
        if name.startswith("classifier."):
            assert torch.equal(value, before[name]), name
        elif name == "stem.weight":
            assert torch.allclose(value, adapt_stem(ref[name], 3))
        else:
            assert torch.equal(value, ref[name]), name


@pytest.mark.slow
def test_transfer_run_records_its_source_and_refuses_another_space(source, tmp_path):
    data = make_synthetic(num_classes=3, channels=3, seed=2)
    out = tmp_path / "t"
    train_supernet(data, get_space("tiny-test", in_channels=3, num_classes=3), out, TINY, transfer_from=source)
    meta = load_meta(out)
    assert meta["transfer"]["from"] == str(source.resolve()) and meta["classes"] == list(data.classes)
    with pytest.raises(CheckpointError, match="another space"):
        train_supernet(data, get_space("mcu-mbv2", in_channels=3, num_classes=3), tmp_path / "u", TINY, transfer_from=source)
