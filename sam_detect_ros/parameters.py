# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""The node's ROS parameters, made from the option table (:data:`sam_detect.options.OPTIONS`).

No node code lives here: descriptors, declared defaults, checking values, and turning them into
:class:`~sam_detect.options.DetectorOptions` and runtime settings for
:meth:`sam_detect.SAMDetect.update`. The parameter of an option has the option's name, so an
:class:`~sam_detect.errors.OptionError` already names the parameter a user sets.

ROS parameters cannot be unset, so a few values stand for "the default" (the option's
``node_unset``): an empty ``clip_model``, ``qdrant_url`` or ``precision``, a negative
``unknown_threshold`` or ``min_fade``.

Example:
    >>> values = declared_defaults()
    >>> values["top_k"], values["min_fade"], detector_options(values).min_fade
    (5, -1.0, None)
    >>> check_values({**values, "sigma": -5.0})
    Traceback (most recent call last):
    ...
    sam_detect.errors.OptionError: sigma must be a positive number, got -5.0
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from rcl_interfaces.msg import (
    FloatingPointRange,
    IntegerRange,
    ParameterDescriptor,
    ParameterType,
)
from sam_detect.errors import SamDetectError
from sam_detect.options import DetectorOptions, NOT_SET, Option, options_for

RESTART = "restart the node to change it"
_TYPES = {bool: ParameterType.PARAMETER_BOOL, int: ParameterType.PARAMETER_INTEGER,
          float: ParameterType.PARAMETER_DOUBLE, str: ParameterType.PARAMETER_STRING,
          list: ParameterType.PARAMETER_STRING_ARRAY}


@dataclass(frozen=True)
class Param:
    """One node parameter: the option it comes from, seen as ROS sees it."""

    option: Option

    @property
    def default(self) -> Any:
        """Return the value the node declares (never None)."""
        return self.option.node_value

    @property
    def runtime(self) -> bool:
        """Return True when the parameter changes while the node runs."""
        return self.option.runtime

    @property
    def bounds(self) -> tuple[float, float] | None:
        """Return the ROS range: the option's bounds, widened to its ``node_unset`` value."""
        low, high = self.option.low, self.option.high
        if low is None or high is None:
            return None
        unset = self.option.node_unset
        if unset is not NOT_SET and isinstance(unset, (int, float)) and unset < low:
            low = unset
        return low, high

    @property
    def description(self) -> str:
        """Return the parameter's description: the option's help, its values, its unset value."""
        option = self.option
        text = option.help
        allowed = option.allowed()
        if allowed is not None and not all(str(value) in text for value in allowed):
            text += f"; one of {', '.join(map(str, allowed))}"
        if option.node_unset is not NOT_SET and option.none_means:
            unset = ('""' if option.node_unset == "" else
                     "negative" if isinstance(option.node_unset, (int, float))
                     and option.node_unset < 0 else repr(option.node_unset))
            text += f"; {unset}: {option.none_means}"
        return text


PARAMETERS: dict[str, Param] = {option.name: Param(option) for option in options_for("node")}


def descriptor(name: str) -> ParameterDescriptor:
    """Return the ROS descriptor of parameter ``name`` (type, description, range)."""
    param = PARAMETERS[name]
    option = param.option
    result = ParameterDescriptor(
        name=name, type=_TYPES[option.type], description=param.description,
        additional_constraints="" if param.runtime else RESTART)
    bounds = param.bounds
    if bounds is not None and option.type is float:
        result.floating_point_range = [FloatingPointRange(from_value=float(bounds[0]),
                                                          to_value=float(bounds[1]))]
    elif bounds is not None and option.type is int:
        result.integer_range = [IntegerRange(from_value=int(bounds[0]), to_value=int(bounds[1]),
                                             step=1)]
    return result


def declared_defaults() -> dict[str, Any]:
    """Return ``{name: declared default}`` of every parameter."""
    return {name: param.default for name, param in PARAMETERS.items()}


def library_value(name: str, value: Any) -> Any:
    """Return the option value that a parameter value stands for (None for ``node_unset``)."""
    option = PARAMETERS[name].option
    return None if option.is_node_unset(value) else value


def check_values(values: dict[str, Any]) -> None:
    """Check every parameter value by the option table, whichever fade is active.

    Raises:
        OptionError: naming the parameter and what is wrong with it.
    """
    for name, param in PARAMETERS.items():
        param.option.check(library_value(name, values[name]))
    detector_options(values)


def detector_options(values: dict[str, Any]) -> DetectorOptions:
    """Translate parameter values into the core's :class:`~sam_detect.options.DetectorOptions`.

    Raises:
        OptionError: for a value its option cannot take.
    """
    library = {name: library_value(name, value) for name, value in values.items()
               if name in PARAMETERS and "library" in PARAMETERS[name].option.fronts}
    # store_path is the edge store's folder; for qdrant a path would mean client-local mode.
    if library.get("store") != "edge":
        library["store_path"] = None
    return DetectorOptions.from_mapping(library)


def runtime_settings(values: dict[str, Any], names: Any = None) -> dict[str, Any]:
    """Return the keywords of :meth:`sam_detect.SAMDetect.update` for the runtime parameters.

    Args:
        values: A value for every parameter.
        names: Only these parameters (e.g. the ones that changed); all when None.
    """
    return {name: library_value(name, values[name]) for name, param in PARAMETERS.items()
            if param.runtime and "library" in param.option.fronts
            and (names is None or name in names)}


def declare_parameters(node: Any) -> None:
    """Declare every parameter on ``node``; a list with an empty default is a typed, unset one."""
    from rclpy.parameter import Parameter

    for name, param in PARAMETERS.items():
        default = param.default
        if isinstance(default, list) and not default:
            default = Parameter.Type.STRING_ARRAY
        node.declare_parameter(name, default, descriptor(name))


def read_values(node: Any) -> dict[str, Any]:
    """Return ``{name: value}`` of every parameter as ``node`` has it now."""
    from rclpy.parameter import Parameter

    values = {}
    for name, param in PARAMETERS.items():
        if isinstance(param.default, list):  # an unset list parameter is the empty list
            values[name] = list(node.get_parameter_or(name, Parameter(name)).value or [])
        else:
            values[name] = node.get_parameter(name).value
    return values


def updated_values(current: dict[str, Any], parameters: list[Any],
                   configured: bool) -> dict[str, Any]:
    """Return ``current`` with a ``ros2 param set``'s ``parameters`` applied, checked.

    Args:
        current: The node's values now.
        parameters: The ``rclpy.Parameter`` objects being set (others than ours are ignored).
        configured: Whether the node is configured: only runtime parameters may change then,
            and the values are checked; unconfigured, configure reads and checks them all.

    Raises:
        SamDetectError: with the reason to refuse the change.
    """
    values = dict(current)
    for parameter in parameters:
        if parameter.name not in PARAMETERS:
            continue
        value = parameter.value
        if isinstance(PARAMETERS[parameter.name].default, list):
            value = list(value or [])
        if configured and not PARAMETERS[parameter.name].runtime and (
                value != current[parameter.name]):
            raise SamDetectError(f"restart the node to change {parameter.name} "
                                 "(or cleanup and configure it again)")
        values[parameter.name] = value
    if configured:
        check_values(values)
    return values


def build_detector(values: dict[str, Any], log: Callable[[str], Any] | None = None) -> Any:
    """Build the :class:`sam_detect.SAMDetect` that the parameter values describe.

    Args:
        values: A value for every name in :data:`PARAMETERS`.
        log: Receives one line saying which embedder ``auto`` chose.

    Raises:
        SamDetectError: for an invalid option, a missing extra or a store that cannot be opened.
    """
    from sam_detect.detector import SAMDetect

    check_values(values)
    return SAMDetect.from_options(detector_options(values), log=log)


def render_error(error: Exception) -> str:
    """Return an error's one line; an option it names is the parameter of the same name."""
    if isinstance(error, SamDetectError):
        return error.render(lambda option: option)
    return str(error)


def markdown_table() -> str:
    """Return docs/ros.md's parameter table (``python -m sam_detect_ros.parameters`` prints it)."""
    kinds = {bool: "bool", int: "int", float: "double", str: "string", list: "string[]"}

    def shown(value: Any) -> str:
        if isinstance(value, bool):
            return "`true`" if value else "`false`"
        if isinstance(value, list):
            return f"`[{', '.join(value)}]`"
        return '`""`' if value == "" else f"`{value}`"

    rows = ["| parameter | type | default | runtime | description |",
            "| --- | --- | --- | --- | --- |"]
    rows += [f"| `{name}` | {kinds[param.option.type]} | {shown(param.default)} | "
             f"{'yes' if param.runtime else 'no'} | {param.description.replace('|', '/')} |"
             for name, param in PARAMETERS.items()]
    return "\n".join(rows)


__all__ = ["PARAMETERS", "Param", "build_detector", "check_values", "declare_parameters",
           "declared_defaults", "descriptor", "detector_options", "library_value",
           "markdown_table", "read_values", "render_error", "runtime_settings", "updated_values"]


if __name__ == "__main__":
    print(markdown_table())
