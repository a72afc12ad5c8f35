const log = (x) => console.log(String(x));
const rejecting = { then(_, reject) { log("rejecting then"); reject("no"); } };
const throwing = { then() { log("throwing then"); throw "thrown"; } };
const lateThrow = { then(resolve) { log("late then"); resolve("kept"); throw "ignored"; } };
new Promise((r) => r(rejecting)).then(null, (e) => log("rejected " + e));
new Promise((r) => r(throwing)).catch((e) => log("caught " + e));
new Promise((r) => r(lateThrow)).then((v) => log("fulfilled " + v), (e) => log("bad " + e));
Promise.resolve().then(() => log(1)).then(() => log(2)).then(() => log(3));
