# opsledger — one Makefile, out-of-tree build into $(BUILD).
#
# Top-level targets first make sure the Debian packages are there (only when
# pkg-config cannot find one), then re-enter make so pkg-config flags are
# evaluated after the install.

BUILD   ?= build
PKGS    := rdkafka avro-c lmdb cmocka jansson libcrypto libmicrohttpd libcurl zlib
CC      ?= cc
SAN     ?=
OPT     ?= -O2

.DEFAULT_GOAL := all
.PHONY: all deps ensure-deps binaries test unit e2e check-asan clang-check demo bench clean fuzz mutants

all: ensure-deps
	@$(MAKE) --no-print-directory binaries

ensure-deps:
	@pkg-config --exists $(PKGS) 2>/dev/null && command -v kcat >/dev/null 2>&1 && command -v clang >/dev/null 2>&1 && command -v valgrind >/dev/null 2>&1 && command -v chromium >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1 && command -v prometheus >/dev/null 2>&1 && command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 \
		|| $(MAKE) --no-print-directory deps

deps:
	@sh scripts/install-deps.sh

# the second compiler: clang builds everything (warnings are errors there
# too) into build/clang and runs the unit tests, the e2e suite runs once (gcc)
CLANG_BUILD ?= $(BUILD)/clang
test: ensure-deps
	@$(MAKE) --no-print-directory binaries
	@$(MAKE) --no-print-directory clang-check
	@$(MAKE) --no-print-directory unit e2e
	@sh tests/fuzz/run.sh $(FUZZ_SECS) $(BUILD)

# libFuzzer targets (clang): framing + decode + validation, and the JSON line parser
FUZZ_SECS ?= 30
fuzz: ensure-deps
	@sh tests/fuzz/run.sh $(FUZZ_SECS) $(BUILD)

check-asan: ensure-deps
	@$(MAKE) --no-print-directory BUILD=build/asan OPT=-O1 SAN=1 binaries
	@$(MAKE) --no-print-directory BUILD=build/asan OPT=-O1 SAN=1 unit e2e

# the benchmark table (never part of make test): make bench [BENCH_N=2000000] [BENCH_SEED=1]
BENCH_N ?= 2000000
BENCH_SEED ?= 1
bench: ensure-deps
	@$(MAKE) --no-print-directory binaries
	@sh scripts/bench.sh $(BUILD) $(BENCH_N) $(BENCH_SEED)

demo: ensure-deps
	@$(MAKE) --no-print-directory binaries
	@sh scripts/demo.sh $(BUILD)

clang-check: ensure-deps
	@$(MAKE) --no-print-directory CC=clang BUILD=$(CLANG_BUILD) binaries unit

# build/ only: var/ holds users' projections and broker files (make demo's
# too), never removed by make; the tree is left as cloned
clean:
	rm -rf build

# ---------------------------------------------------------------- build rules
ifneq ($(MAKECMDGOALS),deps)
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
endif

SANFLAGS :=
ifeq ($(SAN),1)
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
endif

CFLAGS  := -std=c11 -D_GNU_SOURCE $(OPT) -g -Wall -Wextra -Werror -Icommon -Iservices $(PKG_CFLAGS) $(SANFLAGS) \
           -DOL_SCHEMA_DIR_DEFAULT='"$(abspath schemas)"' $(EXTRA_CFLAGS)
LDFLAGS := $(SANFLAGS)
LDLIBS  := $(PKG_LIBS) -lpthread -lm

COMMON_SRC := $(wildcard common/*.c common/report/*.c)
COMMON_OBJ := $(COMMON_SRC:%.c=$(BUILD)/obj/%.o)
LIB        := $(BUILD)/lib/libopsledger.a

SERVICES   := $(notdir $(wildcard services/*))
# services/opsledger is the dispatcher tool; every other folder is opsledger-<name>
bin_name    = $(if $(filter opsledger,$(1)),opsledger,opsledger-$(1))
SVC_BINS   := $(foreach s,$(SERVICES),$(BUILD)/bin/$(call bin_name,$(s)))

TEST_SRC   := $(wildcard tests/unit/test_*.c)
TEST_BINS  := $(TEST_SRC:tests/unit/%.c=$(BUILD)/tests/%)
# tests/services/test_<svc>.c: a service's fold tested through the runtime with
# an array source; links the service's objects except its main.o, and the
# shared harness (tests/services/svc_harness.c: projection dump, orders)
SVC_TEST_SRC  := $(wildcard tests/services/test_*.c)
SVC_TEST_BINS := $(SVC_TEST_SRC:tests/services/%.c=$(BUILD)/tests/%)
TEST_BINS     += $(SVC_TEST_BINS)

binaries: $(LIB) $(SVC_BINS) $(TEST_BINS)

# opsledger_build_info{version,commit}: only ol_metrics_proc.o carries them;
# the stamp rebuilds it when HEAD moved (a dirty tree is not marked)
OL_VERSION := 0.1.0
OL_COMMIT  := $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
$(BUILD)/obj/common/ol_metrics_proc.o: CFLAGS += -DOL_VERSION='"$(OL_VERSION)"' -DOL_COMMIT='"$(OL_COMMIT)"'
$(BUILD)/obj/common/ol_metrics_proc.o: $(BUILD)/commit.stamp
.PHONY: FORCE
$(BUILD)/commit.stamp: FORCE
	@mkdir -p $(dir $@)
	@echo '$(OL_COMMIT)' | cmp -s - $@ || echo '$(OL_COMMIT)' > $@

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(LIB): $(COMMON_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

define SVC_RULE
$(BUILD)/bin/$(call bin_name,$(1)): $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard services/$(1)/*.c)) $(LIB)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(LDFLAGS) -o $$@ $$(filter %.o,$$^) $(LIB) $$(LDLIBS)
endef
$(foreach s,$(SERVICES),$(eval $(call SVC_RULE,$(s))))

SVC_HARNESS_OBJ := $(BUILD)/obj/tests/services/svc_harness.o
define SVC_TEST_RULE
$(BUILD)/tests/test_$(1): $(BUILD)/obj/tests/services/test_$(1).o $(SVC_HARNESS_OBJ) $(patsubst %.c,$(BUILD)/obj/%.o,$(filter-out services/$(1)/main.c,$(wildcard services/$(1)/*.c))) $(LIB)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(LDFLAGS) -o $$@ $$(filter %.o,$$^) $(LIB) $$(LDLIBS)
endef
$(foreach t,$(SVC_TEST_SRC:tests/services/test_%.c=%),$(eval $(call SVC_TEST_RULE,$(t))))

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS)

unit: $(TEST_BINS)
	@sh tests/run-unit.sh $(BUILD)

e2e: $(SVC_BINS)
	@sh tests/run-e2e.sh $(BUILD)

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

# mutation testing (never part of make test): each entry of
# tests/mutants/mutants.txt applied alone to a scratch copy, built, unit tests
# then e2e; one table; fails when a mutant survives. MUTANTS=id,id runs a few.
MUTANTS ?=
mutants: ensure-deps
	@python3 tests/mutants/run.py $(if $(MUTANTS),--only $(MUTANTS)) $(MUTANTS_FLAGS)
