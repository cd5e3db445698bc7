"""Results store: search runs and their evaluated architectures (trials) in SQLite. A leaf package."""

from .sqlite import ResultsStore, RunInfo, RunMismatchError, StoreError, Trial, resolve_location

__all__ = ["ResultsStore", "RunInfo", "RunMismatchError", "StoreError", "Trial", "resolve_location"]
