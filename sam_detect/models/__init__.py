# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Shared helpers for the neural backends (SAM2 segmenter, CLIP embedder).

* :mod:`sam_detect.models.hub` - find a model given a Hugging Face hub id or a local directory,
  download it, and turn every "not there" into one :class:`ModelNotFoundError`.
* :mod:`sam_detect.models.accel` - device, reduced precision (autocast), ``torch.compile`` and
  TensorRT engines cached on disk.
* :mod:`sam_detect.models.mask_nms` - mask boxes, stability scores and mask non-maximum
  suppression in plain torch (torchvision cannot be imported beside the CPU torch build).
* :mod:`sam_detect.models.onnx_cpu` - torch networks exported to ONNX Runtime on the CPU.
* :mod:`sam_detect.models.blas` - one BLAS thread for a frame's small numpy products.

Nothing here imports torch or transformers at package import time.
"""
