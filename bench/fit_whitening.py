# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Fit the whitening of the ``efficientnet-lite0-whitened`` embedder and write its data file.

Usage (from the repository root)::

    OMP_NUM_THREADS=1 python bench/fit_whitening.py [--out sam_detect/embedding/data/...npz]

The generic objects are the open-set reference set (:func:`sam_detect.classifier.reference.
reference_crops`: segments and tiles of scikit-image's bundled photos, and plain primitives),
faded with the default hard-crop fade and embedded by ``efficientnet-lite0``; their square-root
features are centred and whitened with the covariance shrunk by ``SHRINK``
(:class:`sam_detect.embedding.whitening.Whitening`). No benchmark image is used. Deterministic:
the same packages give the same file (to float16 rounding of the basis).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def fit(shrink: float) -> object:
    """Return the whitening fitted on the reference set."""
    from sam_detect.classifier.reference import reference_crops
    from sam_detect.embedding.efficientnet import EfficientNetEmbedder
    from sam_detect.embedding.efficientnet_whitened import power_normalise
    from sam_detect.embedding.whitening import Whitening
    from sam_detect.fading import create_fade

    crops = reference_crops(create_fade("hard_crop"))
    pooled = EfficientNetEmbedder(device="cpu").embed(crops)
    return Whitening.fit(power_normalise(pooled), shrink)


def main(argv: list[str] | None = None) -> int:
    """Fit and write the data file."""
    from sam_detect.embedding.efficientnet_whitened import SHRINK, WHITENING_FILE

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=WHITENING_FILE)
    parser.add_argument("--shrink", type=float, default=SHRINK)
    args = parser.parse_args(argv)
    whitening = fit(args.shrink)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    whitening.save(args.out)
    print(f"whitening of {whitening.mean.shape[0]}-d vectors, {whitening.basis.shape[1]} "
          f"directions, shrink {args.shrink} -> {args.out} ({args.out.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
