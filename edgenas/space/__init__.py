"""Search spaces: declarative specs, architectures, sampling, exact counting. Knows no torch."""

from .arch import Arch, BlockChoice
from .count import count_archs
from .ops import crossover_arch, largest_arch, mutate_arch, neighbour_archs, sample_arch, smallest_arch
from .plan import BlockPlan, NetPlan, plan_net
from .registry import DEFAULT_SPACE, get_space, list_spaces, register_space
from .spec import SpaceSpec, StageSpec, dead_ring, live_taps, make_divisible, same_out, same_padding

__all__ = [
    "Arch",
    "BlockChoice",
    "DEFAULT_SPACE",
    "BlockPlan",
    "NetPlan",
    "SpaceSpec",
    "StageSpec",
    "count_archs",
    "crossover_arch",
    "dead_ring",
    "get_space",
    "largest_arch",
    "list_spaces",
    "live_taps",
    "make_divisible",
    "mutate_arch",
    "neighbour_archs",
    "plan_net",
    "register_space",
    "same_out",
    "same_padding",
    "sample_arch",
    "smallest_arch",
]
