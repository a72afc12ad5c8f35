const log = (x) => console.log(String(x));
const a = new Promise(() => {
  log("executor a");
  throw "executor error";
});
const b = new Promise((resolve) => {
  resolve("b value");
  throw "ignored after resolve";
});
const c = new Promise((_, reject) => {
  reject("c reason");
  reject("second reason");
  throw "also ignored";
});
a.catch((e) => log("a " + e));
b.then((v) => log("b " + v));
c.catch((e) => log("c " + e));
log("sync end");
