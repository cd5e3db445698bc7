"""Supernet + arch → a ready subnet: extract active weights, then recalibrate BN on training data."""

from __future__ import annotations

from ..data import DataSplits
from ..space import Arch
from .bn_calibration import recalibrate_bn
from .ofa import OFASupernet
from .subnet import Subnet, extract_subnet


def prepare_subnet(net: OFASupernet, arch: Arch, data: DataSplits, *, calib_images: int = 2000) -> Subnet:
    """Extract ``arch`` and re-estimate its BN statistics on ``calib_images`` training images."""
    subnet = extract_subnet(net, arch)
    recalibrate_bn(subnet, data.train, arch.resolution, images=calib_images)
    return subnet.eval()
