const log = (x) => console.log(String(x));
const thenable = {
  then(resolve) {
    log("then called");
    Promise.resolve()
      .then(() => log("inside 1"))
      .then(() => { log("inside 2"); resolve("late"); });
  },
};
Promise.resolve(thenable).then((v) => log("got " + v));
Promise.resolve()
  .then(() => log(1))
  .then(() => log(2))
  .then(() => log(3))
  .then(() => log(4))
  .then(() => log(5));
