const log = (x) => console.log(String(x));
const chain = (name, start) =>
  Promise.resolve(start)
    .then((v) => { log(name + v); return v + 1; })
    .then((v) => { log(name + v); return v + 1; })
    .then((v) => { log(name + v); return v + 1; })
    .then((v) => log(name + "end " + v));
chain("a", 1);
chain("b", 10);
chain("c", 100);
