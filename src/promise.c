/*
** promise.c: promise objects, the Promise Resolution Procedure and the
** instance methods (next/catch/finally/state), after ECMA-262's "Promise
** Objects": states, reactions, resolving functions, PromiseResolve and
** PerformPromiseThen.
*/
#include <string.h>

#include "lpromise.h"


/* {====================================================== objects */

pr_Promise *pr_topromise (lua_State *L, pr_State *S, int idx) {
  pr_Promise *p = (pr_Promise *)lua_touserdata(L, idx);
  /* a light userdata may be given any metatable with the debug library */
  if (p != NULL && lua_type(L, idx) == LUA_TUSERDATA
      && lua_getmetatable(L, idx)) {
    const void *mt = lua_topointer(L, -1);
    lua_pop(L, 1);
    if (mt == S->mt) return p;
  }
  return NULL;
}


/*
** Push a new pending promise; 'parent' is the stack index of the promise
** it derives from (next, catch, finally), 0 for none. While a create hook
** is set (debugging), it is told (trace.c).
*/
static pr_Promise *newpromise (lua_State *L, int parent) {
  pr_Promise *p = (pr_Promise *)lua_newuserdatauv(L, sizeof(pr_Promise),
                                                  PR_NUV);
  pr_State *S;
  p->state = PR_PENDING;
  p->flags = 0;
  p->locked = 0;
  p->word = 0;
  lua_getiuservalue(L, pr_stateidx, PR_SUV_MT);
  lua_setmetatable(L, -2);
  S = pr_getstate(L);
  if (S->debug & PR_DCREATE) pr_notecreate(L, S, lua_gettop(L), parent);
  return p;
}


pr_Promise *pr_newpromise (lua_State *L) {
  return newpromise(L, 0);
}


pr_Promise *pr_checkpromise (lua_State *L, pr_State *S, int idx) {
  pr_Promise *p = pr_topromise(L, S, idx);
  if (p == NULL) {
    const char *msg = lua_pushfstring(L, "promise expected, got %s",
                                      luaL_typename(L, idx));
    luaL_argerror(L, idx, msg);
  }
  return p;
}


int pr_iscallable (lua_State *L, int idx) {
  if (lua_isfunction(L, idx)) return 1;
  if (luaL_getmetafield(L, idx, "__call") != LUA_TNIL) {
    lua_pop(L, 1);
    return 1;
  }
  return 0;
}

/* }====================================================== */


/* {====================================================== settling */

/*
** Queue the job of a reaction (job word, handler slot at 'h', target at
** 'c') of the promise at 'p', just settled or already settled.
*/
static void trigger (lua_State *L, pr_State *S, lua_Integer word, int h,
                     int p, int c, int rejected) {
  int bit = rejected ? PR_HR : PR_HF;
  int top = lua_gettop(L);
  int a = 0;
  if (word & bit) {
    a = h;
    if ((word & (PR_HF | PR_HR)) == (PR_HF | PR_HR) && !(word & PR_HSAME)) {
      lua_rawgeti(L, h, rejected ? 2 : 1);  /* from the pair */
      a = top + 1;
    }
  }
  if (rejected) word |= PR_JREJ;
  pr_enqueue(L, S, word & ~(lua_Integer)(PR_HF | PR_HR | PR_HSAME), a, p, c);
  lua_settop(L, top);
}


static lua_Integer nreactions (const pr_Promise *pp) {
  return (pp->flags & PR_LIST) ? pp->word : (pp->flags & PR_ONE) ? 1 : 0;
}


/*
** Settle the pending promise 'pp' at 'p', which has no reaction (both its
** user values are nil), with the value at 'v' and traceback at 'tr' (0 for
** none): nothing is queued, nothing allocated.
*/
static void settlebare (lua_State *L, pr_Promise *pp, int p, int state,
                        int v, int tr) {
  lua_pushvalue(L, v);
  lua_setiuservalue(L, p, PR_UV_A);
  if (tr) {
    lua_pushvalue(L, tr);
    lua_setiuservalue(L, p, PR_UV_B);
  }
  pp->state = (unsigned char)state;
}


/*
** Settle the pending promise at 'p' with the value at 'v' (a reason when
** 'state' is PR_REJECTED, with traceback at 'tr', 0 for none), queueing a
** job for each reaction in the order they were added.
*/
static void settle (lua_State *L, pr_State *S, int p, int state, int v,
                    int tr) {
  pr_Promise *pp = (pr_Promise *)lua_touserdata(L, p);
  int rejected = (state == PR_REJECTED);
  int top = lua_gettop(L);
  int flags;
  lua_Integer word;
  if (pp->state != PR_PENDING) return;
  if (!(pp->flags & (PR_ONE | PR_LIST))) {
    settlebare(L, pp, p, state, v, tr);
    if (rejected && !(pp->flags & PR_HANDLED))
      pr_track(L, S, p);
    return;
  }
  luaL_checkstack(L, 8, NULL);
  /* room for every job first: past this point nothing allocates. Growing
     the ring may run a __gc that adds reactions: read them after it */
  pr_reserve(L, S, nreactions(pp));
  flags = pp->flags;
  word = pp->word;
  /* take the reactions off the promise: top + 1, top + 2 */
  lua_getiuservalue(L, p, PR_UV_A);
  lua_getiuservalue(L, p, PR_UV_B);
  /* the promise is settled before any job can run */
  pp->state = (unsigned char)state;
  pp->flags &= ~(PR_ONE | PR_LIST);
  pp->word = 0;
  lua_pushvalue(L, v);
  lua_setiuservalue(L, p, PR_UV_A);
  if (tr) lua_pushvalue(L, tr); else lua_pushnil(L);
  lua_setiuservalue(L, p, PR_UV_B);
  if (flags & PR_ONE)
    trigger(L, S, word, top + 1, p, top + 2, rejected);
  else if (flags & PR_LIST) {
    lua_Integer i;
    for (i = 0; i < word; i++) {
      lua_rawgeti(L, top + 1, 3 * i + 1);
      lua_rawgeti(L, top + 1, 3 * i + 2);
      lua_rawgeti(L, top + 1, 3 * i + 3);
      trigger(L, S, lua_tointeger(L, top + 3), top + 4, p, top + 5,
              rejected);
      lua_settop(L, top + 2);
    }
  }
  lua_settop(L, top);
  if (rejected && !(pp->flags & PR_HANDLED))
    pr_track(L, S, p);
}


/*
** pr_settle: settle(), but a reason given without a traceback gets one,
** made where it was given, while long traces are on (trace.c).
*/
void pr_settle (lua_State *L, pr_State *S, int p, int state, int v,
                int tr) {
  if (state == PR_REJECTED && tr == 0 && (S->debug & PR_DDESCRIBE)) {
    int top = lua_gettop(L);
    pr_rejecttrace(L, S, p);              /* top + 1 */
    settle(L, S, p, state, v, lua_isnil(L, top + 1) ? 0 : top + 1);
    lua_settop(L, top);
  }
  else
    settle(L, S, p, state, v, tr);
}


static void rejectwith (lua_State *L, pr_State *S, int p, int cls,
                        const char *msg) {
  pr_newerror(L, cls, msg);
  pr_settle(L, S, p, PR_REJECTED, lua_gettop(L), 0);
  lua_pop(L, 1);
}


static int getnext (lua_State *L) {
  lua_getfield(L, 1, "next");
  return 1;
}


/*
** The Promise Resolution Procedure for the pending promise at 'p' and the
** resolution at 'v', once the caller has decided that resolving is allowed.
*/
void pr_resolve (lua_State *L, pr_State *S, int p, int v) {
  int t = lua_type(L, v);
  int top = lua_gettop(L);
  if (t != LUA_TTABLE && t != LUA_TUSERDATA) {
    pr_settle(L, S, p, PR_FULFILLED, v, 0);
    return;
  }
  luaL_checkstack(L, 8, NULL);
  if (lua_rawequal(L, p, v)) {
    rejectwith(L, S, p, PR_SUV_TYPEERROR,
               "Chaining cycle detected for promise");
    return;
  }
  if (pr_topromise(L, S, v) != NULL) {
    pr_enqueue(L, S, PR_JOWNTHENABLE, 0, v, p);
    return;
  }
  if (t == LUA_TTABLE && !lua_getmetatable(L, v)) {
    lua_pushliteral(L, "next");
    lua_rawget(L, v);
  }
  else {
    lua_settop(L, top);
    lua_pushcfunction(L, getnext);
    lua_pushvalue(L, v);
    if (pr_pcall(L, 1, 1) != LUA_OK) {  /* the getter raised */
      pr_pushtrace(L);
      pr_settle(L, S, p, PR_REJECTED, top + 1, top + 2);
      lua_settop(L, top);
      return;
    }
  }
  if (!lua_isnil(L, -1) && pr_iscallable(L, -1))
    pr_enqueue(L, S, PR_JTHENABLE, top + 1, v, p);
  else
    pr_settle(L, S, p, PR_FULFILLED, v, 0);
  lua_settop(L, top);
}


/*
** The resolving functions of a capability made by this library (derived
** promises, combinator results, async functions): the first call wins.
*/
int pr_capresolve (lua_State *L, pr_State *S, int p, int v) {
  pr_Promise *pp = (pr_Promise *)lua_touserdata(L, p);
  if (pp == NULL || pp->state != PR_PENDING || pp->locked) return 0;
  pp->locked = 1;
  pr_resolve(L, S, p, v);
  return 1;
}


int pr_capreject (lua_State *L, pr_State *S, int p, int r, int tr) {
  pr_Promise *pp = (pr_Promise *)lua_touserdata(L, p);
  if (pp == NULL || pp->state != PR_PENDING || pp->locked) return 0;
  pp->locked = 1;
  pr_settle(L, S, p, PR_REJECTED, r, tr);
  return 1;
}


/*
** Resolving functions handed to user code carry no state, to be small:
** upvalue 1 is their promise; the pairs handed to thenables also share
** upvalue 2, a one-byte userdata that is their [[AlreadyResolved]] (the
** promise's own pair uses its 'locked' byte). The common case, fulfilling
** a promise that has no reaction yet with a plain value, is done right
** here; anything else goes to settlefn, which has the state as upvalue. It
** is kept in the registry, under the light userdata found at index
** PR_MT_SETTLE of the promise metatable (the state's address), so that
** Lua code holding a promise cannot reach it and settle the promise.
*/
#define PR_MT_SETTLE 1

/* the [[AlreadyResolved]] flag: the pair's cell, else the promise's */
static unsigned char *alreadyresolved (lua_State *L, pr_Promise *p,
                                       int cell) {
  unsigned char *c = NULL;
  if (lua_type(L, cell) == LUA_TUSERDATA && lua_rawlen(L, cell) == 1)
    c = (unsigned char *)lua_touserdata(L, cell);
  return c != NULL ? c : &p->locked;
}

static int resolving (lua_State *L, int reject) {
  pr_Promise *p = (pr_Promise *)lua_touserdata(L, lua_upvalueindex(1));
  unsigned char *done = alreadyresolved(L, p, lua_upvalueindex(2));
  int t;
  lua_settop(L, 1);
  if (p->state != PR_PENDING || *done) return 0;
  t = lua_type(L, 1);
  if (!reject && !(p->flags & (PR_ONE | PR_LIST))
      && t != LUA_TTABLE && t != LUA_TUSERDATA) {
    *done = 1;
    settlebare(L, p, lua_upvalueindex(1), PR_FULFILLED, 1, 0);
    return 0;
  }
  if (!lua_getmetatable(L, lua_upvalueindex(1))      /* 2 */
      || lua_rawgeti(L, 2, PR_MT_SETTLE) != LUA_TLIGHTUSERDATA
      || lua_rawget(L, LUA_REGISTRYINDEX) != LUA_TFUNCTION)
    return luaL_error(L, "promise metatable damaged: cannot settle");
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_pushvalue(L, 1);
  lua_pushboolean(L, reject);
  lua_pushvalue(L, lua_upvalueindex(2));
  lua_call(L, 4, 0);
  return 0;
}

static int resolvefn (lua_State *L) { return resolving(L, 0); }
static int rejectfn (lua_State *L) { return resolving(L, 1); }


/* settlefn(promise, value, reject, cell): the rest of resolving() */
static int settlefn (lua_State *L) {
  pr_State *S = pr_getstate(L);
  pr_Promise *p = pr_topromise(L, S, 1);
  unsigned char *done;
  if (p == NULL) return luaL_error(L, "cannot settle: not a promise");
  done = alreadyresolved(L, p, 4);
  if (p->state != PR_PENDING || *done) return 0;
  *done = 1;
  if (lua_toboolean(L, 3))
    pr_settle(L, S, 1, PR_REJECTED, 2, 0);
  else
    pr_resolve(L, S, 1, 2);
  return 0;
}


/*
** Push the first 'n' (0 to 2) resolving functions of the promise at 'p';
** with a 'cell' (stack index, 0 for none), they share it as their
** [[AlreadyResolved]].
*/
static void pushresolvers (lua_State *L, int p, int cell, int n) {
  int i;
  for (i = 0; i < n; i++) {
    lua_pushvalue(L, p);
    if (cell) lua_pushvalue(L, cell);
    lua_pushcclosure(L, i == 0 ? resolvefn : rejectfn, cell ? 2 : 1);
  }
}


/*
** How many of (resolve, reject) the function at 'f' can see: a Lua
** function with fixed parameters never sees arguments past them, so the
** closures it could not reach are not made (one or two allocations less
** for the usual `function(resolve) ... end`). Pops nothing.
*/
static int reachable (lua_State *L, int f) {
  lua_Debug ar;
  if (lua_type(L, f) != LUA_TFUNCTION || lua_iscfunction(L, f)) return 2;
  lua_pushvalue(L, f);
  lua_getinfo(L, ">u", &ar);              /* pops it */
  if (ar.isvararg || ar.nparams >= 2) return 2;
  return ar.nparams;
}

/* }====================================================== */


/* {====================================================== reactions */

/*
** PerformPromiseThen: add a reaction (job word, handler-ish values at
** 'onf'/'onr', target at 'target'; 0 means nil) to the promise at 'p', or
** queue its job at once when 'p' is settled.
*/
void pr_then (lua_State *L, pr_State *S, int p, lua_Integer word,
              int onf, int onr, int target) {
  pr_Promise *pp = (pr_Promise *)lua_touserdata(L, p);
  int top = lua_gettop(L);
  int h = onf ? onf : onr;  /* the handler slot */
  luaL_checkstack(L, 8, NULL);
  if (onf && onr) {
    word |= PR_HF | PR_HR;
    if (onf == onr || lua_rawequal(L, onf, onr))
      word |= PR_HSAME;
    else {
      lua_createtable(L, 2, 0);
      lua_pushvalue(L, onf);
      lua_rawseti(L, -2, 1);
      lua_pushvalue(L, onr);
      lua_rawseti(L, -2, 2);
      h = top + 1;
    }
  }
  else if (onf) word |= PR_HF;
  else if (onr) word |= PR_HR;
  if (pp->state == PR_PENDING) {
    if (!(pp->flags & (PR_ONE | PR_LIST)) && word <= PR_WORDMAX) {
      if (h) lua_pushvalue(L, h); else lua_pushnil(L);
      lua_setiuservalue(L, p, PR_UV_A);
      if (target) lua_pushvalue(L, target); else lua_pushnil(L);
      lua_setiuservalue(L, p, PR_UV_B);
      pp->word = (int)word;
      pp->flags |= PR_ONE | PR_HANDLED;
    }
    else {
      lua_Integer n;
      int list = lua_gettop(L) + 1;
      if (!(pp->flags & PR_LIST)) {  /* make the list (with the first one) */
        unsigned int had = pp->flags & PR_ONE;
        lua_createtable(L, 6, 0);
        if (pp->state != PR_PENDING
            || (pp->flags & (PR_ONE | PR_LIST)) != had) {
          /* a __gc run by that allocation settled 'p' or added a reaction */
          lua_settop(L, top);
          pr_then(L, S, p, word & ~(lua_Integer)(PR_HF | PR_HR | PR_HSAME),
                  onf, onr, target);
          return;
        }
        if (had) {
          lua_pushinteger(L, pp->word);
          lua_rawseti(L, list, 1);
          lua_getiuservalue(L, p, PR_UV_A);
          lua_rawseti(L, list, 2);
          lua_getiuservalue(L, p, PR_UV_B);
          lua_rawseti(L, list, 3);
        }
        lua_pushvalue(L, list);
        lua_setiuservalue(L, p, PR_UV_A);
        lua_pushnil(L);
        lua_setiuservalue(L, p, PR_UV_B);
        pp->flags = (pp->flags & ~PR_ONE) | PR_LIST;
        pp->word = had ? 1 : 0;
      }
      else
        lua_getiuservalue(L, p, PR_UV_A);
      n = pp->word;
      lua_pushinteger(L, word);
      lua_rawseti(L, list, 3 * n + 1);
      if (h) { lua_pushvalue(L, h); lua_rawseti(L, list, 3 * n + 2); }
      if (target) {
        lua_pushvalue(L, target);
        lua_rawseti(L, list, 3 * n + 3);
      }
      pp->word = (int)(n + 1);
      pp->flags |= PR_HANDLED;
    }
  }
  else if (pp->state == PR_FULFILLED) {
    pp->flags |= PR_HANDLED;
    trigger(L, S, word, h, p, target, 0);
  }
  else {
    pp->flags |= PR_HANDLED;
    trigger(L, S, word, h, p, target, 1);
    /* onRejectionHandled runs when the queue has drained, as in Node */
    if (pp->flags & PR_REPORTED) pr_track(L, S, p);
  }
  lua_settop(L, top);
}


/* PromiseResolve(%Promise%, v): push v itself or a new promise for it */
void pr_promiseresolve (lua_State *L, pr_State *S, int v) {
  if (pr_topromise(L, S, v) != NULL)
    lua_pushvalue(L, v);
  else {
    pr_Promise *p = pr_newpromise(L);
    p->locked = 1;
    pr_resolve(L, S, lua_gettop(L), v);
  }
}


/* p:next(onFulfilled, onRejected) */
static int p_next (lua_State *L) {
  pr_State *S = pr_getstate(L);
  pr_checkpromise(L, S, 1);
  lua_settop(L, 3);
  newpromise(L, 1);
  pr_then(L, S, 1, PR_JTHEN, pr_iscallable(L, 2) ? 2 : 0,
          pr_iscallable(L, 3) ? 3 : 0, 4);
  return 1;
}


static int p_catch (lua_State *L) {
  pr_State *S = pr_getstate(L);
  pr_checkpromise(L, S, 1);
  lua_settop(L, 2);
  newpromise(L, 1);
  pr_then(L, S, 1, PR_JTHEN, 0, pr_iscallable(L, 2) ? 2 : 0, 3);
  return 1;
}


/* the value thunk and the thrower of finally: upvalue 2 is the outcome */
static int finallyvalue (lua_State *L) {
  lua_pushvalue(L, lua_upvalueindex(2));
  return 1;
}

static int finallythrow (lua_State *L) {
  lua_pushvalue(L, lua_upvalueindex(2));
  return lua_error(L);
}


/*
** thenFinally / catchFinally (upvalues: state, onFinally): call onFinally,
** then return PromiseResolve(result):next(thunk) so that a promise or
** thenable it returns is waited for.
*/
static int finallystep (lua_State *L, lua_CFunction thunk) {
  pr_State *S = pr_getstate(L);
  lua_settop(L, 1);
  lua_pushvalue(L, lua_upvalueindex(2));
  lua_call(L, 0, 1);                      /* 2: result of onFinally */
  pr_promiseresolve(L, S, 2);             /* 3 */
  lua_pushvalue(L, pr_stateidx);
  lua_pushvalue(L, 1);
  lua_pushcclosure(L, thunk, 2);          /* 4 */
  pr_newpromise(L);                       /* 5 */
  pr_then(L, S, 3, PR_JTHEN, 4, 0, 5);
  return 1;
}

static int thenfinally (lua_State *L) {
  return finallystep(L, finallyvalue);
}

static int catchfinally (lua_State *L) {
  return finallystep(L, finallythrow);
}


static int p_finally (lua_State *L) {
  pr_State *S = pr_getstate(L);
  pr_checkpromise(L, S, 1);
  lua_settop(L, 2);
  if (!pr_iscallable(L, 2)) {
    newpromise(L, 1);
    pr_then(L, S, 1, PR_JTHEN, 0, 0, 3);
    return 1;
  }
  lua_pushvalue(L, pr_stateidx);
  lua_pushvalue(L, 2);
  lua_pushcclosure(L, thenfinally, 2);    /* 3 */
  lua_pushvalue(L, pr_stateidx);
  lua_pushvalue(L, 2);
  lua_pushcclosure(L, catchfinally, 2);   /* 4 */
  newpromise(L, 1);                       /* 5 */
  pr_then(L, S, 1, PR_JTHEN, 3, 4, 5);
  return 1;
}


static const char *const statenames[] = {"pending", "fulfilled", "rejected"};

static int p_state (lua_State *L) {
  pr_State *S = pr_getstate(L);
  pr_Promise *p = pr_checkpromise(L, S, 1);
  lua_pushstring(L, statenames[p->state]);
  if (p->state == PR_PENDING) return 1;
  lua_getiuservalue(L, 1, PR_UV_A);
  return 2;
}


static int p_tostring (lua_State *L) {
  pr_State *S = pr_getstate(L);
  pr_Promise *p = pr_checkpromise(L, S, 1);
  lua_pushfstring(L, "Promise<%s>: %p", statenames[p->state], (void *)p);
  return 1;
}

/* }====================================================== */


/* {====================================================== constructors */

/* Promise.new(executor) */
static int p_new (lua_State *L) {
  pr_State *S = pr_getstate(L);
  pr_Promise *p;
  int n;
  if (!pr_iscallable(L, 1))
    return luaL_error(L, "bad argument #1 to 'new' (function expected, "
                      "got %s)", luaL_typename(L, 1));
  lua_settop(L, 1);
  p = pr_newpromise(L);                   /* 2 */
  lua_pushvalue(L, 1);
  n = reachable(L, 1);
  pushresolvers(L, 2, 0, n);
  if (pr_pcall(L, n, 0) != LUA_OK) {
    pr_pushtrace(L);                      /* 3: error, 4: traceback */
    if (p->state == PR_PENDING && !p->locked) {
      p->locked = 1;
      pr_settle(L, S, 2, PR_REJECTED, 3, 4);
    }
    lua_settop(L, 2);
  }
  return 1;
}


/* Promise(executor): __call of the module table */
static int p_call (lua_State *L) {
  lua_remove(L, 1);
  return p_new(L);
}


static int p_resolve (lua_State *L) {
  lua_settop(L, 1);
  pr_promiseresolve(L, pr_getstate(L), 1);
  return 1;
}


static int p_reject (lua_State *L) {
  pr_State *S = pr_getstate(L);
  lua_settop(L, 1);
  pr_newpromise(L)->locked = 1;
  pr_settle(L, S, 2, PR_REJECTED, 1, 0);
  return 1;
}


static int p_withresolvers (lua_State *L) {
  pr_newpromise(L);
  pushresolvers(L, lua_gettop(L), 0, 2);
  return 3;
}


/* Promise.try(fn, ...) */
static int p_try (lua_State *L) {
  pr_State *S = pr_getstate(L);
  int n = lua_gettop(L);
  pr_Promise *p;
  if (n == 0 || !pr_iscallable(L, 1)) {
    const char *msg = lua_pushfstring(L, "bad argument #1 to 'try' "
                      "(function expected, got %s)", luaL_typename(L, 1));
    int top = lua_gettop(L);
    pr_newpromise(L)->locked = 1;
    rejectwith(L, S, top + 1, PR_SUV_TYPEERROR, msg);
    return 1;
  }
  p = pr_newpromise(L);
  p->locked = 1;
  lua_insert(L, 1);                       /* 1: promise, 2: fn, ... */
  if (pr_pcall(L, n - 1, 1) == LUA_OK)
    pr_resolve(L, S, 1, 2);
  else {
    pr_pushtrace(L);
    pr_settle(L, S, 1, PR_REJECTED, 2, 3);
  }
  lua_settop(L, 1);
  return 1;
}


static int p_is (lua_State *L) {
  lua_pushboolean(L, pr_topromise(L, pr_getstate(L), 1) != NULL);
  return 1;
}


/*
** The job of a thenable: call then(thenable, resolve, reject) with a new
** pair of resolving functions; if it raises, reject unless the pair was
** used.
*/
int pr_thenablejob (lua_State *L, pr_State *S, int thenfn, int thenable,
                    int p) {
  pr_Promise *pp = (pr_Promise *)lua_touserdata(L, p);
  int top = lua_gettop(L);
  unsigned char *done = (unsigned char *)lua_newuserdatauv(L, 1, 0);
  *done = 0;                              /* top + 1: the pair's cell */
  lua_pushvalue(L, thenfn);
  lua_pushvalue(L, thenable);
  pushresolvers(L, p, top + 1, 2);
  if (pr_pcall(L, 3, 0) != LUA_OK) {
    pr_pushtrace(L);                      /* top + 2: error, top + 3: trace */
    pr_extendtrace(L, S, p);
    /* the then function may have used the pair (cppcheck cannot see it) */
    /* cppcheck-suppress knownConditionTrueFalse */
    if (pp->state == PR_PENDING && !*done) {
      *done = 1;
      pr_settle(L, S, p, PR_REJECTED, top + 2, top + 3);
    }
  }
  lua_settop(L, top);
  return 0;
}


static const luaL_Reg funcs[] = {
  {"new", p_new},
  {"resolve", p_resolve},
  {"reject", p_reject},
  {"withResolvers", p_withresolvers},
  {"try", p_try},
  {"is", p_is},
  {"__call", p_call},
  {NULL, NULL}
};

static const luaL_Reg methods[] = {
  {"next", p_next},
  {"catch", p_catch},
  {"finally", p_finally},
  {"state", p_state},
  {NULL, NULL}
};

static const luaL_Reg metamethods[] = {
  {"__tostring", p_tostring},
  {NULL, NULL}
};


/* stack: 1 module, 2 state, 3 methods, 4 metatable */
void pr_openpromise (lua_State *L) {
  lua_settop(L, 4);
  lua_pushvalue(L, 1);
  pr_register(L, funcs);
  lua_pushvalue(L, 3);
  pr_register(L, methods);
  lua_getfield(L, -1, "next");
  lua_setfield(L, -2, "then");  /* p["then"] is p.next itself */
  lua_pushvalue(L, 4);
  pr_register(L, metamethods);
  lua_pushlightuserdata(L, lua_touserdata(L, 2));  /* the state's address */
  lua_pushvalue(L, -1);
  lua_rawseti(L, 4, PR_MT_SETTLE);
  lua_pushvalue(L, 2);
  lua_pushcclosure(L, settlefn, 1);
  lua_rawset(L, LUA_REGISTRYINDEX);
  lua_settop(L, 4);
}

/* }====================================================== */
