# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Few-shot evaluation of a detector on a COCO dataset.

:func:`evaluate` measures each stage of a :class:`~sam_detect.SAMDetect` separately and together:

* **segmentation** - predicted masks (``detector.segment``) matched one-to-one to the ground truth
  at IoU >= 0.5 (greedy, best IoU first): recall, mean IoU of matches, precision.
* **classification** - given a correct segment: ground-truth masks are faded and embedded
  (``detector.embed_masks``), ``k`` support instances per category are taught
  (``detector.add_embeddings``) and the query instances classified (``detector.classify``):
  top-1 accuracy, per category and class-averaged, with a 95 % interval over seeds.
* **unknown** - ``held_out`` categories are never taught; the share of their instances the detector
  calls unknown is the rejection rate.
* **end_to_end** - a query instance counts when a predicted segment matches it (IoU >= 0.5) and
  that segment's embedding gets the right label; over all query instances of taught categories.
* **embedding_quality** - nearest-neighbour label agreement (ignoring copies of the same source
  object) and cosine silhouette of all ground-truth embeddings, for the detector's fade.
* **latency** - ``detector.detect`` on some images: median and p95 of each stage's time.

Support and query never share a source object (the annotation's ``"source"``, else its image), so
a photo is never recognised by its own copy. An instance-level dataset (``info["kind"] ==
"instance"``, ``make-benchmark --instance``) is split per view instead: each object is taught from
its teaching pictures and asked on its scene views
(:mod:`sam_detect.evaluation.core.instance_split`).
Segments and embeddings are computed once per run and kept in an :class:`EvaluationCache` keyed
by (image, mask, fade, embedder): the shot counts and seeds only re-run the cheap k-NN part, and
a cache passed to several calls (as the sweep does) is shared between them.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from sam_detect.errors import OptionError, SamDetectError, require_extra
from sam_detect.evaluation.core.coco import CocoDataset, GroundTruth
from sam_detect.evaluation.core.instance_split import (
    dataset_kind,
    Split,
    split_views,
    teaching_images,
)
from sam_detect.evaluation.core.metrics import (
    encode_masks,
    greedy_match,
    iou_matrix,
    latency_summary,
    mean_ci,
    nn_agreement,
    reliability,
    silhouette_cosine,
    unknown_roc,
)
from sam_detect.evaluation.core.report import EvaluationReport, FewShotRow, Interval, PROPORTIONS

METRICS = ("segmentation", "classification", "unknown", "end_to_end", "embedding_quality",
           "latency")
# The seed's product brief asks for these names; each maps onto the groups above.
METRIC_ALIASES = {
    "accuracy": ("classification", "unknown", "end_to_end"),
    "inference_time": ("latency",),
    "latency": ("latency",),
    "embedding_quality": ("embedding_quality",),
    "all": METRICS,
}
STAGES = ("segment", "fade", "embed", "search", "total")
QUERY_FRACTION = 0.3  # share of each category's sources always kept for queries


@dataclass
class EvaluationCache:
    """Segments and embeddings computed by :func:`evaluate`, reusable across calls.

    Keys hold the dataset, the image, the mask (ground-truth annotation or predicted segment) and
    the segmenter, fade and embedder descriptions, so a changed component never reads stale data.
    """

    segments: dict[tuple[Any, ...], tuple[list[dict[str, Any]], list[float]]] = field(
        default_factory=dict)
    embeddings: dict[tuple[Any, ...], np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        """Return the number of cached segment lists and embeddings."""
        return len(self.segments) + len(self.embeddings)


def resolve_metrics(metrics: Sequence[str] | None) -> set[str]:
    """Return the metric groups named by ``metrics`` (None: all).

    Raises:
        SamDetectError: for an unknown name.
    """
    if metrics is None:
        return set(METRICS)
    groups: set[str] = set()
    for name in metrics:
        if name in METRICS:
            groups.add(name)
        elif name in METRIC_ALIASES:
            groups.update(METRIC_ALIASES[name])
        else:
            raise SamDetectError(
                f"unknown metric '{name}'; choose from "
                f"{', '.join(sorted({*METRICS, *METRIC_ALIASES}))}"
            )
    return groups


def split_instances(
    instances: Sequence[GroundTruth],
    max_shots: int,
    seed: int,
    held_out: int = 0,
    query_fraction: float = QUERY_FRACTION,
    never_taught: Sequence[str] = (),
) -> Split:
    """Split instances into support and query sets that share no source.

    Sources (stamp files, or images) are shuffled and walked in order; a source joins the support
    set while one of its categories still needs support sources (up to ``max_shots``, leaving at
    least ``query_fraction`` of the category's sources and at least one for queries), else the
    query set. Every instance of a source is on the same side.

    Args:
        instances: The dataset's ground truth.
        max_shots: The largest shot count that will be taught.
        seed: Random seed of the shuffle and of the held-out choice.
        held_out: Number of categories never taught.
        query_fraction: Least share of each category's sources kept for queries.
        never_taught: Categories that are never taught whatever the seed (a hard benchmark's
            distractors, listed in its ``info["distractor_categories"]``), besides the
            ``held_out`` ones drawn from the others.

    Example:
        >>> gts = [GroundTruth(i, i, c, f"{c}{i % 4}", 1.0)
        ...        for i, c in enumerate("aaaaaaaabbbbbbbb")]
        >>> s = split_instances(gts, max_shots=2, seed=0)
        >>> sorted(len(v) for v in s.support.values()), len(s.query)
        ([4, 4], 8)
    """
    rng = np.random.default_rng([seed, 20260])
    fixed = sorted({g.category for g in instances} & set(never_taught))
    categories = sorted({g.category for g in instances} - set(fixed))
    if held_out < 0 or held_out > len(categories) - 2:
        raise OptionError(
            "held_out", f"{held_out} leaves fewer than 2 of the {len(categories)} categories "
            "to teach; lower it"
        )
    drawn = rng.choice(categories, size=held_out, replace=False)
    held = sorted(fixed + [str(c) for c in drawn])
    by_source: dict[str, list[GroundTruth]] = defaultdict(list)
    by_id = {gt.id: gt for gt in instances}
    for gt in instances:
        by_source[gt.source].append(gt)
    sources_of: dict[str, set[str]] = defaultdict(set)
    for gt in instances:
        sources_of[gt.category].add(gt.source)
    target = {}
    for category, sources in sources_of.items():
        n = len(sources)
        keep_for_query = max(1, math.ceil(query_fraction * n))
        target[category] = max(0, min(max_shots, n - keep_for_query))
    order = sorted(by_source)
    order = [order[i] for i in rng.permutation(len(order))]
    taken: dict[str, int] = defaultdict(int)
    support_sources: dict[str, list[str]] = defaultdict(list)
    query: list[int] = []
    for source in order:
        members = by_source[source]
        cats = {g.category for g in members} - set(held)
        if any(taken[c] < target[c] for c in cats):
            for c in cats:
                taken[c] += 1
                support_sources[c].append(source)
        else:
            query.extend(g.id for g in members if g.category not in held)
    support: dict[str, list[int]] = {}
    for category in sorted(support_sources):
        # Round-robin over the sources: one instance of each, then a second of each, ...
        lists = [[g.id for g in by_source[s] if g.category == category]
                 for s in support_sources[category]]
        lists = [[ids[i] for i in rng.permutation(len(ids))] for ids in lists]
        depth = max(len(ids) for ids in lists)
        support[category] = [ids[r] for r in range(depth) for ids in lists if r < len(ids)]
    unknown = [g.id for g in instances if g.category in held]
    # A category with a single source cannot be both taught and asked: leave it out.
    query = [i for i in query if by_id[i].category in support]
    return Split(held, support, sorted(query), sorted(unknown))


def draw_split(instances: Sequence[GroundTruth], max_shots: int, seed: int, held_out: int = 0,
               never_taught: Sequence[str] = (), teach_images: set[int] | None = None) -> Split:
    """Return the split the dataset's kind asks for.

    ``teach_images`` None: category level (:func:`split_instances`); else the ids of an
    instance-level dataset's teaching pictures (:func:`~.instance_split.split_views`).
    """
    if teach_images is None:
        return split_instances(instances, max_shots, seed, held_out, never_taught=never_taught)
    return split_views(instances, teach_images, max_shots, seed, held_out,
                       never_taught=never_taught)


def _teach_images(dataset: CocoDataset) -> set[int] | None:
    """Return an instance dataset's teaching pictures (None at category level)."""
    return teaching_images(dataset) if dataset_kind(dataset.info) == "instance" else None


def _describe(component: Any) -> str:
    """Return a cache key for a segmenter: its own repr when it has one (dataclasses do).

    Without one, the object's identity is part of the key, so two differently configured
    instances of one class never share cached segments.
    """
    if component is None:
        return "none"
    if type(component).__repr__ is not object.__repr__:
        return repr(component)
    return f"{type(component).__name__}:{getattr(component, 'name', '')}:{id(component)}"


def _fade_description(detector: Any) -> dict[str, Any]:
    from sam_detect.fading import describe_fade

    return describe_fade(getattr(detector, "fade_strategy", None))


def _check_detector(detector: Any) -> None:
    for method in ("segment", "embed_masks", "classify", "add_embeddings", "labels",
                   "remove_label", "detect"):
        if not callable(getattr(detector, method, None)):
            raise SamDetectError(
                f"evaluate() needs a SAMDetect-like detector; it has no {method}()")
    if detector.labels():
        raise SamDetectError(
            "evaluate() teaches and then removes examples, so it needs a detector whose store is "
            "empty; pass a detector with a fresh memory store (the default)"
        )


def _clear(detector: Any) -> None:
    from sam_detect.classifier import BACKGROUND_LABEL

    for label in list(detector.labels()):
        detector.remove_label(label)
    store = getattr(detector, "vector_store", None)
    if store is not None and store.count():  # known background is not listed as a label
        store.remove(label=BACKGROUND_LABEL)


@dataclass
class Vectors:
    """What one pass over the images computes (through the cache).

    Attributes:
        gt: Ground-truth id -> embedding of its ground-truth mask.
        pred: Ground-truth id -> embedding of the predicted segment matched to it.
        teach: Ground-truth id -> ``(views, dim)``: what teaching it stores, when the embedder
            stores several views per taught example (:meth:`SAMDetect.add_examples`); else empty.
        matched_iou: Ground-truth id -> IoU of its matched segment.
        n_segments: Segments per image.
        embed_key: (embedder name, fade JSON), the cache key part of the embeddings.
        seg_key: The segmenter's cache key.
        fade: The fade description.
    """

    gt: dict[int, np.ndarray]
    pred: dict[int, np.ndarray]
    teach: dict[int, np.ndarray]
    matched_iou: dict[int, float]
    n_segments: list[int]
    embed_key: tuple[str, str]
    seg_key: str
    fade: dict[str, Any]


def _compute_vectors(detector: Any, dataset: CocoDataset, instances: list[GroundTruth],
                     image_ids: list[int], groups: set[str], cache: EvaluationCache,
                     iou_threshold: float, progress: bool) -> Vectors:
    """Segment each image and embed its ground-truth masks and matched segments (cached)."""
    from tqdm import tqdm

    dataset_key = str(dataset.json_path.resolve())
    seg_key = _describe(getattr(detector, "segmenter", None))
    fade = _fade_description(detector)
    embed_key = (getattr(getattr(detector, "embedder", None), "name", "unknown"),
                 json.dumps(fade, sort_keys=True))
    by_image: dict[int, list[GroundTruth]] = defaultdict(list)
    for gt in instances:
        by_image[gt.image_id].append(gt)

    need_segments = bool(groups & {"segmentation", "end_to_end"})
    teach = _teach_images(dataset) or set()  # teaching pictures are not scenes: not segmented
    need_embeddings = bool(groups & {"classification", "unknown", "end_to_end",
                                     "embedding_quality"})
    gt_vectors: dict[int, np.ndarray] = {}
    teach_vectors: dict[int, np.ndarray] = {}  # ground-truth id -> its taught views
    pred_vectors: dict[int, np.ndarray] = {}  # ground-truth id -> embedding of its matched segment
    matched_iou: dict[int, float] = {}
    n_segments: list[int] = []
    for image_id in tqdm(image_ids, desc="evaluate", disable=not progress):
        gts = by_image.get(image_id, [])
        image = None
        masks: dict[int, np.ndarray] = {}

        def get_image() -> np.ndarray:
            nonlocal image
            if image is None:
                image = dataset.load_image(image_id)
            return image

        def gt_mask(ann_id: int) -> np.ndarray:
            if ann_id not in masks:
                masks[ann_id] = dataset.mask(ann_id)
            return masks[ann_id]

        matches: list[tuple[int, int, float]] = []
        rles: list[dict[str, Any]] = []
        if need_segments and image_id not in teach:
            key = (dataset_key, image_id, seg_key)
            if key not in cache.segments:
                segments = detector.segment(get_image())
                cache.segments[key] = (encode_masks([s.mask for s in segments]),
                                       [float(s.score) for s in segments])
            rles = cache.segments[key][0]
            n_segments.append(len(rles))
            if gts:
                gt_rles = encode_masks([gt_mask(g.id) for g in gts])
                matches = greedy_match(iou_matrix(rles, gt_rles), iou_threshold)
            for _, g_index, iou in matches:
                matched_iou[gts[g_index].id] = iou
        if not need_embeddings or not gts:
            continue
        todo_gt = [g for g in gts if (dataset_key, image_id, "gt", g.id, *embed_key)
                   not in cache.embeddings]
        todo_pred = [(p, gts[g].id) for p, g, _ in matches
                     if (dataset_key, image_id, seg_key, p, *embed_key) not in cache.embeddings]
        if "end_to_end" not in groups:
            todo_pred = []
        if todo_gt or todo_pred:
            from pycocotools import mask as mask_utils

            batch = [gt_mask(g.id) for g in todo_gt]
            batch += [mask_utils.decode(rles[p]).astype(bool) for p, _ in todo_pred]
            vectors = np.asarray(detector.embed_masks(get_image(), batch), np.float32)
            for g, vector in zip(todo_gt, vectors[:len(todo_gt)]):
                cache.embeddings[(dataset_key, image_id, "gt", g.id, *embed_key)] = vector
            for (p, _), vector in zip(todo_pred, vectors[len(todo_gt):]):
                cache.embeddings[(dataset_key, image_id, seg_key, p, *embed_key)] = vector
        for g in gts:
            gt_vectors[g.id] = cache.embeddings[(dataset_key, image_id, "gt", g.id, *embed_key)]
        # an embedder that stores several views per taught example: teach those views (of
        # the teaching pictures only, at instance level: nothing else is taught)
        views_of = tuple(getattr(getattr(detector, "embedder", None), "teach_views", ()))
        if len(views_of) > 1 and callable(getattr(detector, "embed_mask_views", None)) \
                and groups & {"classification", "unknown", "end_to_end"} \
                and (not teach or image_id in teach):
            todo = [g for g in gts if (dataset_key, image_id, views_of, g.id, *embed_key)
                    not in cache.embeddings]
            views = detector.embed_mask_views(get_image(), [gt_mask(g.id) for g in todo]) \
                if todo else None
            for g, found in zip(todo, [] if views is None else views):
                cache.embeddings[(dataset_key, image_id, views_of, g.id, *embed_key)] = found
            for g in gts:
                teach_vectors[g.id] = cache.embeddings[
                    (dataset_key, image_id, views_of, g.id, *embed_key)]
        if "end_to_end" in groups:
            for p, g, _ in matches:
                pred_vectors[gts[g].id] = cache.embeddings[
                    (dataset_key, image_id, seg_key, p, *embed_key)]

    return Vectors(gt_vectors, pred_vectors, teach_vectors, matched_iou, n_segments, embed_key,
                   seg_key, fade)


def evaluate(
    detector: Any,
    dataset_path: str | Path,
    metrics: Sequence[str] | None = None,
    shots: Sequence[int] = (1, 3, 5, 10),
    seeds: int = 5,
    held_out: int = 0,
    iou_threshold: float = 0.5,
    latency_images: int = 10,
    max_images: int | None = None,
    seed: int = 0,
    cache: EvaluationCache | None = None,
    progress: bool = False,
) -> EvaluationReport:
    """Evaluate ``detector`` on a COCO dataset; return an :class:`EvaluationReport`.

    The steps: check the arguments, load the instances, segment and embed once
    (:func:`_compute_vectors`, cached), then measure each group from those vectors.

    Args:
        detector: A :class:`~sam_detect.SAMDetect` whose store is empty (it is filled and emptied
            again for each shot count and seed).
        dataset_path: The dataset folder (with ``annotations.json``) or the JSON file.
        metrics: Groups to measure (default all): ``segmentation``, ``classification``,
            ``unknown``, ``end_to_end``, ``embedding_quality``, ``latency``; the aliases
            ``accuracy`` (the three accuracy groups) and ``inference_time`` (latency) work too.
        shots: Examples taught per category.
        seeds: Number of random support/query splits; intervals are over these.
        held_out: Categories never taught, to measure unknown rejection.
        iou_threshold: IoU at which a predicted segment matches a ground-truth one.
        latency_images: Images run through ``detector.detect`` for the stage timings.
        max_images: Use only the first ``max_images`` images (quick runs).
        seed: Base seed; split ``i`` uses ``seed + i``.
        cache: Reuse segments and embeddings across calls (see :class:`EvaluationCache`).
        progress: Show a progress bar on stderr.

    Returns:
        ``dataset``, ``config``, and per group: ``segmentation`` (``recall``, ``mean_iou``,
        ``precision``, ``segments_per_image``, ``recall_by_background``), ``few_shot`` (one row
        per shot count: ``accuracy``, ``class_averaged``, ``end_to_end``, ``unknown_rejection``,
        ``false_unknown`` (known objects called unknown), ``closed_set_accuracy`` and
        ``closed_set_end_to_end`` (the vote without the unknown threshold),
        ``one_taught_others_unknown`` / ``one_taught_recognised`` (ONE category taught at a
        time: other categories' instances left unknown, its own queries recognised), ``ece``
        (expected calibration error of ``confidence``), each an :class:`Interval` over seeds;
        ``per_class`` means, ``reliability`` bins and the ``unknown_roc``),
        ``embedding_quality`` (``nn_agreement``, ``silhouette``), ``latency_ms`` (per stage
        ``{"median", "p95", "n"}``) and ``runs`` (the per-seed values, for paired comparisons).

    Raises:
        SamDetectError: for a missing or unusable dataset, bad arguments, or a non-empty store.

    Example:
        >>> from sam_detect import SAMDetect
        >>> report = evaluate(SAMDetect(), "benchmark/", shots=[1, 5])  # doctest: +SKIP
        >>> report.segmentation["recall"], report.row(5).metric("accuracy").mean  # doctest: +SKIP
        0.653
    """
    started = time.perf_counter()
    require_extra("scipy", "eval", "evaluate()")
    require_extra("sklearn", "eval", "evaluate()")
    groups = resolve_metrics(metrics)
    shots = sorted({int(k) for k in shots})
    if not shots or shots[0] < 1:
        raise OptionError("shots", f"must be positive integers, got {shots}")
    if seeds < 1:
        raise OptionError("seeds", f"must be at least 1, got {seeds}")
    if not 0.0 < iou_threshold <= 1.0:
        raise SamDetectError(f"the IoU threshold must be in (0, 1], got {iou_threshold}")
    _check_detector(detector)
    dataset, image_ids, instances = _load_instances(dataset_path, max_images)
    never_taught = list(dataset.info.get("distractor_categories") or [])
    teach = _teach_images(dataset)
    scenes = [g for g in instances if g.image_id not in (teach or ())]
    categories = sorted({g.category for g in instances})
    if (len(set(categories) - set(never_taught)) - held_out < 2
            and groups - {"segmentation", "latency"}):
        raise SamDetectError(
            f"the dataset has {len(categories)} categories; few-shot classification needs at "
            f"least 2 taught (with --held-out {held_out})"
        )
    cache = cache if cache is not None else EvaluationCache()
    vectors = _compute_vectors(detector, dataset, instances, image_ids, groups, cache,
                               iou_threshold, progress)
    gt_vectors, pred_vectors = vectors.gt, vectors.pred
    matched_iou, n_segments = vectors.matched_iou, vectors.n_segments
    embed_key, seg_key, fade = vectors.embed_key, vectors.seg_key, vectors.fade

    report = EvaluationReport(
        dataset={"path": str(dataset.root), "images": len(image_ids),
                 "instances": len(instances), "categories": categories,
                 "kind": dataset_kind(dataset.info), "split": dataset.info.get("split"),
                 "teaching_images": len(teach or ()),
                 "dropped_annotations": len(dataset.dropped)},
        config={
            "segmenter": getattr(getattr(detector, "segmenter", None), "name", seg_key),
            "embedder": embed_key[0],
            "fade": fade,
            "store": type(getattr(detector, "vector_store", None)).__name__,
            "top_k": getattr(detector, "default_top_k", None),
            "unknown_threshold": getattr(detector, "unknown_threshold", None),
            "open_set_margin": getattr(getattr(detector, "classifier", None), "margin", None),
            "shots": shots,
            "seeds": seeds,
            "seed": seed,
            "held_out": held_out,
            "never_taught": never_taught,
            "support": "teaching pictures" if teach else (
                "other views of the object" if dataset_kind(dataset.info) == "instance"
                else "other photos of the category"),
            "iou_threshold": iou_threshold,
        })
    if "segmentation" in groups:
        report.segmentation = _segmentation_report(dataset, scenes, matched_iou, n_segments)
    if groups & {"classification", "unknown", "end_to_end"}:
        report.few_shot, report.runs = _few_shot_report(
            detector, instances, gt_vectors, pred_vectors, shots, seeds, seed, held_out, groups,
            never_taught, teach, {**gt_vectors, **vectors.teach})
    if "embedding_quality" in groups:
        report.embedding_quality = _embedding_quality(instances, gt_vectors, teach is not None)
    if "latency" in groups:
        report.latency_ms = _latency_report(detector, dataset, instances, gt_vectors,
                                            [i for i in image_ids if i not in (teach or ())],
                                            shots[-1], seed, latency_images, teach)
    report.elapsed_s = round(time.perf_counter() - started, 3)
    return report


def _embedding_quality(instances: list[GroundTruth], gt_vectors: dict[int, np.ndarray],
                       per_view: bool = False) -> dict[str, Any]:
    ordered = sorted(gt_vectors)
    gt_of = {g.id: g for g in instances}
    vectors = np.stack([gt_vectors[i] for i in ordered])
    labels = [gt_of[i].category for i in ordered]
    # At instance level every view of a label shares its source: only its own image is a copy.
    sources = [f"image:{gt_of[i].image_id}" if per_view else gt_of[i].source for i in ordered]
    return {"nn_agreement": nn_agreement(vectors, labels, sources),
            "silhouette": silhouette_cosine(vectors, labels)}


def _segmentation_report(
    dataset: CocoDataset,
    instances: list[GroundTruth],
    matched_iou: dict[int, float],
    n_segments: list[int],
) -> dict[str, Any]:
    found = [g.id in matched_iou for g in instances]
    by_background: dict[str, list[bool]] = defaultdict(list)
    for gt, ok in zip(instances, found):
        background = dataset.image_info(gt.image_id).get("background")
        if background is not None:
            by_background[str(background)].append(ok)
    total_segments = int(sum(n_segments))
    return {
        "recall": float(np.mean(found)),
        "mean_iou": float(np.mean(list(matched_iou.values()))) if matched_iou else None,
        "precision": len(matched_iou) / total_segments if total_segments else None,
        "segments_per_image": float(np.mean(n_segments)) if n_segments else 0.0,
        "matched": len(matched_iou),
        "instances": len(instances),
        "recall_by_background": {k: float(np.mean(v)) for k, v in sorted(by_background.items())},
    }


def _closed_set(detector: Any) -> Any:
    """Return the detector's k-NN vote without an unknown threshold (None: take the top hit)."""
    classifier = getattr(detector, "classifier", None)
    if classifier is None or not hasattr(classifier, "__dataclass_fields__"):
        return None
    return dataclasses.replace(classifier, unknown_threshold=-math.inf, **(
        {"margin": None} if "margin" in classifier.__dataclass_fields__ else {}))


def _predict(detector: Any, vectors: list[np.ndarray],
             closed: Any) -> tuple[list[str | None], list[str | None]]:
    """Return the detector's labels (None = unknown) and the closed-set labels of ``vectors``."""
    if not vectors:
        return [], []
    predictions = detector.classify(np.stack(vectors))
    labels = [p.label for p in predictions]
    if closed is not None:
        forced = [closed.predict(list(p.neighbours)).label for p in predictions]
    else:
        forced = [p.neighbours[0].label if p.neighbours else None for p in predictions]
    return labels, forced


def _share(flags: Sequence[bool]) -> float | None:
    return float(np.mean(flags)) if len(flags) else None


def _open_set_scores(detector: Any, predictions: list[Any]) -> list[float]:
    """Return each prediction's open-set score: its margin, ``-inf`` if unknown regardless.

    Unknown regardless of the margin: nothing taught among the neighbours, below the similarity
    floor, or known background closer.
    """
    threshold = getattr(getattr(detector, "classifier", None), "margin", None)
    threshold = -math.inf if threshold is None else threshold
    scores = []
    for p in predictions:
        margin = float(getattr(p, "margin", math.nan))
        if getattr(p, "candidate", p.label) is None or math.isnan(margin):
            scores.append(-math.inf)
        elif p.label is None and margin >= threshold:
            scores.append(-math.inf)
        else:
            scores.append(margin)
    return scores


def _one_taught(detector: Any, split: Split, instances: list[GroundTruth],
                gt_vectors: dict[int, np.ndarray], k: int,
                teach_vectors: dict[int, np.ndarray] | None = None
                ) -> tuple[float | None, float | None]:
    """Teach ONE category at a time; return (others left unknown, own queries recognised).

    Both are shares averaged over the taught categories.
    """
    others_unknown, recognised = [], []
    queries = set(split.query)
    for category, ids in split.support.items():
        _teach(detector, {category: ids}, gt_vectors if teach_vectors is None else teach_vectors,
               k)
        taught = set(ids[:k])
        own = [g.id for g in instances if g.category == category and g.id in queries]
        rest = [g.id for g in instances if g.category != category and g.id not in taught
                and g.id not in split.teach_only]
        if own:
            labels = [p.label for p in detector.classify(np.stack([gt_vectors[i] for i in own]))]
            recognised.append(float(np.mean([label == category for label in labels])))
        if rest:
            labels = [p.label for p in detector.classify(np.stack([gt_vectors[i] for i in rest]))]
            others_unknown.append(float(np.mean([label is None for label in labels])))
    return (float(np.mean(others_unknown)) if others_unknown else None,
            float(np.mean(recognised)) if recognised else None)


def _few_shot_report(
    detector: Any,
    instances: list[GroundTruth],
    gt_vectors: dict[int, np.ndarray],
    pred_vectors: dict[int, np.ndarray],
    shots: list[int],
    seeds: int,
    seed: int,
    held_out: int,
    groups: set[str],
    never_taught: Sequence[str] = (),
    teach_images: set[int] | None = None,
    teach_vectors: dict[int, np.ndarray] | None = None,
) -> tuple[list[FewShotRow], list[dict[str, Any]]]:
    """Teach and ask for every seed and shot count; return the rows and the per-run values.

    ``teach_vectors`` (default ``gt_vectors``) is what teaching an instance stores (its views).
    """
    teach_vectors = gt_vectors if teach_vectors is None else teach_vectors
    gt_of = {g.id: g for g in instances}
    closed = _closed_set(detector)
    runs: list[dict[str, Any]] = []
    per_class_runs: dict[int, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    pooled: dict[int, dict[str, list[Any]]] = defaultdict(lambda: defaultdict(list))
    for offset in range(seeds):
        split = draw_split(instances, shots[-1], seed + offset, held_out, never_taught,
                           teach_images)
        for k in shots:
            _teach(detector, split.support, teach_vectors, k)
            run: dict[str, Any] = {"seed": seed + offset, "shots": k, "queries": len(split.query)}
            truth = [gt_of[i].category for i in split.query]
            answers: list[tuple[float, bool]] = []  # (confidence, right) of labelled answers
            if "classification" in groups or "unknown" in groups:
                predictions = detector.classify(np.stack([gt_vectors[i] for i in split.query]))
                predicted = [p.label for p in predictions]
                forced = _forced(predictions, closed)
                correct = [p == t for p, t in zip(predicted, truth)]
                per_class: dict[str, list[bool]] = defaultdict(list)
                for t, ok in zip(truth, correct):
                    per_class[t].append(ok)
                run["accuracy"] = _share(correct)
                run["closed_set_accuracy"] = _share([p == t for p, t in zip(forced, truth)])
                run["class_averaged"] = (float(np.mean([np.mean(v) for v in per_class.values()]))
                                         if per_class else None)
                run["false_unknown"] = _share([p is None for p in predicted])
                for category, values in per_class.items():
                    per_class_runs[k][category].append(float(np.mean(values)))
                answers += [(p.confidence, ok) for p, ok in zip(predictions, correct)
                            if p.label is not None]
                pooled[k]["known_scores"] += _open_set_scores(detector, predictions)
            if "unknown" in groups and split.unknown:
                predictions = detector.classify(np.stack([gt_vectors[i] for i in split.unknown]))
                run["unknown_rejection"] = _share([p.label is None for p in predictions])
                answers += [(p.confidence, False) for p in predictions if p.label is not None]
                pooled[k]["unknown_scores"] += _open_set_scores(detector, predictions)
            if answers:
                run["ece"] = reliability(*zip(*answers))[0]
                pooled[k]["answers"] += answers
            if "end_to_end" in groups:
                hits = [i for i in split.query if i in pred_vectors]
                predicted, forced = _predict(detector, [pred_vectors[i] for i in hits], closed)
                labels, forced_labels = dict(zip(hits, predicted)), dict(zip(hits, forced))
                run["end_to_end"] = _share([labels.get(i) == gt_of[i].category
                                            for i in split.query])
                run["closed_set_end_to_end"] = _share([forced_labels.get(i) == gt_of[i].category
                                                       for i in split.query])
            if "unknown" in groups:
                run["one_taught_others_unknown"], run["one_taught_recognised"] = _one_taught(
                    detector, split, instances, gt_vectors, k, teach_vectors)
            runs.append(run)
    _clear(detector)
    rows = []
    for k in shots:
        mine = [r for r in runs if r["shots"] == k]
        row = FewShotRow(shots=k, queries=int(np.mean([r["queries"] for r in mine])))
        for name in PROPORTIONS:
            values = [r[name] for r in mine if r.get(name) is not None]
            if values:
                row.metrics[name] = Interval(**mean_ci(values, bounds=(0.0, 1.0)))
        if per_class_runs.get(k):
            row.per_class = {c: float(np.mean(v)) for c, v in sorted(per_class_runs[k].items())}
        if pooled[k]["answers"]:
            row.reliability = reliability(*zip(*pooled[k]["answers"]))[1]
        row.unknown_roc = unknown_roc(pooled[k]["known_scores"], pooled[k]["unknown_scores"])
        rows.append(row)
    return rows, runs


def _forced(predictions: list[Any], closed: Any) -> list[str | None]:
    """Return the closed-set labels: the vote without any unknown decision."""
    if closed is not None:
        return [closed.predict(list(p.neighbours)).label for p in predictions]
    return [p.neighbours[0].label if p.neighbours else None for p in predictions]


def _latency_report(
    detector: Any,
    dataset: CocoDataset,
    instances: list[GroundTruth],
    gt_vectors: dict[int, np.ndarray],
    image_ids: list[int],
    k: int,
    seed: int,
    n_images: int,
    teach_images: set[int] | None = None,
) -> dict[str, Any]:
    """Run ``detector.detect`` with a taught store; return per-stage median and p95 (ms)."""
    if n_images <= 0:
        return {}
    _clear(detector)
    if gt_vectors:
        split = draw_split(instances, k, seed, teach_images=teach_images)
        for category, ids in split.support.items():
            chosen = [i for i in ids[:k] if i in gt_vectors]
            if chosen:
                detector.add_embeddings(np.stack([gt_vectors[i] for i in chosen]),
                                        [category] * len(chosen))
    timings: dict[str, list[float]] = defaultdict(list)
    objects = []
    detector.detect(dataset.image_path(image_ids[0]))  # warm-up: lazy model loads are not latency
    for image_id in image_ids[:n_images]:
        detections = detector.detect(dataset.image_path(image_id))
        objects.append(len(detections))
        for stage, value in detections.timings_ms.items():
            timings[stage].append(float(value))
    _clear(detector)
    report = {stage: latency_summary(timings[stage]) for stage in STAGES if stage in timings}
    report["objects_per_image"] = float(np.mean(objects)) if objects else 0.0
    return report


def _load_instances(dataset_path: str | Path, max_images: int | None
                    ) -> tuple[CocoDataset, list[int], list[GroundTruth]]:
    dataset = CocoDataset(dataset_path)
    image_ids = dataset.image_ids[:max_images] if max_images else dataset.image_ids
    teach = _teach_images(dataset)
    if teach and max_images:  # the first N scenes, and every teaching picture
        scenes = [i for i in dataset.image_ids if i not in teach][:max_images]
        image_ids = sorted(teach | set(scenes))
    wanted = set(image_ids)
    instances = [g for g in dataset.instances() if g.image_id in wanted]
    if not instances:
        raise SamDetectError(f"{dataset.json_path} has no annotated objects to evaluate")
    return dataset, image_ids, instances


def _teach(detector: Any, support: dict[str, list[int]], vectors: dict[int, np.ndarray],
           k: int) -> None:
    """Store the first ``k`` support instances of each category.

    A ``(views, dim)`` value is one example stored as several views, marked in the payload as
    :meth:`SAMDetect.add_examples` marks them.
    """
    from sam_detect.embedding.base import EXAMPLE_KEY, VIEW_KEY

    _clear(detector)
    names = tuple(getattr(getattr(detector, "embedder", None), "teach_views", ()))
    for category, ids in support.items():
        chosen = [i for i in ids[:k] if i in vectors]
        if chosen:
            rows = [np.atleast_2d(vectors[i]) for i in chosen]
            payloads = [{VIEW_KEY: names[v] if v < len(names) else str(v),
                         EXAMPLE_KEY: str(i)} if len(r) > 1 else {}
                        for i, r in zip(chosen, rows) for v in range(len(r))]
            detector.add_embeddings(np.concatenate(rows), [category] * len(payloads), payloads)


def open_set_scores(detector: Any, dataset_path: str | Path, shots: int = 5, seeds: int = 5,
                    held_out: int = 4, seed: int = 0, max_images: int | None = None,
                    cache: EvaluationCache | None = None) -> list[dict[str, Any]]:
    """Return the open-set scores of every ground-truth query, for fitting the decision.

    For each seed, ``held_out`` categories are never taught and ``shots`` examples of each other
    category are; every query instance of a taught category and every instance of a never-taught
    one is classified. Used by ``bench/tune_open_set.py`` on a tune split.

    Returns:
        One dict per query: ``truth``, ``never_taught``, and the prediction's ``label``,
        ``candidate``, ``margin``, ``lead``, ``share`` and ``confidence``.
    """
    _check_detector(detector)
    dataset, image_ids, instances = _load_instances(dataset_path, max_images)
    cache = cache if cache is not None else EvaluationCache()
    vectors = _compute_vectors(detector, dataset, instances, image_ids, {"classification"},
                               cache, 0.5, False)
    gt_of = {g.id: g for g in instances}
    rows: list[dict[str, Any]] = []
    for offset in range(seeds):
        split = draw_split(instances, shots, seed + offset, held_out,
                           dataset.info.get("distractor_categories") or (), _teach_images(dataset))
        _teach(detector, split.support, {**vectors.gt, **vectors.teach}, shots)
        asked = [(i, False) for i in split.query] + [(i, True) for i in split.unknown]
        predictions = detector.classify(np.stack([vectors.gt[i] for i, _ in asked]))
        for (i, never), p in zip(asked, predictions):
            rows.append({"truth": gt_of[i].category, "never_taught": never, "label": p.label,
                         "candidate": getattr(p, "candidate", p.label),
                         "margin": float(getattr(p, "margin", math.nan)),
                         "lead": float(getattr(p, "lead", math.nan)),
                         "share": float(getattr(p, "share", math.nan)),
                         "confidence": float(p.confidence), "seed": seed + offset})
    _clear(detector)
    return rows
