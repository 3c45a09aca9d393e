# A drop-in test strategy: one worker that answers 503 to every other request (as a proxy under a
# fault would) and 200 Hello World otherwise, always with X-Worker, keep-alive honoured.
import http.server
import socketserver
import sys

port = int(sys.argv[sys.argv.index("--port") + 1])


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    count = 0

    def do_GET(self):
        Handler.count += 1
        status, body = (503, b"busy") if Handler.count % 2 == 0 else (200, b"Hello World")
        self.send_response(status)
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
