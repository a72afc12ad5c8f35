const log = (x) => console.log(String(x));
let n = 0;
const id = setInterval(() => {
  n++;
  log("tick " + n);
  Promise.resolve().then(() => log("micro " + n));
  if (n === 3) {
    clearInterval(id);
    log("cleared");
  }
}, 5);
const never = setTimeout(() => log("never"), 1);
clearTimeout(never);
const neverImmediate = setImmediate(() => log("never immediate"));
clearImmediate(neverImmediate);
