/*
** oom.c: the C core under out-of-memory.
**
** Runs tests/oom_workload.lua in a fresh lua_State whose allocator fails
** on purpose, once for every failure point N, then checks that the core
** is still sound: with allocation enabled again, its queue and rejection
** list must be well formed, a drain must finish, and the workload run a
** second time in the same state must give the same log as a clean run.
** The workload also checks what must hold even in the failing run: queued
** microtasks all run, in order; a handler runs once; a rejection is
** reported once.
**
** Only requests that grow memory can fail (frees and shrinks always
** succeed, as in Lua's own test suite). Modes:
**   once    the N-th growth request fails, and so does Lua's retry of it
**           after the emergency collection: one allocation fails for real
**           and the program goes on (inner pcalls catch the error)
**   sticky  every growth request from the N-th on fails, until the
**           workload has returned to the harness
**   random  each growth request fails with probability 1/R (and its
**           retry too), from a PRNG seeded with the run's number; R is
**           --rate, or else taken from 20, 80, ..., 440 by the seed
**
** Usage: oom [--mode once|sticky|random|all] [--from N] [--to N]
**            [--step K] [--seeds S] [--rate R] [--workload FILE] [-v]
** Exit status 0 when every run passed; otherwise a message on stderr
** says which mode and N failed.
*/
#define _POSIX_C_SOURCE 200809L

#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lua.h"
#include "lualib.h"
#include "lauxlib.h"

#include "lpromise.h"

int luaopen_promise_core (lua_State *L);


/* {====================================================== the allocator */

enum { M_OFF, M_ONCE, M_STICKY, M_RANDOM };

typedef struct Alloc {
  int mode;            /* M_OFF: never fail */
  long count;          /* growth requests since the start point */
  long failat;         /* N (M_ONCE, M_STICKY) */
  unsigned long rate;  /* 1/rate chance (M_RANDOM) */
  unsigned long long rng;
  long failures;       /* requests failed so far */
  int failing;         /* M_STICKY: failing from now on */
  const void *lastptr; /* the request just failed: Lua retries it once */
  size_t lastosize, lastnsize;
  int armed;           /* lastptr/lastosize/lastnsize are set */
  size_t inuse;        /* bytes in use */
} Alloc;


static unsigned long long nextrand (Alloc *a) {
  /* xorshift64* */
  a->rng ^= a->rng >> 12;
  a->rng ^= a->rng << 25;
  a->rng ^= a->rng >> 27;
  return a->rng * 2685821657736338717ULL;
}


static int shouldfail (Alloc *a, const void *ptr, size_t osize,
                       size_t nsize) {
  int fail = 0;
  if (a->mode == M_OFF) return 0;
  if (a->armed) {  /* Lua's retry after its emergency collection */
    a->armed = 0;
    if (ptr == a->lastptr && osize == a->lastosize && nsize == a->lastnsize)
      return 1;
  }
  a->count++;
  switch (a->mode) {
    case M_ONCE: fail = (a->count == a->failat); break;
    case M_STICKY:
      if (a->count == a->failat) a->failing = 1;
      fail = a->failing;
      break;
    case M_RANDOM: fail = (nextrand(a) % a->rate == 0); break;
    default: break;
  }
  if (fail) {
    a->failures++;
    a->armed = 1;
    a->lastptr = ptr;
    a->lastosize = osize;
    a->lastnsize = nsize;
  }
  return fail;
}


static Alloc *lastalloc;  /* for debuggers: print lastalloc->count */

static void *alloc (void *ud, void *ptr, size_t osize, size_t nsize) {
  Alloc *a = (Alloc *)ud;
  lastalloc = a;
  size_t old = (ptr == NULL) ? 0 : osize;
  void *np;
  if (nsize == 0) {
    free(ptr);
    a->inuse -= old;
    return NULL;
  }
  if (nsize > old && shouldfail(a, ptr, old, nsize)) return NULL;
  np = realloc(ptr, nsize);
  if (np == NULL) return NULL;
  a->inuse = a->inuse - old + nsize;
  return np;
}

/* }====================================================== */


/* {====================================================== reporting */

static int errfd = 2;            /* the real stderr (fd 2 goes to null) */
static int verbose = 0;
static char where[160] = "setup";  /* "mode=once N=123", for crashes */


static void say (const char *fmt, ...) {
  char buf[1024];
  int n;
  va_list ap;
  va_start(ap, fmt);
  n = vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if ((size_t)n >= sizeof(buf)) n = (int)sizeof(buf) - 1;
  if (write(errfd, buf, (size_t)n) < 0) return;
}


static void oncrash (int sig) {
  char msg[256];
  size_t len = 0;
  const char *parts[3];
  int i;
  parts[0] = "oom: FAIL: crashed (";
  parts[1] = (sig == SIGSEGV) ? "SIGSEGV" : (sig == SIGABRT) ? "SIGABRT"
             : (sig == SIGBUS) ? "SIGBUS" : (sig == SIGFPE) ? "SIGFPE"
             : "signal";
  parts[2] = ") at ";
  for (i = 0; i < 3; i++) {
    size_t l = strlen(parts[i]);
    memcpy(msg + len, parts[i], l);
    len += l;
  }
  {
    size_t l = strlen(where);
    if (l > sizeof(msg) - len - 2) l = sizeof(msg) - len - 2;
    memcpy(msg + len, where, l);
    len += l;
  }
  msg[len++] = '\n';
  if (write(errfd, msg, len) < 0) _exit(2);
  _exit(2);
}


static int onpanic (lua_State *L) {
  const char *msg = lua_tostring(L, -1);
  say("oom: FAIL: Lua panic at %s: %s\n", where, msg ? msg : "?");
  _exit(2);
  return 0;
}

/* }====================================================== */


/* {====================================================== one state */

typedef struct Run {
  lua_State *L;
  Alloc a;
  int runref;         /* registry: the workload's run function */
  int violref;        /* registry: its function returning a violation */
  int drainref;       /* registry: core.drain */
} Run;


static const char *workload = "tests/oom_workload.lua";


/*
** The Lua side of the setup, run protected: paths, core, the workload.
** It also makes lauxlib create the metatable of its buffer boxes, which it
** does on the first buffer that outgrows the C stack: lauxlib 5.4 registers
** that metatable before filling it, so an allocation failing in between
** leaves a metatable without __close in the registry, and every later big
** buffer (table.concat, string.rep, ...) fails with "variable '(C
** temporary)' got a non-closable value". That is Lua's flaw, not the
** core's: keep it out of the runs.
*/
static int setup (lua_State *L) {
  luaL_Buffer b;
  luaL_openlibs(L);
  luaL_buffinitsize(L, &b, 4 * LUAL_BUFFERSIZE);
  luaL_pushresultsize(&b, 0);
  lua_pop(L, 1);
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  lua_getfield(L, -1, "package");
  lua_pushliteral(L, "lua/?.lua;lua/?/init.lua");
  lua_setfield(L, -2, "path");
  lua_pushliteral(L, "");  /* no C modules but the one preloaded */
  lua_setfield(L, -2, "cpath");
  lua_getfield(L, -1, "preload");
  lua_pushcfunction(L, luaopen_promise_core);
  lua_setfield(L, -2, "promise.core");
  lua_settop(L, 0);
  lua_getglobal(L, "require");
  lua_pushliteral(L, "promise.core");
  lua_call(L, 1, 1);                      /* 1: core */
  lua_getfield(L, 1, "drain");            /* 2 */
  if (luaL_loadfile(L, workload) != LUA_OK) return lua_error(L);
  lua_call(L, 0, 2);                      /* 3: run, 4: violation */
  return 3;
}


static int newrun (Run *r) {
  memset(&r->a, 0, sizeof(r->a));
  r->L = lua_newstate(alloc, &r->a);
  if (r->L == NULL) {
    say("oom: FAIL: cannot create a state\n");
    return 0;
  }
  lua_atpanic(r->L, onpanic);
  lua_pushcfunction(r->L, setup);
  if (lua_pcall(r->L, 0, 3, 0) != LUA_OK) {
    say("oom: FAIL: setup: %s\n", lua_tostring(r->L, -1));
    lua_close(r->L);
    return 0;
  }
  r->violref = luaL_ref(r->L, LUA_REGISTRYINDEX);
  r->runref = luaL_ref(r->L, LUA_REGISTRYINDEX);
  r->drainref = luaL_ref(r->L, LUA_REGISTRYINDEX);
  return 1;
}


static int closerun (Run *r) {
  lua_close(r->L);
  if (r->a.inuse != 0) {
    say("oom: FAIL: %lu bytes still in use after lua_close at %s\n",
        (unsigned long)r->a.inuse, where);
    return 0;
  }
  return 1;
}


/* the core's state: upvalue 1 of core.drain */
static pr_State *corestate (lua_State *L, int drainref) {
  pr_State *S;
  lua_rawgeti(L, LUA_REGISTRYINDEX, drainref);
  if (lua_getupvalue(L, -1, 1) == NULL) {
    lua_pop(L, 1);
    return NULL;
  }
  S = (pr_State *)lua_touserdata(L, -1);
  lua_pop(L, 2);
  return S;
}


/*
** The core's invariants, with nothing running: no drain, no coroutine
** current; a well-formed ring whose live jobs all have a known kind (a job
** lost half-way through growing the ring shows up here); a rejection list
** with exactly 'nrejected' promises in it (a hole would crash the next
** drain). 'idle' also demands an empty queue and list (after a drain).
*/
static int checkcore (lua_State *L, int drainref, int idle,
                      const char *when) {
  pr_State *S = corestate(L, drainref);
  lua_Integer i, pos;
  int ok = 1;
  if (S == NULL) {
    say("oom: FAIL: %s: no core state at %s\n", when, where);
    return 0;
  }
  if (S->draining || S->current != NULL || S->awaiting) {
    say("oom: FAIL: %s: stuck state at %s (draining=%d current=%p "
        "awaiting=%d)\n", when, where, S->draining, (void *)S->current,
        S->awaiting);
    return 0;
  }
  if (S->count < 0 || S->spare < 0 || S->head < 0 || S->head > PR_CHUNK
      || S->tail < 0 || S->tail > PR_CHUNK || S->nrejected < 0
      || (S->count == 0 && S->head != S->tail)) {
    say("oom: FAIL: %s: bad queue at %s (head=%lld tail=%lld count=%lld "
        "spare=%lld nrejected=%lld)\n", when, where, (long long)S->head,
        (long long)S->tail, (long long)S->count, (long long)S->spare,
        (long long)S->nrejected);
    return 0;
  }
  if (idle && (S->count != 0 || S->nrejected != 0 || S->signalled)) {
    say("oom: FAIL: %s: not idle at %s (count=%lld nrejected=%lld "
        "signalled=%d)\n", when, where, (long long)S->count,
        (long long)S->nrejected, S->signalled);
    return 0;
  }
  lua_rawgeti(L, LUA_REGISTRYINDEX, drainref);
  lua_getupvalue(L, -1, 1);
  lua_getiuservalue(L, -1, PR_SUV_QUEUE);
  for (i = 0, pos = S->head; ok && i < S->count; i++, pos++) {
    lua_Integer kind;
    const lua_Integer *words;
    if (pos == PR_CHUNK) {  /* on to the next chunk */
      lua_rawgeti(L, -1, PR_LINK);
      lua_replace(L, -2);
      pos = 0;
    }
    lua_rawgeti(L, -1, PR_WORDS);
    words = (const lua_Integer *)lua_touserdata(L, -1);
    lua_pop(L, 1);
    kind = words != NULL ? words[pos] & PR_JKIND : 0;
    if (kind < PR_JTHEN || kind > PR_JRACE) {
      say("oom: FAIL: %s: job %lld of %lld in the queue is lost at %s "
          "(word %lld holds no job)\n", when, (long long)i + 1,
          (long long)S->count, where, (long long)pos);
      ok = 0;
    }
  }
  lua_pop(L, 1);
  lua_getiuservalue(L, -1, PR_SUV_REJECTED);
  for (i = 1; ok && i <= S->nrejected; i++) {
    lua_rawgeti(L, -1, i);
    if (lua_type(L, -1) != LUA_TUSERDATA) {
      say("oom: FAIL: %s: entry %lld of %lld in the rejection list is %s "
          "at %s (the next drain dereferences it)\n", when, (long long)i,
          (long long)S->nrejected, luaL_typename(L, -1), where);
      ok = 0;
    }
    lua_pop(L, 1);
  }
  lua_pop(L, 3);
  return ok;
}


/* an invariant the workload found broken (allocation must be enabled) */
static int checkviolation (Run *r, const char *when) {
  lua_State *L = r->L;
  int top = lua_gettop(L);
  lua_rawgeti(L, LUA_REGISTRYINDEX, r->violref);
  if (lua_pcall(L, 0, 1, 0) != LUA_OK || !lua_isnil(L, -1)) {
    say("oom: FAIL: %s: the workload found the core broken at %s: %s\n",
        when, where, luaL_tolstring(L, -1, NULL));
    return 0;
  }
  lua_settop(L, top);
  return 1;
}


/* call the workload; on success leave its log on the stack */
static int callrun (Run *r, const char **log, const char **expected) {
  lua_State *L = r->L;
  lua_settop(L, 0);
  lua_rawgeti(L, LUA_REGISTRYINDEX, r->runref);
  if (lua_pcall(L, 0, 2, 0) != LUA_OK) return 0;
  *log = lua_tostring(L, 1);
  *expected = lua_tostring(L, 2);
  return *log != NULL && *expected != NULL;
}


static void showdiff (const char *got, const char *want) {
  size_t i = 0, line = 1;
  while (got[i] != '\0' && got[i] == want[i]) {
    if (got[i] == '\n') line++;
    i++;
  }
  say("  first difference at line %lu:\n    got:  %.60s\n    want: %.60s\n",
      (unsigned long)line, got + i, want + i);
}


/* the clean run: its log must be EXPECTED; returns the requests it made */
static long baseline (void) {
  Run r;
  const char *log, *expected;
  long n;
  snprintf(where, sizeof(where), "baseline");
  if (!newrun(&r)) return -1;
  r.a.mode = M_ONCE;
  r.a.failat = -1;  /* count, never fail */
  if (!callrun(&r, &log, &expected)) {
    say("oom: FAIL: the clean run raised: %s\n", lua_tostring(r.L, -1));
    n = -1;
  }
  else if (strcmp(log, expected) != 0) {
    say("oom: FAIL: the clean run does not log what the workload "
        "expects\n");
    showdiff(log, expected);
    n = -1;
  }
  else if (!checkcore(r.L, r.drainref, 1, "after the clean run")
           || !checkviolation(&r, "in the clean run"))
    n = -1;
  else
    n = r.a.count;
  return (closerun(&r) && n >= 0) ? n : -1;
}


/*
** After the failing run, with allocation enabled again: the core must be
** sound, drain what the failing run left, and run the workload again to
** the clean log. Returns 1 when it is so.
*/
static int aftermath (Run *r) {
  const char *log, *expected;
  lua_State *L = r->L;
  lua_settop(L, 0);
  if (!checkcore(L, r->drainref, 0, "after the failing run")
      || !checkviolation(r, "in the failing run"))
    return 0;
  /* run what the failing run left queued, with its reporters */
  lua_rawgeti(L, LUA_REGISTRYINDEX, r->drainref);
  if (lua_pcall(L, 0, 0, 0) != LUA_OK) {
    say("oom: FAIL: a drain after the failing run raised at %s: %s\n",
        where, luaL_tolstring(L, -1, NULL));
    return 0;
  }
  if (!checkcore(L, r->drainref, 1, "after draining")
      || !checkviolation(r, "while draining what the failing run left"))
    return 0;
  lua_gc(L, LUA_GCCOLLECT, 0);
  if (!checkcore(L, r->drainref, 1, "after a full collection")) return 0;
  if (!callrun(r, &log, &expected)) {
    say("oom: FAIL: the run after the failing run raised at %s: %s\n",
        where, luaL_tolstring(L, -1, NULL));
    return 0;
  }
  if (strcmp(log, expected) != 0) {
    say("oom: FAIL: the run after the failing run logged something else "
        "at %s\n", where);
    showdiff(log, expected);
    return 0;
  }
  lua_settop(L, 0);
  return checkcore(L, r->drainref, 1, "after the second run")
         && checkviolation(r, "in the second run");
}


/*
** One failing run: the workload under failures, then the checks. Returns
** 1 when it passed; '*failed' says how many allocations failed.
*/
static int onerun (int mode, long n, unsigned long rate, long *failed) {
  Run r;
  const char *log, *expected;
  int ok;
  if (!newrun(&r)) return 0;
  r.a.mode = mode;
  r.a.failat = n;
  r.a.rate = rate;
  r.a.rng = 0x9E3779B97F4A7C15ULL * (unsigned long long)(n + 1);
  (void)callrun(&r, &log, &expected);  /* whatever happened */
  *failed = r.a.failures;
  r.a.mode = M_OFF;
  ok = aftermath(&r);
  return closerun(&r) && ok;
}

/* }====================================================== */


static const char *const modenames[] = {"off", "once", "sticky", "random"};


static int sweep (int mode, long from, long to, long step,
                  unsigned long rate) {
  long n, runs = 0, failed, hit = 0;
  for (n = from; n <= to; n += step) {
    unsigned long r = rate ? rate : 20 + 60 * (unsigned long)(n % 8);
    snprintf(where, sizeof(where), "mode=%s %s=%ld", modenames[mode],
             mode == M_RANDOM ? "seed" : "N", n);
    if (!onerun(mode, n, r, &failed)) {
      say("oom: rerun with: build/oom --mode %s --from %ld --to %ld\n",
          modenames[mode], n, n);
      return 0;
    }
    runs++;
    if (failed > 0) hit++;
    if (verbose) say("%s: %ld allocation(s) failed\n", where, failed);
  }
  say("oom: %-6s %ld runs (%ld with a failed allocation): ok\n",
      modenames[mode], runs, hit);
  return 1;
}


static long numarg (int argc, char **argv, int *i) {
  char *end;
  long v;
  if (*i + 1 >= argc) {
    say("oom: %s needs a value\n", argv[*i]);
    exit(2);
  }
  v = strtol(argv[++*i], &end, 10);
  if (*end != '\0' || v < 0) {
    say("oom: bad value for %s: %s\n", argv[*i - 1], argv[*i]);
    exit(2);
  }
  return v;
}


int main (int argc, char **argv) {
  const char *mode = "all";
  long from = 1, to = -1, step = 1, seeds = 2000, total;
  unsigned long rate = 0;
  int i, ok = 1, toset = 0;
  for (i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--mode") == 0 && i + 1 < argc) mode = argv[++i];
    else if (strcmp(argv[i], "--from") == 0) from = numarg(argc, argv, &i);
    else if (strcmp(argv[i], "--to") == 0) {
      to = numarg(argc, argv, &i);
      toset = 1;
    }
    else if (strcmp(argv[i], "--step") == 0) step = numarg(argc, argv, &i);
    else if (strcmp(argv[i], "--seeds") == 0) seeds = numarg(argc, argv, &i);
    else if (strcmp(argv[i], "--rate") == 0)
      rate = (unsigned long)numarg(argc, argv, &i);
    else if (strcmp(argv[i], "--workload") == 0 && i + 1 < argc)
      workload = argv[++i];
    else if (strcmp(argv[i], "-v") == 0) verbose = 1;
    else {
      say("usage: oom [--mode once|sticky|random|all] [--from N] [--to N] "
          "[--step K] [--seeds S] [--rate R] [--workload FILE] [-v]\n");
      return 2;
    }
  }
  if (step < 1) step = 1;
  if (rate == 1) rate = 2;
  /* the core's default reporters write to stderr: silence them, keep
     the real stderr for our own messages */
  if (!verbose) {
    int devnull;
    errfd = dup(2);
    devnull = open("/dev/null", O_WRONLY);
    if (errfd < 0 || devnull < 0 || dup2(devnull, 2) < 0) {
      perror("oom: redirecting stderr");
      return 2;
    }
    close(devnull);
  }
  signal(SIGSEGV, oncrash);
  signal(SIGBUS, oncrash);
  signal(SIGFPE, oncrash);
  signal(SIGABRT, oncrash);
  total = baseline();
  if (total < 0) return 1;
  say("oom: the workload makes %ld growth requests\n", total);
  if (to < 0) to = total + 2;  /* a little past the end: nothing fails */
  if (ok && (strcmp(mode, "once") == 0 || strcmp(mode, "all") == 0))
    ok = sweep(M_ONCE, from, to, step, 0);
  if (ok && (strcmp(mode, "sticky") == 0 || strcmp(mode, "all") == 0))
    ok = sweep(M_STICKY, from, to, step, 0);
  if (ok && (strcmp(mode, "random") == 0 || strcmp(mode, "all") == 0)) {
    ok = sweep(M_RANDOM, from, toset ? to : from + seeds - 1, step, rate);
  }
  return ok ? 0 : 1;
}
