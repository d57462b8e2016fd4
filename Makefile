# Local quick start: `make course` (run every notebook, print a summary) and `make test` (unit tests + nbval).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TORCH_PIN = $(shell $(PYTHON) -m helpers.env.pins torch)
NOTEBOOKS := $(sort $(wildcard notebooks/[0-9][0-9]_*.ipynb))
# No downloads from the hub in tests or CI: everything comes from data/ and the tiny profile. (The executed copies of
# `make course` keep their figures: notebooks use the inline backend; tests draw off-screen.)
OFFLINE := HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
HEADLESS := MPLBACKEND=Agg

.PHONY: setup course test rehearsal smoke lab clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==$(TORCH_PIN)
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	$(BIN)/python -m helpers.learner.export fetch-converter
	$(BIN)/python -m helpers.env.cpu_model
	touch $@

# Every notebook, in order, headless, profile detected from the hardware, one shared run directory.
course: $(STAMP)
	$(OFFLINE) $(BIN)/python -m helpers.learner.course $(NOTEBOOKS)

# Unit tests, then nbval on every notebook in order under the tiny profile, sharing one fresh run directory;
# then every notebook once more under the rehearsal profile (the GPU code path on a CPU; outputs not compared).
test: $(STAMP)
	rm -rf runs/test
	$(OFFLINE) $(HEADLESS) WORKBOOK_PROFILE=tiny WORKBOOK_RUN_DIR=$(CURDIR)/runs/test \
	  $(BIN)/python -m pytest tests $(NOTEBOOKS) --nbval-lax --nbval-current-env \
	  --nbval-cell-timeout=600 --nbval-sanitize-with tests/nbval_sanitize.cfg -q -rfE --durations=15
	$(MAKE) rehearsal
	$(MAKE) smoke

# The learner's GPU path rehearsed on a CPU: bf16, a Qwen2.5-shaped stand-in (real tokenizer, tied 151,936-row
# embedding), hub data through the hub code path from a local mirror; helpers.maintainer.rehearsal builds both first
# (once: they are kept in runs/rehearsal-assets; the mirror is rebuilt when the shipped samples change).
rehearsal: $(STAMP)
	rm -rf runs/rehearsal
	$(OFFLINE) $(BIN)/python -m helpers.maintainer.rehearsal
	$(OFFLINE) $(HEADLESS) WORKBOOK_PROFILE=rehearsal WORKBOOK_RUN_DIR=$(CURDIR)/runs/rehearsal \
	  $(BIN)/python -m helpers.learner.course $(NOTEBOOKS) --timeout 900

# Every notebook on the cpu profile's real pretrained model (SmolLM2-135M-Instruct, a second architecture with real
# weights), each stage cut to a few steps (WORKBOOK_SMOKE=1: the code path runs; its numbers mean nothing).
smoke: $(STAMP)
	rm -rf runs/smoke
	$(OFFLINE) $(HEADLESS) WORKBOOK_PROFILE=cpu WORKBOOK_SMOKE=1 WORKBOOK_RUN_DIR=$(CURDIR)/runs/smoke \
	  $(BIN)/python -m helpers.learner.course $(NOTEBOOKS) --timeout 900

# JupyterLab on the notebooks with this environment's kernel (ipywidgets, TensorBoard magics).
lab: $(STAMP)
	$(BIN)/jupyter lab notebooks/

clean:
	rm -rf runs $(VENV)
