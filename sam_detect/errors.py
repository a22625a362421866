# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Errors raised by sam_detect.

Every error a user can cause (bad image, bad mask, bad label, unreachable store, a store filled by
another embedder) is a :class:`SamDetectError` with a one-line message that says what to do.
The CLI turns them into exit code 2 and the ROS node into ``success: false``.
"""


class SamDetectError(ValueError):
    """A user-facing error: the message is one line that explains the fix."""


class OptionError(SamDetectError):
    """An option has a value it cannot take.

    ``option`` names the option as the library knows it (``top_k``); each front end renders it
    the way its users know it (``--top-k`` on the command line, the ROS parameter in the node)
    with :meth:`render`.

    Example:
        >>> error = OptionError("top_k", "must be at least 1, got 0")
        >>> str(error), error.render("--top-k")
        ('top_k must be at least 1, got 0', '--top-k must be at least 1, got 0')
    """

    def __init__(self, option: str, problem: str) -> None:
        self.option = option
        self.problem = problem
        super().__init__(f"{option} {problem}")

    def render(self, name: str) -> str:
        """Return the message with the option named ``name`` (a flag, a parameter, a field)."""
        return f"{name} {self.problem}"


class InvalidImageError(SamDetectError):
    """The image is unreadable, empty, or of an unsupported shape or dtype."""


class InvalidMaskError(SamDetectError):
    """The mask is empty or does not match the image."""


class InvalidLabelError(SamDetectError):
    """The label is empty or not a string."""


class StoreError(SamDetectError):
    """The vector store cannot be opened, reached or written."""


class IncompatibleStoreError(StoreError):
    """The store was filled by another embedder (name or dimension differ)."""


class DiskFullError(StoreError):
    """The disk under a store lacks the space the next step needs; nothing was written."""


class IncompatibleEmbedderError(OptionError, IncompatibleStoreError):
    """The store was filled by another embedder; ``option`` names the setting that selects it."""


class MissingDependencyError(SamDetectError):
    """An optional backend is not installed; the message names the extra to install."""


def require_extra(module: str, extra: str, feature: str) -> None:
    """Raise :class:`MissingDependencyError` when ``module`` cannot be imported.

    Args:
        module: Importable module name, e.g. ``"transformers"``.
        extra: The pip extra that provides it, e.g. ``"sam2"``.
        feature: What the user asked for, e.g. ``"--segmenter sam2"``.
    """
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise MissingDependencyError(
            f"{feature} needs the '{module}' package: pip install 'sam_detect_ros[{extra}]'"
        )
