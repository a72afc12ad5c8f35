/*
** queue.c: the microtask queue (ECMA-262 jobs), its drain loop, rejection
** tracking and the reporters.
**
** Jobs live in a chain of chunk tables, three value slots per job, with
** the job words in C memory (see the job kinds and the chunks in
** lpromise.h). The
** queue is drained by a loop, never by recursion, so chains of any length
** run in constant C stack. Room is made before a job is stored
** (pr_reserve), so storing never allocates and an out-of-memory error
** cannot lose a job; a burst never copies the jobs already queued.
*/
#include <stdio.h>
#include <string.h>

#include "lpromise.h"



static const char tracekey = 't';  /* registry key of the last traceback */

#define DRAIN_MSGH 2  /* stack index of the message handler in a drain */


/* {====================================================== errors */

/* message handler: keep the error value, note its traceback aside */
static int msgh (lua_State *L) {
  luaL_traceback(L, L, NULL, 1);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &tracekey);
  lua_settop(L, 1);
  return 1;
}


/* lua_pcall with a message handler that records the traceback */
int pr_pcall (lua_State *L, int nargs, int nres) {
  int f = lua_gettop(L) - nargs;
  int status;
  lua_pushcfunction(L, msgh);
  lua_insert(L, f);
  status = lua_pcall(L, nargs, nres, f);
  lua_remove(L, f);
  return status;
}


/* push the traceback of the last error caught by pr_pcall, or nil */
void pr_pushtrace (lua_State *L) {
  lua_rawgetp(L, LUA_REGISTRYINDEX, &tracekey);
  lua_pushnil(L);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &tracekey);
}


/*
** Call the reporter at 'hook' with the 'nargs' values on top. A reporter
** that raises must not take the queue down: say so on stderr.
*/
void pr_report (lua_State *L, int hook, int nargs) {
  lua_pushvalue(L, hook);
  lua_insert(L, -nargs - 1);
  if (lua_pcall(L, nargs, 0, 0) != LUA_OK) {
    /* no __tostring here: it could raise again */
    const char *msg = lua_tostring(L, -1);
    fprintf(stderr, "promise: error in a reporter: %s\n",
            msg != NULL ? msg : luaL_typename(L, -1));
    fflush(stderr);
    lua_pop(L, 1);
  }
}

/* }====================================================== */


/* {====================================================== the queue */

/* ask whoever drives the queue for a drain, once per drain */
void pr_needdrain (lua_State *L, pr_State *S) {
  if (S->draining || S->signalled) return;
  lua_getiuservalue(L, pr_stateidx, PR_SUV_DRAINHOOK);
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    return;
  }
  S->signalled = 1;
  if (lua_pcall(L, 0, 0, 0) != LUA_OK) {
    /* not told: ask again on the next job (the C stack may be deep now) */
    const char *msg = lua_tostring(L, -1);
    if (msg == NULL) msg = luaL_typename(L, -1);
    S->signalled = 0;
    if (strstr(msg, "stack overflow") == NULL) {
      fprintf(stderr, "promise: the drain hook failed: %s\n", msg);
      fflush(stderr);
    }
    lua_pop(L, 1);
  }
}


/* jobs that can be stored without allocating */
static lua_Integer room (const pr_State *S) {
  return (PR_CHUNK - S->tail) + PR_CHUNK * S->spare;
}


/* push a new chunk: its table, with its words userdata in slot PR_WORDS */
static void newchunk (lua_State *L) {
  lua_createtable(L, PR_WORDS, 0);        /* the extra slots are in the array */
  lua_newuserdatauv(L, PR_CHUNK * sizeof(lua_Integer), 0);
  lua_rawseti(L, -2, PR_WORDS);
}


/* the job words of the chunk at 'q' */
static lua_Integer *chunkwords (lua_State *L, int q) {
  lua_Integer *w;
  lua_rawgeti(L, q, PR_WORDS);
  w = (lua_Integer *)lua_touserdata(L, -1);
  lua_pop(L, 1);
  return w;
}


/*
** Make room for 'n' more jobs by allocating spare chunks: this is the only
** step of queueing that can fail, so once room is made no job can be lost.
** An allocation may run a __gc that queues jobs itself: the chain is read
** only after each allocation.
*/
void pr_reserve (lua_State *L, pr_State *S, lua_Integer n) {
  while (room(S) < n) {
    newchunk(L);
    lua_getiuservalue(L, pr_stateidx, PR_SUV_QLAST);
    lua_pushvalue(L, -2);
    lua_rawseti(L, -2, PR_LINK);          /* last.next = chunk */
    lua_pop(L, 1);
    lua_setiuservalue(L, pr_stateidx, PR_SUV_QLAST);
    S->spare++;
  }
}


/* the value slots of a free job are nil: only values need storing */
static void setslot (lua_State *L, int q, lua_Integer slot, int idx) {
  if (idx) {
    lua_pushvalue(L, idx);
    lua_rawseti(L, q, slot);
  }
}


/*
** Queue a job; 'a', 'b', 'c' are absolute stack indices, 0 for nil.
** Returns S->seq as it was right after the job went in (the drain hook,
** called last, may queue or run jobs itself).
*/
lua_Integer pr_enqueue (lua_State *L, pr_State *S, lua_Integer word,
                        int a, int b, int c) {
  lua_Integer seq;
  lua_Integer slot;
  int q;
  luaL_checkstack(L, 4, NULL);
  pr_reserve(L, S, 1);
  lua_getiuservalue(L, pr_stateidx, PR_SUV_QTAIL);
  q = lua_gettop(L);
  if (S->tail == PR_CHUNK) {  /* the tail chunk is full: move to a spare */
    lua_rawgeti(L, q, PR_LINK);
    lua_replace(L, q);
    lua_pushvalue(L, q);
    lua_setiuservalue(L, pr_stateidx, PR_SUV_QTAIL);
    S->tw = chunkwords(L, q);
    S->tail = 0;
    S->spare--;
  }
  slot = 3 * S->tail;
  setslot(L, q, slot + 1, a);
  setslot(L, q, slot + 2, b);
  setslot(L, q, slot + 3, c);
  S->tw[S->tail] = word;
  S->tail++;
  S->count++;
  seq = ++S->seq;
  lua_pop(L, 1);
  pr_needdrain(L, S);
  return seq;
}


/* remember a rejected promise that has no handler yet */
void pr_track (lua_State *L, pr_State *S, int p) {
  pr_Promise *pp = (pr_Promise *)lua_touserdata(L, p);
  if (pp->flags & PR_TRACKED) return;
  lua_getiuservalue(L, pr_stateidx, PR_SUV_REJECTED);
  lua_pushvalue(L, p);
  lua_rawseti(L, -2, S->nrejected + 1);  /* may fail: count it after */
  S->nrejected++;
  pp->flags |= PR_TRACKED;
  lua_pop(L, 1);
  pr_needdrain(L, S);
}


static int defaultunhandled (lua_State *L);

/* report the tracked rejections that are still unhandled */
static void checkrejections (lua_State *L, pr_State *S) {
  lua_Integer i, n;
  int top = lua_gettop(L);
  lua_newtable(L);  /* first: a __gc run by this allocation may track more */
  lua_getiuservalue(L, pr_stateidx, PR_SUV_REJECTED);
  n = S->nrejected;
  lua_insert(L, top + 1);                              /* old list: top + 1 */
  lua_setiuservalue(L, pr_stateidx, PR_SUV_REJECTED);
  S->nrejected = 0;
  lua_getiuservalue(L, pr_stateidx, PR_SUV_UNHANDLED);  /* top + 2 */
  for (i = 1; i <= n; i++) {
    pr_Promise *pp;
    lua_rawgeti(L, top + 1, i);
    pp = (pr_Promise *)lua_touserdata(L, -1);
    pp->flags &= ~PR_TRACKED;
    if ((pp->flags & (PR_HANDLED | PR_REPORTED))
        == (PR_HANDLED | PR_REPORTED)) {  /* handled after it was reported */
      pp->flags &= ~PR_REPORTED;
      lua_getiuservalue(L, pr_stateidx, PR_SUV_HANDLED);
      lua_pushvalue(L, -2);
      pr_report(L, lua_gettop(L) - 1, 1);
    }
    else if (!(pp->flags & PR_HANDLED) && pp->state == PR_REJECTED) {
      pp->flags |= PR_REPORTED;
      lua_getiuservalue(L, -1, PR_UV_A);    /* reason */
      lua_pushvalue(L, -2);                 /* promise */
      if (lua_tocfunction(L, top + 2) == defaultunhandled) {
        lua_getiuservalue(L, -1, PR_UV_B);  /* traceback, for stderr */
        pr_report(L, top + 2, 3);
      }
      else  /* fn(reason, promise), as the contract says */
        pr_report(L, top + 2, 2);
    }
    lua_settop(L, top + 2);
  }
  lua_settop(L, top);
}

/* }====================================================== */


/* {====================================================== running jobs */

static void runthen (lua_State *L, pr_State *S, lua_Integer word, int a,
                     int b, int c) {
  int v = lua_gettop(L) + 1;
  lua_getiuservalue(L, b, PR_UV_A);
  if (lua_isnil(L, a)) {  /* pass the outcome through */
    if (word & PR_JREJ) {
      lua_getiuservalue(L, b, PR_UV_B);
      pr_capreject(L, S, c, v, v + 1);
    }
    else
      pr_capresolve(L, S, c, v);
    return;
  }
  lua_pushvalue(L, a);
  lua_pushvalue(L, v);
  if (lua_pcall(L, 1, 1, DRAIN_MSGH) == LUA_OK)
    pr_capresolve(L, S, c, v + 1);
  else {
    pr_pushtrace(L);
    pr_extendtrace(L, S, c);              /* who waits for 'c' */
    pr_capreject(L, S, c, v + 1, v + 2);
  }
}


/* a promise of ours settled: settle the promise that adopted it */
static void runadopt (lua_State *L, pr_State *S, lua_Integer word, int b,
                      int c) {
  pr_Promise *pp = (pr_Promise *)lua_touserdata(L, c);
  int v = lua_gettop(L) + 1;
  if (pp->state != PR_PENDING) return;
  lua_getiuservalue(L, b, PR_UV_A);
  if (word & PR_JREJ) {
    lua_getiuservalue(L, b, PR_UV_B);
    pr_settle(L, S, c, PR_REJECTED, v, v + 1);
  }
  else
    pr_resolve(L, S, c, v);
}


static void runawait (lua_State *L, pr_State *S, lua_Integer word, int a,
                      int b, int c) {
  lua_State *co = lua_tothread(L, a);
  if (co == L || lua_status(co) != LUA_YIELD) {  /* resumed by someone else */
    pr_newerror(L, PR_SUV_ERROR, "async function resumed outside await");
    pr_capreject(L, S, c, lua_gettop(L), 0);
    return;
  }
  if (!lua_checkstack(co, 2))
    luaL_error(L, "cannot resume an async function: stack overflow");
  lua_pushboolean(co, !(word & PR_JREJ));
  if ((word & PR_JREJ) && (word & PR_JKIND) == PR_JAWAIT)
    pr_noteawait(L, S, a, b);  /* a rethrow keeps its traceback */
  if ((word & PR_JKIND) == PR_JAWAIT)
    lua_getiuservalue(L, b, PR_UV_A);
  else
    lua_pushvalue(L, b);
  lua_xmove(L, co, 1);
  pr_resume(L, S, a, 2, c, 1);
}


static void runmicrotask (lua_State *L, int a) {
  lua_pushvalue(L, a);
  if (pr_pcall(L, 0, 0) != LUA_OK) {
    int top = lua_gettop(L);
    pr_pushtrace(L);
    lua_getiuservalue(L, pr_stateidx, PR_SUV_UNCAUGHT);
    lua_pushvalue(L, top);
    lua_pushvalue(L, top + 1);
    pr_report(L, top + 2, 2);
  }
}


static void dispatch (lua_State *L, pr_State *S, lua_Integer word, int a,
                      int b, int c) {
  luaL_checkstack(L, 16, NULL);
  switch ((int)(word & PR_JKIND)) {
    case PR_JTHEN: case PR_JRACE: runthen(L, S, word, a, b, c); break;
    case PR_JADOPT: runadopt(L, S, word, b, c); break;
    case PR_JAWAIT: case PR_JAWAITVAL: runawait(L, S, word, a, b, c); break;
    case PR_JALL: case PR_JALLSETTLED: case PR_JANY: case PR_JCOUNT:
      pr_element(L, S, word, a, b, c);
      break;
    case PR_JTHENABLE: pr_thenablejob(L, S, a, b, c); break;
    case PR_JOWNTHENABLE: pr_then(L, S, b, PR_JADOPT, 0, 0, c); break;
    case PR_JMICRO: runmicrotask(L, a); break;
    default: break;
  }
}


/*
** The head chunk (at 'q') is used up: move to the next one and recycle the
** old one as a spare at the end of the chain (its job slots are all nil).
*/
static void nextchunk (lua_State *L, pr_State *S, int q) {
  lua_rawgeti(L, q, PR_LINK);                        /* the next chunk */
  lua_pushnil(L);
  lua_rawseti(L, q, PR_LINK);
  lua_getiuservalue(L, pr_stateidx, PR_SUV_QLAST);
  lua_pushvalue(L, q);
  lua_rawseti(L, -2, PR_LINK);                       /* last.next = old */
  lua_pop(L, 1);
  lua_pushvalue(L, q);
  lua_setiuservalue(L, pr_stateidx, PR_SUV_QLAST);
  S->spare++;
  lua_pushvalue(L, -1);
  lua_setiuservalue(L, pr_stateidx, PR_SUV_QUEUE);
  lua_replace(L, q);
  S->hw = chunkwords(L, q);
  S->head = 0;
}


/* after a drain: keep one spare chunk at most, give the rest back */
static void trimspares (lua_State *L, pr_State *S) {
  if (S->spare <= 1) return;
  lua_getiuservalue(L, pr_stateidx, PR_SUV_QTAIL);
  lua_rawgeti(L, -1, PR_LINK);                       /* the first spare */
  lua_pushnil(L);
  lua_rawseti(L, -2, PR_LINK);                       /* is the last now */
  lua_setiuservalue(L, pr_stateidx, PR_SUV_QLAST);
  lua_pop(L, 1);
  S->spare = 1;
}


/* the drain loop, run protected; returns the number of jobs it ran */
static int drainloop (lua_State *L) {
  pr_State *S = pr_getstate(L);
  lua_Integer ran = 0;
  lua_settop(L, 0);
  lua_getiuservalue(L, pr_stateidx, PR_SUV_QUEUE);  /* 1: the head chunk */
  lua_pushcfunction(L, msgh);                       /* 2: DRAIN_MSGH */
  do {
    while (S->count > 0) {
      lua_Integer k, slot, word;
      if (S->head == PR_CHUNK) nextchunk(L, S, 1);
      slot = 3 * S->head;
      for (k = 1; k <= 3; k++) lua_rawgeti(L, 1, slot + k);  /* 3..5 */
      for (k = 1; k <= 3; k++) {  /* free the slots that hold a value */
        if (!lua_isnil(L, 2 + k)) {
          lua_pushnil(L);
          lua_rawseti(L, 1, slot + k);
        }
      }
      word = S->hw[S->head];
      S->hw[S->head] = 0;  /* no job: what tests/oom.c checks */
      S->count--;
      S->seq++;
      S->head++;
      if (S->count == 0) S->head = S->tail = 0;  /* reuse the chunk */
      dispatch(L, S, word, 3, 4, 5);
      lua_settop(L, 2);
      ran++;
    }
    if (S->nrejected > 0) checkrejections(L, S);
  } while (S->count > 0);
  trimspares(L, S);
  lua_pushinteger(L, ran);
  return 1;
}


/* Promise.drain(): run the queue until it is empty */
static int p_drain (lua_State *L) {
  pr_State *S = pr_getstate(L);
  int status;
  if (S->draining || (S->count == 0 && S->nrejected == 0)) {
    /* folded into the running drain, or nothing to do: every luv callback
       of the I/O modules drains before and after it, mostly for nothing */
    lua_pushinteger(L, 0);
    return 1;
  }
  S->draining = 1;
  lua_settop(L, 0);
  lua_getiuservalue(L, pr_stateidx, PR_SUV_DRAINLOOP);  /* drainloop */
  status = lua_pcall(L, 0, 1, 0);
  S->draining = 0;
  S->signalled = 0;
  if (status != LUA_OK) return lua_error(L);
  return 1;
}


static int p_queuemicrotask (lua_State *L) {
  pr_State *S = pr_getstate(L);
  luaL_argexpected(L, pr_iscallable(L, 1), 1, "function");
  lua_settop(L, 1);
  pr_enqueue(L, S, PR_JMICRO, 1, 0, 0);
  return 0;
}


static int sethook (lua_State *L, int slot, lua_CFunction dflt) {
  if (!lua_isnoneornil(L, 1))
    luaL_argexpected(L, pr_iscallable(L, 1), 1, "function or nil");
  lua_settop(L, 1);
  if (lua_isnil(L, 1) && dflt != NULL) lua_pushcfunction(L, dflt);
  else lua_pushvalue(L, 1);
  lua_setiuservalue(L, pr_stateidx, slot);
  return 0;
}


static int tostr (lua_State *L) {
  luaL_tolstring(L, 1, NULL);
  return 1;
}


/* write "<title><tostring(value)>\n<traceback>\n" to stderr */
static int writereport (lua_State *L, const char *title) {
  const char *msg;
  lua_pushcfunction(L, tostr);
  lua_pushvalue(L, 1);
  if (lua_pcall(L, 1, 1, 0) != LUA_OK)  /* a __tostring that raises */
    lua_pushfstring(L, "(%s: its __tostring failed)", luaL_typename(L, 1));
  msg = lua_tostring(L, -1);
  const char *tb = lua_tostring(L, 3);
  fprintf(stderr, "%s%s\n", title, msg);
  if (tb != NULL) fprintf(stderr, "%s\n", tb);
  fflush(stderr);
  return 0;
}

static int defaultunhandled (lua_State *L) {
  lua_settop(L, 3);
  return writereport(L, "Unhandled promise rejection: ");
}

static int defaultuncaught (lua_State *L) {
  lua_settop(L, 2);
  lua_pushnil(L);
  lua_insert(L, 2);  /* traceback at 3 */
  return writereport(L, "Uncaught error: ");
}

static int nop (lua_State *L) {
  (void)L;
  return 0;
}

static int p_onunhandled (lua_State *L) {
  return sethook(L, PR_SUV_UNHANDLED, defaultunhandled);
}

static int p_onhandled (lua_State *L) {
  return sethook(L, PR_SUV_HANDLED, nop);
}

static int p_onuncaught (lua_State *L) {
  return sethook(L, PR_SUV_UNCAUGHT, defaultuncaught);
}

static int p_ondrainneeded (lua_State *L) {
  return sethook(L, PR_SUV_DRAINHOOK, NULL);
}


/* Promise.reportError(err, [traceback]): to the uncaught-error reporter */
static int p_reporterror (lua_State *L) {
  lua_settop(L, 2);
  lua_getiuservalue(L, pr_stateidx, PR_SUV_UNCAUGHT);
  lua_insert(L, 1);
  pr_report(L, 1, 2);
  return 0;
}


static const luaL_Reg funcs[] = {
  {"drain", p_drain},
  {"queueMicrotask", p_queuemicrotask},
  {"onUnhandledRejection", p_onunhandled},
  {"onRejectionHandled", p_onhandled},
  {"onUncaughtError", p_onuncaught},
  {"onDrainNeeded", p_ondrainneeded},
  {"reportError", p_reporterror},
  {NULL, NULL}
};


/* stack: 1 module, 2 state */
void pr_openqueue (lua_State *L) {
  pr_State *S = (pr_State *)lua_touserdata(L, 2);
  S->head = S->tail = S->count = S->spare = S->seq = 0;
  newchunk(L);
  S->hw = S->tw = chunkwords(L, lua_gettop(L));
  lua_pushvalue(L, -1);
  lua_setiuservalue(L, 2, PR_SUV_QTAIL);
  lua_pushvalue(L, -1);
  lua_setiuservalue(L, 2, PR_SUV_QLAST);
  lua_setiuservalue(L, 2, PR_SUV_QUEUE);
  lua_newtable(L);
  lua_setiuservalue(L, 2, PR_SUV_REJECTED);
  lua_pushcfunction(L, defaultunhandled);
  lua_setiuservalue(L, 2, PR_SUV_UNHANDLED);
  lua_pushcfunction(L, nop);
  lua_setiuservalue(L, 2, PR_SUV_HANDLED);
  lua_pushcfunction(L, defaultuncaught);
  lua_setiuservalue(L, 2, PR_SUV_UNCAUGHT);
  lua_pushvalue(L, 2);
  lua_pushcclosure(L, drainloop, 1);
  lua_setiuservalue(L, 2, PR_SUV_DRAINLOOP);
  lua_pushvalue(L, 1);
  pr_register(L, funcs);
  lua_pop(L, 1);
}

/* }====================================================== */
