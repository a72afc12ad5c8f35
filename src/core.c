/*
** core.c: the module `promise.core`. Creates the shared state, the promise
** metatable and the method table, and lets init.lua hand over the error
** classes and what `await` does outside an async function.
*/
#include "lpromise.h"


/* set the functions of 'l' into the table on top, with the state upvalue */
void pr_register (lua_State *L, const luaL_Reg *l) {
  for (; l->name != NULL; l++) {
    lua_pushvalue(L, 2);
    lua_pushcclosure(L, l->func, 1);
    lua_setfield(L, -2, l->name);
  }
}


/*
** Push an instance of the error class in state slot 'cls' with message
** 'msg', or the message itself when no class was handed over.
*/
void pr_newerror (lua_State *L, int cls, const char *msg) {
  lua_getiuservalue(L, pr_stateidx, cls);
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    lua_pushstring(L, msg);
    return;
  }
  lua_pushstring(L, msg);
  lua_call(L, 1, 1);
}


static const struct { const char *name; int slot; } confslots[] = {
  {"Error", PR_SUV_ERROR},
  {"TypeError", PR_SUV_TYPEERROR},
  {"AggregateError", PR_SUV_AGGREGATE},
  {"awaitOutside", PR_SUV_OUTSIDE},
  {NULL, 0}
};


/* core.configure{ Error =, TypeError =, AggregateError =, awaitOutside = } */
static int p_configure (lua_State *L) {
  int i;
  luaL_checktype(L, 1, LUA_TTABLE);
  for (i = 0; confslots[i].name != NULL; i++) {
    if (lua_getfield(L, 1, confslots[i].name) == LUA_TNIL) {
      lua_pop(L, 1);
      continue;
    }
    if (!pr_iscallable(L, -1))
      return luaL_error(L, "bad field '%s' to 'configure' (function "
                        "expected, got %s)", confslots[i].name,
                        luaL_typename(L, -1));
    lua_setiuservalue(L, pr_stateidx, confslots[i].slot);
  }
  return 0;
}


int luaopen_promise_core (lua_State *L);

int luaopen_promise_core (lua_State *L) {
  pr_State *S;
  lua_settop(L, 0);
  lua_newtable(L);                                        /* 1: module */
  S = (pr_State *)lua_newuserdatauv(L, sizeof(pr_State),
                                    PR_SUV_COUNT);        /* 2: state */
  S->head = S->tail = S->count = S->spare = S->seq = 0;
  S->nrejected = 0;
  S->current = NULL;
  S->draining = S->signalled = S->awaiting = 0;
  lua_newtable(L);                                        /* 3: methods */
  lua_createtable(L, 1, 4);                               /* 4: metatable */
  lua_pushvalue(L, 3);
  lua_setfield(L, 4, "__index");
  lua_pushliteral(L, "Promise");
  lua_setfield(L, 4, "__name");
  lua_pushvalue(L, 4);
  lua_setiuservalue(L, 2, PR_SUV_MT);
  S->mt = lua_topointer(L, 4);
  pr_openpromise(L);
  pr_openqueue(L);
  pr_openasync(L);
  pr_opencombinators(L);
  pr_opentrace(L);
  lua_pushvalue(L, 3);
  lua_setfield(L, 1, "methods");
  lua_pushvalue(L, 4);
  lua_setfield(L, 1, "metatable");
  lua_pushvalue(L, 1);
  pr_register(L, (const luaL_Reg[]){{"configure", p_configure},
                                    {NULL, NULL}});
  lua_settop(L, 1);
  return 1;
}
