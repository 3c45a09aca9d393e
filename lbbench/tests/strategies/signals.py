# A drop-in test strategy that writes down how it was started and stopped: at start, the signal
# mask it inherited and whether it inherited SIGTERM ignored (`--mark FILE`: lines `blocked <hex>`
# and `ignored <hex>` from /proc/self/status); at SIGTERM, the line `term`, then it exits. With
# `--daemon`, it first starts a grandchild in a session of its own (`setsid sleep`), as a
# daemonizing program would, and writes `daemon <pid>`.
import os
import signal
import subprocess
import sys

from lbtest import Handler, answer, option, serve

mark = open(option("mark"), "a", buffering=1)
status = dict(line.split(":\t", 1) for line in open("/proc/self/status") if ":\t" in line)
mark.write(f"blocked {status['SigBlk'].strip()}\nignored {status['SigIgn'].strip()}\n")
if "--daemon" in sys.argv:
    daemon = subprocess.Popen(["setsid", "sleep", "300"])
    mark.write(f"daemon {daemon.pid}\n")


def stopped(signum, frame):
    mark.write("term\n")
    os._exit(0)


signal.signal(signal.SIGTERM, stopped)


class Hello(Handler):
    def do_GET(self):
        answer(self, 200, b"Hello World", 0)


serve(int(option("port")), Hello).serve_forever()
