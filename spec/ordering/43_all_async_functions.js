const log = (x) => console.log(String(x));
async function task(name, steps) {
  for (let i = 0; i < steps; i++) await null;
  log("task " + name + " done");
  return name;
}
Promise.all([task("a", 3), task("b", 1), task("c", 2)]).then((vs) => log("all " + vs.join(",")));
Promise.race([task("x", 2), task("y", 1)]).then((v) => log("race " + v));
Promise.resolve()
  .then(() => log(1))
  .then(() => log(2))
  .then(() => log(3))
  .then(() => log(4))
  .then(() => log(5));
