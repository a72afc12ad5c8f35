const log = (x) => console.log(String(x));
log("a");
const p = new Promise((resolve) => {
  log("b");
  resolve(1);
  log("c");
});
p.then((v) => log("then " + v));
log("d");
