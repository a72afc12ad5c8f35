const log = (x) => console.log(String(x));
const inner = Promise.resolve("not adopted");
Promise.reject(inner).catch((e) => {
  log("reason is the promise " + (e === inner));
  return e;
}).then((v) => log("then value " + v));
new Promise((_, rej) => rej(inner)).catch((e) => log("executor reject " + (e === inner)));
Promise.resolve().then(() => log(1)).then(() => log(2)).then(() => log(3)).then(() => log(4));
