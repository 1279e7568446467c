# SKYBEAT: `make run` serves the site and a worker; `make test` runs the whole test suite, `make test-fast` its
# unit tier (under a minute).
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.txt | cksum | cut -d' ' -f1)
HOST ?= 127.0.0.1
PORT ?= 8000
# `make run` is for local use: DEBUG on (the settings' default is off, as production wants).
DEBUG ?= 1

.PHONY: install run test test-fast migrate run-packages test-packages bench-packages

# Debian packages: ffmpeg decodes M4A/AAC uploads (and makes the tests' MP3/M4A files); the browser tests
# drive Chromium at /usr/bin/chromium; python3-venv only when the virtualenv is still to be created.
RUN_PACKAGES := ffmpeg $(if $(wildcard $(PY)),,python3-venv)
TEST_PACKAGES := $(RUN_PACKAGES) chromium
# bench/web.py loads the site with wrk.
BENCH_PACKAGES := $(RUN_PACKAGES) wrk
installed_ffmpeg := command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null
installed_chromium := test -x /usr/bin/chromium
installed_wrk := command -v wrk >/dev/null
installed_python3-venv := $(PYTHON) -c "import ensurepip" 2>/dev/null

# Installs the missing packages of $(1) with apt-get when run as root; otherwise stops, printing the command to run.
define require_packages
	@missing=""; $(foreach package,$(1),$(installed_$(package)) || missing="$$missing $(package)";) \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "Installing missing Debian packages:$$missing"; \
		apt-get -o DPkg::Lock::Timeout=300 update -qq && DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq$$missing; \
	else \
		echo "Missing Debian packages:$$missing. Install them with:" >&2; \
		echo "    sudo sh -c 'apt-get update && apt-get install -y$$missing'" >&2; \
		exit 1; \
	fi
endef

run-packages:
	$(call require_packages,$(RUN_PACKAGES))

test-packages:
	$(call require_packages,$(TEST_PACKAGES))

bench-packages:
	$(call require_packages,$(BENCH_PACKAGES))

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): requirements.txt | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	# Pretrained musicnn checkpoints only; its TensorFlow 1 code is never imported.
	$(PY) -m pip install --quiet --no-deps musicnn==0.1.0
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

migrate: install
	$(PY) manage.py migrate --noinput

run: run-packages migrate
	$(PY) manage.py collectstatic --noinput --verbosity 0
	DEBUG=$(DEBUG) $(PY) manage.py runsite --host $(HOST) --port $(PORT)

test: test-packages install
	SKYBEAT_VAR_DIR=$(CURDIR)/var/test $(PY) -m pytest $(PYTEST_ARGS)

# The unit tier (pytest -m unit): the fast tests to run while changing code; `make test` runs every tier. Only the
# files that mark unit tests are collected (collecting the others would import TensorFlow).
UNIT_TEST_FILES = $(shell grep -l "pytest.mark.unit" tests/test_*.py)
test-fast: install
	SKYBEAT_VAR_DIR=$(CURDIR)/var/test $(PY) -m pytest -m unit $(UNIT_TEST_FILES) $(PYTEST_ARGS)
