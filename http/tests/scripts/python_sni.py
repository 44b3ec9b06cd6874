# For each NAME=CAFILE argument: connect to 127.0.0.1:PORT with server name NAME,
# trusting only CAFILE, send GET /plaintext, print NAME, the peer CN, the body, ALPN.
import socket, ssl, sys
port = int(sys.argv[1])
for pair in sys.argv[2:]:
    name, cafile = pair.split("=", 1)
    ctx = ssl.create_default_context(cafile=cafile)
    ctx.check_hostname = name != "unknown.test"   # the default cert does not name it
    ctx.set_alpn_protocols(["http/1.1"])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname=name) as tls:
            cn = dict(x[0] for x in tls.getpeercert()["subject"])["commonName"]
            tls.sendall(b"GET /plaintext HTTP/1.1\r\nHost: " + name.encode() + b"\r\nConnection: close\r\n\r\n")
            data = b""
            while True:
                chunk = tls.recv(4096)
                if not chunk:
                    break
                data += chunk
            print(name, cn, data.split(b"\r\n\r\n", 1)[1].decode(), tls.selected_alpn_protocol())
