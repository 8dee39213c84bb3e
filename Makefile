# The README names these targets. Everything installs into .venv on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The CPU wheel of torch 2.13.0 is what CI and the tests use. GPU hosts can override it,
# e.g. `make run TORCH_SPEC="torch>=2.2,<3"` to take PyPI's default (CUDA) build.
TORCH_SPEC ?= torch==2.13.0

.PHONY: setup run test lint typecheck unit bench train-default clean

# uv installs what pip would in a fraction of the time (63 s -> 14 s from a clean clone on
# 2 cores: it downloads and unpacks in parallel). It does not read pip's configuration, so
# the folders pip is told to look in for wheels (a local CPU build of torch, on this
# project's machines) are passed on.
FIND_LINKS = $(sort $(PIP_FIND_LINKS) $(shell $(PYTHON) -m pip config get global.find-links 2>/dev/null))
UV_INSTALL = $(BIN)/uv pip install --quiet --python $(BIN)/python \
	$(addprefix --find-links ,$(FIND_LINKS))

# Python caches the bytecode of what it imports, unless PYTHONDONTWRITEBYTECODE is set (as
# on this project's machines): then every bot, trainer and test worker would compile
# torch's modules again (~3 s of CPU each). Letting the first import write the cache
# costs a few seconds once; compiling all of site-packages at install took 22 s.
unexport PYTHONDONTWRITEBYTECODE

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet uv
	$(UV_INSTALL) "$(TORCH_SPEC)"
	$(UV_INSTALL) -e ".[dev,postgres]"
	touch $@

setup: $(BIN)/.installed

run: setup
	$(BIN)/python -m bot

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check model bot tests benchmarks migrations

typecheck: setup
	$(BIN)/mypy

# --maxschedchunk 2: xdist's default hands a worker up to half of what is left per
# worker at once (~140 tests), so one worker ended up with the last quarter's slow tests
# and ran alone for 4 of the suite's 8 minutes; two at a time keeps the workers finishing
# together (8:13 -> 5:30 in one afternoon's runs).
unit: setup
	$(BIN)/python -m pytest -q -n 3 --maxschedchunk 2 --durations=20

# mypy runs beside the suite: its workers still wait on sockets and processes at times
test: lint
	@$(MAKE) --no-print-directory -j2 typecheck unit

bench: setup
	$(BIN)/python -m benchmarks.sampling
	$(BIN)/python -m benchmarks.engine
	$(BIN)/python -m benchmarks.bot_load burst --users 200
	$(BIN)/python -m benchmarks.bot_load retrain

# The shipped default model (data/README.md): the exact command, seed and thread count
# that made data/default-model.pt; about 30 min on one CPU core (early stopping ends it
# near step 10,000 of the 12,000 planned). The checkpoint records the command, the seed
# and the corpus SHA-256; the .sha256 file is what the bot checks before serving it, and
# write_checksum makes both world-readable (the image's bot user reads them).
train-default: setup
	OMP_NUM_THREADS=1 $(BIN)/python -m model train --corpus data/arabic_text.txt \
		--out data/default-model.pt --recipe fit --hidden-size 384 --embed-size 64 \
		--dropout 0.45 --weight-drop 0.3 --steps 12000 --time-budget 0 \
		--val-fraction 0.05 --test-fraction 0.1 --seed 1337 --progress none
	$(BIN)/python -c "from model.shipped import write_checksum; write_checksum('data/default-model.pt')"

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
