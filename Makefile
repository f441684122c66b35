# One-command set-up: every target creates .venv and installs the project when needed.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
TORCH_SPEC ?= torch==2.13.0
STAMP := $(VENV)/.installed
NOTEBOOKS := $(wildcard notebooks/*.ipynb)

.PHONY: install train test test-long test-unit test-notebooks lab figures screenshots bench play clean

$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install --quiet "$(TORCH_SPEC)"
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

## train: the main job: a hockey training run; on a GPU the guide's defaults, on a CPU Config.cpu() (--preset auto)
train: $(STAMP)
	$(PY) -m dreamer_edu train --preset auto --opponent weak --seed 42 --use_dreamsmooth $(ARGS)

## test: unit tests (the `long` ones aside: see test-long), then every notebook in quick mode (nbval)
test: $(STAMP)
	SDL_VIDEODRIVER=dummy MPLBACKEND=Agg DREAMER_EDU_QUICK=1 $(PY) -m pytest -q -m "not long" tests
ifneq ($(NOTEBOOKS),)
	SDL_VIDEODRIVER=dummy MPLBACKEND=Agg DREAMER_EDU_QUICK=1 $(PY) -m pytest -q --nbval-lax --nbval-current-env notebooks
endif

## test-long: the tests too long for CI (notebook 08's full-mode training run and its checklist, the learner on Pendulum-v1)
test-long: $(STAMP)
	SDL_VIDEODRIVER=dummy MPLBACKEND=Agg $(PY) -m pytest -q -m long tests

## lab: JupyterLab on your own copies of the notebooks in my_notebooks/ (made on first use, never overwritten;
## full-mode figures go to my_notebooks/figures/). LAB_ARGS adds options, e.g. LAB_ARGS="--no-browser --port=8899"
LAB_DIR := my_notebooks
LAB_ARGS ?=
lab: $(STAMP)
	$(PY) lab/prepare.py notebooks $(LAB_DIR)
	JUPYTER_CONFIG_PATH="$(CURDIR)/lab$${JUPYTER_CONFIG_PATH:+:$$JUPYTER_CONFIG_PATH}" \
		$(VENV)/bin/jupyter lab --ServerApp.root_dir=$(LAB_DIR) $(LAB_ARGS)

## figures: regenerate the committed figures/ by running notebooks in full mode (long: hours on a CPU). The
## executed copies go to build/figure-runs/; notebooks/*.ipynb are not modified. One notebook:
## make figures FIGURE_NOTEBOOKS=notebooks/05_two_hot_symlog.ipynb
FIGURE_NOTEBOOKS ?= $(NOTEBOOKS)
FIGURES_DIR ?= $(CURDIR)/figures
figures: $(STAMP)
	SDL_VIDEODRIVER=dummy MPLBACKEND=Agg DREAMER_EDU_QUICK=0 DREAMER_EDU_FIGURES="$(FIGURES_DIR)" \
		$(VENV)/bin/jupyter nbconvert --to notebook --execute --ExecutePreprocessor.timeout=-1 \
		--output-dir build/figure-runs $(FIGURE_NOTEBOOKS)
	SDL_VIDEODRIVER=dummy $(PY) -m dreamer_edu play --opponent weak --episodes 3 --gif "$(FIGURES_DIR)/demo.gif"

## screenshots: run every notebook in quick mode in JupyterLab in a headless Chromium (apt install chromium), move
## each explorer's sliders and save screenshots and a report per notebook to build/screenshots/; fails on any
## error or warning. SCREENSHOT_ARGS adds options, e.g. SCREENSHOT_ARGS="--notebooks 03 05"
SCREENSHOT_ARGS ?=
screenshots: $(STAMP)
	$(PY) -c "import playwright" 2>/dev/null || $(PY) -m pip install --quiet playwright
	SDL_VIDEODRIVER=dummy $(PY) lab/screenshots.py $(SCREENSHOT_ARGS)

bench: $(STAMP)
	SDL_VIDEODRIVER=dummy $(PY) benchmarks/env_speed.py
	$(PY) benchmarks/train_speed.py --amp

## play: three games of a random policy vs the weak bot, one recorded to my_notebooks/figures/demo.gif (not in git)
play: $(STAMP)
	SDL_VIDEODRIVER=dummy $(PY) -m dreamer_edu play --opponent weak --episodes 3 --gif $(LAB_DIR)/figures/demo.gif

clean:
	rm -rf $(VENV) runs .pytest_cache
