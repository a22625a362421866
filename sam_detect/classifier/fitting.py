# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Keep an open-set decision fitted to the store, off the frame path.

:class:`OpenSetFitter` mirrors what the decision needs of every stored example (its label, its
teaching group, its unit vector and its whitened sketch), refits
:func:`~sam_detect.classifier.open_set.fit_decision` in a background thread whenever the store
changes, and swaps the new :class:`FittedState` in with one assignment. The classify path reads
:meth:`OpenSetFitter.current` once per call: it never waits for a refit (only the very first call
of a detector builds the reference-only decision, the cost the reference set always had), and a
newly taught example is scored at once with the decision fitted before it (its label gets the
operating point of a label taught once) until the refit lands, usually within a frame or two.

Changes made through :class:`~sam_detect.SAMDetect` update the mirror at once (cheap: a sketch
per new vector). Changes made behind its back (another process on a shared Qdrant, a script on
the store) are found by comparing label counts before each refit, or when a neighbour has no
sketch; the mirror is then read again from the store.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from sam_detect.classifier.open_set import (
    FitData, FitSettings, OpenSetModel, Whitening, fit_decision)
from sam_detect.embedding.base import EXAMPLE_KEY

logger = logging.getLogger("sam_detect")


def teaching_group(point_id: Any, payload: dict[str, Any] | None) -> Any:
    """Return what an example was taught with: left out together when the decision is fitted.

    Views of one track (``track_id``) or objects of one picture taught in one call
    (``source`` and ``added``) are one group; so are the teaching-time views of one example
    (the payload's ``"example"`` id, :data:`~sam_detect.embedding.base.EXAMPLE_KEY`, which
    :meth:`~sam_detect.SAMDetect.add_examples` gives every view of an example); anything else
    is its own group.

    Example:
        >>> teaching_group(3, {"track_id": 7, "camera": "left"})
        ('track', 7, 'left')
        >>> teaching_group(3, {"view": "mirror", "example": "5f0c"})
        ('example', '5f0c')
        >>> teaching_group(3, {})
        ('id', 3)
    """
    payload = payload or {}
    if "track_id" in payload:
        return ("track", payload["track_id"], payload.get("camera", ""))
    if "source" in payload and "added" in payload:
        return ("picture", str(payload["source"]), str(payload["added"]))
    if EXAMPLE_KEY in payload:
        return ("example", str(payload[EXAMPLE_KEY]))
    return ("id", point_id)


@dataclass(frozen=True)
class FittedState:
    """One fitted decision and the sketches it scores neighbours with (swapped as a whole).

    Attributes:
        model: The fitted :class:`~sam_detect.classifier.open_set.OpenSetModel`.
        key: The reference set it was fitted with (embedder and fade fingerprint).
        reference: The unit reference vectors.
        reference_sketch: Their sketches.
        sketches: Stored example id -> sketch (grows as examples are taught).
        generation: The store change this state has seen up to.
    """

    model: OpenSetModel
    key: str
    reference: np.ndarray
    reference_sketch: np.ndarray
    sketches: dict[Any, np.ndarray] = field(default_factory=dict)
    generation: int = 0

    @property
    def whitening(self) -> Whitening:
        """Return the whitening of :attr:`model`."""
        return self.model.whitening


@dataclass
class _Example:
    label: str
    group: Any
    vector: np.ndarray


class OpenSetFitter:
    """Refit the open-set decision of one store and embedder whenever the store changes.

    Args:
        store: The :class:`~sam_detect.vector_store.VectorStore`.
        reference: Returns ``(key, unit reference vectors)`` for the current embedder and fade.
        settings: Where the operating points go.
        background: Refit in a background thread; False (the library's default) refits when
            the decision is next used after a change, in the caller's thread: deterministic,
            and a burst of changes costs one fit. The node turns it on, so frames never wait.
        whiten: Returns whether to whiten on the reference set; False for an embedder whose
            vectors are whitened on generic objects already (:meth:`Whitening.identity`).
    """

    def __init__(self, store: Any, reference: Callable[[], tuple[str, np.ndarray]],
                 settings: FitSettings | None = None, background: bool = False,
                 whiten: Callable[[], bool] = lambda: True) -> None:
        self.store = store
        self.reference = reference
        self.settings = settings or FitSettings()
        self.background = background
        self.whiten = whiten
        self._state: FittedState | None = None
        self._mirror: dict[Any, _Example] | None = None  # None: read the store first
        self._lock = threading.Lock()  # guards the mirror and the generation counters
        self._fitted = threading.Condition(self._lock)
        self._generation = 0  # bumped by every change
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._dirty = False  # without the thread: a change not fitted yet
        self.fits = 0  # how many fits ran (tests, diagnostics)
        self.last_fit_s = 0.0

    # -- the classify path ----------------------------------------------------------------------

    def current(self, count: int | None = None) -> FittedState:
        """Return the latest fitted state.

        With the background thread, never waits for a refit: the first call builds a decision
        from the reference set alone and asks for a fit of the store; a changed fade (another
        reference set) asks for a refit while the state fitted for the old one serves. Without
        it, a change not fitted yet is fitted now.

        Args:
            count: The store's size, when the caller knows it: a size the mirror does not have
                means the store changed behind the detector's back, and it is read again.
        """
        if count is not None:
            with self._lock:
                stale = self._mirror is not None and len(self._mirror) != count
            if stale:
                self._invalidate()
        key, reference = self.reference()
        state = self._state
        if not self.background:
            if state is None or self._dirty or state.key != key:
                self._dirty = False
                self._fit_once()
            return self._state  # type: ignore[return-value]
        if state is None:
            whitening = self._whitening(reference)
            model = fit_decision(FitData(np.zeros((0, reference.shape[1]), np.float32), [], [],
                                         reference), whitening, self.settings)
            state = FittedState(model, key, reference, whitening.sketch(reference), {}, -1)
            with self._lock:
                if self._state is None:
                    self._state = state
                state = self._state
            self.refit()
        elif state.key != key:
            self.refit()
        return state

    def sketches(self, state: FittedState, ids: Sequence[Any]) -> list[np.ndarray | None]:
        """Return the sketch of each stored id under ``state``; fetch what the mirror lacks.

        A missing id was written behind the detector's back (or the mirror is not read yet):
        its vector is read from the store once, and a refit is asked for.
        """
        found = [state.sketches.get(i) for i in ids]
        missing = [i for i, s in zip(ids, found) if s is None and i is not None]
        if missing:
            try:
                examples = self.store.list_examples(ids=list(dict.fromkeys(missing)),
                                                    with_vectors=True)
            except TypeError:  # a custom store without vectors: those neighbours are unscored
                return found
            fetched = {e.id: e for e in examples if e.vector is not None}
            if fetched:
                vectors = np.stack([fetched[i].vector for i in fetched])
                for point_id, sketch in zip(fetched, state.whitening.sketch(vectors)):
                    state.sketches[point_id] = sketch
                found = [state.sketches.get(i) for i in ids]
                self._invalidate()
        return found

    # -- store changes --------------------------------------------------------------------------

    def added(self, ids: Sequence[Any], vectors: np.ndarray, labels: Sequence[str],
              payloads: Sequence[dict[str, Any]]) -> None:
        """Record examples just stored (their sketches are usable at once) and refit."""
        vectors = np.atleast_2d(np.asarray(vectors, np.float32))
        if not len(ids):
            return
        vectors = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        state = self._state
        if state is not None:
            for point_id, sketch in zip(ids, state.whitening.sketch(vectors)):
                state.sketches[point_id] = sketch
        with self._lock:
            if self._mirror is not None:
                for point_id, vector, label, payload in zip(ids, vectors, labels, payloads):
                    self._mirror[point_id] = _Example(label, teaching_group(point_id, payload),
                                                      vector)
            self._generation += 1
        self.refit()

    def removed(self, ids: Sequence[Any] | None = None, label: str | None = None) -> None:
        """Record removed examples (by id, or all of ``label``) and refit."""
        with self._lock:
            if self._mirror is not None:
                doomed = set(ids or ())
                if label is not None:
                    doomed |= {i for i, e in self._mirror.items() if e.label == label}
                for point_id in doomed:
                    self._mirror.pop(point_id, None)
            self._generation += 1
        self.refit()

    def relabelled(self, ids: Sequence[Any], label: str) -> None:
        """Record examples moved to ``label`` and refit."""
        with self._lock:
            if self._mirror is not None:
                for point_id in ids:
                    old = self._mirror.get(point_id)
                    if old is not None:  # a new record: a running fit keeps its snapshot
                        self._mirror[point_id] = _Example(label, old.group, old.vector)
            self._generation += 1
        self.refit()

    def labels_of(self, ids: Sequence[Any]) -> set[str]:
        """Return the labels the mirror knows for ``ids`` (before they change)."""
        with self._lock:
            mirror = self._mirror or {}
            return {mirror[i].label for i in ids if i in mirror}

    def _invalidate(self) -> None:
        with self._lock:
            self._mirror = None
            self._generation += 1
        self.refit()

    # -- fitting --------------------------------------------------------------------------------

    def refit(self) -> None:
        """Ask for a refit: in the background thread, or now without one."""
        if self._closed:
            return
        if not self.background:
            self._dirty = True
            return
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._loop, name="sam_detect-open-set",
                                            daemon=True)
            self._thread.start()
        self._wake.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the decision reflects every change made so far; False on timeout.

        For callers that are not the frame path: a teaching service before it answers, a
        script or an evaluation before it measures.
        """
        self.current()
        with self._fitted:
            target = self._generation
            return self._fitted.wait_for(
                lambda: self._closed or (self._state is not None
                                         and self._state.generation >= target), timeout)

    def close(self) -> None:
        """Stop the background thread (a pending fit is dropped)."""
        self._closed = True
        self._wake.set()
        with self._fitted:
            self._fitted.notify_all()

    def _whitening(self, reference: np.ndarray) -> Whitening:
        """Return the whitening the decision scores in (fitted on ``reference``, or none)."""
        return Whitening.fit(reference) if self.whiten() else Whitening.identity(
            reference.shape[1])

    def _loop(self) -> None:
        while not self._closed:
            self._wake.wait()
            self._wake.clear()
            if self._closed:
                return
            try:
                self._fit_once()
            except Exception as error:  # the previous decision serves; the next change retries
                logger.warning("open-set refit failed: %r", error)
                time.sleep(0.5)

    def _fit_once(self) -> None:
        started = time.perf_counter()
        with self._lock:
            generation = self._generation
        key, reference = self.reference()
        examples = self._snapshot()
        state = self._state
        whitening = (state.whitening if state is not None and state.key == key
                     else self._whitening(reference))
        ids = list(examples)
        vectors = (np.stack([examples[i].vector for i in ids]) if ids
                   else np.zeros((0, reference.shape[1]), np.float32))
        model = fit_decision(FitData(vectors, [examples[i].label for i in ids],
                                     [examples[i].group for i in ids], reference),
                             whitening, self.settings)
        sketches = dict(zip(ids, whitening.sketch(vectors))) if ids else {}
        if state is not None and state.key == key:  # keep sketches fetched meanwhile
            for point_id, sketch in list(state.sketches.items()):
                sketches.setdefault(point_id, sketch)
        new = FittedState(model, key, reference, whitening.sketch(reference), sketches,
                          generation)
        with self._fitted:
            if self._state is None or self._state.generation <= generation:
                self._state = new
            self._fitted.notify_all()
        self.fits += 1
        self.last_fit_s = time.perf_counter() - started
        logger.debug("open-set decision refitted in %.0f ms: %s", 1e3 * self.last_fit_s,
                     model.summary)

    def _snapshot(self) -> dict[Any, _Example]:
        """Return a copy of the mirror, read again from the store when it may be stale."""
        with self._lock:
            mirror = None if self._mirror is None else dict(self._mirror)
        if mirror is not None:
            counts: dict[str, int] = {}
            for example in mirror.values():
                counts[example.label] = counts.get(example.label, 0) + 1
            try:
                if counts == dict(self.store.labels()):
                    return mirror
            except Exception:  # a closed store: fit what we have
                return mirror
        try:
            examples = self.store.list_examples(with_vectors=True)
        except TypeError:  # a custom store that cannot return vectors: nothing to fit on
            examples = []
        mirror = {e.id: _Example(e.label, teaching_group(e.id, e.payload), e.vector)
                  for e in examples if e.vector is not None}
        with self._lock:
            self._mirror = dict(mirror)
        return mirror


__all__ = ["FittedState", "OpenSetFitter", "teaching_group"]
