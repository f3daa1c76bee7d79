"""Google Cloud Storage for a landing zone at ``gs://bucket/prefix``.

``GcsStore`` gives ``extractors/landing.py`` the same few operations as
``S3Store`` (the ``LandingObjects`` interface of ``extractors/object_store.py``:
list, read, download, put a file or bytes, delete), through the
``google-cloud-storage`` client, so the landing's logic is written once for
both stores.

Where GCS can make a write conditional and S3 (as this project uses it)
cannot, the store takes a generation precondition (``if_generation_match``):
the landing uploads attempts and ledger records only if no object has the
key yet (generation 0), and replaces or deletes a partition's pointer only if
it is still the generation it read, so a concurrent write of the same
partition in between fails this one (retryable) instead of being silently
replaced.

Credentials come from Google's Application Default Credentials (workload
identity, ``GOOGLE_APPLICATION_CREDENTIALS``, ``gcloud auth
application-default login``), or none at all against an emulator named by
``STORAGE_EMULATOR_HOST``; never from the landing URL or the config. Messages
name the operation and the object, never a credential or a server's text.
Never opens the warehouse.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

from extractors.cloud import replaced_atomically
from extractors.errors import CredentialsError, SourceError, SourceUnavailable
from extractors.object_store import ObjectInfo

T = TypeVar("T")

# How long the client retries throttling, 5xx and dropped connections (with
# jittered exponential backoff) before a request fails as SourceUnavailable.
RETRY_SECONDS = 60.0
_TIMEOUT = (10, 60)  # connect, read (seconds)
_THROTTLED = (429, 500, 502, 503, 504)


class GcsStore:
    """GCS through google-cloud-storage; one client, thread-safe, per store."""

    scheme = "gs"
    # Honours ``if_generation_match`` on put_file, put_bytes and delete.
    conditional = True

    def __init__(self, *, retry_seconds: float = RETRY_SECONDS) -> None:
        from google.cloud import storage
        from google.cloud.storage.retry import DEFAULT_RETRY

        self.retry_seconds = retry_seconds
        self._retry = DEFAULT_RETRY.with_timeout(retry_seconds)
        # Client() reads ADC (or, with STORAGE_EMULATOR_HOST, signs nothing).
        self._client = self._call("opening the Google Cloud Storage client", storage.Client)

    def _call(self, what: str, request: Callable[[], T]) -> T:
        """Run one request, turning the client's errors into clear ones without secrets."""
        import requests
        from google.api_core import exceptions as gx
        from google.auth import exceptions as auth

        try:
            return request()
        except gx.PreconditionFailed:
            # Also what a retried conditional upload gets when its first try
            # succeeded unanswered: the task's retry then finds it landed.
            raise SourceUnavailable(
                f"{what}: the object changed since it was read (another write of the same "
                "partition?); nothing was made visible, try again"
            ) from None
        except (gx.Unauthorized, gx.Forbidden) as exc:
            raise CredentialsError(
                f"Google Cloud Storage refused access (HTTP {exc.code}) while {what}: the "
                "identity needs storage.objects.list, get, create and delete under the landing "
                "prefix (deploy/iam/gcp-gcs-landing-role.yaml), and valid credentials"
            ) from None
        except gx.RetryError:
            raise SourceUnavailable(
                f"Google Cloud Storage kept failing while {what} for {self.retry_seconds:.0f} s "
                "of retries with backoff; nothing was made visible, try again later"
            ) from None
        except gx.GoogleAPICallError as exc:
            if exc.code in _THROTTLED:
                raise SourceUnavailable(
                    f"Google Cloud Storage answered HTTP {exc.code} while {what}; nothing was "
                    "made visible, try again later"
                ) from None
            raise SourceError(
                f"Google Cloud Storage answered HTTP {exc.code} while {what}"
            ) from None
        except auth.DefaultCredentialsError:
            raise CredentialsError(
                f"Google credentials not found while {what}: set up Application Default "
                "Credentials (workload identity, GOOGLE_APPLICATION_CREDENTIALS pointing at a "
                "key file, or gcloud auth application-default login)"
            ) from None
        except auth.GoogleAuthError as exc:
            raise CredentialsError(
                f"Google credentials could not be used while {what} ({type(exc).__name__}): "
                "they are expired or revoked; refresh them"
            ) from None
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise SourceUnavailable(
                f"Google Cloud Storage unreachable while {what} ({type(exc).__name__}); nothing "
                "was made visible, try again later"
            ) from None

    def _blob(self, bucket: str, key: str):
        return self._client.bucket(bucket).blob(key)

    def list(self, bucket: str, prefix: str) -> list[ObjectInfo]:
        """Every object under ``prefix``, in key order; the generation stands for the ETag."""

        def listing() -> list[ObjectInfo]:
            blobs = self._client.list_blobs(
                bucket, prefix=prefix, retry=self._retry, timeout=_TIMEOUT
            )
            infos = [
                ObjectInfo(blob.name, int(blob.size or 0), str(blob.generation))
                for blob in blobs
                if not blob.name.endswith("/")  # a console "folder" marker
            ]
            return sorted(infos, key=lambda info: info.key)

        return self._call(f"listing gs://{bucket}/{prefix}", listing)

    def read_with_generation(self, bucket: str, key: str) -> tuple[bytes, int] | None:
        """The object's bytes and generation, or None when there is no such key."""
        from google.api_core import exceptions as gx

        def read() -> tuple[bytes, int] | None:
            for _ in range(3):
                blob = self._client.bucket(bucket).get_blob(
                    key, retry=self._retry, timeout=_TIMEOUT
                )
                if blob is None:
                    return None
                generation = int(blob.generation)
                try:
                    # The bytes of the generation just looked up, or a fresh look.
                    data = blob.download_as_bytes(
                        if_generation_match=generation, retry=self._retry, timeout=_TIMEOUT
                    )
                except (gx.PreconditionFailed, gx.NotFound):
                    continue  # replaced or removed in between: look again
                return data, generation
            raise gx.PreconditionFailed("changed three times while being read")

        return self._call(f"reading gs://{bucket}/{key}", read)

    def read_optional(self, bucket: str, key: str) -> bytes | None:
        """The object's bytes, or None when there is no such key."""
        found = self.read_with_generation(bucket, key)
        return None if found is None else found[0]

    def read_bytes(self, bucket: str, key: str) -> bytes:
        return self._call(
            f"reading gs://{bucket}/{key}",
            lambda: self._blob(bucket, key).download_as_bytes(retry=self._retry, timeout=_TIMEOUT),
        )

    def download(self, bucket: str, key: str, path: Path) -> int:
        """Write the object's bytes to ``path`` atomically (checksum-verified by the
        client); return the size."""

        def download() -> int:
            with replaced_atomically(path) as handle:
                self._blob(bucket, key).download_to_file(
                    handle, retry=self._retry, timeout=_TIMEOUT
                )
            return path.stat().st_size

        return self._call(f"reading gs://{bucket}/{key}", download)

    def put_file(
        self, bucket: str, key: str, path: Path, *, if_generation_match: int | None = None
    ) -> None:
        """Upload a local file (crc32c-checked by the server); 0 as the
        precondition means "only if no object has this key"."""
        self._call(
            f"writing gs://{bucket}/{key}",
            lambda: self._blob(bucket, key).upload_from_filename(
                str(path),
                if_generation_match=if_generation_match,
                retry=self._retry,
                timeout=_TIMEOUT,
            ),
        )

    def put_bytes(
        self,
        bucket: str,
        key: str,
        data: bytes,
        content_type: str,
        *,
        if_generation_match: int | None = None,
    ) -> None:
        """One upload: GCS makes the whole object visible at once, or not at all."""
        self._call(
            f"writing gs://{bucket}/{key}",
            lambda: self._blob(bucket, key).upload_from_string(
                data,
                content_type=content_type,
                if_generation_match=if_generation_match,
                retry=self._retry,
                timeout=_TIMEOUT,
            ),
        )

    def delete(
        self, bucket: str, keys: Iterable[str], *, if_generation_match: int | None = None
    ) -> None:
        """Delete objects; absent keys are no error. A precondition applies to one key only."""
        from google.api_core import exceptions as gx

        keys = list(keys)
        if if_generation_match is not None and len(keys) != 1:
            raise ValueError("a generation precondition names one object")

        def delete(key: str) -> None:
            with contextlib.suppress(gx.NotFound):  # already gone: what was asked for
                self._blob(bucket, key).delete(
                    if_generation_match=if_generation_match, retry=self._retry, timeout=_TIMEOUT
                )

        for key in keys:
            self._call(f"deleting gs://{bucket}/{key}", lambda key=key: delete(key))
