# `make run` and `make test` set up everything they need from nothing (Python 3.11+ and make).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SAMPLE_PORT ?= 8000
PAGES ?= 5000
RUNS ?= 3

.PHONY: run test lint clean bench bench-large bench-traps

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[test]'
	touch $(STAMP)

# Archive the bundled sample site, served on loopback under its own name.
run: $(STAMP)
	@$(BIN)/python -m samplesite --host 127.0.0.1 --port $(SAMPLE_PORT) & server=$$!; \
	trap 'kill $$server 2>/dev/null' EXIT; \
	$(BIN)/python -m samplesite.wait 127.0.0.1 $(SAMPLE_PORT) && \
	$(BIN)/archiver crawl http://sample.archiver.test:$(SAMPLE_PORT)/ \
		--output output/sample \
		--resolve sample.archiver.test:$(SAMPLE_PORT):127.0.0.1

test: $(STAMP)
	$(BIN)/ruff check archiver spiders tests bench samplesite
	$(BIN)/lint-imports
	$(BIN)/mypy
	tests/browser/setup.sh
	tests/isolated.sh $(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check archiver spiders tests bench samplesite
	$(BIN)/ruff format --check archiver spiders tests bench samplesite
	$(BIN)/lint-imports
	$(BIN)/mypy

# Crawl a generated site of $(PAGES) pages, served by nginx on loopback, $(RUNS) times each
# with wget and with archiver, and compare them (bench/README.md). Installs nginx and wget
# from Debian if they are missing.
bench: $(STAMP)
	bench/install-deps.sh
	$(BIN)/python -m bench.run --pages $(PAGES) --runs $(RUNS)

# Archive 8 files of 500 MiB, all in flight at once, and one of 2 GiB, served by nginx on
# loopback; check each came whole, digests and replay right, and every process's peak RSS
# (bench/README.md). Needs about 20 GB of free disk.
bench-large: $(STAMP)
	bench/install-deps.sh
	$(BIN)/python -m bench.large

# Crawl the all-traps site (samplesite/traps.py) and print what each trap kind cost, peak RSS,
# run time and whether the crawl ended whole (bench/traps.py); AGAINST=DIR also crawls it with
# the archiver of another checkout, stopped after 300 s.
bench-traps: $(STAMP)
	$(BIN)/python -m bench.traps $(if $(AGAINST),--against $(AGAINST))

clean:
	rm -rf $(VENV) output/*/
