# A drop-in test server whose CPU use is known: `--mode before` burns BURN seconds of CPU in a
# thread from its first request on, then only serves (`GET /burned` answers 200 once the burn is
# over, 503 before, so a test can wait for it however slow the machine); `--mode child` forks, at its first
# request, a child process that spins (a shell loop, so it is a program of its own) until it is
# killed: a worker started after readiness.
import os
import threading
import time

from lbtest import Handler, answer, option, serve

mode, burn = option("mode"), float(option("burn", "0"))
started = threading.Event()
burned = threading.Event()


def spin(seconds):
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass
    burned.set()


class Burner(Handler):
    def do_GET(self):
        if self.path == "/burned":
            return answer(self, 200 if burned.is_set() else 503, b"", 0)
        if not started.is_set() and self.path.startswith("/load"):
            started.set()
            if mode == "before":
                threading.Thread(target=spin, args=(burn,), daemon=True).start()
            elif mode == "child" and os.fork() == 0:
                os.execvp("sh", ["sh", "-c", "while :; do :; done"])
        answer(self, 200, b"Hello World", 0)


serve(int(option("port")), Burner).serve_forever()
