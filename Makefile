# The two commands a newcomer needs: `make demo` and `make check`.
# Both install their own Debian packages first (scripts/install-deps).
BUILD ?= build
JOBS  ?= $(shell nproc)
FUZZ_SECONDS ?= 5

.PHONY: all deps build clang fuzz check unit integration sanitize valgrind demo bench faults browser-soak pki deb clean

all: build

deps:
	bash scripts/install-deps

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DZR_TEST_HOOKS=ON >/dev/null
	cmake --build $(BUILD) -j $(JOBS)

pki: build
	bash certs-example/make-pki.sh certs-example/out

# Everything CI runs: build with gcc, unit + integration tests; the whole tree
# again with clang (-Werror) as the fuzz build, running every libFuzzer target
# for a few seconds; unit and integration tests (the relay and mock binaries
# themselves) under ASan/UBSan; a valgrind pass over the unit tests.
check: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)
	bash scripts/fuzz-smoke $(FUZZ_SECONDS)
	$(MAKE) sanitize
	bash scripts/valgrind-unit $(BUILD)

clang: deps
	cmake -S . -B $(BUILD)-clang -DCMAKE_C_COMPILER=clang -DZR_TEST_HOOKS=ON >/dev/null
	cmake --build $(BUILD)-clang -j $(JOBS)

sanitize: deps
	cmake -S . -B $(BUILD)-asan -DZR_SANITIZE=ON -DZR_TEST_HOOKS=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
	cmake --build $(BUILD)-asan -j $(JOBS)
	cd $(BUILD)-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --output-on-failure -j $(JOBS)

valgrind: build
	bash scripts/valgrind-unit $(BUILD)

fuzz: deps
	bash scripts/fuzz-smoke 60

demo: build pki
	bash scripts/demo

bench: build pki
	bash bench/run

# Fault runs with measured figures (docs/performance.md#a-frozen-tvs): the
# latency of /healthz, discovery and /token while TVS's artifact endpoint is
# frozen for 15 s under pending logins. `make check` runs the deterministic
# version (tests/integration/test_backchannel_lane.sh).
faults: build pki
	bash bench/frozen_tvs.sh

# The browser tests 10 times in a row with every core kept busy (issue 13 §7).
browser-soak: build
	bash scripts/browser-soak $(BUILD) 10

# The Debian package, dist/zorgrelay_<version>_amd64.deb, built by Debian's
# own tools from debian/ (dpkg-buildpackage -us -uc -b, the unit tests
# included; DEB_BUILD_OPTIONS=nocheck leaves them out). Install it with
# `apt install ./dist/zorgrelay_*.deb` (docs/operations.md, "Install from
# the package"). `make check` builds and installs it in a throw-away root
# (tests/integration/test_deb_package.sh).
deb: deps
	DEB_BUILD_OPTIONS="$${DEB_BUILD_OPTIONS:-parallel=$(JOBS)}" bash scripts/build-deb dist

clean:
	rm -rf $(BUILD) $(BUILD)-asan $(BUILD)-clang $(BUILD)-fuzz certs-example/out run dist
