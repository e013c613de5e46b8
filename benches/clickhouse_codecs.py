"""The ClickHouse store's column codecs, measured: the spans a bench run stored (the newest
version of each) copied into tables that differ from agentrace's `spans` only in codecs or
types, each merged into one part, then their compressed bytes a span and the time of the copy.

Run by `cargo xtask bench ingest --store clickhouse` on the engine's data directory once the
whole-traces run has stopped: `python benches/clickhouse_codecs.py DATA_DIR` (the chdb
virtualenv's Python). Prints a Markdown table, as docs/benchmark-notebook.md §9.2 records it.
"""

import re
import sys
import time

from chdb import session

# A column's CODEC(...) clause, nested parentheses and all.
CODEC = re.compile(r"\s+CODEC\((?:[^()]|\([^()]*\))*\)")
TIMES = ("start", "end", "arrived")


def with_time_codec(create, column, codec):
    """`create` with `column`'s codec replaced by `codec`."""
    pattern = re.compile(rf"(`{column}` DateTime64\(9, 'UTC'\))" + CODEC.pattern)
    out, n = pattern.subn(rf"\1 CODEC({codec})", create)
    if n != 1:
        raise SystemExit(f"no codec on `{column}` in the spans table")
    return out


def variants(create):
    """What is measured: as agentrace makes it, and each alternative it was chosen over."""
    level = re.search(r"ZSTD\((\d+)\)", create)
    if not level:
        raise SystemExit("no ZSTD codec in the spans table")
    other_level = "1" if level.group(1) != "1" else "3"
    no_delta = create
    for column in ("start", "end"):
        no_delta = with_time_codec(no_delta, column, f"ZSTD({level.group(1)})")
    double_delta = create
    for column in TIMES:
        double_delta = with_time_codec(double_delta, column, f"DoubleDelta, ZSTD({level.group(1)})")
    return [
        ("as agentrace makes it", create),
        ("no codecs (LZ4, the server's default)", CODEC.sub("", create)),
        (f"ZSTD({other_level}) instead", re.sub(r"ZSTD\(\d+\)", f"ZSTD({other_level})", create)),
        ("start and end without Delta", no_delta),
        ("arrived with Delta", with_time_codec(create, "arrived", f"Delta(8), ZSTD({level.group(1)})")),
        ("times with DoubleDelta", double_delta),
        (
            "String for LowCardinality",
            re.sub(r"LowCardinality\(((?:[^()]|\([^()]*\))*)\)", r"\1", create),
        ),
    ]


def measure(s, rows, name, create):
    s.query("DROP TABLE IF EXISTS bench.spans_codecs")
    s.query(create.replace("CREATE TABLE bench.spans", "CREATE TABLE bench.spans_codecs", 1))
    best = float("inf")
    for _ in range(3):
        s.query("TRUNCATE TABLE bench.spans_codecs")
        start = time.perf_counter()
        s.query(
            "INSERT INTO bench.spans_codecs SELECT * FROM bench.spans FINAL WHERE sign = 1 "
            "SETTINGS max_insert_threads = 1"
        )
        best = min(best, time.perf_counter() - start)
    s.query("OPTIMIZE TABLE bench.spans_codecs FINAL")
    total = int(
        s.query(
            "SELECT sum(data_compressed_bytes) FROM system.parts "
            "WHERE database = 'bench' AND table = 'spans_codecs' AND active",
            "TSVRaw",
        ).bytes()
    )
    s.query("DROP TABLE bench.spans_codecs")
    print(f"| {name} | {total / rows:.1f} | {best * 1000:.0f} ms |", flush=True)


def main():
    if len(sys.argv) != 2:
        raise SystemExit(f"usage: {sys.argv[0]} DATA_DIR")
    s = session.Session(sys.argv[1])
    create = s.query("SHOW CREATE TABLE bench.spans", "TSVRaw").bytes().decode()
    rows = int(s.query("SELECT count() FROM bench.spans FINAL WHERE sign = 1", "TSVRaw").bytes())
    if rows == 0:
        raise SystemExit("no spans in bench.spans: run the bench first")
    print(f"{rows} spans, each table merged into one part; the copy's time is the best of three\n")
    print("| spans table | bytes a span | copy |")
    print("|---|---|---|")
    for name, sql in variants(create):
        measure(s, rows, name, sql)


if __name__ == "__main__":
    main()
