const log = (x) => console.log(String(x));
setTimeout(() => log("t1 (0)"), 0);
setTimeout(() => log("t2 (1)"), 1);
setTimeout(() => log("t3 (0)"), 0);
setTimeout(() => log("t4 (-5)"), -5);
setTimeout(() => log("t5 (10)"), 10);
setTimeout(() => log("t6 (10)"), 10);
setTimeout((a, b) => log("t7 args " + a + " " + b), 10, "x", "y");
