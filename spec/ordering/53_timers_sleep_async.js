const log = (x) => console.log(String(x));
const sleep = require("timers/promises").setTimeout;
async function worker(name, delays) {
  for (const d of delays) {
    const v = await sleep(d, name + d);
    log(v);
  }
  return name;
}
Promise.all([worker("a", [40, 10]), worker("b", [200, 10])]).then((vs) => log("all " + vs.join(",")));
sleep(0).then(() => log("sleep 0"));
log("sync");
