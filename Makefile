# nested.hosts — one entry point for newcomers, developers and CI.
#   make demo   set up this machine and provision nesting to depth 3, then print the report
#   make test   set up this machine and run every check (lint, sanity, unit, Molecule)
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
VENV ?= $(CURDIR)/.venv
export PATH := $(VENV)/bin:$(PATH)
export ANSIBLE_FORCE_COLOR ?= 0
export PY_COLORS ?= 0
PYTEST_ARGS ?=

.PHONY: setup setup-demo demo demo-clean test lint sanity unit unit-py39 integration fleet docs docs-check changelog changelog-check bench soak clean

setup:
	bash scripts/setup.sh

# Only what the demo needs (its apt packages and requirements-demo.txt): a fresh machine's first
# `make demo` downloads about half of what `make setup` does. `make test` adds the rest.
setup-demo:
	bash scripts/setup.sh --demo

demo: setup-demo
	ansible-playbook -i playbooks/inventory/localhost.yml playbooks/demo.yml

demo-clean: setup-demo
	ansible-playbook -i playbooks/inventory/localhost.yml playbooks/demo_clean.yml

# The full suite. Each step stops the run on failure; pytest prints the summary line last.
test: setup lint sanity docs-check changelog-check unit-py39
	pytest -rs -p no:cacheprovider --durations=30 tests/unit tests/integration $(PYTEST_ARGS)

# Static checks of the whole tree. Each tool is pinned in requirements.txt (shellcheck from apt).
lint:
	ruff check plugins tests benchmarks scripts
	yamllint --strict .
	bash scripts/mypy.sh
	bash scripts/shellcheck.sh
	bash scripts/pyfloor.sh
	ansible-lint --profile production --offline

sanity:
	bash scripts/sanity.sh

unit: setup
	pytest -rs -p no:cacheprovider tests/unit $(PYTEST_ARGS)

# Module code on the oldest Python here (PyPy 3.9; managed hosts run 3.8 and 3.9): the module_utils
# tests in-process and the module tests with PyPy 3.9 as the modules' interpreter.
unit-py39: setup
	bash scripts/unit-py39.sh $(PYTEST_ARGS)

integration: setup
	pytest -rs -p no:cacheprovider tests/integration $(PYTEST_ARGS)

# site.yml on two modern QEMU guests at once over SSH (dind and node methods), one report for both.
fleet: setup
	NH_FLEET_GUESTS=1 pytest -rs -s -p no:cacheprovider tests/integration/test_fleet_guests.py $(PYTEST_ARGS)

# Module, plugin and role pages in docs/reference/, rendered by antsibull-docs (scripts/docs.sh).
docs:
	bash scripts/docs.sh

# Render again into a temp dir and diff (exit 1 naming stale pages); lint the DOCUMENTATION strings.
docs-check:
	bash scripts/docs.sh --check
	antsibull-docs lint-collection-docs --plugin-docs --validate-collection-refs dependent .

# CHANGELOG.rst from changelogs/ with antsibull-changelog (scripts/changelog.sh; docs/dev/DESIGN.md).
changelog:
	bash scripts/changelog.sh

# Lint the fragments and fail when CHANGELOG.rst is stale; CHANGELOG_BASE=<ref> also requires a
# fragment for user-visible changes since that ref (CI sets it to the target branch).
changelog-check:
	bash scripts/changelog.sh --check

# BENCH_NODE_IMAGES="IMG_BEFORE IMG_AFTER" makes bench_node.py measure both node images in one run
# and print the after/before ratios (default: the node image the demo and tests build). The image
# before comes first: by default the one commit 1a29eed built, the last before the boot-work trims.
BENCH_NODE_IMAGES ?= nested-hosts/node:bookworm
BENCH_NODE_ARGS ?= --baseline-ref 1a29eed
bench: setup
	for b in benchmarks/bench_*.py; do [ "$$b" = benchmarks/bench_node.py ] || python "$$b"; done
	python benchmarks/bench_node.py $(foreach i,$(BENCH_NODE_IMAGES),--image $(i)) $(BENCH_NODE_ARGS)

# Start and remove SOAK_ARGS nodes repeatedly and check nothing leaks (default 20 nodes x 5 rounds).
soak: setup
	python benchmarks/soak_nodes.py $(SOAK_ARGS)

clean:
	rm -rf .ansible .pytest_cache .ruff_cache build
