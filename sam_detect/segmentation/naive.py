# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Classical, CPU-only segmenter: objects are what the frame's border is not.

The image border is assumed to show mostly background (true for a camera looking at objects on a
table, floor or shelf). Colour (Lab) and local texture of a band along the border are clustered
into a few background modes; every pixel is scored by its distance to the nearest mode, in units
of that mode's spread, so a textured background (grass, gravel) tolerates more variation than a
flat one. Pixels far from every mode are foreground; connected regions, cleaned by morphology and
with holes filled, are the instances. Everything runs on a downscaled copy and is deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from sam_detect.results import Segment
from sam_detect.segmentation.base import keep_best

TEXTURE_WINDOW = (5, 5)  # local standard deviation of lightness over this window is the texture
#: Shorter side (in working pixels) below which an image holds no object this model can separate:
#: the border band (>= 2 px on each side) and the texture halo peeled off each region (5 px)
#: leave nothing. Such images (a 1x1 frame, a thin strip) have no segments rather than an error.
MIN_SIDE = 8
# Border pixels the background's colour modes are fitted on (k-means). A 640x480 frame has ~27,000;
# a regular subset of 6,000 halves the segmenter's time and found as many objects on the hard
# TUNE split (recall 0.372 vs 0.369, precision 0.330 vs 0.323; objectness 0.594/0.609 vs
# 0.587/0.605).
MAX_BORDER_SAMPLES = 6000


@dataclass
class NaiveSegmenter:
    """Segment objects that stand out from a contrasting or textured background.

    Args:
        min_area: Smallest instance, as a fraction of the image area (0.002 = 0.2 %).
        max_area: Largest instance, as a fraction of the image area; larger regions mean the
            background model failed and are dropped.
        max_instances: Keep at most this many instances (best score first).
        threshold: Foreground threshold in background-spread units; higher finds fewer,
            more contrasting objects.
        working_size: Longest side, in pixels, of the copy the segmenter works on.
        background_modes: Number of colour/texture clusters that model the background.
        border: Width of the border band that samples the background, as a fraction of the
            shorter side.
        min_mode_support: Border colours that cover less than this share of the band are taken
            as objects cut by the frame edge, not as background.

    Example:
        >>> import numpy as np
        >>> img = np.full((120, 160, 3), 40, np.uint8)
        >>> img[30:70, 40:90] = (220, 30, 30)
        >>> segments = NaiveSegmenter().segment(img)
        >>> len(segments), segments[0].bbox
        (1, (40, 30, 90, 70))
    """

    min_area: float = 0.002
    max_area: float = 0.6
    max_instances: int | None = 20
    threshold: float = 4.0
    working_size: int = 512
    background_modes: int = 6
    border: float = 0.04
    min_mode_support: float = 0.06

    name = "naive"

    def __post_init__(self) -> None:
        if not 0.0 <= self.min_area < self.max_area <= 1.0:
            raise ValueError("need 0 <= min_area < max_area <= 1 (fractions of the image area)")
        if self.max_instances is not None and self.max_instances < 1:
            raise ValueError("max_instances must be >= 1 (or None for no limit)")
        if self.threshold <= 0 or self.working_size < 32 or self.background_modes < 1:
            raise ValueError("threshold must be > 0, working_size >= 32, background_modes >= 1")
        if not 0.0 <= self.min_mode_support < 1.0 / self.background_modes:
            raise ValueError("min_mode_support must be in [0, 1 / background_modes)")

    def segment(self, image: np.ndarray) -> list[Segment]:
        """Return the objects in an RGB ``uint8`` image, best score first."""
        height, width = image.shape[:2]
        scale = min(1.0, self.working_size / max(height, width))
        small = image if scale == 1.0 else cv2.resize(
            image, (max(1, round(width * scale)), max(1, round(height * scale))),
            interpolation=cv2.INTER_AREA)
        if min(small.shape[:2]) < MIN_SIDE:
            return []  # no room for a background band around an object
        features = self._features(small)
        distance = self._background_distance(features, small.shape[:2])
        foreground = self._clean(distance > self.threshold)
        return self._instances(foreground, distance, (height, width))

    def _features(self, small: np.ndarray) -> np.ndarray:
        rgb = cv2.GaussianBlur(small, (7, 7), 0).astype(np.float32) / 255.0
        lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2Lab)
        lightness = lab[:, :, 0]
        mean = cv2.blur(lightness, TEXTURE_WINDOW)
        texture = np.sqrt(np.maximum(
            cv2.blur(lightness * lightness, TEXTURE_WINDOW) - mean * mean, 0))
        # One plane per feature, handed out as the (pixels, 4) view of it: the distance below
        # walks the planes, which is several times faster than walking interleaved pixels.
        planes = np.empty((4, *lightness.shape), np.float32)
        planes[:3] = lab.transpose(2, 0, 1)
        planes[3] = texture
        return planes.reshape(4, -1).T

    def _border_samples(self, shape: tuple[int, int]) -> np.ndarray:
        height, width = shape
        band = max(2, round(self.border * min(height, width)))
        border = np.zeros(shape, bool)
        border[:band], border[-band:], border[:, :band], border[:, -band:] = True, True, True, True
        return border.reshape(-1)

    def _background_distance(self, features: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
        height, width = shape
        samples = features[self._border_samples((height, width))]
        if len(samples) > MAX_BORDER_SAMPLES:  # a regular subset: same modes, half the time
            samples = samples[::-(-len(samples) // MAX_BORDER_SAMPLES)]
        modes = min(self.background_modes, len(samples))
        cv2.setRNGSeed(0)  # cv2.kmeans seeds from OpenCV's global RNG; fix it for determinism
        criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 20, 0.1)
        _, assignment, centres = cv2.kmeans(samples, modes, None, criteria, 2,
                                            cv2.KMEANS_PP_CENTERS)
        assignment = assignment.ravel()
        # A mode that covers only a sliver of the border is an object cut by the frame edge, not
        # background; modelling it as background would hide that object everywhere.
        kept = [m for m in range(modes) if np.mean(assignment == m) >= self.min_mode_support]
        # Spread per mode and feature, floored so a perfectly flat background still tolerates
        # sensor noise and JPEG ringing (units: Lab and texture, 0..100 scale).
        spreads = np.stack([samples[assignment == m].std(axis=0) for m in kept]).astype(np.float32)
        spreads = np.maximum(spreads, np.float32(1.5))
        # Squared normalised distance to the nearest mode, feature plane by feature plane in
        # float32 (the differences come first, so nothing cancels): ~5x faster than one float64
        # matrix product over interleaved pixels.
        weights = (1.0 / spreads ** 2).astype(np.float32)
        planes = np.ascontiguousarray(features.T)  # a view when features came from _features
        nearest = None
        for centre, weight in zip(centres[kept].astype(np.float32), weights):
            total = None
            for plane, c, w in zip(planes, centre, weight):
                term = plane - c
                term *= term
                term *= w
                total = term if total is None else np.add(total, term, out=total)
            nearest = total if nearest is None else np.minimum(nearest, total, out=nearest)
        return np.sqrt(nearest).astype(np.float32).reshape(height, width)

    def _clean(self, foreground: np.ndarray) -> np.ndarray:
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
        mask = cv2.morphologyEx(foreground.view(np.uint8), cv2.MORPH_OPEN, kernel)
        mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, kernel)
        # The texture window sees an object's edge from outside too: peel that halo off.
        mask = cv2.erode(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, TEXTURE_WINDOW))
        # Fill holes: whatever background cannot be reached from the border is inside an object.
        padded = cv2.copyMakeBorder(mask, 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=0)
        reached = padded.copy()
        flood = np.zeros((padded.shape[0] + 2, padded.shape[1] + 2), np.uint8)
        cv2.floodFill(reached, flood, (0, 0), 1)
        holes = reached[1:-1, 1:-1] == 0
        return (mask > 0) | holes

    def _instances(self, foreground: np.ndarray, distance: np.ndarray,
                   full_shape: tuple[int, int]) -> list[Segment]:
        count, labels, stats, _ = cv2.connectedComponentsWithStats(
            foreground.view(np.uint8), connectivity=8)
        small_area = foreground.size
        height, width = full_shape
        segments = []
        for index in range(1, count):
            area = stats[index, cv2.CC_STAT_AREA]
            if not self.min_area * small_area <= area <= self.max_area * small_area:
                continue
            x, y, w, h = stats[index, :4]
            region = labels[y:y + h, x:x + w] == index
            contrast = float(np.median(distance[y:y + h, x:x + w][region]))
            solidity = area / float(w * h)
            score = (1.0 - np.exp(-contrast / (2.0 * self.threshold))) * (0.5 + 0.5 * solidity)
            segments.append(Segment(self._full_mask(labels == index, (height, width)),
                                    float(np.clip(score, 0.0, 1.0))))
        return keep_best(segments, self.max_instances)

    def _full_mask(self, small_mask: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
        if small_mask.shape == shape:
            return small_mask
        # Linear interpolation then 0.5 gives smoother edges than nearest-neighbour upscaling.
        upscaled = cv2.resize(small_mask.astype(np.float32), (shape[1], shape[0]),
                              interpolation=cv2.INTER_LINEAR)
        return upscaled > 0.5
