const log = (x) => console.log(String(x));
// an interval is scheduled again after its callback returns: a timeout of
// the same delay that the callback created is due at the same time and
// runs first
let n = 0;
const iv = setInterval(() => {
  log("A" + (++n));
  if (n === 1) setTimeout(() => log("B"), 10);
  if (n === 3) clearInterval(iv);
}, 10);
let t;
let m = 0;
const iv2 = setInterval(() => {
  log("iv" + (++m));
  if (!t) {
    t = setTimeout(() => log("t"), 7);
    setTimeout(() => log("u"), 7);
  } else clearInterval(iv2);
}, 7);
setTimeout(() => clearTimeout(t), 10);
