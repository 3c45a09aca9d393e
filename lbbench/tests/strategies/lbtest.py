# What the Python test strategies share: an HTTP/1.1 keep-alive server on 127.0.0.1 whose
# handler answers through `answer`, and command-line options.
import http.server
import socket
import socketserver
import sys


def option(name, default=None):
    if f"--{name}" in sys.argv:
        return sys.argv[sys.argv.index(f"--{name}") + 1]
    return default


def answer(handler, status, body, worker):
    handler.send_response(status)
    handler.send_header("Content-Length", str(len(body)))
    handler.send_header("X-Worker", str(worker))
    handler.end_headers()
    handler.wfile.write(body)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass


def serve(port, handler, reuseport=False):
    class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
        daemon_threads = True
        allow_reuse_address = True

        def server_bind(self):
            if reuseport:
                self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            super().server_bind()

    return Server(("127.0.0.1", port), handler)
