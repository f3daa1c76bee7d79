"""What the cloud clients share: the two failures a cloud read adds, bounded backoff,
and atomic writes of pulled snapshots.

A cloud pull fails in two ways a local file cannot:

* the credentials are missing, expired or refused: ``CredentialsError``, a
  ``SourceError`` (it will not mend itself, so the DAG fails the task at once);
* the service keeps throttling or is unreachable after bounded retries:
  ``SourceUnavailable``, deliberately *not* a ``SourceError``, so the
  DAG's own retries (with their longer backoff) try again later.

Must never put a secret (key, token, password) into a message or a log line:
messages are built from error codes and names only, never from request
headers or the provider's free text, and chained exceptions are dropped
(``from None``) so a traceback cannot carry one either.
"""

from __future__ import annotations

import contextlib
import os
import random
import time
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

# Longest single wait, in seconds, even when the server asks for more.
MAX_BACKOFF_SECONDS = 60.0


def backoff_seconds(attempt: int, retry_after: float | None = None) -> float:
    """Wait before retry number ``attempt`` (1 = the first retry).

    The server's ``Retry-After`` wins when given; otherwise exponential with
    full jitter (1 s, 2 s, 4 s ... times a random factor), capped.
    """
    if retry_after is not None and retry_after >= 0:
        return min(retry_after, MAX_BACKOFF_SECONDS)
    return min(MAX_BACKOFF_SECONDS, (2 ** (attempt - 1)) * (0.5 + random.random() / 2))  # noqa: S311 - jitter, not crypto


# One seam for every wait, so tests can record the waits instead of sleeping.
sleep = time.sleep


@contextlib.contextmanager
def replaced_atomically(path: Path) -> Iterator[BinaryIO]:
    """A binary handle whose bytes replace ``path`` when the block ends: a hidden
    temporary file beside it, flushed to disk, then a rename, so a reader sees
    the old file or the new one, never half. On an error the temporary file is
    removed and ``path`` is left as it was."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{uuid.uuid4().hex}.tmp"
    try:
        with tmp.open("wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_atomically(path: Path, data: bytes | Iterable[bytes]) -> int:
    """Replace ``path`` with ``data`` (bytes, or blocks of bytes streamed from a
    download) through ``replaced_atomically``. Returns the bytes written."""
    written = 0
    with replaced_atomically(path) as handle:
        for block in [data] if isinstance(data, bytes) else data:
            handle.write(block)
            written += len(block)
    return written
