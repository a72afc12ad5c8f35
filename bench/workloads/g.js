'use strict';
// g: echo. N clients (100, 500, 1000) each send M (100) messages (32 bytes
// and "\n"), one at a time, awaiting the whole echo (buffer-and-split of
// 'data') of each, to an echo server in a separate process (g_server.js).
// Untimed: starting the server and connecting every client. Timed: all the
// messaging. Check: the messages echoed correctly.
const C = require('./io_common.js');
const N = C.n(100);
const M = C.n2(100);

C.main('g_server', async (port) => {
  const socks = await C.pool(N, 100, () => C.connect(port));
  const readers = socks.map((s) => C.lineReader(s));
  let good = 0;
  const client = async (c) => {
    for (let i = 1; i <= M; i++) {
      const msg = `client ${String(c + 1).padStart(5, '0')} message ${String(i).padStart(5, '0')} .....`;
      socks[c].write(`${msg}\n`);
      if (await readers[c].next() === msg) good += 1;
    }
  };
  const t0 = C.clock();
  await Promise.all(socks.map((_, c) => client(c)));
  const t1 = C.clock();
  for (const s of socks) s.end();
  return [t0, t1, good];
});
