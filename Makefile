# sfrecon — see README.md. Sources are found by wildcard so modules can be added
# without touching this file; the unit-test runner is generated from the suites.
BUILD   ?= build
SAN     ?= 0
CC      ?= cc
PKGS    := libpq libcurl json-c libxxhash libmicrohttpd
PKGS_EMU:= libpq json-c libmicrohttpd libxxhash
VERSION := 0.1.0

CFLAGS  ?= -O2 -g
ALL_CFLAGS = $(CFLAGS) -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wno-unused-parameter \
           -Iinclude -DSFR_VERSION=\"$(VERSION)\" $(shell pkg-config --cflags $(PKGS) 2>/dev/null) \
           -I$(shell pg_config --includedir 2>/dev/null) $(SANFLAGS)
LDLIBS  := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread -lm
EMULIBS := $(shell pkg-config --libs $(PKGS_EMU) 2>/dev/null) -lpthread -lm
ifeq ($(SAN),1)
SANFLAGS = -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif

CORE_SRC := $(wildcard src/core/*.c)
LIB_SRC  := $(filter-out src/main.c,$(wildcard src/*/*.c))
EMU_SRC  := $(wildcard tests/sfemu/*.c)
UNIT_SRC := $(wildcard tests/unit/check_*.c)
GEN_SRC  := $(wildcard tests/orggen/*.c)
GEN_OBJ  := $(GEN_SRC:%.c=$(BUILD)/obj/%.o)
BENCH_SRC:= $(wildcard tests/bench/*.c)
BENCH_OBJ:= $(BENCH_SRC:%.c=$(BUILD)/obj/%.o)

CORE_OBJ := $(CORE_SRC:%.c=$(BUILD)/obj/%.o)
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
EMU_OBJ  := $(EMU_SRC:%.c=$(BUILD)/obj/%.o)
UNIT_OBJ := $(UNIT_SRC:%.c=$(BUILD)/obj/%.o)

.PHONY: all check unit integration asan demo bench soak lint clean deps fuzz fuzz-build fuzz-bins \
        fuzz-corpus valgrind
all: $(BUILD)/sfrecon $(BUILD)/sfrecon-test $(BUILD)/sfemu $(BUILD)/orggen $(BUILD)/sfrbench

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libsfr.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/libsfrcore.a: $(CORE_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/sfrecon: $(BUILD)/obj/src/main.o $(BUILD)/libsfr.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The same program with the kill points of tests/hooks/testhook.c: linked
# ahead of the library, its sfr_test_point replaces the no-op in libsfr.a.
$(BUILD)/sfrecon-test: $(BUILD)/obj/src/main.o $(BUILD)/obj/tests/hooks/testhook.o $(BUILD)/libsfr.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/sfemu: $(EMU_OBJ) $(BUILD)/libsfrcore.a
	$(CC) $(LDFLAGS) -o $@ $^ $(EMULIBS)

$(BUILD)/sfrbench: $(BENCH_OBJ) $(BUILD)/libsfr.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/orggen: $(GEN_OBJ) $(BUILD)/libsfr.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The runner calls every `Suite *NAME_suite(void)` found in tests/unit/check_*.c.
$(BUILD)/unit_runner.c: $(UNIT_SRC) scripts/gen_runner.sh
	@mkdir -p $(BUILD)
	sh scripts/gen_runner.sh $(UNIT_SRC) > $@

$(BUILD)/check_unit: $(UNIT_OBJ) $(BUILD)/unit_runner.c $(BUILD)/libsfr.a
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $(UNIT_OBJ) $(BUILD)/unit_runner.c $(BUILD)/libsfr.a \
	    $(LDLIBS) $(shell pkg-config --libs check)

# ---- fuzzing: libFuzzer targets tests/fuzz/<target>.c (clang; scripts/fuzz.sh) ----
# fuzz-build makes the library again with clang, ASan+UBSan and coverage
# instrumentation in $(FUZZ_BUILD), then one binary per target.
FUZZ_SRC     := $(wildcard tests/fuzz/*.c)
FUZZ_BUILD   ?= build/fuzz
FUZZ_SECONDS ?= 60
FUZZ_CFLAGS  := -g -fsanitize=fuzzer-no-link

$(BUILD)/fuzz_%: tests/fuzz/%.c tests/fuzz/fuzz.h $(BUILD)/libsfr.a
	$(CC) $(ALL_CFLAGS) -fsanitize=fuzzer -MMD -MP -o $@ $< $(BUILD)/libsfr.a $(LDLIBS) $(EMULIBS)

fuzz-bins: $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzz_%)

fuzz-build: deps
	$(MAKE) BUILD=$(FUZZ_BUILD) CC=clang SAN=1 CFLAGS="$(FUZZ_CFLAGS)" fuzz-bins

# Each target for FUZZ_SECONDS, then a table of executions and coverage.
fuzz: fuzz-build
	FUZZ_BUILD=$(FUZZ_BUILD) sh scripts/fuzz.sh run $(FUZZ_SECONDS)

# Each target once over its seed corpus (part of make check).
fuzz-corpus: fuzz-build
	FUZZ_BUILD=$(FUZZ_BUILD) sh scripts/fuzz.sh corpus

# The demo and the integration tests with sfrecon under valgrind memcheck
# (slow, so not part of make check). VALGRIND_TESTS=t_x.sh runs only those
# tests (and not the demo).
valgrind: deps
	$(MAKE) BUILD=build/valgrind/real CFLAGS="-O1 -g" all
	sh scripts/valgrind.sh $(VALGRIND_TESTS)

deps:
	@sh scripts/deps.sh

unit: $(BUILD)/check_unit
	CK_FORK=yes $(BUILD)/check_unit

integration: all
	BUILD=$(BUILD) sh tests/integration/run.sh

asan:
	$(MAKE) BUILD=build/asan SAN=1 unit integration

check: deps
	$(MAKE) all
	$(MAKE) unit
	$(MAKE) integration
	$(MAKE) asan
	$(MAKE) fuzz-corpus

demo: deps
	$(MAKE) all
	sh scripts/demo.sh

bench: deps
	$(MAKE) all
	sh scripts/bench.sh

# not a test: SOAK_SECONDS (default 600) of sync under load, faults and kills
soak: deps
	$(MAKE) all
	sh tests/bench/soak.sh

lint:
	@sh scripts/lint.sh

clean:
	rm -rf build

-include $(BUILD)/obj/tests/hooks/testhook.d
-include $(wildcard $(BUILD)/fuzz_*.d)
-include $(BENCH_OBJ:.o=.d) $(GEN_OBJ:.o=.d) $(LIB_OBJ:.o=.d) $(EMU_OBJ:.o=.d) $(UNIT_OBJ:.o=.d) $(BUILD)/obj/src/main.d
