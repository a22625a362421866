# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Request bodies of the annotation API, with their bounds (FastAPI answers 422 outside them)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

MAX_POINTS = 64
MAX_RUNS = 200_000  # runs of an edited mask; the body cap binds first


class Body(BaseModel):
    """A request body: numbers must be finite (JSON's ``NaN`` and ``1e400`` are refused, 422)."""

    model_config = ConfigDict(allow_inf_nan=False)


class Target(Body):
    """The mask a request is about: a detected instance, or a candidate of a prompt."""

    instance: int | None = Field(None, ge=0, le=100_000)
    prompt: str | None = Field(None, max_length=64)
    candidate: int = Field(0, ge=0, le=16)


class EditedMask(BaseModel):
    """A mask the page edited, as uncompressed COCO RLE of the whole picture.

    Column-major runs, starting with a run of background; ``size`` = ``[rows, columns]``.

    Compact for what a brush paints (a few runs per column): a 1080p mask is a few kB, well
    inside the request body cap.
    """

    size: tuple[int, int]
    counts: list[int] = Field(..., max_length=MAX_RUNS)


class SaveRequest(Target):
    """Store the target mask under ``label`` (``mask``: the person's edit of it, if any)."""

    label: str = Field(..., max_length=256)
    mask: EditedMask | None = None


class PromptRequest(Body):
    """Points (xy pixels; labels 1 = object, 0 = background) and/or a box ``x0, y0, x1, y1``."""

    points: list[tuple[float, float]] = Field(default_factory=list, max_length=MAX_POINTS)
    labels: list[int] | None = Field(None, max_length=MAX_POINTS)
    box: tuple[float, float, float, float] | None = None


class RelabelRequest(Body):
    """Move a stored example to ``label``."""

    label: str = Field(..., max_length=256)
