import http.client, sys
port = int(sys.argv[1])
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
socks = []
for i in (1, 2):
    conn.request("GET", "/plaintext")
    r = conn.getresponse()
    body = r.read()
    socks.append(conn.sock)
    print(f"get{i} {r.status} {body!r} server={r.getheader('Server')} "
          f"date={r.getheader('Date') is not None} close={r.will_close}")
print(f"keep-alive same-socket={socks[0] is socks[1] and socks[0] is not None}")
sent = b"".join(bytes((i * 7 + n) % 256 for i in range(n)) for n in (1, 13, 4096, 70000))
def chunks():
    # Chunks of the sizes above: http.client writes each as one chunk ("<hex>\r\n...\r\n").
    off = 0
    for n in (1, 13, 4096, 70000):
        yield sent[off:off + n]
        off += n
conn.request("POST", "/echo", body=chunks(), encode_chunked=True,
             headers={"Transfer-Encoding": "chunked", "Content-Type": "application/octet-stream"})
r = conn.getresponse()
got = r.read()
print(f"echo {r.status} sent={len(sent)} got={len(got)} equal={got == sent} "
      f"same-socket={conn.sock is socks[0]}")
conn.close()
