# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""``python -m sam_detect`` runs the ``sam-detect`` command."""

import sys

from sam_detect.cli import main

sys.exit(main())
