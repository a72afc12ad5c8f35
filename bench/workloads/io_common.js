'use strict';
// Shared by the I/O workloads (g, h, i_net, i_fs, j, k) on top of common.js:
// the server child of the network workloads, a line reader, a worker pool.
//
// A network workload's client runs its server (g_server.js, i_server.js) as
// a child node process whose stdin and stdout are pipes. The server prints
// `port=<p>` once listening; on a line `quit` or at the end of its stdin it
// closes everything, prints `maxrss_kb=<kB>` and exits. So a client that
// dies leaves no server behind: its end of the pipe closes.
const C = require('./common.js');
const net = require('net');
const path = require('path');
const { spawn } = require('child_process');

// Starts bench/workloads/<name>.js as a child; fulfils once it printed its port.
function server(name) {
  const child = spawn(process.execPath, [path.join(__dirname, `${name}.js`)],
    { stdio: ['pipe', 'pipe', 'inherit'] });
  let buf = '';
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const rss = new Promise((resolve) => {
    child.stdout.on('data', (d) => {
      buf += d;
      const m = /maxrss_kb=(\d+)\n/.exec(buf);
      if (m) resolve(Number(m[1]));
    });
    child.stdout.on('end', () => resolve(null));
  });
  const srv = {
    async stop() {
      child.stdin.end('quit\n');
      const kb = await rss;
      const st = await exited;
      if (st.code !== 0 || kb === null) throw new Error(`${name} failed (${st.code}, ${st.signal})`);
      return kb;
    },
    kill() { child.kill('SIGKILL'); child.stdin.destroy(); child.stdout.destroy(); },
  };
  return new Promise((resolve, reject) => {
    const onData = () => {
      const m = /port=(\d+)\n/.exec(buf);
      if (m) { child.stdout.off('data', onData); srv.port = Number(m[1]); resolve(srv); }
    };
    child.stdout.on('data', onData);
    child.stdout.on('end', () => reject(new Error(`${name} printed no port`)));
    child.on('error', reject);
  });
}

// Runs `body(port)` against the server child `name` (none when null); body
// returns [t0, t1, check]. Prints the result line with this process's peak
// RSS plus the server's. Any failure kills the server and sets exit code 1.
async function main(name, body) {
  let srv = null;
  try {
    if (name) srv = await server(name);
    const [t0, t1, check] = await body(srv && srv.port);
    const kb = srv ? await srv.stop() : 0;
    srv = null;
    const elapsed = Number(t1 - t0) / 1e9;
    const rss = process.resourceUsage().maxRSS + kb;
    process.stdout.write(`elapsed=${elapsed.toFixed(9)} check=${check} maxrss_kb=${rss}\n`);
  } catch (e) {
    if (srv) srv.kill();
    console.error(e);
    process.exitCode = 1;
  }
}

// A server program: listens on 127.0.0.1 (a free port) with `handler`,
// announces the port, serves until `quit` or the end of stdin, closes
// everything and prints its peak RSS. Any socket error: exit code 1.
function serve(handler) {
  const sockets = new Set();
  const srv = net.createServer((sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', (e) => { console.error(e); process.exitCode = 1; });
    handler(sock);
  });
  srv.listen({ host: '127.0.0.1', port: 0, backlog: 1024 }, () => {
    process.stdout.write(`port=${srv.address().port}\n`);
  });
  let buf = '';
  let done = false;
  const quit = () => {
    if (done) return;
    done = true;
    process.stdin.pause();
    process.stdin.destroy();
    for (const s of sockets) s.destroy();
    srv.close(() => {
      process.stdout.write(`maxrss_kb=${process.resourceUsage().maxRSS}\n`);
    });
  };
  process.stdin.on('data', (d) => { buf += d; if (buf.includes('quit\n')) quit(); });
  process.stdin.on('end', quit);
}

// Lines of `sock`: next() fulfils with the next line without its "\n", or
// null at the end of the stream (the buffer-and-split of a 'data' handler).
function lineReader(sock) {
  let buf = '';
  const lines = [];
  let waiter = null;
  let ended = false;
  const wake = () => {
    if (waiter && (lines.length > 0 || ended)) {
      const w = waiter;
      waiter = null;
      w(lines.length > 0 ? lines.shift() : null);
    }
  };
  sock.setEncoding('latin1');
  sock.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      lines.push(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
    wake();
  });
  sock.on('end', () => { ended = true; wake(); });
  return { next: () => new Promise((resolve) => { waiter = resolve; wake(); }) };
}

// The second command-line argument (a positive integer), else `def`.
function n2(def) {
  const s = process.argv[3];
  if (s === undefined) return def;
  const v = Number(s);
  if (!Number.isInteger(v) || v < 1) throw new TypeError(`positive integer expected, got ${s}`);
  return v;
}

// Calls `fn(i)` for i = 0 .. count-1, at most `workers` at once.
async function pool(count, workers, fn) {
  let next = 0;
  const results = new Array(count);
  const worker = async () => {
    while (next < count) {
      const i = next++;
      results[i] = await fn(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(workers, count) }, worker));
  return results;
}

// A connected socket to 127.0.0.1:port.
function connect(port) {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: '127.0.0.1', port }, () => {
      sock.off('error', reject);
      resolve(sock);
    });
    sock.on('error', reject);
  });
}

// Connects `n` sockets to 127.0.0.1:port (100 at a time, untimed), then runs
// the async `client(sock)` on every one at once and times that; ends them
// all afterwards. Fulfils with [t0, t1], the clock around the clients' run.
async function clients(port, n, client) {
  const socks = await pool(n, 100, () => connect(port));
  const t0 = C.clock();
  await Promise.all(socks.map(client));
  const t1 = C.clock();
  for (const s of socks) s.end();
  return [t0, t1];
}

// The lines of the h workloads: `l` lines of 15 bytes, and all of them as
// one payload, each ended by "\n".
function lines(l) {
  const ls = [];
  for (let i = 1; i <= l; i++) ls.push(`line ${String(i).padStart(10, '0')}`);
  return [ls, `${ls.join('\n')}\n`];
}

module.exports = { ...C, n2, server, main, serve, lineReader, pool, connect, clients, lines };
