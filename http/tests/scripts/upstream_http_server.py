"""An HTTP/1.1 keep-alive upstream on Python's http.server for the client tests.

Prints its port on the first line, then serves until killed:
  GET /file          -> a Content-Length body (64 KiB of 'p')
  GET /chunked       -> a chunked body of 100 parts
  POST or PUT /echo  -> the request body (Content-Length or chunked) with Content-Length
"""

import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import chunked_body


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.path == "/file":
            body = b"p" * 65536
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        elif self.path == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i in range(100):
                part = ("part %d;" % i).encode()
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.send_error(404)

    def read_body(self):
        return chunked_body.read_body(self)

    def do_POST(self):
        body = self.read_body()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Method", self.command)
        self.end_headers()
        self.wfile.write(body)

    do_PUT = do_POST


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
