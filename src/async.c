/*
** async.c: async functions over coroutines, after ECMA-262's
** AsyncFunctionStart and Await.
**
** An async function runs in a new coroutine. `await(v)` yields it; the
** driver (pr_resume) then subscribes a continuation job to the awaited
** promise, and the microtask drain resumes the coroutine from its loop, so
** continuations never nest and a long run of awaits keeps the C stack flat.
*/
#include "lpromise.h"


#if LUA_VERSION_RELEASE_NUM >= 50406
#define closethread(th, from)  lua_closethread(th, from)
#else
#define closethread(th, from)  ((void)(from), lua_resetthread(th))
#endif


/* continuation of await: the driver resumed us with (ok, value) */
static int awaitk (lua_State *L, int status, lua_KContext ctx) {
  (void)status; (void)ctx;
  lua_settop(L, 2);
  if (lua_toboolean(L, 1)) return 1;
  return lua_error(L);  /* the reason, unchanged */
}


/* the coroutine yielded through await: subscribe its continuation */
static void subscribe (lua_State *L, pr_State *S, int co, int p) {
  int v = lua_gettop(L);
  int t = lua_type(L, v);
  if (t != LUA_TTABLE && t != LUA_TUSERDATA)
    pr_enqueue(L, S, PR_JAWAITVAL, co, v, p);
  else {
    pr_promiseresolve(L, S, v);
    pr_then(L, S, lua_gettop(L), PR_JAWAIT, co, co, p);
  }
}


/*
** In a job that resumes a coroutine, with the queue empty, the job its
** await would queue is the very next one to run: when the awaited value is
** plain or a fulfilled promise of ours, turn the yielded value on 'th' into
** the arguments of that resumption and say so, saving the round trip
** through the queue.
*/
static int readynow (pr_State *S, lua_State *th) {
  int v = lua_gettop(th);
  int t = lua_type(th, v);
  if (S->count != 0 || t == LUA_TTABLE || !lua_checkstack(th, 1)) return 0;
  if (t == LUA_TUSERDATA) {
    pr_Promise *pp = pr_topromise(th, S, v);
    if (pp == NULL || pp->state != PR_FULFILLED) return 0;
    pp->flags |= PR_HANDLED;
    lua_getiuservalue(th, v, PR_UV_A);
    lua_replace(th, v);
  }
  lua_pushboolean(th, 1);
  lua_insert(th, v);
  return 1;
}


/*
** Resume the async coroutine at stack index 'co' with the 'nargs' values
** on its stack, and handle what it did: awaited, returned or raised. 'p'
** is the promise of the async call. 'injob' is true when the caller is the
** drain loop running this coroutine's continuation job.
*/
void pr_resume (lua_State *L, pr_State *S, int co, int nargs, int p,
                int injob) {
  lua_State *th = lua_tothread(L, co);
  lua_State *prev = S->current;
  int top = lua_gettop(L);
  int status, nres;
  for (;;) {
    S->current = th;
    S->awaiting = 0;
    status = lua_resume(th, L, nargs, &nres);
    S->current = prev;
    if (status != LUA_YIELD || !S->awaiting) break;
    S->awaiting = 0;
    if (!injob || !readynow(S, th)) {
      lua_xmove(th, L, 1);
      subscribe(L, S, co, p);
      lua_settop(L, top);
      return;
    }
    nargs = 2;
  }
  if (status == LUA_YIELD) {
    lua_pop(th, nres);
    closethread(th, L);  /* never resumed again: close its variables */
    pr_newerror(L, PR_SUV_ERROR,
                "coroutine.yield called in an async function (use await)");
    pr_capreject(L, S, p, top + 1, 0);
  }
  else if (status == LUA_OK) {
    pr_forgetawait(L, S, th);
    if (nres > 0) {  /* the first result only */
      lua_pop(th, nres - 1);
      lua_xmove(th, L, 1);
    }
    else
      lua_pushnil(L);
    pr_capresolve(L, S, p, top + 1);
  }
  else {
    /* top + 1, before the stack goes: with who awaits 'p' (trace.c) */
    pr_errortrace(L, S, co, p);
    /* close its pending to-be-closed variables, as coroutine.wrap does; a
       __close that raises replaces the error, left on top of 'th' */
    closethread(th, L);
    lua_xmove(th, L, 1);
    lua_insert(L, top + 1);           /* error at top + 1, traceback + 2 */
    pr_capreject(L, S, p, top + 1, top + 2);
  }
  lua_settop(L, top);
}


/* the function returned by Promise.async (upvalues: state, fn) */
static int asynccall (lua_State *L) {
  pr_State *S = pr_getstate(L);
  int n = lua_gettop(L);
  lua_State *co = lua_newthread(L);       /* n + 1 */
  if (!lua_checkstack(co, n + 1))
    return luaL_error(L, "too many arguments to an async function");
  pr_newpromise(L);                       /* n + 2 */
  lua_pushvalue(L, lua_upvalueindex(2));
  lua_xmove(L, co, 1);
  lua_rotate(L, 1, 2);                    /* co, promise, args... */
  lua_xmove(L, co, n);
  pr_resume(L, S, 1, n, 2, 0);
  return 1;
}


/* is the value at 'w' the function Promise.async made from the one at 'f'? */
int pr_asyncwraps (lua_State *L, int w, int f) {
  int r;
  if (lua_tocfunction(L, w) != asynccall
      || lua_getupvalue(L, w, 2) == NULL)
    return 0;
  r = lua_rawequal(L, -1, f);
  lua_pop(L, 1);
  return r;
}


static int p_async (lua_State *L) {
  luaL_argexpected(L, pr_iscallable(L, 1), 1, "function");
  lua_settop(L, 1);
  lua_pushvalue(L, pr_stateidx);
  lua_insert(L, 1);
  lua_pushcclosure(L, asynccall, 2);
  return 1;
}


static int p_await (lua_State *L) {
  pr_State *S = pr_getstate(L);
  lua_settop(L, 1);
  if (L == S->current) {
    if (!lua_isyieldable(L))
      return luaL_error(L, "await cannot suspend here (a C function or "
                        "metamethod is between it and its async function)");
    S->awaiting = 1;
    return lua_yieldk(L, 1, 0, awaitk);
  }
  if (S->current == NULL) {
    lua_getiuservalue(L, pr_stateidx, PR_SUV_OUTSIDE);
    if (!lua_isnil(L, -1)) {
      lua_insert(L, 1);
      lua_call(L, 1, LUA_MULTRET);
      return lua_gettop(L);
    }
  }
  return luaL_error(L, "await called outside an async function");
}


static const luaL_Reg funcs[] = {
  {"async", p_async},
  {"await", p_await},
  {NULL, NULL}
};


/* stack: 1 module, 2 state */
void pr_openasync (lua_State *L) {
  lua_pushvalue(L, 1);
  pr_register(L, funcs);
  lua_pop(L, 1);
}
