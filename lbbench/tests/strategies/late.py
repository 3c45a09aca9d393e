# A drop-in test strategy: SO_REUSEPORT workers that start one after another, worker k after
# k × 1.5 s, each binding its own socket only then. A harness that starts the load at the first
# answer puts every keep-alive connection on worker 0. Each worker names itself lbbench-w<k> once
# it serves, as lbbench's readiness convention asks.
import os
import time

from lbtest import Handler, answer, option, serve

worker = 0
for k in range(1, int(option("workers"))):
    if os.fork() == 0:
        worker = k
        break


class Late(Handler):
    def do_GET(self):
        answer(self, 200, b"Hello World", worker)


time.sleep(1.5 * worker)
server = serve(int(option("port")), Late, reuseport=True)
with open("/proc/self/comm", "w") as comm:
    comm.write(f"lbbench-w{worker}")
server.serve_forever()
