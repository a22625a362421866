# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Tests of sam_detect_ros.depth: positions from a depth image of a known scene, and pairing."""

from __future__ import annotations

from types import SimpleNamespace

import threading

import numpy as np
import pytest

from sam_detect.results import Instance, mask_to_bbox
from sam_detect_ros.depth import (
    instance_position,
    instance_positions,
    Intrinsics,
    StampPairer,
)

# A 640x480 camera like a RealSense D435's colour stream.
K = Intrinsics(fx=615.0, fy=615.0, cx=319.5, cy=239.5, width=640, height=480)
TABLE_M = 1.6


def box_scene(centres: list[tuple[float, float, float]], half_size_m: float = 0.05,
              noise_m: float = 0.003, holes: float = 0.1, seed: int = 0
              ) -> tuple[np.ndarray, list[np.ndarray]]:
    """Render fronto-parallel squares (centres in metres, camera frame) in front of a wall.

    Returns the depth in metres (noisy, with NaN holes) and each square's mask, slightly
    dilated so it also covers wall pixels at its border, as a segmenter's mask does.
    """
    rng = np.random.default_rng(seed)
    depth = np.full((K.height, K.width), TABLE_M, np.float64)
    masks = []
    rows, cols = np.mgrid[0:K.height, 0:K.width]
    for x, y, z in centres:
        u0, u1 = (K.cx + K.fx * (x - half_size_m) / z, K.cx + K.fx * (x + half_size_m) / z)
        v0, v1 = (K.cy + K.fy * (y - half_size_m) / z, K.cy + K.fy * (y + half_size_m) / z)
        inside = (cols >= u0) & (cols <= u1) & (rows >= v0) & (rows <= v1)
        depth[inside] = z
        grown = (cols >= u0 - 2) & (cols <= u1 + 2) & (rows >= v0 - 2) & (rows <= v1 + 2)
        masks.append(grown)
    depth += rng.normal(0.0, noise_m, depth.shape)
    depth[rng.random(depth.shape) < holes] = np.nan
    return depth.astype(np.float32), masks


@pytest.mark.parametrize("centre", [(0.0, 0.0, 1.0), (0.2, -0.1, 1.0), (-0.25, 0.15, 0.95),
                                    (0.1, 0.05, 1.05)])
def test_position_within_2_cm_at_1_m(centre: tuple[float, float, float]) -> None:
    depth, (mask,) = box_scene([centre])
    position = instance_position(depth, mask, mask_to_bbox(mask), K)
    assert np.linalg.norm(np.subtract(position, centre)) < 0.02, position


def test_16_bit_millimetres_give_the_same_positions() -> None:
    depth, masks = box_scene([(0.1, 0.0, 1.0), (-0.2, 0.1, 1.0)])
    millimetres = np.nan_to_num(depth * 1000.0).round().astype(np.uint16)
    metres = millimetres.astype(np.float32) / 1000.0
    metres[millimetres == 0] = np.nan
    instances = [Instance(mask=m, bbox=mask_to_bbox(m)) for m in masks]
    for position, truth in zip(instance_positions(instances, metres, K),
                               [(0.1, 0.0, 1.0), (-0.2, 0.1, 1.0)]):
        assert np.linalg.norm(np.subtract(position, truth)) < 0.02


def _instances(masks: list[np.ndarray]) -> list[Instance]:
    return [Instance(mask=m, bbox=mask_to_bbox(m)) for m in masks]


@pytest.mark.parametrize("case", ["no depth", "no intrinsics", "other depth size",
                                  "other intrinsics size", "all NaN", "all zero"])
def test_position_is_absent_when_it_cannot_be_measured(case: str) -> None:
    depth, masks = box_scene([(0.0, 0.0, 1.0)])
    intrinsics = K
    if case == "no depth":
        depth = None
    elif case == "no intrinsics":
        intrinsics = None
    elif case == "other depth size":
        depth = depth[:240, :320]
    elif case == "other intrinsics size":
        intrinsics = Intrinsics(615.0, 615.0, 159.5, 119.5, 320, 240)
    elif case == "all NaN":
        depth[:] = np.nan
    else:
        depth[:] = 0.0
    assert instance_positions(_instances(masks), depth, intrinsics) == [None]


@pytest.mark.parametrize("k, expected", [
    ([615.0, 0, 319.5, 0, 615.0, 239.5, 0, 0, 1], K),
    ([0.0] * 9, None),  # an uncalibrated driver publishes zeros
    ([615.0, 0, 319.5, 0, float("nan"), 239.5, 0, 0, 1], None),
    ([5e-324, 0, 319.5, 0, 615.0, 239.5, 0, 0, 1], None),  # the QA pass's fx: a subnormal
    ([615.0, 0, 319.5, 0, 1e-9, 239.5, 0, 0, 1], None),
    ([0.5, 0, 319.5, 0, 615.0, 239.5, 0, 0, 1], None),     # under 1 pixel
    ([615.0, 0, float("inf"), 0, 615.0, 239.5, 0, 0, 1], None),
    ([1.0, 0, 319.5, 0, 1.0, 239.5, 0, 0, 1], Intrinsics(1.0, 1.0, 319.5, 239.5, 640, 480)),
])
def test_intrinsics_from_camera_info(k: list[float], expected: Intrinsics | None) -> None:
    info = SimpleNamespace(k=k, width=640, height=480)
    assert Intrinsics.from_camera_info(info) == expected


def test_a_position_is_finite_or_absent() -> None:
    """has_position promises a point: absurd intrinsics give none, never an infinite one."""
    depth, masks = box_scene([(0.1, 0.05, 1.0)])
    absurd = Intrinsics(5e-324, 5e-324, K.cx, K.cy, K.width, K.height)
    assert instance_positions(_instances(masks), depth, absurd) == [None]


def test_pairer_takes_the_nearest_stamp_within_the_slop() -> None:
    pairer = StampPairer(slop_s=0.02, size=3)
    for stamp_ms in (0, 33, 66, 100):
        pairer.add(stamp_ms * 1_000_000, f"depth {stamp_ms}")
    assert pairer.nearest(70_000_000) == "depth 66"
    assert pairer.nearest(99_000_000) == "depth 100"
    assert pairer.nearest(0) is None  # forgotten: only 3 are kept
    assert pairer.nearest(140_000_000) is None  # 40 ms from the nearest
    assert StampPairer().nearest(0) is None


def test_pairer_waits_for_a_late_depth_image_while_the_stream_is_live() -> None:
    pairer = StampPairer(slop_s=0.01)
    pairer.add(1_000_000_000, "depth at 1.0 s")
    late = threading.Timer(0.05, pairer.add, (1_100_000_000, "depth at 1.1 s"))
    late.start()
    try:
        assert pairer.nearest(1_100_000_000, wait_s=10.0) == "depth at 1.1 s"
    finally:
        late.cancel()
    # Something newer than the frame is buffered: no depth will come for it. No depth stream,
    # or one that stopped: nothing will come either. None of these waits.
    stale = StampPairer(live_s=0.0)
    stale.add(0, "old")
    for each, stamp in ((pairer, 1_050_000_000), (StampPairer(), 5), (stale, 5_000_000_000)):
        each._condition = NoWaiting()
        assert each.nearest(stamp, wait_s=10.0) is None


class NoWaiting(type(threading.Condition())):
    """A condition that fails the test when someone waits on it."""

    def wait(self, timeout: float | None = None) -> bool:
        raise AssertionError("nearest waited")
