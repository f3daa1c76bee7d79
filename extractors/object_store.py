"""Where AWS Data Exports objects are read from (the local sources folder or S3),
and the S3 client the landing zone uses when it lives on S3.

Both stores map the object ``s3://<bucket>/<key>`` to the file
``<sources>/aws/<bucket>/<key>``. ``LocalStore`` reads that file (the demo and
the tests of the local layout). ``S3Store`` lists and reads S3 through boto3
and mirrors each object it is asked for into that same file first (downloaded
again only when its ETag or size changed), so the checksum, the ledger,
``_source_file`` and every check are identical in both modes, and the sources
folder holds exactly the bytes that were landed.

Credentials come from boto3's default chain (environment, profile, SSO,
instance or task role), optionally a named ``profile``, or from the
``AwsCredentials`` the DAG resolved from an Airflow connection (its keys,
region, role and endpoint stand in for the chain's; the config's own region,
role and endpoint win), optionally an STS assume-role per export (several
payer accounts); never from the config.
Throttling is retried by botocore's standard retry mode with bounded attempts.

The landing zone on S3 (``extractors/landing.py``) uses the same ``S3Store``
without a sources folder: its few writes (``put_file``, ``put_bytes``,
``delete``) and ``download`` go through the same client, retries and error
translation. Those operations are the ``LandingObjects`` interface, which
``GcsStore`` (``extractors/gcs_store.py``) implements for a landing on GCS.

Must never map a key outside ``<sources>/aws/<bucket>/`` (keys with ``..``,
``.`` or empty parts, a leading ``/`` or a backslash are refused), never list a
data folder where a manifest names the files (callers decide), never put a
secret into a message, and never open the warehouse.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from extractors.cloud import write_atomically
from extractors.errors import CredentialsError, SourceError, SourceUnavailable

if TYPE_CHECKING:
    from extractors.credentials import AwsCredentials

log = logging.getLogger(__name__)

T = TypeVar("T")

# Error codes by which AWS says "these credentials will not do".
_CREDENTIAL_CODES = frozenset(
    {
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidAccessKeyId",
        "InvalidClientTokenId",
        "InvalidToken",
        "SignatureDoesNotMatch",
        "TokenRefreshRequired",
        "RequestExpired",
        "UnrecognizedClientException",
        "AuthFailure",
    }
)
_ACCESS_CODES = frozenset({"AccessDenied", "AccessDeniedException", "AllAccessDisabled"})
_THROTTLE_CODES = frozenset(
    {
        "SlowDown",
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottled",
        "RequestThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "ServiceUnavailable",
        "InternalError",
    }
)
_ROLE_SESSION_NAME = "ai-carbon-extract"
_BLOCK = 1 << 20


@dataclass(frozen=True)
class ObjectInfo:
    """What a listing says about one object: enough to tell a changed object."""

    key: str
    size: int
    etag: str


class LandingObjects(Protocol):
    """What a landing zone in an object store needs from it (``S3Store``, ``GcsStore``).

    ``conditional`` says whether the store takes a generation precondition
    (``if_generation_match``: 0 for "only if absent", else "only if still this
    generation") on ``put_file``, ``put_bytes`` and ``delete``, and has
    ``read_with_generation``; the landing passes one only to a store that does.
    """

    scheme: str  # the URL scheme of the landing setting: "s3" or "gs"
    conditional: bool

    def list(self, bucket: str, prefix: str) -> list[ObjectInfo]: ...

    def read_optional(self, bucket: str, key: str) -> bytes | None: ...

    def read_bytes(self, bucket: str, key: str) -> bytes: ...

    def download(self, bucket: str, key: str, path: Path) -> int: ...

    def put_file(self, bucket: str, key: str, path: Path, **precondition: int) -> None: ...

    def put_bytes(
        self, bucket: str, key: str, data: bytes, content_type: str, **precondition: int
    ) -> None: ...

    def delete(self, bucket: str, keys: Iterable[str], **precondition: int) -> None: ...


def checked_key(bucket: str, key: str) -> PurePosixPath:
    """``key`` as a relative path, refusing anything that could leave the bucket folder."""
    parts = key.split("/")
    if (
        not bucket
        or bucket in (".", "..")
        or "/" in bucket
        or "\\" in bucket
        or not key
        or key.startswith("/")
        or "\\" in key
        or any(part in ("", ".", "..") for part in parts)
    ):
        raise SourceError(
            f"object key {key!r} in bucket {bucket!r} cannot be mapped to a local path "
            "(a leading '/', '..', '.', empty parts and backslashes are refused)"
        )
    return PurePosixPath(*parts)


class ObjectStore:
    """The operations the AWS extractors need, over one sources folder."""

    kind = "abstract"

    def __init__(self, sources: Path | None) -> None:
        self.sources = sources

    def local_path(self, bucket: str, key: str) -> Path:
        """``<sources>/aws/<bucket>/<key>``; SourceError for a key that would escape it."""
        if self.sources is None:
            raise SourceError("this store has no sources folder to mirror objects into")
        return self.sources.joinpath("aws", bucket, *checked_key(bucket, key).parts)

    def list(self, bucket: str, prefix: str) -> list[ObjectInfo]:
        """Every object whose key starts with ``prefix``, in key order."""
        raise NotImplementedError

    def stat(self, bucket: str, keys: Iterable[str]) -> dict[str, ObjectInfo | None]:
        """Each key's ObjectInfo, or None where the object does not exist.

        One listing per parent folder rather than one request per key: a
        manifest names dozens of chunks in the same folder.
        """
        keys = list(keys)
        folders: dict[str, list[str]] = {}
        for key in keys:
            checked_key(bucket, key)
            folders.setdefault(key.rpartition("/")[0] + "/", []).append(key)
        found: dict[str, ObjectInfo] = {}
        for folder, members in folders.items():
            listed = {info.key: info for info in self.list(bucket, folder.lstrip("/"))}
            for key in members:
                if key in listed:
                    found[key] = listed[key]
        return {key: found.get(key) for key in keys}

    def fetch(self, bucket: str, info: ObjectInfo) -> Path:
        """A local file holding the object's current bytes."""
        raise NotImplementedError

    def read_bytes(self, bucket: str, key: str) -> bytes:
        raise NotImplementedError


class LocalStore(ObjectStore):
    """Objects are already files under ``<sources>/aws/<bucket>/``."""

    kind = "local"

    def list(self, bucket: str, prefix: str) -> list[ObjectInfo]:
        root = self.sources / "aws" / bucket
        folder = root.joinpath(*checked_key(bucket, prefix.rstrip("/")).parts) if prefix else root
        if not folder.is_dir():
            return []
        infos = []
        for path in sorted(folder.rglob("*")):
            if not path.is_file() or any(p.startswith(".") for p in path.relative_to(root).parts):
                continue  # hidden files (temporary writes, mirror notes) are not objects
            stat = path.stat()
            key = path.relative_to(root).as_posix()
            infos.append(ObjectInfo(key, stat.st_size, f"{stat.st_size}-{stat.st_mtime_ns}"))
        return infos

    def fetch(self, bucket: str, info: ObjectInfo) -> Path:
        path = self.local_path(bucket, info.key)
        if not path.is_file():
            raise SourceError(f"{path.relative_to(self.sources).as_posix()} is missing")
        return path

    def read_bytes(self, bucket: str, key: str) -> bytes:
        return self.local_path(bucket, key).read_bytes()


class S3Store(ObjectStore):
    """S3 through boto3, each object read mirrored into the sources folder."""

    kind = "s3"
    scheme = "s3"
    # Writes are plain PUTs (last writer wins), as S3 landing has always done.
    conditional = False

    def __init__(
        self,
        sources: Path | None = None,
        *,
        region: str | None = None,
        profile: str | None = None,
        role_arn: str | None = None,
        endpoint_url: str | None = None,
        max_attempts: int = 5,
        credentials: AwsCredentials | None = None,
    ) -> None:
        super().__init__(sources)
        self.max_attempts = max_attempts
        if credentials is not None:
            region = region or credentials.region_name
            role_arn = role_arn or credentials.role_arn
            endpoint_url = endpoint_url or credentials.endpoint_url
        self._client = self._make_client(region, profile, role_arn, endpoint_url, credentials)

    def _make_client(self, region, profile, role_arn, endpoint_url, credentials=None):
        import boto3
        from botocore.config import Config

        # Standard mode retries throttling and 5xx with jittered exponential backoff.
        # total_max_attempts counts the first request too (botocore's
        # max_attempts would count retries only), so N means N requests.
        config = Config(
            retries={"mode": "standard", "total_max_attempts": self.max_attempts},
            connect_timeout=10,
            read_timeout=60,
        )
        if credentials is not None and credentials.has_keys:
            # The connection's keys replace the whole default chain (and any profile).
            session = boto3.Session(
                aws_access_key_id=credentials.access_key_id,
                aws_secret_access_key=credentials.secret_access_key,
                aws_session_token=credentials.session_token,
                region_name=region,
            )
        else:
            session = self._call(
                "opening the AWS session",
                lambda: boto3.Session(profile_name=profile, region_name=region),
            )
        if role_arn:
            sts = session.client("sts", config=config, endpoint_url=endpoint_url)
            answer = self._call(
                f"assuming role {role_arn}",
                lambda: sts.assume_role(RoleArn=role_arn, RoleSessionName=_ROLE_SESSION_NAME),
            )
            credentials = answer["Credentials"]
            session = boto3.Session(
                aws_access_key_id=credentials["AccessKeyId"],
                aws_secret_access_key=credentials["SecretAccessKey"],
                aws_session_token=credentials["SessionToken"],
                region_name=region,
            )
        return session.client("s3", config=config, endpoint_url=endpoint_url)

    def _call(self, what: str, request: Callable[[], T]) -> T:
        """Run one AWS request, turning botocore's errors into clear ones without secrets."""
        from botocore import exceptions as bx

        try:
            return request()
        except bx.ClientError as exc:
            raise self._client_error(what, exc) from None
        except (bx.NoCredentialsError, bx.PartialCredentialsError) as exc:
            raise CredentialsError(
                f"AWS credentials not found while {what} ({type(exc).__name__}): set up the "
                "default chain (environment, AWS_PROFILE / sources.<name>.profile, SSO or an "
                "instance/task role)"
            ) from None
        except (
            bx.CredentialRetrievalError,
            bx.TokenRetrievalError,
            bx.SSOTokenLoadError,
            bx.UnauthorizedSSOTokenError,
            bx.ProfileNotFound,
        ) as exc:
            raise CredentialsError(
                f"AWS credentials could not be loaded while {what} ({type(exc).__name__}): "
                "refresh them (e.g. aws sso login) or fix the profile name"
            ) from None
        except (bx.EndpointConnectionError, bx.ConnectTimeoutError, bx.ReadTimeoutError) as exc:
            raise SourceUnavailable(
                f"S3 unreachable while {what} ({type(exc).__name__}); nothing was written, "
                "try again later"
            ) from None
        except (bx.ConnectionClosedError, bx.ResponseStreamingError, bx.IncompleteReadError):
            raise SourceUnavailable(
                f"S3 closed the connection while {what}; nothing was written, try again later"
            ) from None

    def _client_error(self, what: str, exc: Any) -> Exception:
        error = exc.response.get("Error", {}) if isinstance(exc.response, dict) else {}
        code = str(error.get("Code") or "")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        code_text = re.sub(r"[^A-Za-z0-9.]", "", code)[:60] or f"HTTP {status}"
        if code in _CREDENTIAL_CODES:
            return CredentialsError(
                f"AWS refused the credentials ({code_text}) while {what}: they are expired or "
                "invalid; refresh them (new session token, aws sso login, or the role's trust)"
            )
        if code in _ACCESS_CODES or status == 403:
            return CredentialsError(
                f"AWS denied access ({code_text}) while {what}: the identity (or role) needs "
                "s3:ListBucket and s3:GetObject on the bucket and prefix (a landing on S3 "
                "also needs s3:PutObject and s3:DeleteObject)"
            )
        if code in _THROTTLE_CODES or status in (429, 500, 502, 503, 504):
            return SourceUnavailable(
                f"S3 kept throttling or failing ({code_text}) while {what} after "
                f"{self.max_attempts} attempts with backoff; nothing was written, try again later"
            )
        if code == "PreconditionFailed":
            return SourceUnavailable(
                f"an object changed while {what} (redelivery in progress); nothing was written, "
                "try again later"
            )
        return SourceError(f"S3 answered {code_text} while {what}")

    def list(self, bucket: str, prefix: str) -> list[ObjectInfo]:
        def listing() -> list[ObjectInfo]:
            infos = []
            paginator = self._client.get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
                for item in page.get("Contents", []):
                    if item["Key"].endswith("/"):
                        continue  # a console "folder" marker, not an object
                    infos.append(ObjectInfo(item["Key"], int(item["Size"]), item["ETag"]))
            return sorted(infos, key=lambda info: info.key)

        return self._call(f"listing s3://{bucket}/{prefix}", listing)

    def fetch(self, bucket: str, info: ObjectInfo) -> Path:
        path = self.local_path(bucket, info.key)
        note = path.parent / f".{path.name}.etag"
        stamp = f"{info.etag} {info.size}"
        if path.is_file() and note.is_file() and note.read_text(encoding="utf-8") == stamp:
            return path  # the mirror already holds these bytes

        def download() -> int:
            # IfMatch: the bytes are those of the listed version, or a clear retryable
            # error; streamed in blocks, so a large chunk never sits in memory whole.
            answer = self._client.get_object(Bucket=bucket, Key=info.key, IfMatch=info.etag)
            return write_atomically(path, answer["Body"].iter_chunks(_BLOCK))

        size = self._call(f"reading s3://{bucket}/{info.key}", download)
        write_atomically(note, stamp.encode())
        log.info("mirrored s3://%s/%s (%d bytes)", bucket, info.key, size)
        return path

    def read_bytes(self, bucket: str, key: str) -> bytes:
        def read() -> bytes:
            return self._client.get_object(Bucket=bucket, Key=key)["Body"].read()

        return self._call(f"reading s3://{bucket}/{key}", read)

    def read_optional(self, bucket: str, key: str) -> bytes | None:
        """The object's bytes, or None when there is no such key."""
        from botocore.exceptions import ClientError

        def read() -> bytes | None:
            try:
                return self._client.get_object(Bucket=bucket, Key=key)["Body"].read()
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                    return None
                raise

        return self._call(f"reading s3://{bucket}/{key}", read)

    def download(self, bucket: str, key: str, path: Path) -> int:
        """Write the object's bytes to ``path`` atomically; return the size."""

        def download() -> int:
            answer = self._client.get_object(Bucket=bucket, Key=key)
            return write_atomically(path, answer["Body"].iter_chunks(_BLOCK))

        return self._call(f"reading s3://{bucket}/{key}", download)

    def put_bytes(self, bucket: str, key: str, data: bytes, content_type: str) -> None:
        """One PUT: S3 makes the whole object visible at once, or not at all."""
        self._call(
            f"writing s3://{bucket}/{key}",
            lambda: self._client.put_object(
                Bucket=bucket, Key=key, Body=data, ContentType=content_type
            ),
        )

    def put_file(self, bucket: str, key: str, path: Path) -> None:
        """Upload a local file in one PUT (up to 5 GB; a landed partition is far less)."""

        def put() -> None:
            with path.open("rb") as handle:
                self._client.put_object(Bucket=bucket, Key=key, Body=handle)

        self._call(f"writing s3://{bucket}/{key}", put)

    def delete(self, bucket: str, keys: Iterable[str]) -> None:
        """Delete objects, 1,000 per request (S3's limit); absent keys are no error."""
        keys = list(keys)
        for start in range(0, len(keys), 1000):
            batch = [{"Key": key} for key in keys[start : start + 1000]]
            self._call(
                f"deleting {len(batch)} object(s) under s3://{bucket}/",
                lambda batch=batch: self._client.delete_objects(
                    Bucket=bucket, Delete={"Objects": batch, "Quiet": True}
                ),
            )


def store_for(
    sources: Path,
    storage: str,
    *,
    region: str | None = None,
    profile: str | None = None,
    role_arn: str | None = None,
    endpoint_url: str | None = None,
    max_attempts: int = 5,
    credentials: AwsCredentials | None = None,
) -> ObjectStore:
    """The store a config section asks for (``storage: local`` or ``s3``)."""
    if storage == "s3":
        return S3Store(
            sources,
            region=region,
            profile=profile,
            role_arn=role_arn,
            endpoint_url=endpoint_url,
            max_attempts=max_attempts,
            credentials=credentials,
        )
    return LocalStore(sources)
