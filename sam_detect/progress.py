# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Progress bars and results that never share a line.

The bar goes to stderr (tqdm hides it when stderr is not a terminal); results go to stdout
through :func:`write_result`, which is ``tqdm.write``: it clears the bar, prints the line and
draws the bar again below it, so ``sam-detect photos/`` in a terminal shows whole result lines
under one bar, and a pipe (``| jq``) gets clean lines. ``--quiet`` turns the bar off.
"""

from __future__ import annotations

import sys
from typing import Any, Iterable


def progress_bar(items: Iterable[Any] | None = None, unit: str = "image", quiet: bool = False,
                 total: int | None = None, minimum: int = 2) -> Any:
    """Return a tqdm bar on stderr over ``items`` (off when ``quiet`` or fewer than ``minimum``).

    ``disable=None`` lets tqdm hide the bar when stderr is not a terminal (logs, pipes, CI).
    """
    from tqdm import tqdm

    count = total if total is not None else (len(items) if hasattr(items, "__len__") else None)
    few = count is not None and count < minimum
    return tqdm(items, total=total, unit=unit, file=sys.stderr,
                disable=True if quiet or few else None)


def write_result(text: str) -> None:
    """Print one result (it may span lines) to stdout without breaking a running bar."""
    from tqdm import tqdm

    tqdm.write(text, file=sys.stdout)
    sys.stdout.flush()


__all__ = ["progress_bar", "write_result"]
