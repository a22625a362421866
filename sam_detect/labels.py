# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""The one rule for object labels, shared by the library, the CLI, the ROS node and the web UI.

A label is printable text on one line: at most :data:`MAX_LABEL_LENGTH` characters once the
surrounding whitespace is stripped, and no character that :meth:`str.isprintable` refuses. That
keeps out newlines and carriage returns (which forge lines in logs), tabs (which break the
tab-separated ``sam-detect labels`` output), ANSI escapes and other control characters (which
repaint terminals), and invisible format characters such as the bidirectional overrides that
make text read differently than it is stored. Letters of every script, digits, punctuation,
symbols and inner spaces are all fine: ``"tasse à café"``, ``"赤いマグ"``, ``"M6 bolt (zinc)"``.

Rejections never echo the raw label: messages show it escaped, so the error line cannot itself
carry the forged line or escape sequence.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from sam_detect.errors import InvalidLabelError

#: Longest accepted label, in characters (after stripping surrounding whitespace).
MAX_LABEL_LENGTH = 256

__all__ = ["MAX_LABEL_LENGTH", "display_label", "validate_label"]


def _shown(text: str, limit: int = 40) -> str:
    """Return ``text`` quoted and escaped (newlines, escapes...), shortened to ``limit``."""
    shown = repr(text[:limit])
    return shown + ("..." if len(text) > limit else "")


def validate_label(label: Any) -> str:
    r"""Return ``label`` without surrounding whitespace, or raise when it breaks the rule.

    Raises:
        InvalidLabelError: for a non-string, an empty label, one longer than
            :data:`MAX_LABEL_LENGTH`, or one with a character that is not printable; the message
            names the first such character and its position.

    Example:
        >>> validate_label("  blue mug ")
        'blue mug'
        >>> try:
        ...     validate_label("mug\n[INFO] forged")
        ... except InvalidLabelError as error:
        ...     print(error)  # doctest: +ELLIPSIS
        label 'mug\n[INFO] forged' has a line break (U+000A) at position 4; ...
    """
    if not isinstance(label, str):
        raise InvalidLabelError(f"label must be a string, got {type(label).__name__}")
    label = label.strip()
    if not label:
        raise InvalidLabelError("label is empty; give the object a name")
    if len(label) > MAX_LABEL_LENGTH:
        raise InvalidLabelError(
            f"label {_shown(label)} is {len(label)} characters long; the limit is "
            f"{MAX_LABEL_LENGTH}")
    for position, char in enumerate(label, start=1):
        if not char.isprintable():
            raise InvalidLabelError(
                f"label {_shown(label)} has {_describe(char)} (U+{ord(char):04X}) at position "
                f"{position}; a label is printable text on one line")
    return label


def _describe(char: str) -> str:
    if char in "\n\r\v\f\x85\u2028\u2029":
        return "a line break"
    if char == "\t":
        return "a tab"
    if char == "\x1b":
        return "an escape character"
    category = unicodedata.category(char)
    if category == "Cf":
        return "an invisible format character"
    if category.startswith("Z"):
        return "a special space"
    return "a control character"


def display_label(label: Any) -> str:
    r"""Return ``label`` as it can be printed safely: itself when valid, else escaped.

    For labels a store already holds (written before this rule, or by another program), so that
    listing them can neither forge a log line nor break a tab-separated report.

    Example:
        >>> display_label("cup"), display_label("cup\tmug")
        ('cup', "'cup\\tmug'")
    """
    text = str(label)
    try:
        return validate_label(text) if text == text.strip() else repr(text)
    except InvalidLabelError:
        return repr(text)
