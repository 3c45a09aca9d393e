# A drop-in test strategy: one worker that answers 503 to every other request (as a proxy under a
# fault would) and 200 Hello World otherwise, always with X-Worker, keep-alive honoured.
from lbtest import Handler, answer, option, serve

count = 0


class Alternating(Handler):
    def do_GET(self):
        global count
        count += 1
        if count % 2 == 0:
            answer(self, 503, b"busy", 0)
        else:
            answer(self, 200, b"Hello World", 0)


serve(int(option("port")), Alternating).serve_forever()
