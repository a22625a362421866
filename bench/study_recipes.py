# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""The vector variants ``bench/study_embeddings.py study`` scores (one recipe per name)."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from study_variants import (Cache, Whitener, gap, gem, l2, local_similarity, mac,
                            matrix_similarity, rmac, signed_sqrt, views_similarity)

Similarity = Callable[[np.ndarray, np.ndarray], np.ndarray]


def recipes(cache: Cache, reference: Cache | None) -> dict[str, Callable[[], Similarity]]:
    """Return ``{variant name: builder of its similarity}`` for one dataset cache."""
    memo: dict[str, Any] = {}

    def head(c: Cache, view: int = 0) -> np.ndarray:
        key = f"{id(c)}head{view}"
        if key not in memo:
            memo[key] = c.maps("head", view)
        return memo[key]

    def pooled(c: Cache, how: str, view: int = 0) -> np.ndarray:
        if how == "gap":
            return gap(head(c, view))
        if how == "gapm":
            return gap(head(c, view), c.mask("s32", view))
        if how == "gem3":
            return gem(head(c, view), 3.0)
        if how == "gem3m":
            return gem(head(c, view), 3.0, c.mask("s32", view))
        if how == "mac":
            return mac(head(c, view))
        if how == "rmac":
            return rmac(head(c, view))
        if how == "b15":
            return gap(c.maps("block15", view))
        if how == "b14":
            return gap(c.maps("block14", view))
        if how == "b10":
            return gap(c.maps("block10", view))
        raise ValueError(how)

    def plain(how: str, post: Callable[[np.ndarray], np.ndarray] = l2) -> Callable[[], Similarity]:
        return lambda: matrix_similarity(post(pooled(cache, how)))

    def whitened(how: str, shrink: float | None, dims: int | None = None,
                 sqrt: bool = False, power: float = 0.5) -> Callable[[], Similarity]:
        def make() -> Similarity:
            f = (lambda x: l2(signed_sqrt(x))) if sqrt else l2
            w = Whitener.fit(f(pooled(reference, how)), shrink, dims, power)
            return matrix_similarity(w(f(pooled(cache, how))))
        return make

    def multi(parts: tuple[str, ...], weights: tuple[float, ...], centre: bool
              ) -> Callable[[], Similarity]:
        def make() -> Similarity:
            blocks = []
            for how, weight in zip(parts, weights):
                x = l2(pooled(cache, how))
                if centre:
                    x = Whitener.fit(l2(pooled(reference, how)), None)(x)
                blocks.append(weight * x)
            return matrix_similarity(l2(np.concatenate(blocks, axis=1)))
        return make

    def augmented(views: tuple[str, ...], mode: str, centre: bool) -> Callable[[], Similarity]:
        def make() -> Similarity:
            names = cache.views
            w = Whitener.fit(l2(pooled(reference, "gap")), None) if centre else l2
            q = w(pooled(cache, "gap"))
            per_view = np.stack([w(pooled(cache, "gap", names.index(v))) for v in views], 1)
            return views_similarity(q, per_view, mode)
        return make

    def tta(views: tuple[str, ...], centre: bool) -> Callable[[], Similarity]:
        def make() -> Similarity:
            names = cache.views
            w = Whitener.fit(l2(pooled(reference, "gap")), None) if centre else l2
            mean = l2(sum(l2(pooled(cache, "gap", names.index(v))) for v in views))
            return matrix_similarity(w(mean))
        return make

    def local(threshold: float, centre: bool, alpha: float) -> Callable[[], Similarity]:
        def make() -> Similarity:
            maps = head(cache)
            masks = cache.mask("s32")
            mean = None
            if centre:
                r = head(reference)
                mean = r.transpose(0, 2, 3, 1).reshape(-1, r.shape[1]).mean(axis=0)
            cells = []
            for m, x in zip(masks, maps):
                keep = m >= min(threshold, m.max())
                v = x[:, keep].T
                if mean is not None:
                    v = v - mean
                cells.append(l2(v))
            loc = local_similarity(cells)
            glob = matrix_similarity(Whitener.fit(l2(pooled(reference, "gap")), None)(
                l2(pooled(cache, "gap"))) if centre else l2(pooled(cache, "gap")))
            if alpha == 1.0:
                return loc
            return lambda q, s: alpha * loc(q, s) + (1 - alpha) * glob(q, s)
        return make

    def logits(c: Cache, view: int = 0) -> np.ndarray:
        if "fc" not in memo:  # the network's ImageNet classifier layer
            from sam_detect.embedding.efficientnet import load_model

            layer = load_model("cpu")._fc
            memo["fc"] = (layer.weight.detach().numpy(), layer.bias.detach().numpy())
        weight, bias = memo["fc"]
        return pooled(c, "gap", view) @ weight.T + bias

    def semantic(kind: str, centre: bool, weight: float = 1.0) -> Callable[[], Similarity]:
        def make() -> Similarity:
            def vec(c: Cache) -> np.ndarray:
                z = logits(c)
                if kind == "logits":
                    return l2(z)
                p = np.exp(z - z.max(axis=1, keepdims=True))
                p /= p.sum(axis=1, keepdims=True)
                if kind == "sqrtprob":
                    return l2(np.sqrt(p))
                if kind == "concat":
                    return np.concatenate([l2(pooled(c, "gap")), weight * l2(z)], axis=1)
                raise ValueError(kind)
            x = vec(cache)
            if centre:
                x = Whitener.fit(vec(reference), None)(x)
            return matrix_similarity(l2(x))
        return make

    def frame(key: str, both: bool, centre: bool) -> Callable[[], Similarity]:
        def make() -> Similarity:
            if cache.frames is None:
                raise KeyError("no frames.npz")
            q = cache.frames[key]
            s = q if both else pooled(cache, "gem" if key.endswith("gem") else "gap") \
                if key.endswith("gem") is False else gem(head(cache), 3.0)
            if centre:
                ref = l2(gem(head(reference), 3.0) if key.endswith("gem")
                         else pooled(reference, "gap"))
                w = Whitener.fit(ref, None)
                q, s = w(l2(q)), w(l2(s))
            q, s = l2(q), l2(s)
            return lambda a, b: q[a] @ s[b].T
        return make

    def hybrid(key: str, side: int) -> Callable[[], Similarity]:
        """Frame-pooled query vectors for objects whose box is at least ``side`` pixels."""
        def make() -> Similarity:
            big = cache.data["meta_box_side"] >= side
            crops = l2(pooled(cache, "gap"))
            q = np.where(big[:, None], l2(cache.frames[key]), crops)
            print(f"   {side}px: {big.mean():.2f} of objects pooled from the frame")
            return lambda a, b: q[a] @ crops[b].T
        return make

    def viewset(views: tuple[str, ...], pool: str, post: str, mode: str, size: str = ""
                ) -> Callable[[], Similarity]:
        """Teaching-time views from ``views.npz``: stored as points (kNN over all) or max."""
        def make() -> Similarity:
            names = [str(n) for n in np.load(cache.path / f"views{size}.npz")["names"]]
            raw = np.load(cache.path / f"views{size}.npz")[pool]            # (n, v, d)
            ref_raw = np.load(reference.path / f"views{size}.npz")[pool][:, 0]
            if post == "l2":
                f = l2
            elif post == "centre":
                f = Whitener.fit(l2(ref_raw), None)
            elif post.startswith("sqrtw"):
                w = Whitener.fit(l2(signed_sqrt(ref_raw)), float(post[5:]))
                f = lambda x: w(l2(signed_sqrt(x)))  # noqa: E731
            elif post.startswith("w"):
                w = Whitener.fit(l2(ref_raw), float(post[1:]))
                f = lambda x: w(l2(x))  # noqa: E731
            picked = [names.index(v) for v in views]
            stored = np.stack([f(raw[:, i]) for i in picked], axis=1)  # (n, V, d)
            q = stored[:, 0]
            if mode == "max":
                full = np.einsum("qd,svd->qsv", q, stored).max(axis=2)
                return lambda a, b: full[np.ix_(a, b)]
            flat = stored.reshape(-1, stored.shape[-1])
            V = len(views)

            def sim(a: np.ndarray, b: np.ndarray) -> np.ndarray:
                cols = (b[:, None] * V + np.arange(V)[None]).ravel()
                return q[a] @ flat[cols].T
            return sim
        return make

    D4 = ("orig", "flip", "r90", "r180", "r270", "flip+r90", "flip+r180", "flip+r270")
    out: dict[str, Callable[[], Similarity]] = {
        "gap (lite0 today)": plain("gap"),
        "gap masked": plain("gapm"),
        "gem3": plain("gem3"),
        "gem3 masked": plain("gem3m"),
        "mac": plain("mac"),
        "rmac": plain("rmac"),
        "gap sqrt": plain("gap", lambda x: l2(signed_sqrt(x))),
        "block15 gap": plain("b15"),
    }
    if reference is not None:
        out.update({
            "gap centred": whitened("gap", None),
            "gap whiten s0.5": whitened("gap", 0.5),
            "gap whiten s0.8": whitened("gap", 0.8),
            "gap whiten s0.9": whitened("gap", 0.9),
            "gap sqrt centred": whitened("gap", None, sqrt=True),
            "gap sqrt whiten s0.8": whitened("gap", 0.8, sqrt=True),
            "gem3 centred": whitened("gem3", None),
            "gem3 whiten s0.8": whitened("gem3", 0.8),
            "gapm centred": whitened("gapm", None),
            "head+b15 centred": multi(("gap", "b15"), (1.0, 0.5), True),
            "head+b15+b14 centred": multi(("gap", "b15", "b14"), (1.0, 0.5, 0.5), True),
            "aug flip max centred": augmented(("orig", "flip"), "max", True),
            "aug all max centred": augmented(("orig", "flip", "rot+25", "rot-25", "half"),
                                             "max", True),
            "aug all mean centred": augmented(("orig", "flip", "rot+25", "rot-25", "half"),
                                              "mean", True),
            "tta flip centred": tta(("orig", "flip"), True),
            "logits": semantic("logits", False),
            "logits centred": semantic("logits", True),
            "sqrt prob": semantic("sqrtprob", False),
            "sqrt prob centred": semantic("sqrtprob", True),
            "gap+logits centred": semantic("concat", True),
            "gap+0.5logits centred": semantic("concat", True, 0.5),
            "frame416 head q crop s": frame("416_head_avg", False, False),
            "frame416 head both": frame("416_head_avg", True, False),
            "frame640 head q crop s": frame("640_head_avg", False, False),
            "frame640 head both": frame("640_head_avg", True, False),
            "frame640 head q crop s c": frame("640_head_avg", False, True),
            "frame640 gem q crop s c": frame("640_head_gem", False, True),
            "hybrid416 150": hybrid("416_head_avg", 150),
            "hybrid416 200": hybrid("416_head_avg", 200),
            "hybrid416 250": hybrid("416_head_avg", 250),
            "hybrid640 100": hybrid("640_head_avg", 100),
            "hybrid640 150": hybrid("640_head_avg", 150),
            "hybrid640 200": hybrid("640_head_avg", 200),
            "v orig gap l2": viewset(("orig",), "gap", "l2", "points"),
            "v orig gap sqrtw0.8": viewset(("orig",), "gap", "sqrtw0.8", "points"),
            "v orig gem sqrtw0.8": viewset(("orig",), "gem", "sqrtw0.8", "points"),
            "v orig gem w0.8": viewset(("orig",), "gem", "w0.8", "points"),
            "v flip pts gap l2": viewset(("orig", "flip"), "gap", "l2", "points"),
            "v flip pts sqrtw0.8": viewset(("orig", "flip"), "gap", "sqrtw0.8", "points"),
            "v d4 pts gap l2": viewset(D4, "gap", "l2", "points"),
            "v d4 pts sqrtw0.8": viewset(D4, "gap", "sqrtw0.8", "points"),
            "v d4 max sqrtw0.8": viewset(D4, "gap", "sqrtw0.8", "max"),
            "v d4 pts gem sqrtw0.8": viewset(D4, "gem", "sqrtw0.8", "points"),
            "v d4+45 pts sqrtw0.8": viewset(D4 + ("rot+45", "rot-45", "flip+rot+45",
                                                  "flip+rot-45"), "gap", "sqrtw0.8", "points"),
            "v rot4 pts sqrtw0.8": viewset(("orig", "r90", "r180", "r270"), "gap", "sqrtw0.8",
                                           "points"),
            "v d4+half pts sqrtw0.8": viewset(D4 + ("half",), "gap", "sqrtw0.8", "points"),
            "v160 orig l2": viewset(("orig",), "gap", "l2", "points", "160"),
            "v160 orig sqrtw0.8": viewset(("orig",), "gap", "sqrtw0.8", "points", "160"),
            "v192 orig l2": viewset(("orig",), "gap", "l2", "points", "192"),
            "v192 orig sqrtw0.8": viewset(("orig",), "gap", "sqrtw0.8", "points", "192"),
            "v orig gap sqrtw0.5": viewset(("orig",), "gap", "sqrtw0.5", "points"),
            "v orig gap sqrtw0.9": viewset(("orig",), "gap", "sqrtw0.9", "points"),
            "v orig gap sqrtw0.95": viewset(("orig",), "gap", "sqrtw0.95", "points"),
            "local 0.5": local(0.5, False, 1.0),
            "local 0.5 centred": local(0.5, True, 1.0),
            "local+global 0.5 centred": local(0.5, True, 0.5),
        })
    return out
