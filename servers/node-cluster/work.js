// Service time asked for by the client, done by the worker (lbbench's convention; the Rust
// worker's crates/hello/src/work.rs does the same): `?cpu=<dist>` spins on the CPU, `?block=<dist>`
// blocks the event loop without using CPU. A distribution is `<duration>` or `fixed:<d>`,
// `exp:<mean>`, or `bimodal:<p>:<slow>[:<fast>]`; durations take ns, us, ms or s, at most 10 s.
// Other query parameters are ignored; a malformed cpu or block gets 400.
'use strict';

const fs = require('fs');

const UNITS = { ns: 1, us: 1e3, ms: 1e6, s: 1e9 };
const MAX_NS = 10e9;

function duration(s) {
  const m = /^([0-9]*\.?[0-9]+)(ns|us|ms|s)$/.exec(s);
  if (!m) return null;
  const ns = Number.parseFloat(m[1]) * UNITS[m[2]];
  return ns <= MAX_NS ? ns : null;
}

function dist(s) {
  const parts = s.split(':');
  const [kind] = parts;
  if (kind === 'fixed' || kind === 'exp') {
    const d = parts.length === 2 ? duration(parts[1]) : null;
    return d === null ? null : { kind, d };
  }
  if (kind === 'bimodal') {
    if (parts.length !== 3 && parts.length !== 4) return null;
    const p = /^[0-9]*\.?[0-9]+$/.test(parts[1]) ? Number.parseFloat(parts[1]) : NaN;
    const slow = duration(parts[2]);
    const fast = parts.length === 4 ? duration(parts[3]) : 0;
    return p >= 0 && p <= 1 && slow !== null && fast !== null ? { kind, p, slow, fast } : null;
  }
  const d = parts.length === 1 ? duration(kind) : null;
  return d === null ? null : { kind: 'fixed', d };
}

/// The work a request's URL asks for: { cpu, block } (either may be absent), or null if malformed.
function parse(url) {
  const q = url.indexOf('?');
  const work = {};
  if (q < 0) return work;
  for (const pair of url.slice(q + 1).split('&')) {
    const eq = pair.indexOf('=');
    const key = eq < 0 ? pair : pair.slice(0, eq);
    const value = eq < 0 ? '' : pair.slice(eq + 1);
    if (key === 'cpu' || key === 'block') {
      const d = dist(value);
      if (d === null) return null;
      work[key] = d;
    }
  }
  return work;
}

/// A worker's own random numbers (mulberry32), seeded by its index so a run repeats.
function rng(seed) {
  let a = (seed + 1) >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return (((t ^ (t >>> 14)) >>> 0) + 1) / 4294967297;
  };
}

function draw(d, unit) {
  switch (d.kind) {
    case 'fixed':
      return d.d;
    case 'exp':
      return Math.min(-Math.log(unit()) * d.d, MAX_NS);
    default:
      return unit() <= d.p ? d.slow : d.fast;
  }
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));

// The main thread's own CPU clock: process.cpuUsage() also counts GC and libuv threads, so it
// reaches a target early (Node 20 has no thread CPU clock). schedstat's first field is the
// thread's run time in ns; the descriptor stays open because each open costs ~25 µs.
const threadClock = (() => {
  try {
    const fd = fs.openSync('/proc/thread-self/schedstat', 'r');
    const buf = Buffer.alloc(64);
    return () => {
      const n = fs.readSync(fd, buf, 0, buf.length, 0);
      return Number.parseInt(buf.toString('latin1', 0, n), 10) / 1e3;
    };
  } catch (_) {
    return () => {
      const u = process.cpuUsage();
      return u.user + u.system;
    };
  }
})();

/// Spins until `ns` of the main thread's CPU time is spent, then blocks the event loop for `block`.
function run(work, unit) {
  if (work.cpu) {
    const target = draw(work.cpu, unit) / 1e3;
    const start = threadClock();
    let x = 1;
    for (;;) {
      for (let i = 0; i < 2000; i++) x = (x * 1103515245 + 12345) | 0;
      if (threadClock() - start >= target) break;
    }
    if (x === 42) process.stdout.write(''); // keeps the loop from being optimised away
  }
  if (work.block) {
    Atomics.wait(sleeper, 0, 0, draw(work.block, unit) / 1e6);
  }
}

/// Wraps an http request listener: does the work the request asks for first, 400 if malformed.
module.exports = function withWork(id, listener) {
  const unit = rng(Number.parseInt(id, 10) || 0);
  return (req, res) => {
    if (req.url.indexOf('?') >= 0) {
      const work = parse(req.url);
      if (work === null) {
        res.writeHead(400, { 'Content-Type': 'text/plain', 'Content-Length': 11, 'X-Worker': id, Connection: 'close' });
        res.end('Bad Request');
        return;
      }
      run(work, unit);
    }
    listener(req, res);
  };
};
module.exports.parse = parse;
