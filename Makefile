# luv-promise: build the C core in place and run the checks.
#   make            build build/promise/core.so
#   make test       run the busted specs
#   make valgrind   run the specs under valgrind memcheck
#   make lint       luacheck + cppcheck
#   make bench      run the benchmark suite
#   make oom        run the core under failing allocations (tests/oom.c)
#   make oom-valgrind  the same, fewer failure points, under memcheck
#   make fuzz       call every public function with hostile arguments (tests/fuzz.lua)
LUA       ?= lua5.4
LUA_INC   ?= $(shell pkg-config --cflags lua5.4 2>/dev/null || echo -I/usr/include/lua5.4)
CC        ?= cc
CFLAGS    ?= -O2 -g
WARN      = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes
SRC       = $(wildcard src/*.c)
HDR       = $(wildcard src/*.h)
TARGET    = build/promise/core.so
BUSTED    ?= busted --lua=$(LUA)

export LUA_PATH  := lua/?.lua;lua/?/init.lua;$(LUA_PATH);;
export LUA_CPATH := build/?.so;$(LUA_CPATH);;

all: $(TARGET)

$(TARGET): $(SRC) $(HDR)
	@mkdir -p build/promise
	$(CC) $(CFLAGS) $(WARN) -std=c99 -fPIC -shared $(LUA_INC) -o $@ $(SRC)

test: $(TARGET)
	$(BUSTED)

# valgrind runs busted's own Lua process (no launcher, no children: the
# examples and node that some specs start run natively).
valgrind: $(TARGET)
	valgrind --tool=memcheck --error-exitcode=3 --leak-check=full \
	  --errors-for-leak-kinds=definite --show-leak-kinds=definite -q \
	  --child-silent-after-fork=yes \
	  $(LUA) $$(command -v busted) --ignore-lua --exclude-tags=slow -o TAP

lint:
	luacheck -q lua spec examples bench tests
	cppcheck --quiet --error-exitcode=1 --enable=warning,style,performance,portability \
	  --std=c99 --inline-suppr -I src $(SRC) tests/oom.c

# the floor baselines' module (bench/floor.c), rebuilt on every `make bench`
FLOOR_SO  = build/bench/floor.so

bench: $(TARGET)
	@mkdir -p build/bench
	$(CC) $(CFLAGS) $(WARN) -std=c99 -fPIC -shared $(LUA_INC) -o $(FLOOR_SO) bench/floor.c
	$(LUA) bench/run.lua

# tests/oom.c links the core's sources directly and preloads promise.core
OOM_BIN = build/oom

$(OOM_BIN): tests/oom.c $(SRC) $(HDR)
	@mkdir -p build
	$(CC) $(CFLAGS) $(WARN) -std=c99 -Isrc $$(pkg-config --cflags lua5.4) \
	  -o $@ tests/oom.c $(SRC) $$(pkg-config --libs lua5.4)

oom: $(OOM_BIN)
	./$(OOM_BIN)

# memcheck writes to fd 9 (the real stderr): the harness silences fd 2
oom-valgrind: $(OOM_BIN)
	valgrind --tool=memcheck --error-exitcode=3 --leak-check=full \
	  --errors-for-leak-kinds=definite --show-leak-kinds=definite -q \
	  --log-fd=9 ./$(OOM_BIN) --step 7 --seeds 280 9>&2

# about a minute: FUZZ_TIME seconds of starting cases (see tests/fuzz.lua)
fuzz: $(TARGET)
	$(LUA) tests/fuzz.lua

clean:
	rm -rf build

.PHONY: all test valgrind lint bench clean oom oom-valgrind fuzz
