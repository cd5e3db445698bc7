"""Running many independent evaluations in parallel: a serial pool and a Ray pool.

The driver (the process that called :meth:`map`) is the only one that writes results: workers
return values, the driver records each as it arrives, and every output is ordered by task id,
so the same tasks give the same files whatever the number of workers.
"""

from .cluster import INSTALL_HINT, open_pool, parse_address, ray_available
from .errors import ClusterError, TasksFailed
from .ray_pool import RayPool
from .serial import SerialPool
from .task import Done, Failure, Job, Pool, Task, Watch, in_task_order, values_in_order

__all__ = [
    "INSTALL_HINT", "ClusterError", "Done", "Failure", "Job", "Pool", "RayPool", "SerialPool", "Task", "TasksFailed", "Watch",
    "in_task_order", "open_pool", "parse_address", "ray_available", "values_in_order",
]
