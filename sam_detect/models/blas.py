# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""One BLAS thread for the small matrix products of a frame.

The per-frame products (whitening five vectors, comparing a feature map's cells with a few
hundred references) take a fraction of a millisecond on one core. With numpy's BLAS on two
threads the same products took 0.3 to 35 ms on the shared 2-core machine: waking the second
thread costs more than the work, and far more when other processes hold the cores (a robot's
other nodes do). ``one_blas_thread()`` limits numpy's BLAS to one thread for a block of code
(about 0.05 ms to enter, through threadpoolctl, which comes with the ``efficientnet`` extra);
without threadpoolctl it does nothing.

Example:
    >>> import numpy as np
    >>> with one_blas_thread():
    ...     product = np.ones((5, 8), np.float32) @ np.ones((8, 3), np.float32)
    >>> product.shape
    (5, 3)
"""

from __future__ import annotations

import contextlib
import functools
from typing import Any, ContextManager


@functools.lru_cache(maxsize=1)
def _controller() -> Any:
    """Return threadpoolctl's controller of the loaded thread pools (once), or None."""
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return None
    return ThreadpoolController()


def one_blas_thread() -> ContextManager[Any]:
    """Return a context in which numpy's BLAS runs on one thread."""
    controller = _controller()
    if controller is None:
        return contextlib.nullcontext()
    return controller.limit(limits=1, user_api="blas")


__all__ = ["one_blas_thread"]
