/*
** bench/floor.c: the "floor" of the benchmarks: bench/run.lua runs workloads
** a, c and e on it (their programs with the argument `floor`), and b_floor.lua.
**
** This is NOT a promise library. Per operation it performs only the
** allocations and calls that luv-promise's API cannot avoid in its design,
** and nothing else: no argument checks, no error handling, no thenable
** test, no second reaction, no ordering logic beyond one FIFO. Whatever an
** implementation of the API does on top of this, it cannot be faster than
** this on the same Lua, so `floor ops/s / node ops/s` bounds the ratio any
** implementation with these objects can reach.
**
** What is kept, and why the API needs it:
** - a promise is a full userdata with 2 user values and a metatable (its
**   methods are reached through the metatable's __index, as p:next(h));
**   user value 1 is the handler while pending, the value once settled;
**   user value 2 is the derived promise of the pending reaction;
** - new(executor) makes the promise and the C closures with one upvalue
**   each (the resolving functions: the executor may keep them) that the
**   executor can see (a Lua function with one fixed parameter cannot see
**   reject: only resolve is made, as luv-promise does), and calls the
**   executor under lua_pcall with a message handler (it may raise, and the
**   error's traceback is kept);
** - p:next(h) allocates the derived promise; on a settled p it queues the
**   job (handler, source, derived), else it keeps (h, derived) in p;
** - drain() runs the jobs in order, each handler under lua_pcall with a
**   message handler, and settles the derived promise with the result,
**   queueing that promise's reaction if it has one;
** - all(list) queues one element job per element (the elements must be
**   settled, as in workload c); a job stores the value at its index in the
**   result table and counts down; the last one settles the result promise.
**
** The job queue is one Lua table, 3 slots per job (handler, source, target);
** slots are cleared as jobs run, and the indices restart at 0 when it is
** empty. An element job holds its index in the handler slot and the
** aggregate in the target slot.
**
** State is kept in C statics: the module is for one lua_State (a benchmark
** program), not a library.
*/
#include "lua.h"
#include "lauxlib.h"

typedef struct fl_Promise {
  int state;          /* 0 pending, 1 fulfilled, 2 rejected */
  int reaction;       /* pending: a reaction is stored in the user values */
  lua_Integer count;  /* aggregate of all(): elements still to come */
} fl_Promise;

static int qref = LUA_NOREF;        /* the job queue, in the registry */
static lua_Integer qhead, qtail;    /* jobs are slots 3*i+1 .. 3*i+3 */

#define UP_MT lua_upvalueindex(1)   /* new, next, resolve, all: metatable */


/*
** The message handler. The real one also records a traceback; it runs only
** when a handler raises, which no floor workload does: what the floor pays
** for is pushing it and calling through lua_pcall.
*/
static int msgh (lua_State *L) {
  lua_settop(L, 1);
  return 1;
}


/* push a new pending promise whose metatable is at 'mt' */
static fl_Promise *newpromise (lua_State *L, int mt) {
  fl_Promise *p = (fl_Promise *)lua_newuserdatauv(L, sizeof(fl_Promise), 2);
  p->state = 0;
  p->reaction = 0;
  p->count = 0;
  lua_pushvalue(L, mt);
  lua_setmetatable(L, -2);
  return p;
}


/* append the job (slot a, slot b, slot c) to the queue at 'q' */
static void push3 (lua_State *L, int q, int a, int b, int c) {
  lua_Integer i = 3 * qtail++;
  lua_pushvalue(L, a);
  lua_rawseti(L, q, i + 1);
  lua_pushvalue(L, b);
  lua_rawseti(L, q, i + 2);
  lua_pushvalue(L, c);
  lua_rawseti(L, q, i + 3);
}


/*
** Settle the promise at 'pi' with the value on top (popped), in state
** 'state'; queue its reaction if it has one.
*/
static void settle (lua_State *L, int pi, int state) {
  fl_Promise *p = (fl_Promise *)lua_touserdata(L, pi);
  int v = lua_gettop(L);
  if (p->reaction) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, qref);      /* v+1: queue */
    lua_getiuservalue(L, pi, 1);                  /* v+2: handler */
    lua_getiuservalue(L, pi, 2);                  /* v+3: derived */
    push3(L, v + 1, v + 2, pi, v + 3);
    lua_pushnil(L);
    lua_setiuservalue(L, pi, 2);
    lua_settop(L, v);
    p->reaction = 0;
  }
  lua_setiuservalue(L, pi, 1);                    /* pops the value */
  p->state = state;
}


/* the resolving functions: upvalue 1 is the promise */
static int resolvefn (lua_State *L) {
  lua_settop(L, 1);
  settle(L, lua_upvalueindex(1), 1);
  return 0;
}

static int rejectfn (lua_State *L) {
  lua_settop(L, 1);
  settle(L, lua_upvalueindex(1), 2);
  return 0;
}


/* how many of (resolve, reject) the Lua function at 1 can see */
static int reachable (lua_State *L) {
  lua_Debug ar;
  lua_pushvalue(L, 1);
  lua_getinfo(L, ">u", &ar);
  return (ar.isvararg || ar.nparams >= 2) ? 2 : ar.nparams;
}


/* new(executor) */
static int f_new (lua_State *L) {
  int n;
  lua_settop(L, 1);
  newpromise(L, UP_MT);                           /* 2 */
  lua_pushcfunction(L, msgh);                     /* 3 */
  lua_pushvalue(L, 1);
  n = reachable(L);
  if (n > 0) {
    lua_pushvalue(L, 2);
    lua_pushcclosure(L, resolvefn, 1);
  }
  if (n > 1) {
    lua_pushvalue(L, 2);
    lua_pushcclosure(L, rejectfn, 1);
  }
  if (lua_pcall(L, n, 0, 3) != LUA_OK)
    settle(L, 2, 2);                              /* the error, on top */
  lua_settop(L, 2);
  return 1;
}


/* resolve(v): a promise fulfilled with v (for building c's list) */
static int f_resolve (lua_State *L) {
  lua_settop(L, 1);
  newpromise(L, UP_MT);                           /* 2 */
  lua_pushvalue(L, 1);
  settle(L, 2, 1);
  return 1;
}


/* p:next(h) */
static int f_next (lua_State *L) {
  fl_Promise *p = (fl_Promise *)lua_touserdata(L, 1);
  lua_settop(L, 2);
  newpromise(L, UP_MT);                           /* 3: derived */
  if (p->state != 0) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, qref);      /* 4 */
    push3(L, 4, 2, 1, 3);
    lua_settop(L, 3);
  }
  else {
    lua_pushvalue(L, 2);
    lua_setiuservalue(L, 1, 1);
    lua_pushvalue(L, 3);
    lua_setiuservalue(L, 1, 2);
    p->reaction = 1;
  }
  return 1;
}


/* value(p): what p settled with (read at the end of b) */
static int f_value (lua_State *L) {
  lua_getiuservalue(L, 1, 1);
  return 1;
}


/*
** all(list): the aggregate is a promise-sized userdata with the count in
** its memory, the values table in user value 1, the result in user value 2.
*/
static int f_all (lua_State *L) {
  lua_Integer n = luaL_len(L, 1), i;
  fl_Promise *agg;
  lua_settop(L, 1);
  newpromise(L, UP_MT);                           /* 2: result */
  agg = (fl_Promise *)lua_newuserdatauv(L, sizeof(fl_Promise), 2);  /* 3 */
  agg->state = 0;
  agg->reaction = 0;
  agg->count = n;
  lua_createtable(L, (int)n, 1);
  lua_pushinteger(L, n);
  lua_setfield(L, -2, "n");
  lua_setiuservalue(L, 3, 1);
  lua_pushvalue(L, 2);
  lua_setiuservalue(L, 3, 2);
  if (n == 0) {
    lua_getiuservalue(L, 3, 1);
    settle(L, 2, 1);
  }
  lua_rawgeti(L, LUA_REGISTRYINDEX, qref);        /* 4: queue */
  for (i = 1; i <= n; i++) {
    lua_pushinteger(L, i);                        /* 5: index */
    lua_rawgeti(L, 1, i);                         /* 6: element */
    push3(L, 4, 5, 6, 3);
    lua_settop(L, 4);
  }
  lua_settop(L, 2);
  return 1;
}


/* drain(): run the jobs until the queue is empty */
static int f_drain (lua_State *L) {
  lua_settop(L, 0);
  lua_pushcfunction(L, msgh);                     /* 1 */
  lua_rawgeti(L, LUA_REGISTRYINDEX, qref);        /* 2: queue */
  while (qhead < qtail) {
    lua_Integer i = 3 * qhead++;
    lua_rawgeti(L, 2, i + 1);                     /* 3: handler or index */
    lua_rawgeti(L, 2, i + 2);                     /* 4: source */
    lua_rawgeti(L, 2, i + 3);                     /* 5: target */
    lua_pushnil(L);
    lua_rawseti(L, 2, i + 1);
    lua_pushnil(L);
    lua_rawseti(L, 2, i + 2);
    lua_pushnil(L);
    lua_rawseti(L, 2, i + 3);
    if (qhead == qtail) qhead = qtail = 0;
    if (lua_isinteger(L, 3)) {                    /* an element of all() */
      fl_Promise *agg = (fl_Promise *)lua_touserdata(L, 5);
      lua_getiuservalue(L, 5, 1);                 /* 6: values */
      lua_getiuservalue(L, 4, 1);
      lua_rawseti(L, 6, lua_tointeger(L, 3));
      if (--agg->count == 0) {
        lua_getiuservalue(L, 5, 2);               /* 7: result */
        lua_pushvalue(L, 6);
        settle(L, 7, 1);
      }
    }
    else {
      lua_pushvalue(L, 3);
      lua_getiuservalue(L, 4, 1);
      if (lua_pcall(L, 1, 1, 1) == LUA_OK)        /* 6: result */
        settle(L, 5, 1);
      else
        settle(L, 5, 2);
    }
    lua_settop(L, 2);
  }
  return 0;
}


LUAMOD_API int luaopen_floor (lua_State *L);

LUAMOD_API int luaopen_floor (lua_State *L) {
  static const char *const withmt[] = {"new", "resolve", "all"};
  int i;
  lua_settop(L, 0);
  lua_newtable(L);                                /* queue */
  qref = luaL_ref(L, LUA_REGISTRYINDEX);
  qhead = qtail = 0;
  lua_newtable(L);                                /* 1: module */
  lua_newtable(L);                                /* 2: methods */
  lua_createtable(L, 0, 1);                       /* 3: metatable */
  lua_pushvalue(L, 2);
  lua_setfield(L, 3, "__index");
  lua_pushvalue(L, 3);
  lua_pushcclosure(L, f_next, 1);
  lua_setfield(L, 2, "next");
  for (i = 0; i < 3; i++) {
    lua_pushvalue(L, 3);
    lua_pushcclosure(L, i == 0 ? f_new : i == 1 ? f_resolve : f_all, 1);
    lua_setfield(L, 1, withmt[i]);
  }
  lua_pushcfunction(L, f_drain);
  lua_setfield(L, 1, "drain");
  lua_pushcfunction(L, f_value);
  lua_setfield(L, 1, "value");
  lua_settop(L, 1);
  return 1;
}
