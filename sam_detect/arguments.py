# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""The command line's side of the option table: flags, one-line errors, building a detector.

Every ``sam-detect`` command (:mod:`sam_detect.cli`, :mod:`sam_detect.evaluation.cli`) makes its
flags here from :data:`sam_detect.options.OPTIONS`, builds its detector with
:func:`build_detector`, and prints errors with :func:`render_error`, which names options as
flags (``--top-k``) where the library names them by option (``top_k``).

Example:
    >>> from sam_detect.errors import OptionError
    >>> render_error(OptionError("top_k", "must be at least 1, got 0"))
    '--top-k must be at least 1, got 0'
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, NoReturn

from sam_detect.detector import SAMDetect
from sam_detect.errors import SamDetectError
from sam_detect.options import BY_NAME, DetectorOptions, Option, options_for, STORE


class CommandParser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (``PROG: error: ...``) and exit status 2.

    argparse prints its whole usage block before an error; ``--help`` still shows it.
    """

    def error(self, message: str) -> NoReturn:
        """Print ``message`` as one line and exit with status 2."""
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def cli_help(option: Option) -> str:
    """Return the ``--help`` text of an option: the table's help, and what None stands for."""
    if option.default is None and option.none_means:
        return f"{option.help} (default: {option.none_means})"
    return option.help


def add_option_argument(parser: Any, option: Option, **overrides: Any) -> None:
    """Add the flag of one option of the table; ``overrides`` replace argparse settings.

    A command that needs another default for a flag (``evaluate``'s scratch ``--store memory``)
    overrides it here instead of declaring the flag again.
    """
    kwargs: dict[str, Any] = {"dest": option.name, "default": option.default,
                              "help": cli_help(option)}
    if option.type is bool:
        kwargs["action"] = "store_true"
    else:
        kwargs.update(type=option.type, choices=option.allowed())
    parser.add_argument(option.cli_flag, **{**kwargs, **overrides})


def add_option_arguments(parser: argparse.ArgumentParser, group: str) -> None:
    """Add the flags of one group of the option table (:data:`sam_detect.options.OPTIONS`)."""
    section = parser.add_argument_group(group)
    for option in options_for("cli", group):
        add_option_argument(section, option)


def add_store_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the vector store flags (``--store``, ``--store-path``, ``--qdrant-url``...)."""
    add_option_arguments(parser, STORE)


def add_detector_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the model, fade and k-NN flags shared by detection, teaching and evaluation."""
    # Every group of the table but the store's, in the table's order (a new group shows up too).
    groups = dict.fromkeys(o.group for o in options_for("cli") if o.group != STORE)
    for group in groups:
        add_option_arguments(parser, group)


def flag(name: str) -> str:
    """Return the flag of an option or keyword: the table's, else ``--`` and dashes."""
    return BY_NAME[name].cli_flag if name in BY_NAME else "--" + name.replace("_", "-")


def render_error(error: BaseException) -> str:
    """Return an error's line with every option it names written as a flag (``--top-k``)."""
    if isinstance(error, SamDetectError):
        return error.render(flag)
    return str(error)


def open_store_from_args(args: argparse.Namespace) -> Any:
    """Open the vector store the flags describe."""
    from sam_detect.vector_store import store_from_options

    return store_from_options(DetectorOptions.from_mapping(args))


def build_detector(args: argparse.Namespace, store: Any = None) -> SAMDetect:
    """Build a :class:`~sam_detect.SAMDetect` from parsed flags.

    Every option is checked before the store is opened; a ``store`` given stays the caller's
    (see :meth:`~sam_detect.SAMDetect.from_options`).
    """
    options = DetectorOptions.from_mapping(args)
    quiet = getattr(args, "quiet", False)
    return SAMDetect.from_options(
        options, store=store, log=None if quiet else lambda line: print(line, file=sys.stderr))


__all__ = ["CommandParser", "add_detector_arguments", "add_option_argument",
           "add_option_arguments", "add_store_arguments", "build_detector", "cli_help", "flag",
           "open_store_from_args", "render_error"]
