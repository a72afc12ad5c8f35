const log = (x) => console.log(String(x));
let res, rej;
const p = new Promise((resolve, reject) => { res = resolve; rej = reject; });
p.then((v) => log("fulfilled " + v), (e) => log("rejected " + e));
log("pending");
res("first");
res("second");
rej("third");
log("after calls");
// resolving with a pending promise locks the outer one in, even before it settles
let resInner;
const inner = new Promise((r) => { resInner = r; });
let resOuter, rejOuter;
const outer = new Promise((r, j) => { resOuter = r; rejOuter = j; });
resOuter(inner);
rejOuter("too late");
outer.then((v) => log("outer " + v));
Promise.resolve().then(() => { log("settling inner"); resInner("inner value"); });
