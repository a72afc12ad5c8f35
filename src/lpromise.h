/*
** lpromise.h: shared declarations of the luv-promise C core.
**
** A promise is a full userdata (pr_Promise) with two user values. While
** pending they hold its first reaction (handler, target); further
** reactions spill into a table in user value 1. Once settled, user value 1
** holds the value or reason and user value 2 the traceback string of a
** raised error (or nil). A reaction's job word says which handlers its
** handler slot holds: onFulfilled, onRejected, both in a pair table
** {onFulfilled, onRejected}, or one value serving both (internal kinds).
**
** All core state lives in one userdata (pr_State) that every C function
** of the module carries as upvalue 1 (but the resolving functions, which
** reach it through the promise metatable): there are no hidden globals.
*/
#ifndef lpromise_h
#define lpromise_h

#include "lua.h"
#include "lauxlib.h"

#define PR_PENDING   0
#define PR_FULFILLED 1
#define PR_REJECTED  2

/* pr_Promise.flags */
#define PR_HANDLED   1  /* a reaction was attached at some point */
#define PR_REPORTED  2  /* reported as an unhandled rejection */
#define PR_ONE       4  /* one reaction, held in the user values */
#define PR_LIST      8  /* reactions in a table in user value 1 */
#define PR_TRACKED  16  /* in the list of rejections to check */
#define PR_INTRACE  32  /* an async trace walked through it (trace.c) */

/* user values of a promise */
#define PR_UV_A      1  /* handler | value or reason | reaction list */
#define PR_UV_B      2  /* target | traceback */
#define PR_NUV       2

/*
** Job and reaction kinds. A job word holds the kind in its low bits, the
** PR_JREJ bit when the source was rejected, the PR_H* bits of a reaction
** and an element index above PR_JSHIFT (combinators).
*/
enum {
  PR_JTHEN = 1,     /* a: handler or nil, b: source, c: derived or nil */
  PR_JADOPT,        /* b: source, c: promise adopting it */
  PR_JAWAIT,        /* a: coroutine, b: source, c: async promise */
  PR_JAWAITVAL,     /* a: coroutine, b: plain value, c: async promise */
  PR_JALL,          /* a: aggregate, b: source, c: result */
  PR_JALLSETTLED,
  PR_JANY,
  PR_JTHENABLE,     /* a: then function, b: thenable, c: promise */
  PR_JOWNTHENABLE,  /* b: promise of ours, c: promise adopting it */
  PR_JMICRO,        /* a: function */
  PR_JCOUNT,        /* a: aggregate, c: result; count above PR_JSHIFT */
  PR_JRACE          /* as PR_JTHEN without handlers: an element of race */
};
#define PR_JKIND   0x0f
#define PR_JREJ    0x10
#define PR_HF      0x20    /* the reaction has an onFulfilled */
#define PR_HR      0x40    /* the reaction has an onRejected */
#define PR_HSAME   0x80    /* one value serves as both */
#define PR_JSHIFT  8

/*
** Eight bytes, so that a promise is 80 bytes for Lua. The single reaction's
** job word is kept here only when it fits in PR_WORDMAX (element indices
** below 2^23); a larger one goes to a reaction list, whose words are Lua
** integers. 'locked' is ECMA-262's [[AlreadyResolved]] of the promise's own
** resolving functions (executor, withResolvers, internal capabilities);
** the pairs handed to thenables carry their own (see pushresolvers).
*/
#define PR_WORDMAX 0x7fffffff

typedef struct pr_Promise {
  unsigned char state;
  unsigned char flags;
  unsigned char locked;   /* its own resolving functions were used */
  int word;               /* job word of the single reaction, or list size */
} pr_Promise;

/* user values of the state */
enum {
  PR_SUV_QUEUE = 1,   /* the chunk of jobs the drain reads from */
  PR_SUV_QTAIL,       /* the chunk new jobs go to */
  PR_SUV_QLAST,       /* the last chunk allocated (tail, or a spare) */
  PR_SUV_REJECTED,    /* rejected promises to check at the end of a drain */
  PR_SUV_MT,          /* metatable of promises */
  PR_SUV_DRAINHOOK,   /* called when a drain becomes needed */
  PR_SUV_UNHANDLED,   /* onUnhandledRejection */
  PR_SUV_HANDLED,     /* onRejectionHandled */
  PR_SUV_UNCAUGHT,    /* onUncaughtError */
  PR_SUV_TYPEERROR,   /* error classes handed over by init.lua */
  PR_SUV_AGGREGATE,
  PR_SUV_ERROR,
  PR_SUV_OUTSIDE,     /* what await does outside an async function */
  PR_SUV_COMBINE,     /* body of the combinators, run protected */
  PR_SUV_DRAINLOOP,   /* the drain loop, run protected */
  PR_SUV_RETHROW,     /* the rejected promise an await last delivered */
  PR_SUV_LINKS,       /* weak table: promise -> {promise, label} */
  PR_SUV_CREATE,      /* debugging hooks (trace.c) */
  PR_SUV_DESCRIBE,
  PR_SUV_COUNT = PR_SUV_DESCRIBE
};

/*
** The queue is a chain of chunks. A chunk is a table of PR_CHUNK jobs, 3
** value slots each, whose slot PR_LINK holds the next chunk and slot
** PR_WORDS a userdata with the jobs' words (lua_Integer[PR_CHUNK]), which
** the state reaches through plain pointers for the head and tail chunks.
** Jobs are read from the head chunk and written to the tail chunk; chunks
** past the tail are spares, allocated ahead of need so that storing a job
** never allocates.
*/
#define PR_CHUNK 256
#define PR_LINK (3 * PR_CHUNK + 1)
#define PR_WORDS (PR_LINK + 1)

typedef struct pr_State {
  lua_Integer head, tail;        /* next job to read, next slot to write */
  lua_Integer *hw, *tw;          /* job words of the head and tail chunks */
  lua_Integer count;             /* jobs queued */
  lua_Integer seq;               /* jobs queued or taken so far */
  lua_Integer spare;             /* chunks allocated past the tail one */
  lua_Integer nrejected;         /* entries in PR_SUV_REJECTED */
  const void *mt;                /* identity of the promise metatable */
  lua_State *current;            /* the async coroutine being resumed */
  int draining;
  int signalled;                 /* the drain hook was called */
  int awaiting;                  /* set by await before it yields */
  int debug;                     /* PR_DCREATE | PR_DDESCRIBE: hooks set */
  int inhook;                    /* a debugging hook is running */
  const void *rethrowco;         /* the coroutine of PR_SUV_RETHROW */
} pr_State;

/* pr_State.debug */
#define PR_DCREATE    1
#define PR_DDESCRIBE  2

#define pr_stateidx  lua_upvalueindex(1)
#define pr_getstate(L)  ((pr_State *)lua_touserdata(L, pr_stateidx))

/* promise.c */
pr_Promise *pr_topromise (lua_State *L, pr_State *S, int idx);
pr_Promise *pr_newpromise (lua_State *L);
pr_Promise *pr_checkpromise (lua_State *L, pr_State *S, int idx);
void pr_resolve (lua_State *L, pr_State *S, int p, int v);
void pr_settle (lua_State *L, pr_State *S, int p, int state, int v, int tr);
int pr_capresolve (lua_State *L, pr_State *S, int p, int v);
int pr_capreject (lua_State *L, pr_State *S, int p, int r, int tr);
void pr_then (lua_State *L, pr_State *S, int p, lua_Integer word,
              int onf, int onr, int target);
void pr_promiseresolve (lua_State *L, pr_State *S, int v);
int pr_iscallable (lua_State *L, int idx);
int pr_thenablejob (lua_State *L, pr_State *S, int thenfn, int thenable,
                    int p);
void pr_openpromise (lua_State *L);

/* queue.c */
lua_Integer pr_enqueue (lua_State *L, pr_State *S, lua_Integer word,
                        int a, int b, int c);
void pr_reserve (lua_State *L, pr_State *S, lua_Integer n);
void pr_track (lua_State *L, pr_State *S, int p);
void pr_needdrain (lua_State *L, pr_State *S);
int pr_pcall (lua_State *L, int nargs, int nres);
void pr_pushtrace (lua_State *L);
void pr_openqueue (lua_State *L);

/* trace.c */
void pr_extendtrace (lua_State *L, pr_State *S, int p);
void pr_errortrace (lua_State *L, pr_State *S, int co, int p);
void pr_rejecttrace (lua_State *L, pr_State *S, int p);
void pr_noteawait (lua_State *L, pr_State *S, int co, int src);
void pr_forgetawait (lua_State *L, pr_State *S, const lua_State *th);
void pr_notecreate (lua_State *L, pr_State *S, int p, int parent);
void pr_opentrace (lua_State *L);

/* async.c */
int pr_asyncwraps (lua_State *L, int w, int f);
void pr_resume (lua_State *L, pr_State *S, int co, int nargs, int p,
                int injob);
void pr_openasync (lua_State *L);

/* combinators.c */
void pr_element (lua_State *L, pr_State *S, lua_Integer word,
                 int agg, int src, int result);
void pr_opencombinators (lua_State *L);

/* core.c */
void pr_newerror (lua_State *L, int cls, const char *msg);
void pr_report (lua_State *L, int hook, int nargs);
void pr_register (lua_State *L, const luaL_Reg *l);

#endif
