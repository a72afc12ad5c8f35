# luv-promise: build the C core in place and run the checks.
#   make            build build/promise/core.so
#   make test       run the busted specs
#   make valgrind   run the specs under valgrind memcheck
#   make lint       luacheck + cppcheck
#   make bench      run the benchmark suite
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
	luacheck -q lua spec examples bench
	cppcheck --quiet --error-exitcode=1 --enable=warning,style,performance,portability \
	  --std=c99 --inline-suppr -I src $(SRC)

bench: $(TARGET)
	$(LUA) bench/run.lua

clean:
	rm -rf build

.PHONY: all test valgrind lint bench clean
