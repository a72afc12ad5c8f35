const log = (x) => console.log(String(x));
async function f() {
  log("f body");
  return "f";
}
f().then((v) => log("got " + v));
log("after call");
Promise.resolve().then(() => log(1)).then(() => log(2));
