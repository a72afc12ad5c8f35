const log = (x) => console.log(String(x));
setTimeout(() => log("60"), 60);
setTimeout(() => log("20"), 20);
setTimeout(() => {
  log("40");
  setTimeout(() => log("40+50"), 50);
}, 40);
setTimeout(() => log("0"), 0);
Promise.resolve().then(() => log("micro"));
