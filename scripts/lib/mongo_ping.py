#!/usr/bin/env python3
"""scripts/lib/mongo_ping.py — ping a MongoDB-wire-protocol server (FerretDB).

Standard library only, so scripts/test needs no driver to know that the
server it started really answers. Sends one OP_MSG `{ping: 1, $db: "admin"}`
and checks that the reply says ok: 1.

Usage: mongo_ping.py HOST PORT [TIMEOUT_SECONDS]
Exit status: 0 when the server answered ok, 1 otherwise (reason on stderr).
"""

import socket
import struct
import sys

OP_MSG = 2013


def bson_document(pairs):
    """Encode a flat list of (name, value) pairs as a BSON document."""
    body = b""
    for name, value in pairs:
        key = name.encode() + b"\x00"
        if isinstance(value, bool):
            body += b"\x08" + key + (b"\x01" if value else b"\x00")
        elif isinstance(value, int):
            body += b"\x10" + key + struct.pack("<i", value)
        elif isinstance(value, str):
            raw = value.encode() + b"\x00"
            body += b"\x02" + key + struct.pack("<i", len(raw)) + raw
        else:
            raise TypeError(f"unsupported BSON value {value!r}")
    return struct.pack("<i", len(body) + 5) + body + b"\x00"


def parse_document(buf, pos=0):
    """Decode the top level of a BSON document (enough for a ping reply)."""
    size = struct.unpack_from("<i", buf, pos)[0]
    end = pos + size - 1
    pos += 4
    out = {}
    while pos < end:
        kind = buf[pos]
        pos += 1
        name_end = buf.index(b"\x00", pos)
        name = buf[pos:name_end].decode()
        pos = name_end + 1
        if kind == 0x01:  # double
            out[name] = struct.unpack_from("<d", buf, pos)[0]
            pos += 8
        elif kind == 0x02:  # string
            n = struct.unpack_from("<i", buf, pos)[0]
            out[name] = buf[pos + 4 : pos + 4 + n - 1].decode()
            pos += 4 + n
        elif kind in (0x03, 0x04):  # document, array
            n = struct.unpack_from("<i", buf, pos)[0]
            out[name] = parse_document(buf, pos)
            pos += n
        elif kind == 0x05:  # binary
            n = struct.unpack_from("<i", buf, pos)[0]
            pos += 5 + n
        elif kind == 0x07:  # ObjectId
            pos += 12
        elif kind == 0x08:  # bool
            out[name] = buf[pos] != 0
            pos += 1
        elif kind == 0x0A:  # null
            out[name] = None
        elif kind == 0x10:  # int32
            out[name] = struct.unpack_from("<i", buf, pos)[0]
            pos += 4
        elif kind in (0x09, 0x11, 0x12):  # datetime, timestamp, int64
            out[name] = struct.unpack_from("<q", buf, pos)[0]
            pos += 8
        else:  # a type a ping reply does not use: stop here
            break
    return out


def recv_exact(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("connection closed by server")
        data += chunk
    return data


def ping(host, port, timeout):
    doc = bson_document([("ping", 1), ("$db", "admin")])
    body = struct.pack("<I", 0) + b"\x00" + doc  # flagBits, section kind 0
    header = struct.pack("<iiii", 16 + len(body), 1, 0, OP_MSG)
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.settimeout(timeout)
        sock.sendall(header + body)
        length = struct.unpack("<i", recv_exact(sock, 4))[0]
        reply = recv_exact(sock, length - 4)
    _request_id, response_to, opcode = struct.unpack_from("<iii", reply, 0)
    if opcode != OP_MSG or response_to != 1:
        raise ValueError(f"unexpected reply opcode={opcode} responseTo={response_to}")
    if reply[16] != 0:  # after 12 header bytes and 4 flag bytes: section kind
        raise ValueError(f"unexpected section kind {reply[16]}")
    return parse_document(reply, 17)


def main(argv):
    try:
        if len(argv) not in (3, 4):
            raise ValueError("wrong number of arguments")
        host, port = argv[1], int(argv[2])
        timeout = float(argv[3]) if len(argv) == 4 else 2.0
    except ValueError as err:
        print(f"{err}\nusage: mongo_ping.py HOST PORT [TIMEOUT_SECONDS]", file=sys.stderr)
        return 2
    try:
        answer = ping(host, port, timeout)
    except (OSError, ValueError, struct.error, IndexError) as err:
        print(f"mongo ping {host}:{port}: {err}", file=sys.stderr)
        return 1
    if answer.get("ok") in (1, 1.0, True):
        return 0
    print(f"mongo ping {host}:{port}: reply not ok: {answer}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
