/*
** combinators.c: Promise.all, allSettled, race and any, after ECMA-262's
** PerformPromiseAll and friends.
**
** Each element is passed through PromiseResolve and subscribed with one
** internal reaction whose job word carries the element's index, so an
** element costs no closure. The aggregate is a userdata holding the count
** of elements still to come, with the values table as its user value.
*/
#include <limits.h>

#include "lpromise.h"

typedef struct pr_Aggregate {
  lua_Integer remaining;  /* elements not settled yet, plus one while
                             the list is being read */
} pr_Aggregate;


/* count 'k' elements done; settle the result when they were the last */
static void countdown (lua_State *L, pr_State *S, int kind, int agg,
                       int result, lua_Integer k) {
  pr_Aggregate *a = (pr_Aggregate *)lua_touserdata(L, agg);
  int top = lua_gettop(L);
  a->remaining -= k;
  if (a->remaining != 0) return;
  lua_getiuservalue(L, agg, 1);           /* the values */
  if (kind == PR_JANY) {
    pr_newerror(L, PR_SUV_AGGREGATE, "All promises were rejected");
    if (lua_istable(L, -1)) {
      lua_pushvalue(L, -2);
      lua_setfield(L, -2, "errors");
    }
    lua_pushliteral(L, "--- in Promise.any (every element rejected)");
    pr_extendtrace(L, S, result);         /* who awaits the result */
    pr_capreject(L, S, result, lua_gettop(L) - 1, lua_gettop(L));
  }
  else
    pr_capresolve(L, S, result, lua_gettop(L));
  lua_settop(L, top);
}


/* push the entry of allSettled's values for the settled promise at 'p' */
static void pushrecord (lua_State *L, int p, int rejected) {
  lua_createtable(L, 0, 2);
  lua_pushstring(L, rejected ? "rejected" : "fulfilled");
  lua_setfield(L, -2, "status");
  lua_getiuservalue(L, p, PR_UV_A);
  lua_setfield(L, -2, rejected ? "reason" : "value");
}


/* the job of one element: its source promise at 'src' settled */
void pr_element (lua_State *L, pr_State *S, lua_Integer word, int agg,
                 int src, int result) {
  int kind = (int)(word & PR_JKIND);
  int rejected = (word & PR_JREJ) != 0;
  lua_Integer i = word >> PR_JSHIFT;
  int v = lua_gettop(L) + 1;
  if (kind == PR_JCOUNT) {  /* elements settled when read: see combine */
    countdown(L, S, kind, agg, result, i);
    return;
  }
  lua_getiuservalue(L, src, PR_UV_A);
  if (kind == PR_JALL && rejected) {
    lua_getiuservalue(L, src, PR_UV_B);
    pr_capreject(L, S, result, v, v + 1);
    return;
  }
  if (kind == PR_JANY && !rejected) {
    pr_capresolve(L, S, result, v);
    return;
  }
  lua_getiuservalue(L, agg, 1);           /* the values */
  if (kind == PR_JALLSETTLED)
    pushrecord(L, src, rejected);
  else
    lua_pushvalue(L, v);
  lua_rawseti(L, -2, i);
  countdown(L, S, kind, agg, result, 1);
}


/*
** An element of all/allSettled that is already fulfilled when it is read
** (stack: 2 result, 4 aggregate, 5 values, 'el' the element's promise)
** needs no reaction: its value is stored at once, and its turn in the
** queue is kept by a counting job (PR_JCOUNT). Consecutive such elements
** share one job, whose count grows, as long as no other job was queued or
** run in between ('*batch' is S->seq just after the job was queued,
** before the drain hook ran): the jobs they replace would have run back to
** back, doing nothing anyone can see but the last count, so the result
** settles exactly when it would have. Returns 0, doing nothing, for an
** element not fulfilled.
*/
static int settledelement (lua_State *L, pr_State *S, int kind,
                           lua_Integer i, int el, lua_Integer *batch) {
  pr_Promise *ep = (pr_Promise *)lua_touserdata(L, el);
  if (ep->state != PR_FULFILLED) return 0;
  if (kind == PR_JALLSETTLED)
    pushrecord(L, el, 0);
  else
    lua_getiuservalue(L, el, PR_UV_A);
  lua_rawseti(L, 5, i);
  ep->flags |= PR_HANDLED;
  /* counted before its job is queued: a drain hook may run the job at once */
  ((pr_Aggregate *)lua_touserdata(L, 4))->remaining++;
  if (*batch == S->seq)  /* the last job queued is our counting job */
    S->tw[S->tail - 1] += (lua_Integer)1 << PR_JSHIFT;
  else
    *batch = pr_enqueue(L, S, PR_JCOUNT | ((lua_Integer)1 << PR_JSHIFT),
                        4, 0, 2);
  return 1;
}


/* the name of the combinator of kind 'kind', for error messages */
static const char *kindname (int kind) {
  switch (kind) {
    case PR_JALL: return "all";
    case PR_JALLSETTLED: return "allSettled";
    case PR_JANY: return "any";
    default: return "race";
  }
}

/*
** The number of elements of the list at 1: 'list.n' when it is not nil,
** else '#list'. An 'n' that is not an integer (a float with an integral
** value counts) from 0 to INT_MAX raises a TypeError: it would otherwise
** be read as 0 or make the loop run for ever.
*/
static lua_Integer listlength (lua_State *L, int kind) {
  int isint = 0;
  lua_Integer n;
  int t = lua_getfield(L, 1, "n");
  if (t == LUA_TNIL) return luaL_len(L, 1);
  n = lua_tointegerx(L, -1, &isint);
  if (t == LUA_TNUMBER && isint && n >= 0 && n <= INT_MAX) return n;
  if (t == LUA_TNUMBER)
    lua_pushfstring(L, "number %s", lua_tostring(L, -1));
  else
    lua_pushstring(L, luaL_typename(L, -1));
  lua_pushfstring(L, "bad argument #1 to '%s' (field 'n' must be an integer "
                  "from 0 to %d, got %s)", kindname(kind), INT_MAX,
                  lua_tostring(L, -1));
  pr_newerror(L, PR_SUV_TYPEERROR, lua_tostring(L, -1));
  return lua_error(L);
}


/* run protected: 1 list, 2 result, 3 kind */
static int combine (lua_State *L) {
  pr_State *S = pr_getstate(L);
  int kind = (int)lua_tointeger(L, 3);
  lua_Integer i, n = listlength(L, kind), batch = -1;
  lua_settop(L, 5);           /* 4: aggregate, 5: values (nil for race) */
  if (kind != PR_JRACE) {
    pr_Aggregate *a;
    lua_createtable(L, n > 0 && n < (1 << 24) ? (int)n : 0, 1);
    lua_pushinteger(L, n < 0 ? 0 : n);
    lua_setfield(L, -2, "n");
    lua_replace(L, 5);
    a = (pr_Aggregate *)lua_newuserdatauv(L, sizeof(pr_Aggregate), 1);
    a->remaining = 1;
    lua_pushvalue(L, 5);
    lua_setiuservalue(L, -2, 1);
    lua_replace(L, 4);
  }
  for (i = 1; i <= n; i++) {
    lua_geti(L, 1, i);                    /* 6 */
    pr_promiseresolve(L, S, 6);           /* 7 */
    if (kind == PR_JRACE)  /* the index is for async traces (trace.c) */
      pr_then(L, S, 7, PR_JRACE | (i << PR_JSHIFT), 0, 0, 2);
    else if (kind == PR_JANY || !settledelement(L, S, kind, i, 7, &batch)) {
      /* counted first: a drain hook may run the element's job at once (if
         pr_then fails for memory, the result is rejected anyway) */
      ((pr_Aggregate *)lua_touserdata(L, 4))->remaining++;
      pr_then(L, S, 7, kind | (i << PR_JSHIFT), 4, 4, 2);
    }
    lua_settop(L, 5);
  }
  if (kind != PR_JRACE) countdown(L, S, kind, 4, 2, 1);
  return 0;
}


static int combinator (lua_State *L, int kind, const char *name) {
  pr_State *S = pr_getstate(L);
  lua_settop(L, 1);
  pr_newpromise(L);                       /* 2 */
  if (!lua_istable(L, 1)) {
    lua_pushfstring(L, "bad argument #1 to '%s' (table expected, got %s)",
                    name, luaL_typename(L, 1));
    pr_newerror(L, PR_SUV_TYPEERROR, lua_tostring(L, -1));
    pr_capreject(L, S, 2, 4, 0);
  }
  else {
    lua_getiuservalue(L, pr_stateidx, PR_SUV_COMBINE);
    lua_pushvalue(L, 1);
    lua_pushvalue(L, 2);
    lua_pushinteger(L, kind);
    if (pr_pcall(L, 3, 0) != LUA_OK) {
      pr_pushtrace(L);
      pr_capreject(L, S, 2, 3, 4);
    }
  }
  lua_settop(L, 2);
  return 1;
}


static int p_all (lua_State *L) {
  return combinator(L, PR_JALL, "all");
}

static int p_allsettled (lua_State *L) {
  return combinator(L, PR_JALLSETTLED, "allSettled");
}

static int p_race (lua_State *L) {
  return combinator(L, PR_JRACE, "race");
}

static int p_any (lua_State *L) {
  return combinator(L, PR_JANY, "any");
}


static const luaL_Reg funcs[] = {
  {"all", p_all},
  {"allSettled", p_allsettled},
  {"race", p_race},
  {"any", p_any},
  {NULL, NULL}
};


/* stack: 1 module, 2 state */
void pr_opencombinators (lua_State *L) {
  lua_pushvalue(L, 2);
  lua_pushcclosure(L, combine, 1);
  lua_setiuservalue(L, 2, PR_SUV_COMBINE);
  lua_pushvalue(L, 1);
  pr_register(L, funcs);
  lua_pop(L, 1);
}
