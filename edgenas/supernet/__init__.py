"""The Once-for-All elastic supernet: elastic layers, progressive shrinking, subnet extraction."""

from .bn_calibration import recalibrate_bn
from .checkpoint import load_meta, load_supernet, save_supernet
from .evaluate import accuracy
from .ofa import BlockPlan, NetPlan, OFASupernet, plan_net
from .subnet import Subnet, extract_subnet
from .prepare import prepare_subnet
from .scratch import train_from_scratch
from .subnet_io import is_subnet_dir, load_subnet, save_subnet
from .train import Phase, TrainConfig, sample_for_phase, train_supernet

__all__ = [
    "BlockPlan",
    "NetPlan",
    "OFASupernet",
    "Phase",
    "Subnet",
    "TrainConfig",
    "accuracy",
    "extract_subnet",
    "is_subnet_dir",
    "load_subnet",
    "save_subnet",
    "load_meta",
    "load_supernet",
    "plan_net",
    "prepare_subnet",
    "recalibrate_bn",
    "sample_for_phase",
    "save_supernet",
    "train_from_scratch",
    "train_supernet",
]
