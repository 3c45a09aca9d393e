# A drop-in test server whose CPU use is known: `--mode before` burns CPU in a thread for the
# first BURN seconds after its first request, then only serves; `--mode child` forks, at its first
# request, a child process that spins (a shell loop, so it is a program of its own) until it is
# killed: a worker started after readiness.
import http.server
import os
import socketserver
import sys
import threading
import time

arg = lambda name: sys.argv[sys.argv.index(name) + 1]
port, mode, burn = int(arg("--port")), arg("--mode"), float(arg("--burn"))
started = threading.Event()


def spin(seconds):
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


def first_request():
    if mode == "before":
        threading.Thread(target=spin, args=(burn,), daemon=True).start()
    elif mode == "child" and os.fork() == 0:
        os.execvp("sh", ["sh", "-c", "while :; do :; done"])


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        if not started.is_set() and self.path.startswith("/load"):
            started.set()
            first_request()
        body = b"Hello World"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Worker", "0")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


Server(("127.0.0.1", port), Handler).serve_forever()
