# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""The evaluation core: measure a detector it is given on a COCO dataset.

:mod:`~sam_detect.evaluation.core.evaluator` (:func:`evaluate`), its metrics
(:mod:`~sam_detect.evaluation.core.metrics`), its frozen report types
(:mod:`~sam_detect.evaluation.core.report`) and COCO reading and writing
(:mod:`~sam_detect.evaluation.core.coco`). The core takes a detector and never imports one;
:meth:`sam_detect.SAMDetect.evaluate` calls it. The front ends that build detectors, datasets and
pages (the ``evaluate``/``bench``/``dashboard`` commands, the sweep, the benchmark generators) live
one folder up, in :mod:`sam_detect.evaluation`.
"""
