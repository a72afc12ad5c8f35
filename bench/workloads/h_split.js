'use strict';
// h_split: pipelined lines as in h.js, but the lines of each chunk are
// split and counted in the 'data' handler itself, with no promise per line
// (h_split.lua: chunks from `sock:read()`, split there). N (1000)
// connections each write L (1000) lines of 16 bytes in one write, from the
// echo server of g in a separate process (g_server.js). Untimed: starting
// the server, connecting. Timed: the writes and reading every echo.
// Check: the lines received equal to those sent.
const C = require('./io_common.js');
const N = C.n(1000);
const L = C.n2(1000);

const [lines, payload] = C.lines(L);

C.main('g_server', async (port) => {
  let good = 0;
  const [t0, t1] = await C.clients(port, N, (sock) => new Promise((resolve, reject) => {
    let buf = '';
    let k = 0;
    sock.setEncoding('latin1');
    sock.on('data', (d) => {
      const parts = (buf + d).split('\n');
      buf = parts.pop();
      for (const line of parts) {
        if (line === lines[k]) good += 1;
        k += 1;
      }
      if (k === L) resolve();
    });
    sock.on('end', () => reject(new Error(`end of stream after ${k} lines`)));
    sock.write(payload);
  }));
  return [t0, t1, good];
});
