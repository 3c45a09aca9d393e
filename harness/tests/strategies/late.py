# A drop-in test strategy: SO_REUSEPORT workers that start one after another, worker k after
# k × 1.5 s, each binding its own socket only then. A harness that starts the load at the first
# answer puts every keep-alive connection on worker 0. Each worker names itself lbbench-w<k> once
# it serves, as lbbench's readiness convention asks.
import http.server
import os
import socket
import socketserver
import sys
import time

port = int(sys.argv[sys.argv.index("--port") + 1])
workers = int(sys.argv[sys.argv.index("--workers") + 1])


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        body = b"Hello World"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Worker", str(worker))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def server_bind(self):
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        super().server_bind()


worker = 0
for k in range(1, workers):
    if os.fork() == 0:
        worker = k
        break
time.sleep(1.5 * worker)
server = Server(("127.0.0.1", port), Handler)
with open("/proc/self/comm", "w") as comm:
    comm.write(f"lbbench-w{worker}")
server.serve_forever()
