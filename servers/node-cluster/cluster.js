// The program lbbench descends from: Node's cluster module forks N workers (worker.js) that each
// run http.createServer on one shared port. The primary spreads connections by
// NODE_CLUSTER_SCHED_POLICY: "rr" (it accepts and hands each connection to the next worker) or
// "none" (workers accept on the shared listening handle themselves).
//
// As the Node docs recommend, a worker that dies is replaced (cluster.on('exit') -> fork). SIGHUP
// restarts the workers one at a time without downtime, as the docs describe: fork the successor,
// and once it listens, tell the old worker to finish (a 'shutdown' message: it answers with
// Connection: close from then on) and disconnect it (it closes its server and exits when its
// connections have ended); it is killed if it has not after --stop-grace-ms.
//
// Usage: node cluster.js --workers N --port P [--host H] [--app MODULE] [--stop-grace-ms MS]
// (the workers get the same arguments; see worker.js for --app).
'use strict';
const cluster = require('node:cluster');
const path = require('node:path');
const { once } = require('node:events');

function option(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const workers = Number.parseInt(option('workers', '2'), 10);
const grace = Number.parseInt(option('stop-grace-ms', '2000'), 10);
if (!(workers >= 1) || !(grace >= 0)) {
  console.error('usage: node cluster.js --workers N --port P [--host H] [--app MODULE] [--stop-grace-ms MS]');
  process.exit(2);
}

cluster.setupPrimary({ exec: path.join(__dirname, 'worker.js') });
let stopping = false;
// Worker k (its WORKER_ID) of every live worker, by cluster id; retired ones are left out.
const index = new Map();
const fork = (k) => {
  const w = cluster.fork({ WORKER_ID: String(k) });
  index.set(w.id, k);
  return w;
};
for (let k = 0; k < workers; k++) fork(k);

cluster.on('exit', (worker, code, signal) => {
  const k = index.get(worker.id);
  index.delete(worker.id);
  if (stopping || k === undefined) return; // stopping, or retired by a reload
  console.error(`worker ${k} (pid ${worker.process.pid}) exited (${signal || code}); starting a replacement`);
  fork(k);
});

// Tells `old` to finish and disconnects it; kills it if it has not exited after the grace.
function retire(old) {
  index.delete(old.id);
  const kill = setTimeout(() => old.process.kill('SIGKILL'), grace);
  old.once('exit', () => clearTimeout(kill));
  old.send('shutdown');
  old.disconnect();
}

let rolling = false;
let again = false;
async function reload() {
  if (rolling) {
    again = true;
    return;
  }
  rolling = true;
  do {
    again = false;
    console.error('reloading: replacing every worker in turn');
    for (let k = 0; k < workers && !stopping; k++) {
      const old = Object.values(cluster.workers).find((w) => index.get(w.id) === k);
      const next = fork(k);
      // The successor listens (or dies: then the exit handler has replaced it; go on).
      await Promise.race([once(next, 'listening'), once(next, 'exit')]);
      if (old) retire(old);
    }
  } while (again && !stopping);
  rolling = false;
}
process.on('SIGHUP', () => {
  reload().catch((e) => console.error(`reload failed: ${e}`));
});

const stop = () => {
  stopping = true;
  for (const w of Object.values(cluster.workers)) w.process.kill('SIGTERM');
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
