# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""The node's parameters come from the option table, as the CLI's flags and the docs do."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("rclpy", reason="needs ROS 2: run scripts/bootstrap.sh")
pytest.importorskip("sam_detect_ros.msg", reason="interfaces not built: run scripts/bootstrap.sh")

from rcl_interfaces.msg import Parameter as ParameterMsg  # noqa: E402
from rcl_interfaces.msg import ParameterType, ParameterValue  # noqa: E402
from rcl_interfaces.srv import SetParameters  # noqa: E402
from sam_detect.cli import detect_parser  # noqa: E402
from sam_detect.errors import OptionError  # noqa: E402
from sam_detect.options import OPTIONS, options_for  # noqa: E402
from sam_detect_ros.demo import synthetic_frame  # noqa: E402
from sam_detect_ros.parameters import (  # noqa: E402
    check_values,
    declared_defaults,
    descriptor,
    detector_options,
    markdown_table,
    PARAMETERS,
    render_error,
    runtime_settings,
)

ROOT = Path(__file__).resolve().parents[2]
TYPES = {bool: ParameterType.PARAMETER_BOOL, int: ParameterType.PARAMETER_INTEGER,
         float: ParameterType.PARAMETER_DOUBLE, str: ParameterType.PARAMETER_STRING,
         list: ParameterType.PARAMETER_STRING_ARRAY}


def test_every_node_option_is_a_parameter_with_its_descriptor() -> None:
    assert list(PARAMETERS) == [o.name for o in options_for("node")]
    for name, param in PARAMETERS.items():
        option, result = param.option, descriptor(name)
        assert result.name == name and result.type == TYPES[option.type], name
        assert type(param.default) is option.type, name
        assert result.description.startswith(option.help), name
        assert result.additional_constraints == ("" if option.runtime
                                                 else "restart the node to change it"), name
        ranges = list(result.floating_point_range) + list(result.integer_range)
        if option.type in (int, float) and option.high is not None:
            (span,) = ranges
            assert span.to_value == option.high, name
            assert span.from_value <= option.low and span.from_value <= param.default, name
        else:
            assert ranges == [], name


def test_the_node_gains_the_options_it_lacked() -> None:
    assert {"precision", "compile", "tensorrt", "embedding_cache_size",
            "qdrant_batch_size"} <= set(PARAMETERS)
    assert not {"publish_overlay", "image_qos"} & {o.name for o in options_for("cli")}


def test_cli_help_and_parameter_descriptions_come_from_the_same_table() -> None:
    actions = {a.dest: a for a in detect_parser()._actions
               if isinstance(a, argparse.Action) and a.option_strings}
    shared = [o for o in OPTIONS if {"cli", "node"} <= o.fronts]
    assert len(shared) >= 20
    for option in shared:
        cli_help, node_help = actions[option.name].help, descriptor(option.name).description
        assert cli_help.startswith(option.help) and node_help.startswith(option.help), (
            option.name)


@pytest.mark.parametrize("name, value, message", [
    ("sigma", -5.0, "sigma must be a positive number, got -5.0"),  # the fade is hard_crop
    ("context", -2.0, "context must be at least 0"),
    ("precision", "fp8", "precision must be one of fp32, fp16, bf16, got 'fp8'"),
    ("image_qos", "fast", "image_qos must be one of sensor_data, reliable"),
    ("top_k", 0, "top_k must be at least 1, got 0"),
    ("history_size", 0, "history_size must be at least 1"),
])
def test_bad_values_name_the_parameter(name: str, value: Any, message: str) -> None:
    with pytest.raises(OptionError) as caught:
        check_values({**declared_defaults(), name: value})
    assert render_error(caught.value).startswith(message)


def test_unset_values_become_none_and_reach_the_library() -> None:
    values = declared_defaults()
    assert (values["precision"], values["clip_model"], values["min_fade"]) == ("", "", -1.0)
    options = detector_options(values)
    assert (options.precision, options.clip_model, options.min_fade) == (None, None, None)
    assert (options.compile, options.tensorrt) == (False, False)
    values.update(precision="bf16", min_fade=0.2, unknown_threshold=-0.5)
    options = detector_options(values)
    assert (options.precision, options.min_fade, options.unknown_threshold) == (
        "bf16", 0.2, None)


def test_runtime_settings_are_the_library_runtime_options() -> None:
    settings = runtime_settings(declared_defaults())
    assert set(settings) == {o.name for o in options_for("library") if o.runtime}
    assert settings["min_fade"] is None and settings["max_instances"] == 20
    assert runtime_settings(declared_defaults(), {"top_k", "history_size"}) == {"top_k": 5}


def test_the_docs_table_matches_the_table() -> None:
    # After adding an option: python -m sam_detect_ros.parameters prints the table to paste.
    lines = (ROOT / "docs" / "ros.md").read_text().splitlines()
    start = lines.index("| parameter | type | default | runtime | description |")
    table = lines[start:lines.index("", start)]
    assert "\n".join(table) == markdown_table()
    assert [line.split("`")[1] for line in table[2:]] == list(PARAMETERS)


def set_parameters(harness: Any, **values: Any) -> list[Any]:
    """Set parameters through the node's parameter service, as `ros2 param set` does."""
    fields = {bool: "bool_value", int: "integer_value", float: "double_value",
              str: "string_value"}
    parameters = []
    for name, value in values.items():
        parameter_value = ParameterValue(type=TYPES[type(value)])
        setattr(parameter_value, fields[type(value)], value)
        parameters.append(ParameterMsg(name=name, value=parameter_value))
    return list(harness.call(SetParameters, "set_parameters", parameters=parameters).results)


def send(harness: Any, index: int) -> Any:
    """Publish synthetic frame ``index`` and return its InstanceArray."""
    return harness.client.send(synthetic_frame(index), index)[0]


def test_runtime_parameters_reach_the_detector(harness: Any) -> None:
    detector = harness.node.detector
    # Untracked, so that each frame's crops reach the embedder (tracks reuse embeddings).
    results = set_parameters(harness, embedding_cache_size=50, qdrant_batch_size=2,
                             tracking=False)
    assert all(r.successful for r in results), [r.reason for r in results]
    assert (detector.embedding_cache.capacity, detector.qdrant_batch_size) == (50, 2)
    first = send(harness, 0)
    misses = detector.embedding_cache.misses
    assert misses == len(first.instances) > 0
    send(harness, 0)  # the same frame again: every crop from the cache
    assert detector.embedding_cache.stats()["hits"] == misses
    (result,) = set_parameters(harness, precision="bf16")
    assert not result.successful and "restart the node to change precision" in result.reason
