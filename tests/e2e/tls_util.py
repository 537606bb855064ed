"""TLS parts for the end-to-end tests: certificates made by the openssl
command, a TLS upstream served by Python's ssl module, and client contexts.

Certificates (EC P-256, all in one directory, made once per test session):
  ca          the test CA
  localhost   DNS:localhost, IP:127.0.0.1, signed by ca
  other       DNS:other.test, signed by ca
  expired     DNS:localhost, IP:127.0.0.1, notAfter yesterday, signed by ca
  soon        DNS:localhost, expires in 5 days, signed by ca
  self        DNS:localhost, IP:127.0.0.1, self-signed
  client      CN=telltale-client, signed by ca (for mutual TLS)
"""

import os
import socket
import ssl
import subprocess
import threading

SCRIPT = r"""
set -e
EC='-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes'
openssl req -x509 $EC -subj "/CN=Test CA" -days 30 -keyout ca.key -out ca.crt
sign() {  # name CN SAN days
  openssl req -new $EC -subj "/CN=$2" -keyout $1.key -out $1.csr
  printf 'subjectAltName=%s\n' "$3" > $1.ext
  openssl x509 -req -in $1.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days $4 \
    -extfile $1.ext -out $1.crt
}
sign localhost localhost DNS:localhost,IP:127.0.0.1 30
sign other other.test DNS:other.test 30
sign expired localhost DNS:localhost,IP:127.0.0.1 -1
sign soon localhost DNS:localhost,IP:127.0.0.1 5
sign client telltale-client DNS:telltale-client 30
openssl req -x509 $EC -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
  -days 30 -keyout self.key -out self.crt
"""


def make_certs(directory):
    subprocess.run(["sh", "-c", SCRIPT], cwd=directory, check=True, capture_output=True)
    return Certs(str(directory))


class Certs:
    def __init__(self, directory):
        self.dir = directory

    def crt(self, name):
        return os.path.join(self.dir, name + ".crt")

    def key(self, name):
        return os.path.join(self.dir, name + ".key")

    def pair(self, name):
        return {"cert": self.crt(name), "key": self.key(name)}

    def client_ctx(self, server_name=True, max_version=None, alpn=None):
        """A client context trusting the test CA."""
        ctx = ssl.create_default_context(cafile=self.crt("ca"))
        ctx.check_hostname = server_name
        if max_version:
            ctx.maximum_version = max_version
        if alpn:
            ctx.set_alpn_protocols(alpn)
        return ctx


class TlsUpstream:
    """An HTTPS upstream on 127.0.0.1 (a thread per connection, keep-alive).
    It answers every request 200 with body b"tls ok " + the path, and
    records the SNI each handshake asked for and every failure.

    mode: "ok"; "client_cert" (requires a certificate signed by the test CA);
    "plain" (speaks plain HTTP: no TLS at all); "silent" (accepts TCP and
    never answers). max_version caps the protocol (ssl.TLSVersion)."""

    def __init__(self, certs, name="localhost", mode="ok", max_version=None):
        self.mode = mode
        self.snis = []
        self.errors = []
        self.requests = 0
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(certs.crt(name), certs.key(name))
        if max_version:
            self.ctx.maximum_version = max_version
        if mode == "client_cert":
            self.ctx.verify_mode = ssl.CERT_REQUIRED
            self.ctx.load_verify_locations(certs.crt("ca"))
        self.ctx.sni_callback = self._sni
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.addr = "127.0.0.1:%d" % self.sock.getsockname()[1]
        self.held = []
        self.closed = False
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _sni(self, sslsock, name, ctx):
        self.snis.append(name)

    def _accept(self):
        while not self.closed:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            if self.mode == "silent":
                self.held.append(conn)
                continue
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        conn.settimeout(10)
        try:
            if self.mode == "plain":
                # A plain HTTP server meeting a ClientHello: 400 and close,
                # as nginx and most servers answer bytes that are not HTTP.
                first = conn.recv(65536)
                if first and not first[:1].isalpha():
                    conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n"
                                 b"Connection: close\r\n\r\n")
                    return
            else:
                conn = self.ctx.wrap_socket(conn, server_side=True)
            buf = b""
            while True:
                while b"\r\n\r\n" not in buf:
                    data = conn.recv(65536)
                    if not data:
                        return
                    buf += data
                head, _, buf = buf.partition(b"\r\n\r\n")
                path = head.split(b" ")[1]
                self.requests += 1
                body = b"tls ok " + path
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s"
                             % (len(body), body))
        except (ssl.SSLError, OSError) as e:
            self.errors.append(repr(e))
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def close(self):
        self.closed = True
        self.sock.close()
        for c in self.held:
            c.close()
