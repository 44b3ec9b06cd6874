"""An upstream that answers before the request body is in: on each connection it reads
the request head, sends `413 Content Too Large` with `Connection: close` and closes,
leaving the body unread (so the kernel resets the connection under the sender).

Prints its port on the first line, then serves until killed.
"""

import socket
import threading

ANSWER = (
    b"HTTP/1.1 413 Content Too Large\r\n"
    b"Content-Type: text/plain\r\n"
    b"Content-Length: 10\r\n"
    b"Connection: close\r\n"
    b"\r\n"
    b"too large\n"
)


def answer(conn):
    with conn:
        head = b""
        while b"\r\n\r\n" not in head:
            data = conn.recv(4096)
            if not data:
                return
            head += data
        conn.sendall(ANSWER)


def main():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    print(listener.getsockname()[1], flush=True)
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=answer, args=(conn,), daemon=True).start()


main()
