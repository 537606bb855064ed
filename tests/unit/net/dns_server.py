#!/usr/bin/python3
"""A scripted DNS server for tests/unit/net/dns_test.c (standard library only).

    /usr/bin/python3 tests/unit/net/dns_server.py PORT COUNTS_FILE

Listens on UDP 127.0.0.1:PORT (0 = any free port), prints "ready PORT" on
stdout once bound, runs until its stdin reaches end of file, and answers by the name asked (case-insensitive):

    ok.test            A 10.0.0.1 TTL 300
    multi.test         A 10.0.0.1 TTL 30, 10.0.0.2 TTL 20, 10.0.0.3 TTL 40
    dual.test          A 10.0.0.1 TTL 60, AAAA 2001:db8::1 TTL 60
    short.test         A 10.0.0.1 TTL 1
    long.test          A 10.0.0.1 TTL 86400
    zero.test          A 10.0.0.1 TTL 0
    changes.test       A 10.0.0.1 TTL 1 the first time, then 10.0.0.2 TTL 1
    fails-later.test   A 10.0.0.7 TTL 1 the first time, then SERVFAIL
    silent-later.test  A 10.0.0.8 TTL 1 the first time, then no reply
    nx.test            NXDOMAIN
    servfail.test      SERVFAIL
    refused.test       REFUSED
    nodata.test        NOERROR, no record
    silent.test        no reply at all (the resolver times out)
    anything else      NXDOMAIN

"The first time" counts queries of that name and type. A name with only A
records answers AAAA with NOERROR and no record. After each query,
COUNTS_FILE is rewritten (atomically) with one "NAME TYPE COUNT" line per
name and type seen, so a test can tell whether the resolver asked.
"""
import os
import select
import socket
import struct
import sys

A, AAAA = 1, 28
NOERROR, FORMERR, SERVFAIL, NXDOMAIN, REFUSED = 0, 1, 2, 3, 5

STATIC = {
    "ok.test": [(A, "10.0.0.1", 300)],
    "multi.test": [(A, "10.0.0.1", 30), (A, "10.0.0.2", 20), (A, "10.0.0.3", 40)],
    "dual.test": [(A, "10.0.0.1", 60), (AAAA, "2001:db8::1", 60)],
    "short.test": [(A, "10.0.0.1", 1)],
    "long.test": [(A, "10.0.0.1", 86400)],
    "zero.test": [(A, "10.0.0.1", 0)],
}
ERRORS = {"nx.test": NXDOMAIN, "servfail.test": SERVFAIL, "refused.test": REFUSED}
# name -> (first answer, what later queries get: records, an rcode or None = silence)
SCRIPTED = {
    "changes.test": ([(A, "10.0.0.1", 1)], [(A, "10.0.0.2", 1)]),
    "fails-later.test": ([(A, "10.0.0.7", 1)], SERVFAIL),
    "silent-later.test": ([(A, "10.0.0.8", 1)], None),
}


def parse_question(msg):
    """(id, flags, name, qtype, end of question) or None."""
    if len(msg) < 12:
        return None
    qid, flags, qd = struct.unpack("!HHH", msg[:6])
    if qd != 1:
        return None
    labels, at = [], 12
    while at < len(msg):
        n = msg[at]
        at += 1
        if n == 0:
            break
        if n & 0xC0:
            return None
        labels.append(msg[at:at + n].decode("ascii", "replace"))
        at += n
    if at + 4 > len(msg):
        return None
    qtype, _qclass = struct.unpack("!HH", msg[at:at + 4])
    return qid, flags, ".".join(labels).lower(), qtype, at + 4


def reply(msg, qid, flags, qend, rcode, records):
    # QR, the opcode and RD echoed, RA set; the question echoed; no OPT.
    out_flags = 0x8000 | (flags & 0x7900) | 0x0080 | rcode
    head = struct.pack("!HHHHHH", qid, out_flags, 1, len(records), 0, 0)
    body = b""
    for rtype, addr, ttl in records:
        fam = socket.AF_INET if rtype == A else socket.AF_INET6
        rdata = socket.inet_pton(fam, addr)
        # 0xC00C: a pointer to the question's name (RFC 1035 4.1.4).
        body += struct.pack("!HHHIH", 0xC00C, rtype, 1, ttl, len(rdata)) + rdata
    return head + msg[12:qend] + body


def decide(name, qtype, seen):
    """(rcode, records), or None for silence."""
    if name == "silent.test":
        return None
    if name in ERRORS:
        return ERRORS[name], []
    if name in SCRIPTED:
        first, later = SCRIPTED[name]
        now = first if seen == 1 else later
        if now is None:
            return None
        if isinstance(now, int):
            return now, []
        return NOERROR, [r for r in now if r[0] == qtype]
    if name in STATIC:
        return NOERROR, [r for r in STATIC[name] if r[0] == qtype]
    if name == "nodata.test":
        return NOERROR, []
    return NXDOMAIN, []


def write_counts(path, counts):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        for (name, qtype), n in sorted(counts.items()):
            f.write("%s %s %d\n" % (name, {A: "A", AAAA: "AAAA"}.get(qtype, qtype), n))
    os.replace(tmp, path)


def main():
    port, counts_path = int(sys.argv[1]), sys.argv[2]
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", port))
    counts = {}
    write_counts(counts_path, counts)
    # One write: the test reads up to the newline and closes its end.
    os.write(1, b"ready %d\n" % sock.getsockname()[1])
    while True:
        # stdin is a pipe from the test: its end (the test exited, even
        # by a crash) ends the server too.
        ready, _, _ = select.select([sock, sys.stdin], [], [])
        if sys.stdin in ready and not os.read(sys.stdin.fileno(), 512):
            return
        if sock not in ready:
            continue
        msg, peer = sock.recvfrom(4096)
        q = parse_question(msg)
        if q is None:
            continue
        qid, flags, name, qtype, qend = q
        counts[(name, qtype)] = counts.get((name, qtype), 0) + 1
        # Counted before answering, so a test that has its answer can
        # trust the file.
        write_counts(counts_path, counts)
        d = decide(name, qtype, counts[(name, qtype)])
        if d is not None:
            sock.sendto(reply(msg, qid, flags, qend, d[0], d[1]), peer)


if __name__ == "__main__":
    main()
