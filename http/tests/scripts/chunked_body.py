"""The request body of a BaseHTTPRequestHandler, with its framing removed (chunked or
Content-Length), shared by the Python upstreams of the client and proxy tests."""


def read_body(handler):
    if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
        data = b""
        while True:
            size = int(handler.rfile.readline().split(b";")[0], 16)
            if size == 0:
                while handler.rfile.readline() not in (b"\r\n", b""):
                    pass
                return data
            data += handler.rfile.read(size)
            handler.rfile.readline()
    return handler.rfile.read(int(handler.headers.get("Content-Length", "0")))
