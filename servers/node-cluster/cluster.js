// The program lbbench descends from: Node's cluster module forks N workers that each run
// http.createServer on one shared port. The primary spreads connections by
// NODE_CLUSTER_SCHED_POLICY: "rr" (it accepts and hands each connection to the next worker) or
// "none" (workers accept on the shared listening handle themselves).
//
// Usage: node cluster.js --workers N --port P [--host H]
'use strict';
const cluster = require('node:cluster');
const http = require('node:http');

function option(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const workers = Number.parseInt(option('workers', '2'), 10);
const port = Number.parseInt(option('port', '8080'), 10);
const host = option('host', '127.0.0.1');

if (cluster.isPrimary) {
  if (!(workers >= 1) || !(port >= 0)) {
    console.error('usage: node cluster.js --workers N --port P [--host H]');
    process.exit(2);
  }
  let stopping = false;
  for (let i = 0; i < workers; i++) cluster.fork({ WORKER_ID: String(i) });
  // Like the Rust strategies: a worker dying is a failure, not something to paper over.
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) return;
    console.error(`worker ${worker.process.pid} exited (${signal || code}); stopping`);
    stopping = true;
    for (const w of Object.values(cluster.workers)) w.process.kill('SIGTERM');
    process.exit(1);
  });
  const stop = () => {
    stopping = true;
    for (const w of Object.values(cluster.workers)) w.process.kill('SIGTERM');
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
} else {
  const id = process.env.WORKER_ID;
  const body = 'Hello World';
  const headers = {
    'Content-Type': 'text/plain',
    'Content-Length': Buffer.byteLength(body),
    'X-Worker': id,
  };
  http
    .createServer((req, res) => {
      res.writeHead(200, headers);
      res.end(body);
    })
    .listen(port, host, () => {
      // lbbench's convention: worker k announces it is serving by its process name.
      process.title = `lbbench-w${id}`;
    });
}
