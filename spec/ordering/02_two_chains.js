const log = (x) => console.log(String(x));
Promise.resolve().then(() => log("a1")).then(() => log("a2")).then(() => log("a3"));
Promise.resolve().then(() => log("b1")).then(() => log("b2")).then(() => log("b3"));
log("sync");
