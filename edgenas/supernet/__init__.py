"""The Once-for-All elastic supernet: elastic layers, progressive shrinking, subnet extraction."""

from .bn_calibration import recalibrate_bn
from .checkpoint import load_meta, load_supernet, save_supernet, trained_epochs
from .evaluate import accuracy, predict_classes
from .ofa import OFASupernet
from .subnet import Subnet, extract_subnet
from .prepare import prepare_subnet
from .subnet_training import finetune_subnet, train_from_scratch
from .subnet_io import is_subnet_dir, load_subnet, save_subnet
from .device import resolve_device
from .train import Phase, TrainConfig, default_phases, sample_for_phase, subnets_for_step, train_supernet

__all__ = [
    "BlockPlan",
    "NetPlan",
    "OFASupernet",
    "Phase",
    "Subnet",
    "TrainConfig",
    "accuracy",
    "predict_classes",
    "default_phases",
    "extract_subnet",
    "finetune_subnet",
    "is_subnet_dir",
    "load_subnet",
    "save_subnet",
    "load_meta",
    "load_supernet",
    "plan_net",
    "prepare_subnet",
    "recalibrate_bn",
    "resolve_device",
    "sample_for_phase",
    "subnets_for_step",
    "save_supernet",
    "train_from_scratch",
    "train_supernet",
    "trained_epochs",
]
