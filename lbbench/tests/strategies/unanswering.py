# A drop-in test strategy that is broken on purpose, as `--mode` says: `silent` accepts every
# connection and never answers; `garbled` answers with a status line that is not HTTP.
import socket

from lbtest import option

listener = socket.create_server(("127.0.0.1", int(option("port"))), reuse_port=False)
held = []
while True:
    conn, _ = listener.accept()
    if option("mode") == "garbled":
        conn.recv(4096)
        conn.sendall(b"HTTP/9 two hundred\r\n\r\n")
        conn.close()
    else:
        held.append(conn)
