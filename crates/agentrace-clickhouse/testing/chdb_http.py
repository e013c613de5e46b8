"""ClickHouse's HTTP interface over chdb, the ClickHouse engine in-process: a test fixture.

No ClickHouse server of a usable version installs on these machines; PyPI's chdb-core is the
real engine (MergeTree, ReplacingMergeTree, materialized views, TTL, Map, Decimal…) without the
server around it. This serves the part of the HTTP interface that the `clickhouse` Rust crate
(0.15) and `clickhouse-connect` use, so that the real client drives the real engine:

  GET /ping                       "Ok."
  POST / (GET: read-only)         the statement is the `query` URL parameter followed by the
                                  body; an INSERT … FORMAT f with a `query` parameter takes the
                                  body as its data, streamed into the engine
  database, default_format,       as ClickHouse takes them; every other URL parameter is a
  query_id, param_NAME            setting, applied for the request and reset after it
  decompress=1 / compress=1       ClickHouse's LZ4 blocks (CityHash128 v1.0.2 checksums) in
                                  the request / the response
  errors                          "Code: N. DB::Exception: …", X-ClickHouse-Exception-Code,
                                  status 400 (syntax), 404 (unknown table, database, setting),
                                  403 (access), 500 otherwise; the body is read to its end first
  headers                         X-ClickHouse-Query-Id, X-ClickHouse-Format,
                                  X-ClickHouse-Summary

What it cannot show, by construction: authentication and grants (every request is the default
user), clusters and replication (`ON CLUSTER`, Replicated* engines: chdb has no Keeper),
asynchronous inserts, HTTP sessions, and a real server's concurrency (one statement at a time:
the engine session is not thread-safe, so requests are served one after another).

Usage: chdb_http.py --data DIR [--port N]   (port 0: a free one; prints "listening on PORT")
"""

import argparse
import json
import re
import sys
import threading
import uuid
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import lz4.block
from chdb import session
from clickhouse_cityhash.cityhash import CityHash128

# URL parameters that are not settings.
NOT_SETTINGS = {
    "query", "database", "default_format", "query_id", "compress", "decompress",
    "enable_http_compression", "user", "password", "role", "session_id", "session_timeout",
}
# ClickHouse error codes by the HTTP status ClickHouse answers them with.
STATUS_OF_CODE = {
    62: HTTPStatus.BAD_REQUEST,  # SYNTAX_ERROR
    27: HTTPStatus.BAD_REQUEST,  # CANNOT_PARSE_INPUT_ASSERTION_FAILED
    60: HTTPStatus.NOT_FOUND,  # UNKNOWN_TABLE
    81: HTTPStatus.NOT_FOUND,  # UNKNOWN_DATABASE
    115: HTTPStatus.NOT_FOUND,  # UNKNOWN_SETTING
    497: HTTPStatus.FORBIDDEN,  # ACCESS_DENIED
}
INSERT_WITH_FORMAT = re.compile(r"^\s*(INSERT\s.*?)\bFORMAT\s+(\w+)\s*$", re.IGNORECASE | re.DOTALL)
VERSION = "26.9.2.1"

LZ4_METHOD = 0x82
CHECKSUM_SIZE = 16
HEADER_SIZE = 9


def checksum(block):
    """ClickHouse's checksum of a compressed block: CityHash128 (v1.0.2), halves swapped."""
    h = CityHash128(block)
    return (((h >> 64) | (h << 64)) & ((1 << 128) - 1)).to_bytes(16, "little")


def lz4_decompress(data):
    """The payload of a stream of ClickHouse LZ4 blocks; ValueError when malformed."""
    out, at = bytearray(), 0
    while at < len(data):
        if len(data) - at < CHECKSUM_SIZE + HEADER_SIZE:
            raise ValueError("truncated compressed block header")
        header = data[at + CHECKSUM_SIZE:at + CHECKSUM_SIZE + HEADER_SIZE]
        method = header[0]
        compressed = int.from_bytes(header[1:5], "little")
        size = int.from_bytes(header[5:9], "little")
        block = data[at + CHECKSUM_SIZE:at + CHECKSUM_SIZE + compressed]
        if method != LZ4_METHOD:
            raise ValueError(f"compression method 0x{method:02x}: only LZ4 (0x82) is served")
        if len(block) != compressed:
            raise ValueError("truncated compressed block")
        if checksum(block) != data[at:at + CHECKSUM_SIZE]:
            raise ValueError("checksum mismatch in a compressed block")
        out += lz4.block.decompress(block[HEADER_SIZE:], uncompressed_size=size)
        at += CHECKSUM_SIZE + compressed
    return bytes(out)


def lz4_compress(data, block_size=1 << 20):
    """`data` as ClickHouse LZ4 blocks of at most `block_size` bytes before compression."""
    out = bytearray()
    for at in range(0, len(data), block_size):
        chunk = data[at:at + block_size]
        body = lz4.block.compress(chunk, store_size=False)
        header = bytes([LZ4_METHOD]) + (HEADER_SIZE + len(body)).to_bytes(4, "little") + len(chunk).to_bytes(4, "little")
        out += checksum(header + body) + header + body
    return bytes(out)


class Engine:
    """One chdb session, one statement at a time, with a request's database and settings set
    around it and reset after."""

    def __init__(self, data_dir):
        self.session = session.Session(data_dir)
        self.lock = threading.Lock()

    def run(self, database, settings, action):
        with self.lock:
            applied = []
            try:
                if database:
                    self.session.query(f"USE {quote_identifier(database)}")
                for name, value in settings:
                    self.session.query(f"SET {quote_identifier(name)} = {quote_value(value)}")
                    applied.append(name)
                return action(self.session)
            finally:
                for name in applied:
                    self.session.query(f"SET {quote_identifier(name)} = DEFAULT")
                if database:
                    self.session.query("USE default")


def quote_identifier(name):
    return "`" + name.replace("\\", "\\\\").replace("`", "\\`") + "`"


def quote_value(value):
    """A setting's value as ClickHouse takes it in SET: a number as is, anything else quoted."""
    if re.fullmatch(r"-?\d+(\.\d+)?", value):
        return value
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def multipart(body, content_type):
    """The named parts of a multipart/form-data body, as text: how the `clickhouse` crate sends
    a statement with query parameters (`query`, `param_NAME`)."""
    match = re.search(r'boundary="?([^";]+)"?', content_type)
    if not match:
        raise ValueError("multipart body without a boundary")
    delimiter = b"--" + match.group(1).encode()
    parts = {}
    for chunk in body.split(delimiter)[1:]:
        if chunk.startswith(b"--"):
            break
        head, _, value = chunk.lstrip(b"\r\n").partition(b"\r\n\r\n")
        name = re.search(rb'name="([^"]*)"', head)
        if not name:
            raise ValueError("a multipart part without a name")
        parts[name.group(1).decode()] = value.removesuffix(b"\r\n").decode("utf-8")
    return parts


def error_code(message):
    match = re.search(r"Code: (\d+)\.", message)
    return int(match.group(1)) if match else 1000


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # An answer's headers and body are two writes: with Nagle's algorithm the body waits for
    # the client's delayed acknowledgement of the headers, 40 ms a statement on a kept-alive
    # connection. ClickHouse sets TCP_NODELAY on its connections too.
    disable_nagle_algorithm = True
    server_version = "chdb-http"
    engine = None  # set by main

    def log_message(self, format, *args):  # noqa: A002 — quiet unless asked
        if self.server.verbose:
            super().log_message(format, *args)

    def read_body(self):
        """The request body, whole (Content-Length or chunked)."""
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(body)
                body += self.rfile.read(size)
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def do_GET(self):  # noqa: N802
        if urlsplit(self.path).path in ("/ping", "/ping/"):
            self.answer(HTTPStatus.OK, b"Ok.\n", {"Content-Type": "text/plain; charset=UTF-8"})
            return
        self.statement(read_only=True)

    def do_POST(self):  # noqa: N802
        self.statement(read_only=False)

    def statement(self, read_only):
        body = self.read_body()
        params = parse_qsl(urlsplit(self.path).query, keep_blank_values=True)
        get = dict(params)
        query_id = get.get("query_id") or str(uuid.uuid4())
        headers = {"X-ClickHouse-Query-Id": query_id}
        try:
            if get.get("decompress") == "1" and body:
                body = lz4_decompress(body)
        except ValueError as e:
            self.error(f"Code: 271. DB::Exception: Data compressed with different methods or corrupted: {e}. (CANNOT_DECOMPRESS)", headers)
            return
        query = get.get("query", "")
        content_type = self.headers.get("Content-Type", "")
        if content_type.startswith("multipart/form-data"):
            try:
                parts = multipart(body, content_type)
            except ValueError as e:
                self.error(f"Code: 1001. DB::Exception: {e}. (STD_EXCEPTION)", headers, HTTPStatus.BAD_REQUEST)
                return
            query = parts.pop("query", query)
            params += list(parts.items())
            get = dict(params)
            body = b""
        insert = INSERT_WITH_FORMAT.match(query) if query and body else None
        sql = query if insert else query + body.decode("utf-8", errors="replace")
        if read_only and not re.match(r"^\s*(SELECT|WITH|SHOW|DESCRIBE|DESC|EXISTS|EXPLAIN)\b", sql, re.IGNORECASE):
            self.error("Code: 164. DB::Exception: Cannot execute query in readonly mode. (READONLY)", headers, HTTPStatus.BAD_REQUEST)
            return
        settings = [(k, v) for k, v in params if k not in NOT_SETTINGS and not k.startswith("param_")]
        query_params = {k[len("param_"):]: v for k, v in params if k.startswith("param_")}
        default_format = get.get("default_format") or "TabSeparated"

        def action(s):
            if insert:
                inserter = s.send_insert(insert.group(1).strip(), insert.group(2))
                inserter.append(body)
                inserter.finish()
                return b"", None
            result = s.query(sql, default_format, params=query_params or None)
            return result.bytes(), result
        try:
            data, result = self.engine.run(get.get("database"), settings, action)
        except Exception as e:  # chdb raises its own error type, with ClickHouse's text
            if self.server.verbose:
                print(f"failed: {sql!r} {params!r}: {e}", file=sys.stderr, flush=True)
            self.error(str(e), headers)
            return
        summary = {"read_rows": "0", "read_bytes": "0", "written_rows": "0", "written_bytes": "0"}
        if result is not None:
            summary["read_rows"] = str(getattr(result, "rows_read", lambda: 0)())
            summary["read_bytes"] = str(getattr(result, "bytes_read", lambda: 0)())
        headers["X-ClickHouse-Summary"] = json.dumps(summary)
        headers["X-ClickHouse-Format"] = default_format
        headers["Content-Type"] = "application/octet-stream"
        if get.get("compress") == "1":
            data = lz4_compress(data)
        self.answer(HTTPStatus.OK, data, headers)

    def error(self, message, headers, status=None):
        code = error_code(message)
        if "(version" not in message:
            message = f"{message} (version {VERSION})"
        headers = dict(headers, **{
            "X-ClickHouse-Exception-Code": str(code),
            "Content-Type": "text/plain; charset=UTF-8",
        })
        self.answer(status or STATUS_OF_CODE.get(code, HTTPStatus.INTERNAL_SERVER_ERROR), (message + "\n").encode(), headers)

    def answer(self, status, body, headers):
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class Server(ThreadingHTTPServer):
    """Quiet about a client that went away before its answer (a killed node, a timed-out
    call): the statement ran, as on a real server; there is no one left to tell."""

    def handle_error(self, request, client_address):
        if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            return
        super().handle_error(request, client_address)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="the engine's data directory (kept across runs)")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--host", default="127.0.0.1", help="the address to listen on")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    Handler.engine = Engine(args.data)
    server = Server((args.host, args.port), Handler)
    server.verbose = args.verbose
    print(f"listening on {server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
