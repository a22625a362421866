# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""evaluate() end to end on the tiny benchmark, and the support/query split."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from sam_detect import SAMDetect
from sam_detect.embedding import AverageEmbedder
from sam_detect.errors import SamDetectError
from sam_detect.evaluation import EvaluationCache, GroundTruth, evaluate, split_instances
from sam_detect.evaluation.core.coco import annotation_from_mask, CocoDataset, write_coco
from sam_detect.fading import GaussianFade, HardCropFade, IdentityFade


class CountingEmbedder(AverageEmbedder):
    """The average embedder, counting the crops it embeds."""

    def __init__(self) -> None:
        super().__init__()
        self.crops = 0

    def embed(self, crops: list[np.ndarray]) -> np.ndarray:
        self.crops += len(crops)
        return super().embed(crops)


def _instances(n_categories: int = 4, sources: int = 6, per_source: int = 2) -> list[GroundTruth]:
    gts = []
    for c in range(n_categories):
        for s in range(sources + c):  # categories of different sizes
            for _ in range(per_source):
                gts.append(GroundTruth(len(gts) + 1, len(gts) // 3 + 1, f"cat{c}",
                                       f"cat{c}/src{s}.png", 10.0))
    return gts


@pytest.mark.parametrize("seed", [0, 1, 7])
@pytest.mark.parametrize("max_shots, held_out", [(1, 0), (3, 1), (10, 2)])
def test_split_never_leaks_a_source(seed: int, max_shots: int, held_out: int) -> None:
    gts = _instances()
    by_id = {g.id: g for g in gts}
    split = split_instances(gts, max_shots, seed, held_out)
    support_sources = {by_id[i].source for ids in split.support.values() for i in ids}
    query_sources = {by_id[i].source for i in split.query}
    assert not support_sources & query_sources
    assert len(split.held_out) == held_out
    assert not set(split.held_out) & set(split.support)
    assert {by_id[i].category for i in split.unknown} == set(split.held_out)
    for category, ids in split.support.items():
        assert all(by_id[i].category == category for i in ids)
        n_sources = len({g.source for g in gts if g.category == category})
        used = {by_id[i].source for i in ids}
        # As many support sources as shots, but never more than 70 % of the category's sources.
        assert len(used) == min(max_shots, n_sources - int(np.ceil(0.3 * n_sources)))
        # Round robin: the first len(used) examples come from distinct sources.
        assert len({by_id[i].source for i in ids[:len(used)]}) == len(used)
    assert all(by_id[i].category not in split.held_out for i in split.query)


def test_split_groups_by_image_without_sources() -> None:
    gts = [GroundTruth(i, i // 2, "ab"[i % 2], f"image:{i // 2}", 1.0) for i in range(24)]
    split = split_instances(gts, 3, 0)
    support_images = {gts[i].image_id for ids in split.support.values() for i in ids}
    assert not support_images & {gts[i].image_id for i in split.query}


def test_single_source_category_is_left_out() -> None:
    gts = _instances(n_categories=2) + [GroundTruth(999, 999, "lonely", "lonely.png", 1.0)]
    split = split_instances(gts, 3, 0)
    assert "lonely" not in split.support and 999 not in split.query


def test_split_rejects_too_many_held_out() -> None:
    with pytest.raises(SamDetectError, match="held_out"):
        split_instances(_instances(n_categories=3), 1, 0, held_out=2)


@pytest.fixture()
def detector() -> SAMDetect:
    return SAMDetect(embedder=CountingEmbedder(), fade_strategy=GaussianFade(sigma=20))


def test_evaluate_end_to_end(tiny_benchmark: Path, detector: SAMDetect) -> None:
    report = evaluate(detector, tiny_benchmark, shots=(1, 2), seeds=3, held_out=1,
                      latency_images=2)
    n_instances = len(CocoDataset(tiny_benchmark).instances())
    assert report["dataset"]["instances"] == n_instances
    assert report["config"]["embedder"] == "average-v1"
    assert report["config"]["fade"] == {"kind": "gaussian", "sigma": 20.0, "min_fade": 0.05}
    seg = report["segmentation"]
    assert 0.0 <= seg["recall"] <= 1.0 and seg["instances"] == n_instances
    assert seg["matched"] == round(seg["recall"] * n_instances)
    assert [row["shots"] for row in report["few_shot"]] == [1, 2]
    for row in report["few_shot"]:
        for key in ("accuracy", "class_averaged", "end_to_end", "unknown_rejection"):
            assert row[key]["n"] == 3
            assert 0.0 <= row[key]["mean"] <= 1.0
        # End to end needs the segment too, so it can never beat classification on GT masks
        # by more than chance; with these well separated fake classes it is bounded by recall.
        assert row["end_to_end"]["mean"] <= seg["recall"] + 1e-9
    # The fake categories differ in hue: far above chance (1/3 of the taught ones) at 2 shots.
    assert report["few_shot"][1]["closed_set_accuracy"]["mean"] > 0.6
    assert len(report["runs"]) == 6
    for run in report["runs"]:
        # A label that passes the unknown threshold is the closed-set vote's label.
        assert run["accuracy"] <= run["closed_set_accuracy"]
        assert run["end_to_end"] <= run["closed_set_end_to_end"]
    quality = report["embedding_quality"]
    assert 0.0 <= quality["nn_agreement"] <= 1.0 and -1.0 <= quality["silhouette"] <= 1.0
    latency = report["latency_ms"]
    assert set(latency) >= {"segment", "fade", "embed", "search", "total"}
    assert latency["total"]["n"] == 2
    assert detector.labels() == {}  # the store is left empty


def test_cache_reuses_embeddings(tiny_benchmark: Path, detector: SAMDetect) -> None:
    detector.classifier.margin = None  # count the evaluator's crops, not the reference set's
    cache = EvaluationCache()
    metrics = ["classification", "end_to_end"]
    evaluate(detector, tiny_benchmark, metrics=metrics, shots=(1,), seeds=2, cache=cache)
    first = detector.embedder.crops
    assert first > 0
    evaluate(detector, tiny_benchmark, metrics=metrics, shots=(1, 2, 3), seeds=4, cache=cache)
    assert detector.embedder.crops == first  # nothing recomputed
    detector.set_fade_strategy(IdentityFade())
    evaluate(detector, tiny_benchmark, metrics=metrics, shots=(1,), seeds=1, cache=cache)
    assert detector.embedder.crops == 2 * first  # a new fade: new crops


@pytest.mark.parametrize("metrics, present, absent", [
    (["segmentation"], {"segmentation"}, {"few_shot", "embedding_quality", "latency_ms"}),
    (["accuracy"], {"few_shot"}, {"segmentation", "latency_ms"}),
    (["inference_time"], {"latency_ms"}, {"few_shot", "segmentation"}),
    (["embedding_quality"], {"embedding_quality"}, {"few_shot", "segmentation"}),
])
def test_metric_selection(tiny_benchmark: Path, detector: SAMDetect, metrics, present,
                          absent) -> None:
    report = evaluate(detector, tiny_benchmark, metrics=metrics, shots=(1,), seeds=1,
                      latency_images=1)
    assert present <= set(report.to_dict())
    assert not absent & set(report.to_dict())


@pytest.mark.parametrize("kwargs, message", [
    ({"metrics": ["speed"]}, "unknown metric"),
    ({"shots": (0, 1)}, "shots"),
    ({"seeds": 0}, "seeds"),
    ({"iou_threshold": 1.5}, "IoU"),
])
def test_bad_arguments(tiny_benchmark: Path, detector: SAMDetect, kwargs, message) -> None:
    with pytest.raises(SamDetectError, match=message):
        evaluate(detector, tiny_benchmark, **kwargs)


def test_refuses_a_filled_store(tiny_benchmark: Path, detector: SAMDetect) -> None:
    detector.add_example(np.full((20, 20, 3), 100, np.uint8), "thing")
    with pytest.raises(SamDetectError, match="store is empty"):
        evaluate(detector, tiny_benchmark)


def test_facade_evaluate(tiny_benchmark: Path, detector: SAMDetect) -> None:
    report = detector.evaluate(str(tiny_benchmark), metrics=["accuracy"], shots=(1,), seeds=1)
    assert report["few_shot"][0]["shots"] == 1


def test_report_types_and_open_set_metrics(tiny_benchmark: Path, detector: SAMDetect) -> None:
    """Rows are typed; rejection, one-taught, ECE, reliability and the ROC of unknown are in."""
    from sam_detect.evaluation.core.report import EvaluationReport, Interval

    report = evaluate(detector, tiny_benchmark, metrics=["accuracy"], shots=(1, 2), seeds=3,
                      held_out=1)
    assert isinstance(report, EvaluationReport)
    row = report.row(2)
    for name in ("accuracy", "unknown_rejection", "false_unknown", "one_taught_others_unknown",
                 "one_taught_recognised", "ece"):
        interval = row.metric(name)
        assert isinstance(interval, Interval) and interval.n == 3, name
        assert 0.0 <= interval.mean <= 1.0, name
    assert sum(b["count"] for b in row.reliability) > 0
    roc = row.unknown_roc
    assert 0.0 <= roc["auc"] <= 1.0
    assert roc["false_unknown"][0] == 0.0 and roc["unknown_rejection"][-1] == 1.0
    assert report.row(7) is None and row.metric("nothing").mean is None
    again = EvaluationReport.from_dict(json.loads(json.dumps(report.to_dict())))
    assert again.to_dict() == report.to_dict()
    assert {r["shots"] for r in report.runs} == {1, 2}


def test_distractor_categories_are_never_taught() -> None:
    gts = [GroundTruth(i, i, c, f"{c}{i % 4}", 1.0) for i, c in enumerate("aaaabbbbccccdddd")]
    for seed in range(4):
        split = split_instances(gts, max_shots=2, seed=seed, held_out=1, never_taught=["d"])
        assert "d" in split.held_out and len(split.held_out) == 2
        assert "d" not in split.support


# --- Known values on a hand-made benchmark -----------------------------------------------------
# One square per image, one image per source, in a colour the embedder below turns into a known
# vector, so every answer of the open-set decision is known by construction:
#   red, green (taught): every query is its own examples' exact vector: recognised;
#   mixed (taught): every source has a colour of its own, so its queries match nothing taught
#       and are called unknown (false unknown);
#   crimson (never taught): drawn in red, so it takes the label "red" (not rejected, wrong);
#   navy, teal (never taught): colours of their own, matching nothing taught: rejected.
COLOURS = {"red": (201, 13, 77), "green": (17, 187, 59), "teal": (23, 151, 163),
           "navy": (29, 31, 113),
           "mixed0": (211, 199, 29), "mixed1": (97, 41, 181), "mixed2": (233, 127, 11),
           "mixed3": (131, 67, 7)}
SOURCES = 4  # per category: with shots=2, 2 sources are taught and 2 asked
DRAWN_IN = {"red": ["red"] * SOURCES, "green": ["green"] * SOURCES,
            "mixed": [f"mixed{i}" for i in range(SOURCES)], "crimson": ["red"] * SOURCES,
            "navy": ["navy"] * SOURCES, "teal": ["teal"] * SOURCES}


class PaletteEmbedder:
    """Turn a crop into the unit vector of the colour of :data:`COLOURS` covering most of it.

    A crop with none of them is the last axis, "anything else" (the generic reference objects).
    """

    name = "palette-test"
    unknown_threshold = 0.5

    def __init__(self) -> None:
        self.colours = np.array(list(COLOURS.values()), np.int16)
        self.dim = len(COLOURS) + 1

    def embed(self, crops: list[np.ndarray]) -> np.ndarray:
        vectors = np.zeros((len(crops), self.dim), np.float32)
        for row, crop in enumerate(crops):
            pixels = np.asarray(crop, np.int16).reshape(-1, 1, 3)
            counts = (pixels == self.colours[None]).all(axis=2).sum(axis=0)
            axis = int(np.argmax(counts)) if counts.max() > 0.1 * len(pixels) else self.dim - 1
            vectors[row, axis] = 1.0
        return vectors


@pytest.fixture(scope="module")
def palette_benchmark(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import cv2

    root = tmp_path_factory.mktemp("palette")
    (root / "images").mkdir()
    categories = sorted(DRAWN_IN)
    images, annotations = [], []
    for category in categories:
        for source, colour in enumerate(DRAWN_IN[category]):
            image_id = len(images) + 1
            image = np.full((64, 64, 3), 60, np.uint8)
            mask = np.zeros((64, 64), bool)
            mask[12:52, 12:52] = True
            image[mask] = COLOURS[colour]
            name = f"images/{category}{source}.png"
            cv2.imwrite(str(root / name), image[:, :, ::-1])
            images.append({"id": image_id, "file_name": name, "width": 64, "height": 64})
            annotations.append(annotation_from_mask(
                len(annotations) + 1, image_id, categories.index(category) + 1, mask,
                source=f"{category}{source}"))
    write_coco(root, images, categories, annotations,
               info={"distractor_categories": ["crimson", "navy", "teal"]})
    return root


def test_open_set_metrics_known_values(palette_benchmark: Path, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Rejection, false unknown, ECE, one-taught and the AUC of unknown, counted by hand."""
    monkeypatch.setenv("SAM_DETECT_CACHE", str(tmp_path))  # the reference set of this embedder
    detector = SAMDetect(embedder=PaletteEmbedder(), segmenter="naive",
                         fade_strategy=HardCropFade())
    report = evaluate(detector, palette_benchmark, metrics=["classification", "unknown"],
                      shots=(2,), seeds=3)
    row = report.row(2)
    assert row.queries == 6  # 2 sources asked per taught category
    expected = {
        "accuracy": 4 / 6,  # red and green queries right; mixed ones unknown
        "false_unknown": 2 / 6,  # the two mixed queries
        "unknown_rejection": 8 / 12,  # navy and teal rejected, crimson called "red"
        # one category taught at a time: red leaves the 4 crimson others labelled (16 of 20
        # unknown), green and mixed leave all 20 unknown; mixed's own queries are not recognised
        "one_taught_others_unknown": (16 / 20 + 1 + 1) / 3,
        "one_taught_recognised": (1 + 1 + 0) / 3,
    }
    for name, value in expected.items():
        interval = row.metric(name)
        assert interval.n == 3 and interval.mean == pytest.approx(value), name
        assert interval.low == pytest.approx(value) and interval.high == pytest.approx(value)
    # Every labelled answer has one and the same score (an exact match, nothing closer): one
    # reliability bin of the 4 right query answers and the 4 wrong crimson ones per seed, and
    # ECE = |accuracy - confidence| in it.
    (only,) = row.reliability
    assert only["count"] == 3 * 8 and only["accuracy"] == 0.5
    assert row.metric("ece").mean == pytest.approx(abs(0.5 - only["confidence"]))
    # AUC of unknown: known scores are 4 exact matches and 2 unknown-whatever-the-threshold per
    # seed, never-taught ones 4 exact matches (crimson) and 8 unknown (navy, teal). Of the 6 x 12
    # pairs, 32 have the never-taught one below, 16 + 16 are ties (half each): 48 / 72.
    assert row.unknown_roc["auc"] == pytest.approx(48 / 72)


class _ViewsEmbedder:
    """The average embedder with two teaching-time views (the crop and its mirror)."""

    teach_views = ("original", "mirror")

    def __init__(self) -> None:
        from sam_detect.embedding import AverageEmbedder

        self._inner = AverageEmbedder()
        self.name, self.dim = "average-views-test", self._inner.dim
        self.unknown_threshold = self._inner.unknown_threshold

    def embed(self, crops):
        return self._inner.embed(crops)

    def embed_views(self, crops):
        mirrored = [np.ascontiguousarray(c[:, ::-1]) for c in crops]
        return np.stack([self.embed(crops), self.embed(mirrored)], axis=1)


def test_an_embedder_with_views_is_taught_every_view(tiny_benchmark: Path, monkeypatch) -> None:
    """What teaching stores is what the evaluation teaches: each support instance's views."""
    from sam_detect.embedding.base import EXAMPLE_KEY, VIEW_KEY
    from sam_detect.evaluation.core import evaluator as module
    from sam_detect.vector_store import MemoryVectorStore

    detector = SAMDetect(embedder=_ViewsEmbedder(), segmenter="naive",
                         vector_store=MemoryVectorStore())
    stored: list[tuple[int, list[dict]]] = []
    real = detector.add_embeddings

    def spy(embeddings, labels, payloads=None, background=None):
        stored.append((len(embeddings), list(payloads or [])))
        return real(embeddings, labels, payloads, background)

    monkeypatch.setattr(detector, "add_embeddings", spy)
    report = module.evaluate(detector, tiny_benchmark, metrics=["classification"], shots=(1,),
                             seeds=1)
    assert report.row(1).metric("accuracy") is not None
    rows, payloads = stored[0]
    assert rows == 2 * len({p[EXAMPLE_KEY] for p in payloads})  # two views per example
    assert sorted({p[VIEW_KEY] for p in payloads}) == ["mirror", "original"]
