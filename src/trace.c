/*
** trace.c: async stack traces, and the core's debugging hooks.
**
** When an error is raised in an async function or in a handler, the
** traceback kept beside the reason goes on, at that moment, through whoever
** waits for the promise being rejected: the walk follows its reactions (an
** await, a combinator, a next, an adoption, or a link that a Lua module
** declared) to the promise each one settles, and so on, writing one line
** per async function that awaits ("--- awaited in: a.lua:12: in function
** 'f'") and per combinator ("--- in Promise.all (element 2)"). Nothing is
** recorded while code runs without errors: the chain is read off the
** reactions, as V8 does for its async stack traces. An async function that
** raises again the reason its await delivered (a plain propagation, or a
** pcall and a rethrow) keeps the traceback of where it was first raised.
**
** Everything here is best effort and runs protected: under a memory
** error, or a hook that raises, a traceback stays as it was, and no
** settlement is ever lost to it. The walk reads only raw fields and makes
** at most PR_MAXCHAIN steps, so a cycle of adoptions ends it.
**
** The debugging hooks (set by promise.debug through core.debughooks):
** 'create(p, parent)' is called for each new promise ('parent' is the
** promise next/catch/finally was called on) and 'describe(p, first)' gives
** a line to add for each promise a walk visits (long traces); with a
** describe hook, a rejection that has no traceback gets one where it was
** made. A hook never runs inside a hook; what it raises is ignored.
*/
#include <string.h>

#include "lpromise.h"

#define PR_MAXCHAIN 64      /* promises one walk visits at most */
#define PR_MAXREACT 1000    /* reactions of one promise a walk looks at */
#define PR_MAXSEARCH 4000   /* table entries a name search looks at */

/* what the stack slots of a walk hold: see walk() */
#define W_STATE  1
#define W_TRACE  2
#define W_CUR    3


/* {====================================================== where */

/* pop the value on top; true when it is the async wrapper of 'f' */
static int popwraps (lua_State *L, int f) {
  int r = pr_asyncwraps(L, lua_gettop(L), f);
  lua_pop(L, 1);
  return r;
}


/*
** Look for the function that Promise.async made from the function at 'f'
** among the locals and upvalues of the Lua frames of 'co' (the coroutine
** that awaits it, or NULL): push its name and return 1, or return 0.
*/
static int namefromframes (lua_State *L, lua_State *co, int f) {
  lua_Debug ar;
  int level, i;
  const char *name;
  if (co == NULL || !lua_checkstack(co, 2)) return 0;
  for (level = 0; level < 32 && lua_getstack(co, level, &ar); level++) {
    for (i = 1; (name = lua_getlocal(co, &ar, i)) != NULL; i++) {
      lua_xmove(co, L, 1);
      if (popwraps(L, f)) { lua_pushstring(L, name); return 1; }
    }
    lua_getinfo(L, "f", &ar);           /* the frame's function, on L */
    for (i = 1; (name = lua_getupvalue(L, -1, i)) != NULL; i++) {
      if (popwraps(L, f)) {
        lua_pop(L, 1);
        lua_pushstring(L, name);
        return 1;
      }
    }
    lua_pop(L, 1);
  }
  return 0;
}


/*
** Look for the wrapper of 'f' among the fields of the loaded modules (as
** luaL_traceback does for global functions): push "mod.name" (or "name"
** for a global) and return 1, or return 0. '*budget' bounds the search.
*/
static int namefromtable (lua_State *L, int t, int f, const char *prefix,
                          int *budget) {
  lua_pushnil(L);
  while (*budget > 0 && lua_next(L, t) != 0) {
    (*budget)--;
    if (lua_type(L, -2) != LUA_TSTRING) lua_pop(L, 1);
    else if (popwraps(L, f)) {
      if (prefix != NULL) lua_pushfstring(L, "%s.%s", prefix,
                                          lua_tostring(L, -1));
      else lua_pushvalue(L, -1);
      lua_remove(L, -2);                  /* the key */
      return 1;
    }
  }
  if (*budget <= 0) lua_pop(L, 1);        /* the key left by the cut */
  return 0;
}

static int namefromloaded (lua_State *L, int f) {
  int budget = PR_MAXSEARCH;
  int top = lua_gettop(L);
  lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  if (!lua_istable(L, -1)) { lua_settop(L, top); return 0; }
  lua_pushnil(L);
  while (budget > 0 && lua_next(L, top + 1) != 0) {
    budget--;
    if (lua_type(L, -2) == LUA_TSTRING && lua_istable(L, -1)) {
      const char *mod = lua_tostring(L, -2);
      if (namefromtable(L, lua_gettop(L), f,
                        strcmp(mod, LUA_GNAME) == 0 ? NULL : mod, &budget)) {
        lua_replace(L, top + 1);
        lua_settop(L, top + 1);
        return 1;
      }
    }
    lua_pop(L, 1);
  }
  lua_settop(L, top);
  return 0;
}


/*
** Push the name of the async wrapper of the function at 'f': from the
** frames of 'awaiter', of the running thread (an error raised before the
** first await), the loaded modules, or the main thread's frames (the
** locals of a script's main chunk). Return 0, pushing nothing, if none.
*/
static int pushname (lua_State *L, lua_State *awaiter, int f) {
  lua_State *main;
  if (namefromframes(L, awaiter, f)
      || (awaiter != L && namefromframes(L, L, f))  /* called from here */
      || namefromloaded(L, f))
    return 1;
  lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_MAINTHREAD);
  main = lua_tothread(L, -1);
  lua_pop(L, 1);  /* the registry keeps it */
  return main != awaiter && main != L && namefromframes(L, main, f);
}


/*
** Push "src:line: in <what>" for the first Lua frame of the coroutine
** 'co' (suspended in an await, or dead from an error). The function at
** the bottom of the coroutine has no name from its call: it is named
** after the async wrapper found in 'awaiter''s frames or a loaded module.
*/
static void pushwhere (lua_State *L, lua_State *co, lua_State *awaiter) {
  lua_Debug ar;
  int level;
  for (level = 0; lua_getstack(co, level, &ar); level++) {
    lua_getinfo(co, "Sl", &ar);
    if (ar.currentline > 0) break;
  }
  if (!lua_getstack(co, level, &ar)) {
    lua_pushliteral(L, "?");
    return;
  }
  lua_getinfo(co, "Sln", &ar);
  lua_pushfstring(L, "%s:%d: in ", ar.short_src, ar.currentline);
  if (*ar.namewhat != '\0') {
    lua_pushfstring(L, "%s '%s'", ar.namewhat, ar.name);
  }
  else {
    lua_Debug up;
    int f = lua_gettop(L) + 1;
    int base = !lua_getstack(co, level + 1, &up);
    lua_getinfo(L, "f", &ar);             /* f: the frame's function */
    if (base && pushname(L, awaiter, f))
      lua_pushfstring(L, "function '%s'", lua_tostring(L, -1));
    else
      lua_pushfstring(L, "function <%s:%d>", ar.short_src, ar.linedefined);
    lua_replace(L, f);
    lua_settop(L, f);
  }
  lua_concat(L, 2);
}

/*
** The traceback on top, of the coroutine 'th', ends with the function at
** the bottom of 'th', which luaL_traceback cannot name: name it after its
** async wrapper when one is found (see pushwhere).
*/
static void namebase (lua_State *L, lua_State *th, lua_State *awaiter) {
  lua_Debug ar;
  int level = 0, tb = lua_gettop(L);
  size_t len, n;
  const char *s, *unnamed;
  while (lua_getstack(th, level + 1, &ar)) level++;
  if (!lua_getstack(th, level, &ar) || !lua_getinfo(th, "Sn", &ar)
      || *ar.what != 'L' || *ar.namewhat != '\0')
    return;
  lua_getinfo(L, "f", &ar);               /* tb + 1 */
  unnamed = lua_pushfstring(L, "in function <%s:%d>", ar.short_src,
                            ar.linedefined);          /* tb + 2 */
  s = lua_tolstring(L, tb, &len);
  n = strlen(unnamed);
  if (len >= n && strcmp(s + len - n, unnamed) == 0
      && pushname(L, awaiter, tb + 1)) {
    lua_pushlstring(L, s, len - n);
    lua_pushfstring(L, "in function '%s'", lua_tostring(L, -2));
    lua_concat(L, 2);
    lua_replace(L, tb);
  }
  lua_settop(L, tb);
}

/* }====================================================== */


/* {====================================================== the walk */

static pr_Promise *topending (lua_State *L, pr_State *S, int p) {
  pr_Promise *pp = pr_topromise(L, S, p);
  return (pp != NULL && pp->state == PR_PENDING) ? pp : NULL;
}


static lua_Integer nreact (const pr_Promise *pp) {
  lua_Integer n = (pp->flags & PR_LIST) ? pp->word
                  : (pp->flags & PR_ONE) ? 1 : 0;
  return n < PR_MAXREACT ? n : PR_MAXREACT;
}


/*
** Push the handler slot and the target of reaction 'i' (from 0) of the
** pending promise 'pp' at 'p'; return its job word.
*/
static lua_Integer pushreaction (lua_State *L, int p, const pr_Promise *pp,
                                 lua_Integer i) {
  lua_Integer word;
  if (pp->flags & PR_ONE) {
    lua_getiuservalue(L, p, PR_UV_A);
    lua_getiuservalue(L, p, PR_UV_B);
    return pp->word;
  }
  lua_getiuservalue(L, p, PR_UV_A);       /* the list */
  lua_rawgeti(L, -1, 3 * i + 1);
  word = lua_tointeger(L, -1);
  lua_pop(L, 1);
  lua_rawgeti(L, -1, 3 * i + 2);
  lua_rawgeti(L, -2, 3 * i + 3);
  lua_remove(L, -3);
  return word;
}


/* how much a walk wants to follow a reaction of this kind (0: not) */
static int rank (int kind) {
  switch (kind) {
    case PR_JAWAIT: return 3;
    case PR_JALL: case PR_JALLSETTLED: case PR_JANY: case PR_JRACE:
      return 2;
    case PR_JTHEN: case PR_JADOPT: return 1;
    default: return 0;
  }
}


/*
** Find the reaction of the pending promise at 'p' that a walk follows:
** the first await, else the first combinator, else the first next or
** adoption whose target is a pending promise. Push its handler slot and
** target and return its word, or push nothing and return 0.
*/
static lua_Integer pickreaction (lua_State *L, pr_State *S, int p) {
  pr_Promise *pp = topending(L, S, p);
  lua_Integer i, n, best = -1, bestword = 0;
  int bestrank = 0;
  if (pp == NULL) return 0;
  n = nreact(pp);
  for (i = 0; i < n && bestrank < 3; i++) {
    lua_Integer word = pushreaction(L, p, pp, i);
    int r = rank((int)(word & PR_JKIND));
    if (r > bestrank && topending(L, S, lua_gettop(L)) != NULL) {
      best = i;
      bestrank = r;
      bestword = word;
    }
    lua_pop(L, 2);
  }
  if (best < 0) return 0;
  pushreaction(L, p, pp, best);
  return bestword;
}


/*
** The coroutine of the first await met going on from the promise at 'p'
** (through combinators and nexts, a few steps), or NULL. The thread stays
** alive: a reaction holds it.
*/
static lua_State *awaiterof (lua_State *L, pr_State *S, int p) {
  lua_State *co = NULL;
  int top = lua_gettop(L);
  int steps;
  lua_pushvalue(L, p);
  for (steps = 0; steps < 8 && co == NULL; steps++) {
    lua_Integer word = pickreaction(L, S, top + 1);
    if (word == 0) break;
    if ((word & PR_JKIND) == PR_JAWAIT) co = lua_tothread(L, -2);
    lua_replace(L, top + 1);
    lua_settop(L, top + 1);
  }
  lua_settop(L, top);
  return co;
}


/* add the 'n' strings on top to the trace being made */
static void emit (lua_State *L, int n) {
  lua_concat(L, n);
  lua_pushvalue(L, W_TRACE);
  lua_insert(L, -2);
  lua_concat(L, 2);
  lua_replace(L, W_TRACE);
}


/* add what the describe hook says of the current promise */
static void describe (lua_State *L, pr_State *S, int first) {
  int top = lua_gettop(L);
  int status;
  if (!(S->debug & PR_DDESCRIBE) || S->inhook) return;
  lua_getiuservalue(L, W_STATE, PR_SUV_DESCRIBE);
  lua_pushvalue(L, W_CUR);
  lua_pushboolean(L, first);
  S->inhook = 1;
  status = lua_pcall(L, 2, 1, 0);
  S->inhook = 0;  /* before anything that may raise */
  if (status == LUA_OK && lua_type(L, -1) == LUA_TSTRING) {
    lua_pushliteral(L, "\n");
    lua_insert(L, -2);
    emit(L, 2);
  }
  lua_settop(L, top);
}


/* the line of a label given to core.link: a string, or a function */
static void pushlabel (lua_State *L, int entry) {
  lua_rawgeti(L, entry, 2);
  if (pr_iscallable(L, -1) && lua_pcall(L, 0, 1, 0) != LUA_OK) {
    lua_pop(L, 1);
    lua_pushliteral(L, "?");
  }
  if (lua_type(L, -1) != LUA_TSTRING) {
    lua_pop(L, 1);
    lua_pushliteral(L, "?");
  }
}


/* a link declared for the current promise: follow it */
static int followlink (lua_State *L) {
  int top = lua_gettop(L);
  if (lua_getiuservalue(L, W_STATE, PR_SUV_LINKS) != LUA_TTABLE) {
    lua_settop(L, top);
    return 0;
  }
  lua_pushvalue(L, W_CUR);
  if (lua_rawget(L, -2) != LUA_TTABLE) {
    lua_settop(L, top);
    return 0;
  }
  lua_pushliteral(L, "\n--- awaited in: ");
  pushlabel(L, top + 2);
  emit(L, 2);
  lua_rawgeti(L, top + 2, 1);
  lua_replace(L, W_CUR);
  lua_settop(L, top);
  return 1;
}


static const char *const combinames[] = {
  "Promise.all", "Promise.allSettled", "Promise.any"
};

/* follow a reaction of the current promise: return 0 at the end */
static int follow (lua_State *L, pr_State *S) {
  int top = lua_gettop(L);
  lua_Integer word = pickreaction(L, S, W_CUR);  /* top + 1, top + 2 */
  int kind = (int)(word & PR_JKIND);
  lua_Integer i = word >> PR_JSHIFT;
  if (word == 0) return 0;
  if (kind == PR_JAWAIT) {
    lua_State *co = lua_tothread(L, top + 1);
    lua_pushliteral(L, "\n--- awaited in: ");
    if (co != NULL) pushwhere(L, co, awaiterof(L, S, top + 2));
    else lua_pushliteral(L, "?");
    emit(L, 2);
  }
  else if (kind == PR_JRACE) {
    lua_pushfstring(L, "\n--- in Promise.race (element %I)", i);
    emit(L, 1);
  }
  else if (kind == PR_JALL || kind == PR_JALLSETTLED || kind == PR_JANY) {
    lua_pushfstring(L, "\n--- in %s (element %I)",
                    combinames[kind - PR_JALL], i);
    emit(L, 1);
  }
  lua_replace(L, W_CUR);                  /* the target */
  lua_settop(L, top);
  return 1;
}


/*
** walk(state, traceback, promise) -> traceback: add the chain of whoever
** waits for the promise (pending) to the traceback (a string, or nil).
*/
static int walk (lua_State *L) {
  pr_State *S = (pr_State *)lua_touserdata(L, W_STATE);
  int steps, had = lua_isstring(L, W_TRACE);
  lua_settop(L, W_CUR);
  if (!had) {
    lua_pushliteral(L, "");
    lua_replace(L, W_TRACE);
  }
  for (steps = 0; steps < PR_MAXCHAIN; steps++) {
    pr_Promise *pp = pr_topromise(L, S, W_CUR);
    if (pp == NULL) break;
    describe(L, S, steps == 0);
    pp->flags |= PR_INTRACE;
    if (pp->state != PR_PENDING) break;
    if (!followlink(L) && !follow(L, S)) break;
  }
  if (!had) {  /* no traceback before: drop the first newline, or nil */
    size_t len;
    const char *s = lua_tolstring(L, W_TRACE, &len);
    if (len == 0) lua_pushnil(L);
    else lua_pushlstring(L, s + 1, len - 1);
    return 1;
  }
  lua_settop(L, W_TRACE);
  return 1;
}


/*
** Run the C function 'f' protected with the state, the value on top and
** 'nargs' - 1 more values at the given stack indices; replace the value on
** top with its result when it succeeds, leave it alone when it fails.
*/
static void protect (lua_State *L, lua_CFunction f, int nargs,
                     const int *args) {
  int top = lua_gettop(L);
  int i;
  if (!lua_checkstack(L, nargs + 4)) return;
  lua_pushcfunction(L, f);
  lua_pushvalue(L, pr_stateidx);
  lua_pushvalue(L, top);
  for (i = 1; i < nargs; i++) lua_pushvalue(L, args[i - 1]);
  if (lua_pcall(L, nargs + 1, 1, 0) == LUA_OK) lua_replace(L, top);
  else lua_settop(L, top);
}


/* the traceback (string or nil) on top goes on through the waiters of 'p' */
void pr_extendtrace (lua_State *L, pr_State *S, int p) {
  if (pr_topromise(L, S, p) == NULL) return;
  protect(L, walk, 2, &p);
}

/* }====================================================== */


/* {====================================================== errors */

/*
** When the value at 'e' is the reason of the rejection the last await
** delivered (PR_SUV_RETHROW), push that rejection's traceback and return 1;
** else push nothing and return 0.
*/
static int pushdelivered (lua_State *L, int e) {
  int top = lua_gettop(L);
  if (lua_getiuservalue(L, W_STATE, PR_SUV_RETHROW) == LUA_TUSERDATA) {
    lua_getiuservalue(L, top + 1, PR_UV_A);
    if (lua_rawequal(L, e, top + 2)
        && lua_getiuservalue(L, top + 1, PR_UV_B) == LUA_TSTRING) {
      lua_replace(L, top + 1);
      lua_settop(L, top + 1);
      return 1;
    }
  }
  lua_settop(L, top);
  return 0;
}


/*
** errortrace(state, nil, coroutine, promise): the traceback of the error
** on top of the coroutine, dead in an async function whose promise is
** 'promise'. When the error is the reason its last await delivered, the
** traceback of that rejection is kept, and the coroutine added to it
** unless the rejection's own walk went through its promise already.
*/
static int errortrace (lua_State *L) {
  pr_State *S = (pr_State *)lua_touserdata(L, W_STATE);
  lua_State *th = lua_tothread(L, 3);
  pr_Promise *pp = pr_topromise(L, S, 4);
  lua_settop(L, 4);
  lua_pushvalue(L, 4);
  lua_replace(L, W_CUR);                  /* 1 state, 2 trace, 3 promise */
  lua_settop(L, W_CUR);
  if (pp == NULL || !lua_checkstack(th, 1)) return 0;
  lua_pushvalue(th, -1);
  lua_xmove(th, L, 1);                    /* 4: the error */
  if (S->rethrowco == th && pushdelivered(L, 4)) {
    lua_replace(L, W_TRACE);              /* the first traceback */
    lua_settop(L, W_CUR);
    if (pp->flags & PR_INTRACE) {
      lua_settop(L, W_TRACE);
      return 1;
    }
    lua_pushliteral(L, "\n--- awaited in: ");
    pushwhere(L, th, awaiterof(L, S, W_CUR));
    emit(L, 2);
  }
  else {
    lua_settop(L, W_CUR);
    luaL_traceback(L, th, NULL, 0);
    namebase(L, th, awaiterof(L, S, W_CUR));
    lua_replace(L, W_TRACE);
  }
  lua_settop(L, W_CUR);
  return walk(L);
}


/*
** Push the traceback of the error on top of the coroutine at 'co', dead in
** the async function of the promise at 'p' (before its stack is closed).
*/
void pr_errortrace (lua_State *L, pr_State *S, int co, int p) {
  const int args[2] = {co, p};
  lua_State *th = lua_tothread(L, co);
  lua_pushnil(L);
  protect(L, errortrace, 3, args);
  if (lua_isnil(L, -1)) {  /* failed: the plain traceback, as it was */
    lua_pop(L, 1);
    luaL_traceback(L, th, NULL, 0);
  }
  pr_forgetawait(L, S, th);
}


/* the coroutine 'th' is done: forget the rejection its await delivered */
void pr_forgetawait (lua_State *L, pr_State *S, const lua_State *th) {
  if (S->rethrowco == th) {
    S->rethrowco = NULL;
    lua_pushnil(L);
    lua_setiuservalue(L, pr_stateidx, PR_SUV_RETHROW);
  }
}


/* an await of the coroutine at 'co' delivers the rejection of 'src' */
void pr_noteawait (lua_State *L, pr_State *S, int co, int src) {
  S->rethrowco = lua_tothread(L, co);
  lua_pushvalue(L, src);
  lua_setiuservalue(L, pr_stateidx, PR_SUV_RETHROW);
}


/* rejecttrace(state, nil, promise): where a reason with none was given */
static int rejecttrace (lua_State *L) {
  lua_Debug ar;
  int level = 1;
  lua_settop(L, W_CUR);
  while (lua_getstack(L, level, &ar) && lua_getinfo(L, "l", &ar)
         && ar.currentline <= 0)
    level++;  /* from the first Lua frame: not the C functions that settle */
  luaL_traceback(L, L, NULL, level);
  lua_replace(L, W_TRACE);
  return walk(L);
}


/* push a traceback for the rejection of 'p' with no traceback, or nil */
void pr_rejecttrace (lua_State *L, pr_State *S, int p) {
  lua_pushnil(L);
  if (!S->inhook && topending(L, S, p) != NULL)
    protect(L, rejecttrace, 2, &p);
}

/* }====================================================== */


/* {====================================================== hooks */

/* call the create hook with the new promise at 'p' (its parent: 0, none) */
void pr_notecreate (lua_State *L, pr_State *S, int p, int parent) {
  if (S->inhook || !lua_checkstack(L, 4)) return;
  lua_getiuservalue(L, pr_stateidx, PR_SUV_CREATE);
  lua_pushvalue(L, p);
  if (parent) lua_pushvalue(L, parent); else lua_pushnil(L);
  S->inhook = 1;
  if (lua_pcall(L, 2, 0, 0) != LUA_OK) lua_pop(L, 1);
  S->inhook = 0;
}


static void checkhook (lua_State *L, int idx) {
  if (!lua_isnoneornil(L, idx))
    luaL_argexpected(L, pr_iscallable(L, idx), idx, "function or nil");
}


/* core.debughooks(create, describe): nil turns a hook off */
static int p_debughooks (lua_State *L) {
  pr_State *S = pr_getstate(L);
  checkhook(L, 1);
  checkhook(L, 2);
  lua_settop(L, 2);
  lua_pushvalue(L, 1);
  lua_setiuservalue(L, pr_stateidx, PR_SUV_CREATE);
  lua_pushvalue(L, 2);
  lua_setiuservalue(L, pr_stateidx, PR_SUV_DESCRIBE);
  S->debug = (lua_isnil(L, 1) ? 0 : PR_DCREATE)
             | (lua_isnil(L, 2) ? 0 : PR_DDESCRIBE);
  return 0;
}


/*
** core.link(from, to, label): a rejection walk that reaches 'from' goes on
** at 'to' with the line "--- awaited in: <label>" (a string, or a function
** called when a trace is made). Kept as long as 'from' lives.
*/
static int p_link (lua_State *L) {
  pr_State *S = pr_getstate(L);
  pr_checkpromise(L, S, 1);
  pr_checkpromise(L, S, 2);
  if (!lua_isstring(L, 3))
    luaL_argexpected(L, pr_iscallable(L, 3), 3, "string or function");
  lua_settop(L, 3);
  if (lua_getiuservalue(L, pr_stateidx, PR_SUV_LINKS) != LUA_TTABLE) {
    lua_pop(L, 1);
    lua_newtable(L);                      /* 4 */
    lua_createtable(L, 0, 1);
    lua_pushliteral(L, "k");
    lua_setfield(L, -2, "__mode");
    lua_setmetatable(L, -2);
    lua_pushvalue(L, -1);
    lua_setiuservalue(L, pr_stateidx, PR_SUV_LINKS);
  }
  lua_pushvalue(L, 1);
  lua_createtable(L, 2, 0);
  lua_pushvalue(L, 2);
  lua_rawseti(L, -2, 1);
  lua_pushvalue(L, 3);
  lua_rawseti(L, -2, 2);
  lua_rawset(L, 4);
  return 0;
}


static const char *const kindnames[] = {
  "?", "then", "adopt", "await", "await", "all", "allSettled", "any",
  "thenable", "thenable", "microtask", "all", "race"
};

/*
** core.reactions(p) -> { {kind =, target =, index =, where =}, ... }: the
** reactions of a pending promise ('where': the line an awaiting async
** function stands at).
*/
static int p_reactions (lua_State *L) {
  pr_State *S = pr_getstate(L);
  pr_Promise *pp = pr_checkpromise(L, S, 1);
  lua_Integer i, n = (pp->state == PR_PENDING) ? nreact(pp) : 0;
  lua_settop(L, 1);
  lua_createtable(L, (int)n, 0);          /* 2 */
  for (i = 0; i < n && topending(L, S, 1) == pp; i++) {
    lua_Integer word = pushreaction(L, 1, pp, i);   /* 3, 4 */
    int kind = (int)(word & PR_JKIND);
    lua_createtable(L, 0, 4);             /* 5 */
    lua_pushstring(L, kindnames[kind <= PR_JRACE ? kind : 0]);
    lua_setfield(L, 5, "kind");
    lua_pushvalue(L, 4);
    lua_setfield(L, 5, "target");
    if (kind >= PR_JALL && (word >> PR_JSHIFT) != 0) {
      lua_pushinteger(L, word >> PR_JSHIFT);
      lua_setfield(L, 5, "index");
    }
    if (kind == PR_JAWAIT && lua_type(L, 3) == LUA_TTHREAD) {
      pushwhere(L, lua_tothread(L, 3), NULL);
      lua_setfield(L, 5, "where");
    }
    lua_rawseti(L, 2, i + 1);
    lua_settop(L, 2);
  }
  return 1;
}


/* core.traceback(p): the traceback kept beside a rejection, or nil */
static int p_traceback (lua_State *L) {
  pr_State *S = pr_getstate(L);
  pr_Promise *pp = pr_checkpromise(L, S, 1);
  if (pp->state != PR_REJECTED) return 0;
  lua_getiuservalue(L, 1, PR_UV_B);
  return 1;
}


static const luaL_Reg funcs[] = {
  {"debughooks", p_debughooks},
  {"link", p_link},
  {"reactions", p_reactions},
  {"traceback", p_traceback},
  {NULL, NULL}
};


/* stack: 1 module, 2 state */
void pr_opentrace (lua_State *L) {
  pr_State *S = (pr_State *)lua_touserdata(L, 2);
  S->debug = S->inhook = 0;
  S->rethrowco = NULL;
  lua_pushvalue(L, 1);
  pr_register(L, funcs);
  lua_pop(L, 1);
}

/* }====================================================== */
