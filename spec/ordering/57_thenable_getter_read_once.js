const log = (x) => console.log(String(x));
const counted = {
  get then() {
    log("read then");
    return (resolve) => { log("call then"); resolve("ok"); };
  },
};
Promise.resolve(counted).then((v) => log("resolve " + v));
const boom = {
  get then() {
    log("read boom");
    throw "getter boom";
  },
};
new Promise((r) => r(boom)).catch((e) => log("rejected " + e));
(async () => {
  const v = await counted;
  log("await " + v);
})();
log("sync end");
