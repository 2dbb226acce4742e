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

build: setup
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS) >/dev/null
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
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
