"""How many cores the work may use.

Pure: the standard library only.  Combine and the demo generator size their thread pools
from it, and the figures in docs/performance.md are per core measured with it.
"""

import os


def available_cores():
    """Cores this process may run on (its CPU affinity, which a batch scheduler sets)."""
    if hasattr(os, 'sched_getaffinity'):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1
