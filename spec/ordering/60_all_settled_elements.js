const log = (x) => console.log(String(x));
// Promise.all / allSettled over elements that are already settled, among
// other microtasks: when each result settles relative to the chains
const ps = [Promise.resolve(1), 2, Promise.resolve(3)];
Promise.resolve().then(() => log("before A"));
Promise.all(ps).then((vs) => log("all A " + vs.join(",")));
Promise.resolve().then(() => log("between 1")).then(() => log("between 2")).then(() => log("between 3"));
Promise.all([4, 5]).then((vs) => log("all B " + vs.join(",")));
const rejected = Promise.reject("r8");
Promise.allSettled([Promise.resolve(6), 7, rejected, 9]).then((rs) =>
  log("settled " + rs.map((r) => r.status + ":" + (r.value !== undefined ? r.value : r.reason)).join(",")));
Promise.all([10, Promise.reject("r11"), 12]).catch((e) => log("all C rejected " + e));
Promise.all([]).then((vs) => log("all empty " + vs.length));
const pending = new Promise((r) => Promise.resolve().then(() => r(14)));
Promise.all([13, pending, 15]).then((vs) => log("all D " + vs.join(",")));
log("sync end");
