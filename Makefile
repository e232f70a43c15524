# wgflow — set-up, demo, tests.
#
#   make demo    train W1-FE on the 8-Gaussian ring for K = 1,3,5,10 and write
#                the plots and the comparison table to runs/ring/
#   make test    cargo fmt --check, clippy -D warnings, and the test suite
#   make bench-data  Fashion-MNIST decoding speed against torchvision
#
# Both install what they need first (`make setup`):
#   .venv/            python venv holding PyPI torch==$(TORCH_VERSION) (libtorch for tch)
#   .venv/libtorch -> the torch package directory, where .cargo/config.toml
#                     points LIBTORCH
# Set LIBTORCH=/path/to/libtorch to build against another libtorch instead.

SHELL := /bin/bash
PYTHON ?= python3
TORCH_VERSION := 2.11.0
TORCHVISION_VERSION := 0.26.0
VENV := .venv
VPY := $(VENV)/bin/python
CARGO ?= cargo
DEMO_ARGS ?= --k 1,3,5,10 --critic lp --out runs/ring

.PHONY: setup toolchain demo test fmt clippy clean bench-data

setup: toolchain $(VENV)/libtorch

# rustfmt, clippy and a C++ compiler (tch builds a C++ shim over libtorch).
toolchain:
	@command -v $(CARGO) >/dev/null || { echo "error: cargo not found: install Rust with rustup (https://rustup.rs)" >&2; exit 1; }
	@$(CARGO) fmt --version >/dev/null 2>&1 || rustup component add rustfmt
	@$(CARGO) clippy --version >/dev/null 2>&1 || rustup component add clippy
	@command -v c++ >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing Debian's g++ (needed to build tch)"; \
	    apt-get update -qq && apt-get install -y -qq g++ >/dev/null; \
	  else echo "error: no C++ compiler: install g++ (sudo apt-get install g++)" >&2; exit 1; fi; }

$(VPY):
	@if ! $(PYTHON) -m venv $(VENV) 2>/dev/null; then \
	  rm -rf $(VENV); \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "python3 -m venv failed: installing Debian's python3-venv"; \
	    apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null; \
	  else \
	    echo "error: python3 -m venv failed: install python3-venv (sudo apt-get install python3-venv)" >&2; exit 1; \
	  fi; \
	  $(PYTHON) -m venv $(VENV); \
	fi

$(VENV)/libtorch: | $(VPY)
	$(VPY) -m pip install -q --upgrade pip
	$(VPY) -m pip install -q torch==$(TORCH_VERSION)
	@tdir=$$($(VPY) -W ignore -c 'import torch, os; print(os.path.dirname(torch.__file__))') && \
	  ln -sfn "$$(realpath --relative-to=$(VENV) "$$tdir")" $(VENV)/libtorch && echo "libtorch: $$tdir"

demo: setup
	$(CARGO) run --release --bin wgflow -- run ring $(DEMO_ARGS)

fmt: toolchain
	$(CARGO) fmt --check

clippy: setup
	$(CARGO) clippy --all-targets -- -D warnings

test: setup fmt clippy
	$(CARGO) test

# Fashion-MNIST decoding, wgflow against torchvision (benches/data.rs). Needs
# Debian's dataset-fashion-mnist (installed here when root) and torchvision.
bench-data: setup
	@[ -d /usr/share/datasets/fashion-mnist ] || [ -n "$$WGFLOW_FASHION_MNIST_DIR" ] || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && apt-get install -y -qq dataset-fashion-mnist >/dev/null; \
	  else echo "error: install Debian's dataset-fashion-mnist or set WGFLOW_FASHION_MNIST_DIR" >&2; exit 1; fi; }
	$(VPY) -m pip install -q torchvision==$(TORCHVISION_VERSION) pillow numpy
	WGFLOW_PYTHON=$(abspath $(VPY)) $(CARGO) bench --bench data

clean:
	rm -rf runs
