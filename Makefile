# telltale build. GNU make + pkg-config.
#   make            release build: build/telltale
#   make run        install deps, build, start on telltale.yaml
#   make test       install deps, ASan+UBSan build, unit + fuzz replay + e2e tests
#   make fuzz       libFuzzer targets, FUZZ_SECONDS each (default 60)
#   make bench      side-by-side benchmark against nginx and haproxy
#   make check      format and banned-call checks

CC      ?= cc
PKGS    := libuv openssl libcares yaml-0.1 liburing
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
VERSION := $(shell git describe --always --dirty 2>/dev/null || echo dev)

WARN    := -Wall -Wextra -Wshadow -Wformat=2 -Wno-unused-parameter -Werror
BASE    := -std=c11 -D_GNU_SOURCE -Isrc $(WARN) $(PKG_CFLAGS) -DTT_VERSION='"$(VERSION)"' -pthread
CFLAGS_REL  := $(BASE) -O2 -g
CFLAGS_SAN  := $(BASE) -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
LDLIBS  := $(PKG_LIBS) -pthread

SRC     := $(shell find src -name '*.c' | sort)
LIB_SRC := $(filter-out src/main.c,$(SRC))
HDR     := $(shell find src -name '*.h')
UNIT_SRC := $(shell find tests/unit -name '*_test.c' 2>/dev/null | sort)
FUZZ_SRC := $(wildcard fuzz/fuzz_*.c)

REL_OBJ := $(SRC:%.c=build/rel/%.o)
SAN_OBJ := $(SRC:%.c=build/san/%.o)
SAN_LIB_OBJ := $(LIB_SRC:%.c=build/san/%.o)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=build/unit/%)
FUZZ_BIN := $(FUZZ_SRC:fuzz/%.c=build/fuzz/%)

.PHONY: all run test unit e2e fuzz fuzz-run fuzz-replay bench check deps clean FORCE

# TT_VERSION comes from the command line, so the objects that print it are
# rebuilt whenever it changes (a new commit, a dirty tree), not only when
# their sources do: `telltale version` never names an older commit.
build/version.txt: FORCE
	@mkdir -p build; echo '$(VERSION)' | cmp -s - $@ || echo '$(VERSION)' > $@
VERSION_OBJ := $(filter %/obs/prom.o %/obs/status.o %/cli/version.o,$(REL_OBJ) $(SAN_OBJ))
$(VERSION_OBJ): build/version.txt
all: build/telltale

deps:
	@scripts/install-deps

# V=1 shows the full commands.
Q := $(if $(V),,@)

build/telltale: $(REL_OBJ)
	@echo "  LD      $@"
	$(Q)$(CC) $(CFLAGS_REL) -o $@ $^ $(LDLIBS)

build/telltale-san: $(SAN_OBJ)
	@echo "  LD      $@"
	$(Q)$(CC) $(CFLAGS_SAN) -o $@ $^ $(LDLIBS)

build/rel/%.o: %.c $(HDR)
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(CFLAGS_REL) -c -o $@ $<

build/san/%.o: %.c $(HDR)
	@mkdir -p $(dir $@)
	@echo "  CC san  $<"
	$(Q)$(CC) $(CFLAGS_SAN) -c -o $@ $<

build/unit/%: tests/unit/%.c $(SAN_LIB_OBJ) $(HDR)
	@mkdir -p $(dir $@)
	@echo "  TEST    $@"
	$(Q)$(CC) $(CFLAGS_SAN) -Itests/unit -o $@ $< $(SAN_LIB_OBJ) $(LDLIBS) -lcriterion

# libFuzzer targets are built with clang, each with only the module it
# drives: the HTTP parsers need libc alone, the config loader libyaml and
# the error-page template check, the Proxy-Status writer the catalogue.
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -Isrc -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined $(PKG_CFLAGS)
FUZZ_DEPS_fuzz_config := $(wildcard src/config/*.c src/respond/*.c src/fault/*.c src/http/*.c src/net/tls*.c)
FUZZ_DEPS_fuzz_proxy_status := $(wildcard src/respond/*.c src/fault/*.c src/http/*.c)
FUZZ_DEPS_fuzz_json := src/obs/json.c src/obs/explain.c $(wildcard src/fault/*.c src/http/*.c)
FUZZ_DEPS_fuzz_cache_control := $(wildcard src/http/*.c)
fuzz_deps = $(or $(FUZZ_DEPS_$(1)),$(wildcard src/http/*.c))
.SECONDEXPANSION:
build/fuzz/%: fuzz/%.c $$(call fuzz_deps,%) $(HDR)
	@mkdir -p $(dir $@)
	@echo "  FUZZ    $@"
	$(Q)clang $(FUZZ_CFLAGS) -o $@ $< $(call fuzz_deps,$*) $(LDLIBS)

# Targets that install dependencies build through a second make: this one
# read pkg-config's flags when it parsed the Makefile, before `deps` could
# install the libraries they name.
run: deps
	@$(MAKE) --no-print-directory build/telltale
	@./build/telltale run -c telltale.yaml

unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; ASAN_OPTIONS=detect_leaks=1 $$t --jobs 1; done

fuzz-replay: $(FUZZ_BIN)
	@set -e; for f in $(FUZZ_BIN); do n=$$(basename $$f); \
	  echo "== replay $$n corpus"; $$f -runs=0 fuzz/corpus/$$n >/dev/null 2>build/fuzz/$$n.log || { cat build/fuzz/$$n.log; exit 1; }; done

# The allocation-count shim for tests/e2e/test_88_alloc.py (LD_PRELOAD on
# the release binary; the ASan build brings its own allocator).
build/alloc_count.so: tests/e2e/alloc_count.c
	@mkdir -p $(dir $@)
	@echo "  SHLIB   $@"
	$(Q)$(CC) -std=c11 -D_GNU_SOURCE $(WARN) -O2 -fPIC -shared -o $@ $<

e2e: build/telltale-san build/telltale build/alloc_count.so
	cd tests/e2e && TELLTALE_BIN=$(CURDIR)/build/telltale-san /usr/bin/python3 -m pytest -q -p no:cacheprovider .

test: deps
	@$(MAKE) --no-print-directory check unit fuzz-replay e2e

FUZZ_SECONDS ?= 60
fuzz: deps
	@$(MAKE) --no-print-directory fuzz-run

fuzz-run: $(FUZZ_BIN)
	@set -e; for f in $(FUZZ_BIN); do n=$$(basename $$f); mkdir -p build/fuzz/corpus-$$n; \
	  echo "== fuzz $$n for $(FUZZ_SECONDS)s"; \
	  d=fuzz/$$n.dict; [ -f $$d ] || d=fuzz/http.dict; \
	  $$f -max_total_time=$(FUZZ_SECONDS) -dict=$$d -print_final_stats=1 \
	    build/fuzz/corpus-$$n fuzz/corpus/$$n; done

# QUICK=1 make bench: a smoke run of a few minutes (see bench/run).
bench: deps
	@$(MAKE) --no-print-directory build/telltale
	bench/run
	bench/profile

check:
	@echo "== scripts/check"
	scripts/check

clean:
	rm -rf build
