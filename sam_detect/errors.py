# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Errors raised by sam_detect.

Every error a user can cause (bad image, bad mask, bad label, unreachable store, a store filled by
another embedder) is a :class:`SamDetectError` with a one-line message that says what to do.
The CLI turns them into exit code 2 and the ROS node into ``success: false``.

The library names options as the option table does (``store_path``, ``top_k``), never as one front
end spells them: a message written with ``{store_path}`` and ``options=("store_path",)`` reads
``store_path`` from the library, and each front end renders it its own way with
:meth:`SamDetectError.render` (``--store-path`` on the command line, the parameter ``store_path``
in the node).
"""

from __future__ import annotations

from typing import Callable, Sequence


class SamDetectError(ValueError):
    """A user-facing error: the message is one line that explains the fix.

    Args:
        message: The line; an option it names is written ``{name}`` (e.g. ``{store_path}``).
        options: The options the message names that way.

    Example:
        >>> error = StoreError("the store is in use; use another {store_path}",
        ...                    options=("store_path",))
        >>> str(error), error.render(lambda name: "--" + name.replace("_", "-"))
        ('the store is in use; use another store_path', 'the store is in use; use another \
--store-path')
    """

    def __init__(self, message: str = "", *args: object, options: Sequence[str] = ()) -> None:
        self.template = str(message)
        self.options = tuple(options)
        super().__init__(self.render(lambda name: name), *args)

    def render(self, name: str | Callable[[str], str]) -> str:
        """Return the message with each option named as a front end names it.

        Args:
            name: A function from an option's library name to the front end's (``top_k`` ->
                ``--top-k``), or one name for the first option the message names.
        """
        first = self.options[0] if self.options else None
        naming = name if callable(name) else (lambda option: name if option == first else option)
        text = self.template
        for option in self.options:
            text = text.replace("{" + option + "}", naming(option))
        return text


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

    def __init__(self, option: str, problem: str, options: Sequence[str] = ()) -> None:
        self.option = option
        self.problem = problem
        # The option leads the line; ``problem`` may name others as ``{name}`` (``options``).
        super().__init__("{%s} %s" % (option, problem),
                         options=(option, *(o for o in options if o != option)))


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


def require_extra(module: str, extra: str, feature: str, options: Sequence[str] = ()) -> None:
    """Raise :class:`MissingDependencyError` when ``module`` cannot be imported.

    Args:
        module: Importable module name, e.g. ``"transformers"``.
        extra: The pip extra that provides it, e.g. ``"sam2"``.
        feature: What the user asked for, e.g. ``"{segmenter} sam2"`` or ``"evaluate()"``.
        options: The options ``feature`` names as ``{name}`` (see :class:`SamDetectError`).
    """
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise MissingDependencyError(
            f"{feature} needs the '{module}' package: pip install 'sam_detect_ros[{extra}]'",
            options=options)
