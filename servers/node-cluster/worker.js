// One Hello World worker: an HTTP server on the shared port answering every request with
// 200 "Hello World" and X-Worker: its index (0..N-1, stable for its life).
//
// Forked by cluster.js (its index in WORKER_ID), or run by PM2 in cluster mode (instance index in
// NODE_APP_INSTANCE). With --app MODULE the requests go to MODULE's listener instead (e.g. an
// Express app): MODULE exports (id, body) => an http request listener.
//
// A graceful exit on SIGTERM, SIGINT (what PM2 sends on stop and reload) or a 'shutdown' message
// from cluster.js: the server stops accepting, every later answer says Connection: close, and the
// process exits once its last connection has closed.
//
// Run on its own by a launcher of lbbench's worker axis (workers/node/worker.toml), it is worker
// --id K on its own --port, or on the listening socket it inherits as --fd N.
//
// Usage: node worker.js --port P [--host H] [--app MODULE] [--id K] [--fd N]
'use strict';
const http = require('node:http');
const net = require('node:net');
const path = require('node:path');

function option(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const port = Number.parseInt(option('port', '8080'), 10);
const host = option('host', '127.0.0.1');
const app = option('app');
const fd = option('fd');
const id = option('id', process.env.WORKER_ID ?? process.env.NODE_APP_INSTANCE);
if (id === undefined || !(port >= 0) || (fd !== undefined && !(Number.parseInt(fd, 10) >= 0))) {
  console.error('usage: node worker.js --port P [--host H] [--app MODULE] [--id K] [--fd N], under cluster.js, PM2 cluster mode or an lbbench launcher');
  process.exit(2);
}

const body = 'Hello World';
function hello(id, body) {
  const headers = {
    'Content-Type': 'text/plain',
    'Content-Length': Buffer.byteLength(body),
    'X-Worker': id,
  };
  return (req, res) => {
    res.writeHead(200, headers);
    res.end(body);
  };
}

const withWork = require('./work.js');
const listener = withWork(id, app ? require(path.resolve(app))(id, body) : hello(id, body));
let closing = false;
const server = http.createServer((req, res) => {
  if (closing) res.setHeader('Connection', 'close');
  listener(req, res);
});
const where = fd === undefined ? { port, host } : { fd: Number.parseInt(fd, 10) };
server.listen(where, () => {
  // lbbench's convention: worker k announces it is serving by its process name.
  process.title = `lbbench-w${id}`;
});

function finish() {
  if (closing) return;
  closing = true;
  // net.Server's close stops accepting but, unlike http.Server's (Node 19+), leaves idle keep-alive
  // connections open: closing one would reset a request already on its way. Each closes after its
  // next answer instead; the callback runs once the last has.
  net.Server.prototype.close.call(server, () => process.exit(0));
}
process.on('SIGTERM', finish);
process.on('SIGINT', finish);
process.on('message', (m) => {
  if (m === 'shutdown') finish();
});
