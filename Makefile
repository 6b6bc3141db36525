# lapsrn-edu: one entry point for every command. `make help` lists them.
#   make          set everything up, then run the course (the main job)
#   make test     set everything up, then run the tests
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# torch is pinned exactly so that this machine takes its local CPU wheel; for a CUDA build run
#   make setup TORCH_INDEX_URL=https://download.pytorch.org/whl/cu128   (pick yours on pytorch.org)
TORCH_SPEC ?= torch==2.13.0
TORCH_INDEX_URL ?=
KERNEL_NAME ?= lapsrn-edu
STAMP := $(VENV)/.lapsrn-edu-installed
# Jupyter refuses to start as root (a container, CI) unless told that this is meant
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)

.DEFAULT_GOAL := course
.PHONY: help setup course course-quick instructor instructor-quick wheel instructor-kit assignment slides demo test test-slow test-all lint lab bench notebooks clean

help:  ## list the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-13s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "$(TORCH_SPEC)" $(if $(TORCH_INDEX_URL),--index-url $(TORCH_INDEX_URL))
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	$(BIN)/python -m ipykernel install --sys-prefix --name $(KERNEL_NAME) --display-name "Python (lapsrn-edu)" > /dev/null
	touch $@

setup: $(STAMP)  ## create .venv, install the package (editable) and register the Jupyter kernel

# --fetch: download the official weights, Set5 and Set14 if missing (verified; skipped when present,
# as under CI's LAPSRN_EDU_DATA); offline it says so in one line and the lessons use the embedded images
course: $(STAMP)  ## fetch the course data if missing, run the whole course (default mode) into build/; open build/index.html
	$(BIN)/lapsrn-edu course --fetch --out build

course-quick: $(STAMP)  ## the same in quick mode (what CI runs)
	$(BIN)/lapsrn-edu course --fetch --quick --out build

instructor: $(STAMP)  ## the instructor build into build-instructor/: solutions, answers, the lecturer's guide (not for students)
	$(BIN)/lapsrn-edu course --fetch --instructor --out build-instructor

instructor-quick: $(STAMP)  ## the same in quick mode
	$(BIN)/lapsrn-edu course --fetch --instructor --quick --out build-instructor

# setuptools packs what an earlier build left in build/lib too: cleared first, so that no answer key
# from an older wheel slips into the students' one
wheel: $(STAMP)  ## build dist/lapsrn_edu-*.whl, the file students install where they run a lesson on its own (Colab, VS Code); no answers in it
	rm -rf build/lib build/bdist.*
	$(BIN)/python -m pip wheel --quiet --no-deps --no-build-isolation -w dist .
	@ls dist/lapsrn_edu-*.whl

instructor-kit: $(STAMP)  ## build dist/lapsrn_edu_instructor-*.whl: answer keys, lecturer's guide, grading probes (lecturers only)
	$(BIN)/python tools/instructor_kit.py --out dist

assignment: $(STAMP)  ## the lessons as nbgrader assignments into build-assignment/ (release/ for students; source/ is not)
	$(BIN)/lapsrn-edu assignment --out build-assignment

slides: $(STAMP)  ## reveal.js slides of every lesson into build/slides/ (runs the course first if build/ has none)
	@test -f build/index.html || $(MAKE) --no-print-directory course
	$(BIN)/lapsrn-edu slides --out build

demo: $(STAMP)  ## upscale the embedded sample images at x2/x4/x8 into build/demo.png
	$(BIN)/lapsrn-edu demo --out build/demo.png

# The slow tests (whole course builds, the installed wheel, the browser) carry the marker "slow";
# `make test` leaves them out so that it takes minutes, `make test-slow` runs only them and CI
# runs both, so nothing is lost.
test: $(STAMP)  ## run the tests (all but the slow ones: a few minutes on 2 cores)
	$(BIN)/python -m pytest -m "not slow"

test-slow: $(STAMP)  ## run only the slow tests (course builds, the wheel, the browser): under half an hour on 2 cores
	$(BIN)/python -m pytest -m slow

test-all: $(STAMP)  ## run every test, slow ones included
	$(BIN)/python -m pytest

# ruff's rules and line length and mypy's settings are in pyproject.toml
LINT_PATHS := lapsrn_edu tests tools benchmarks
lint: $(STAMP)  ## ruff (lint, then format check) and mypy on the package, tests, tools and benchmarks
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS)
	$(BIN)/mypy $(LINT_PATHS)

# The notebooks ask for the kernel "python3"; JUPYTER_PREFER_ENV_PATH makes that the one of .venv
# (its Python) even where a python3 kernel of another Python is registered for the user.
lab: $(STAMP)  ## open JupyterLab on the notebooks, on the Python of .venv ("Python 3 (ipykernel)")
	JUPYTER_PREFER_ENV_PATH=1 $(BIN)/jupyter lab notebooks $(ALLOW_ROOT) --KernelManager.transport_encryption=auto

bench: $(STAMP)  ## print the speed benchmarks (core, inference against onnxruntime/OpenCV, memory, widget redraws)
	$(BIN)/python -m pip install --quiet -e ".[bench]"
	$(BIN)/python benchmarks/bench_core.py
	$(BIN)/python benchmarks/bench_inference.py
	$(BIN)/python benchmarks/bench_memory.py
	$(BIN)/python benchmarks/bench_widgets.py

notebooks: $(STAMP)  ## after editing tools/notebooks/*.md: sync each notebooks/*.ipynb with its source
	$(BIN)/jupytext --sync tools/notebooks/[0-9][0-9]_*.md

clean:  ## remove build outputs (keeps .venv and data)
	rm -rf build build-instructor build-assignment dist .pytest_cache
