# The two commands: `make demo` (set up + main job) and `make test` (set up + tests).
# Set-up is idempotent: it installs only what is missing.

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
APT_TEST_PACKAGES := chromium
APT_PACKAGES := dataset-fashion-mnist gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm g++-aarch64-linux-gnu qemu-user adb gcc g++ make espeak-ng sox
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
DEMO_OUT ?= out/demo

.PHONY: setup apt apt-test venv demo test test-fast bench clean

setup: apt venv

# Installs the Debian packages of $(1) that are missing (one apt run; nothing when all are there).
define apt_install
	@missing=""; for p in $(1); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi
endef

apt:
	$(call apt_install,$(APT_PACKAGES))

# Only the tests need a browser (report.html is rendered in headless Chromium).
apt-test:
	$(call apt_install,$(APT_TEST_PACKAGES))

venv: $(VENV)/.installed

# torch first, pinned to the CPU build on disk, so pip never pulls a CUDA build.
$(VENV)/.installed: pyproject.toml
	@[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e ".[dev]"
	@touch $@

demo: setup
	$(BIN)/edgenas space
	$(BIN)/edgenas extract --target cortex-m7 --ram 256KB --out $(DEMO_OUT)

test: setup apt-test
	$(BIN)/python -m pytest -q

# While editing: the tests that need neither QEMU nor much time (about 1,050 tests, ~40 s of CPU;
# tests over ~0.4 s in a full run carry the slow marker and still run in `make test`).
test-fast: setup
	$(BIN)/python -m pytest -q -m "not board and not slow" -x

clean:
	rm -rf out build .pytest_cache
