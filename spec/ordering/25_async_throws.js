const log = (x) => console.log(String(x));
async function early() {
  log("early body");
  throw "early error";
}
async function late() {
  await null;
  log("late body");
  throw "late error";
}
const p = early();
log("after early call");
p.catch((e) => log("early caught " + e));
late().catch((e) => log("late caught " + e));
Promise.resolve().then(() => log(1)).then(() => log(2)).then(() => log(3));
