"""A read-only SQL prompt on the published warehouse, for people.

``python -m transform.sql`` opens a prompt; ``python -m transform.sql "select …"``
runs one query. The connection is read-only and has no file system access (no
COPY TO, ATTACH, extensions or file reads): nothing typed here can change the
warehouse or write into the landing folder the next build reads. The staging
views read landing files, so they are for engineers; marts and reporting are
all here. The nightly build publishes by renaming a new file over the old one,
so a session keeps seeing the warehouse it opened.
"""

from __future__ import annotations

import sys
from pathlib import Path

from transform.build import published_path


def connect(path: Path):
    """A read-only connection that can touch no other file, its settings locked."""
    import duckdb

    return duckdb.connect(
        str(path),
        read_only=True,
        config={"enable_external_access": False, "lock_configuration": True},
    )


def main(argv: list[str]) -> int:
    import duckdb

    path = published_path()
    if not path.exists():
        print(f"no published warehouse at {path}: run `make demo` first", file=sys.stderr)
        return 2
    con = connect(path)
    if argv:
        try:
            result = con.sql(" ".join(argv))
        except duckdb.Error as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        if result is not None:
            result.show(max_rows=200, max_width=200)
        return 0
    print(f"read-only on {path}; try: show all tables; end with ';', quit with Ctrl-D")
    buffer: list[str] = []
    while True:
        try:
            line = input("ai_carbon> " if not buffer else "      ...> ")
        except EOFError:
            print()
            return 0
        buffer.append(line)
        if line.rstrip().endswith(";"):
            query, buffer = "\n".join(buffer), []
            try:
                result = con.sql(query)
                if result is not None:
                    result.show(max_rows=200, max_width=200)
            except duckdb.Error as error:
                print(f"error: {error}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
