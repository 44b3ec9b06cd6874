"""An HTTP/1.1 keep-alive upstream on Python's http.server for the proxy tests.

Prints its port on the first line, then serves until killed (the path's last segment
picks the answer, so any prefix in front of it works):
  GET .../headers     -> JSON {"path": ..., "headers": [[name, value], ...]} as received,
                         with hop-by-hop fields of its own in the response
  GET .../file        -> a Content-Length body (64 KiB of 'p')
  GET .../chunked     -> a chunked body of 100 parts
  GET .../bytes/N     -> a Content-Length body of N bytes: 0, 1, .. 250, 0, 1, ..
  POST/PUT .../echo   -> the request body (Content-Length or chunked) back, chunked
  HEAD .../file       -> the GET's head (Content-Length: 65536); HEAD of anything else:
                         a chunked head
"""

import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import chunked_body


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def last(self):
        return self.path.split("?")[0].rstrip("/").rsplit("/", 1)[-1]

    def do_GET(self):
        last = self.last()
        if self.path.split("?")[0].rstrip("/").rsplit("/", 2)[-2:-1] == ["bytes"]:
            n = int(last)
            body = (bytes(range(251)) * (n // 251 + 1))[:n]
            self.send_response(200)
            self.send_header("Content-Length", str(n))
            self.end_headers()
            self.wfile.write(body)
        elif last == "headers":
            body = json.dumps(
                {"path": self.path, "headers": [[k, v] for k, v in self.headers.items()]}
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "keep-alive, X-Up-Secret")
            self.send_header("X-Up-Secret", "1")
            self.send_header("Keep-Alive", "timeout=5")
            self.send_header("Proxy-Authenticate", "Basic")
            self.send_header("X-Up-Kept", "1")
            self.end_headers()
            self.wfile.write(body)
        elif last == "file":
            body = b"p" * 65536
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        elif last == "chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i in range(100):
                self.write_chunk(("part %d;" % i).encode())
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.send_error(404)

    def do_HEAD(self):
        self.send_response(200)
        if self.last() == "file":
            self.send_header("Content-Length", "65536")
        else:
            self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def write_chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

    def read_body(self):
        return chunked_body.read_body(self)

    def do_POST(self):
        body = self.read_body()
        if self.last() != "echo":
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("X-Request-Framing", self.headers.get("Transfer-Encoding", "length"))
        self.end_headers()
        for i in range(0, len(body), 1000):
            self.write_chunk(body[i : i + 1000])
        self.wfile.write(b"0\r\n\r\n")

    do_PUT = do_POST


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
