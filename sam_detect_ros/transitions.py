# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Lifecycle transitions asked for by id: refuse the ones the current state does not have.

``ros2 lifecycle set`` names a transition by label, and rclpy answers an unknown label with
``success: false``. launch_ros and nav2's lifecycle manager send ids, and rclpy hands an id the
current state has no transition for straight to rcl, whose ``RCLError: Transition is not
registered`` escapes the service callback and the executor: the node stopped answering and
died. :func:`refusal` says, before rcl is asked, whether a requested transition exists from the
current state, and why not; the node answers ``success: false`` with it and lives on.

No rclpy inside: the state machine's transitions are passed in as ``(id, label)`` pairs, and
:func:`guard_change_state` wraps the node's ``~/change_state`` callback given to it.

Example:
    >>> unconfigured = [(1, "configure"), (5, "shutdown")]
    >>> refusal(3, "", "unconfigured", unconfigured)
    "transition 3 (activate) is not available in state 'unconfigured'; available: 1 \
(configure), 5 (shutdown)"
    >>> refusal(1, "", "unconfigured", unconfigured) is None
    True
    >>> refusal(0, "configure", "unconfigured", unconfigured) is None  # by label: rclpy's way
    True
"""

from __future__ import annotations

from typing import Any, Callable, Iterable

#: lifecycle_msgs/Transition ids and their labels, for messages only.
TRANSITION_LABELS = {
    0: "create", 1: "configure", 2: "cleanup", 3: "activate", 4: "deactivate",
    5: "shutdown", 6: "shutdown", 7: "shutdown", 8: "destroy",
}


def refusal(transition_id: int, label: str, state: str,
            available: Iterable[tuple[int, str]]) -> str | None:
    """Return why a ChangeState request cannot be carried out, or None when it can.

    Args:
        transition_id: The request's ``transition.id``.
        label: The request's ``transition.label`` (rclpy looks a non-empty label up itself, and
            answers an unknown one with ``success: false``).
        state: The current state's label.
        available: ``(id, label)`` of the transitions the current state has.
    """
    if label:
        return None
    available = list(available)
    if any(transition_id == known for known, _ in available):
        return None
    name = TRANSITION_LABELS.get(transition_id, "unknown")
    listed = ", ".join(f"{known} ({text})" for known, text in available) or "none"
    return (f"transition {transition_id} ({name}) is not available in state '{state}'; "
            f"available: {listed}")


def guard_change_state(service: Any, state: Callable[[], str],
                       available: Callable[[], Iterable[tuple[Any, ...]]],
                       warn: Callable[[str], None]) -> None:
    """Make ``~/change_state`` answer a transition the current state lacks with a refusal.

    Args:
        service: The lifecycle node's ``change_state`` service (rclpy's
            ``LifecycleNode._service_change_state``); None: nothing to guard.
        state: Returns the current state's label.
        available: Returns the current state's transitions, ``(id, label, ...)`` each.
        warn: Logs why a request was refused.
    """
    if service is None:
        return
    carry_out = service.callback

    def change_state(request: Any, response: Any) -> Any:
        transitions = [(t[0], t[1]) for t in available()]
        why = refusal(request.transition.id, request.transition.label, state(), transitions)
        if why is None:
            try:
                return carry_out(request, response)
            except Exception as error:  # refused by rcl after all: answer, and live on
                why = f"{error!r}"
        warn(f"change_state refused: {why}")
        response.success = False
        return response

    service.callback = change_state


__all__ = ["TRANSITION_LABELS", "guard_change_state", "refusal"]
