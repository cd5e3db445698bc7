"""Constrained architecture search: strategies (ask/tell), constraints, repair, the search loop."""

from .aging import AgingConfig, AgingEvolution
from .constraints import Constraints, check_achievable, format_metric
from .evolution import Evolution, EvolutionConfig
from .loop import LoopResult, load_strategies, search_loop
from .pareto import hypervolume, non_dominated_sort, pareto_front, plot_front
from .random_search import RandomSearch
from .registry import get_strategy, list_strategies, register_strategy
from .repair import repair, shrink_moves
from .run import Fitness, Progress, SearchResult, run_search
from .strategy import Score, Strategy

__all__ = [
    "AgingConfig", "AgingEvolution", "LoopResult", "hypervolume", "load_strategies", "non_dominated_sort",
    "pareto_front", "plot_front", "search_loop",
    "Constraints", "Evolution", "EvolutionConfig", "Fitness", "Progress", "RandomSearch", "Score", "SearchResult",
    "Strategy", "check_achievable", "format_metric", "get_strategy", "list_strategies", "register_strategy",
    "repair", "run_search", "shrink_moves",
]
