# Hotline's front door (design.md §7). Every target installs what is missing first.
#   make demo   two stations and a record between them, verified
#   make test   every test, built with AddressSanitizer and UndefinedBehaviorSanitizer
#   make build  the optimised hotline binary
#   make bench  the benchmarks, figures as JSON
#   make fuzz   the libFuzzer targets (frame parser, record decoders), FUZZ_SECONDS (60) each

SHELL := /bin/bash
.DEFAULT_GOAL := build
JOBS ?= $(shell nproc)

DEBIAN_PACKAGES := build-essential cmake ninja-build ccache pkg-config \
  libsodium-dev libsqlite3-dev sqlite3 nlohmann-json3-dev libcli11-dev libtomlplusplus-dev \
  libspdlog-dev libboost-dev libssl-dev libgtest-dev libgmock-dev libbenchmark-dev \
  python3 python3-nacl python3-cbor2 prometheus-cpp-dev liboath-dev libqrencode-dev \
  python3-yaml python3-websocket

# `make fuzz` and `make test` (which runs the fuzzers briefly) need these: libFuzzer comes with
# clang, which the station itself is not built with (style.md: Debian's clang 14 cannot build
# Boost 1.74's coroutines).
FUZZ_PACKAGES := clang-14 libclang-rt-14-dev

RELEASE := build/release
ASAN := build/asan
BENCH := build/bench
FUZZ := build/fuzz
FUZZ_SECONDS ?= 60

.PHONY: deps build test demo bench fuzz fuzz-deps format clean

# Installs only the packages that are absent, so a second run costs a few dpkg look-ups.
deps:
	@missing=""; for p in $(DEBIAN_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi

$(RELEASE)/build.ninja: | deps
	cmake -S . -B $(RELEASE) -G Ninja -DCMAKE_BUILD_TYPE=Release -DHOTLINE_TESTS=OFF

build: deps $(RELEASE)/build.ninja
	ninja -C $(RELEASE) -j $(JOBS) hotline
	@echo "built $(RELEASE)/hotline"

$(ASAN)/build.ninja: | deps
	cmake -S . -B $(ASAN) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHOTLINE_SANITIZE=ON

test: fuzz-deps $(ASAN)/build.ninja
	ninja -C $(ASAN) -j $(JOBS)
	cd $(ASAN) && ctest --output-on-failure -j $(JOBS) --timeout 900

demo: build
	bash scripts/demo.sh $(RELEASE)/hotline

$(BENCH)/build.ninja: | deps
	cmake -S . -B $(BENCH) -G Ninja -DCMAKE_BUILD_TYPE=Release -DHOTLINE_TESTS=OFF -DHOTLINE_BENCH=ON

bench: deps $(BENCH)/build.ninja
	ninja -C $(BENCH) -j $(JOBS)
	bash bench/run.sh $(BENCH)

# The frame parser and record decoders under libFuzzer, FUZZ_SECONDS each; fails on any finding.
fuzz-deps: deps
	@$(MAKE) --no-print-directory deps DEBIAN_PACKAGES="$(FUZZ_PACKAGES)"

fuzz: fuzz-deps
	bash fuzz/run.sh $(FUZZ) $(FUZZ_SECONDS)

format:
	git ls-files '*.cc' '*.h' | xargs clang-format -i

clean:
	rm -rf build
