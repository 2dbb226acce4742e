# Orasi — the two commands a newcomer needs:
#   make run    set up, build, start `orasi run` with data in ./orasi-data
#   make test   set up, build, run every test (unit, unit under ASan+UBSan, fuzz smoke, e2e)
# and: make (set up + build), make bench (benchmarks, rewrites bench/RESULTS.md)
JOBS ?= $(shell nproc)
BUILD ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
CMAKE_FLAGS ?=

.PHONY: all setup setup-test build run test unit asan fuzz e2e bench clean format

all: build

setup:
	@scripts/setup

setup-test:
	@scripts/setup --test

# The release build is optimised with a profile of a training run (PGO=1, GCC; see
# docs/internals/build.md): an instrumented build in $(BUILD)-pgo-gen runs tools/pgo_train
# (~15 s, no network) whenever that build changed, then $(BUILD) is compiled with the
# profile. PGO=0 skips both passes (an -O3 + LTO build without a profile).
PGO ?= 1
PGO_DIR = $(abspath $(BUILD))-pgo-gen/profile

build: setup
ifeq ($(PGO),1)
	@cmake -S . -B $(BUILD)-pgo-gen -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DORASI_PGO=generate -DORASI_PGO_DIR=$(PGO_DIR) $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD)-pgo-gen -j $(JOBS) --target pgo_train
	@if [ ! -e $(PGO_DIR)/.done ] || [ $(BUILD)-pgo-gen/pgo_train -nt $(PGO_DIR)/.done ]; then \
	  echo "PGO training run ($(BUILD)-pgo-gen/pgo_train)"; rm -rf $(PGO_DIR) && \
	  $(BUILD)-pgo-gen/pgo_train && mkdir -p $(PGO_DIR) && touch $(PGO_DIR)/.done; fi
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DORASI_PGO=use -DORASI_PGO_DIR=$(PGO_DIR) $(CMAKE_FLAGS) >/dev/null
else
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DORASI_PGO= \
	  $(CMAKE_FLAGS) >/dev/null
endif
	@cmake --build $(BUILD) -j $(JOBS)

run: build
	$(BUILD)/orasi run --data-dir ./orasi-data $(if $(CONFIG),--config $(CONFIG),)

unit: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) -L unit

asan: setup-test
	@CC=clang cmake -S . -B $(ASAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DORASI_SANITIZE=ON >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ctest --output-on-failure -j $(JOBS) -L unit

fuzz: setup-test
	@CC=clang cmake -S . -B $(FUZZ_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DORASI_FUZZ=ON >/dev/null
	@cmake --build $(FUZZ_BUILD) -j $(JOBS)
	cd $(FUZZ_BUILD) && ctest --output-on-failure -j $(JOBS) -L fuzz

e2e: setup-test build
	cd $(BUILD) && ctest --output-on-failure -L e2e

test: setup-test build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) -L unit
	$(MAKE) --no-print-directory asan
	$(MAKE) --no-print-directory fuzz
	cd $(BUILD) && ctest --output-on-failure -L e2e

bench: setup-test build
	bench/run

format:
	clang-format -i $$(git ls-files 'src/*.c' 'src/*.h' 'tests/*.c' 'fuzz/*.c')

clean:
	rm -rf $(BUILD) $(BUILD)-pgo-gen $(ASAN_BUILD) $(FUZZ_BUILD)
