"""A local Google Cloud Storage endpoint for tests: gcp-storage-emulator, in process.

The real ``google-cloud-storage`` client talks HTTP to it through
``STORAGE_EMULATOR_HOST`` (no credentials: the client signs nothing there).
The emulator ignores generation preconditions, so ``enforce_preconditions``
puts GCS's documented rule in front of its upload and delete handlers: a
request with ``ifGenerationMatch=N`` is refused with 412 unless the object's
current generation is N (0: no such object).
"""

from __future__ import annotations

import socket
from contextlib import contextmanager
from http import HTTPStatus

import pytest
from gcp_storage_emulator import server as emulator
from gcp_storage_emulator.exceptions import NotFound
from gcp_storage_emulator.handlers import objects


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _generation(storage, bucket: str, name: str) -> str:
    try:
        return str(storage.get_file_obj(bucket, name)["generation"])
    except NotFound:
        return "0"


def _checked(handler, name_of):
    """``handler``, refusing with 412 a request whose precondition does not hold."""

    def handle(request, response, storage, *args, **kwargs):
        expected = request.query.get("ifGenerationMatch")
        name = name_of(request)
        if expected and name:
            bucket = request.params["bucket_name"]
            if _generation(storage, bucket, name) != expected[0]:
                response.status = HTTPStatus.PRECONDITION_FAILED
                response.json({"error": {"code": 412, "message": "conditionNotMet"}})
                return None
        return handler(request, response, storage, *args, **kwargs)

    return handle


def _upload_name(request) -> str | None:
    if request.query.get("name"):
        return request.query["name"][0]
    data = request.data
    return data.get("meta", {}).get("name") if isinstance(data, dict) else None


def _enforcing_handlers() -> tuple:
    wrapped = {
        objects.insert: _checked(objects.insert, _upload_name),
        objects.delete: _checked(objects.delete, lambda request: request.params["object_id"]),
    }
    return tuple(
        (pattern, {method: wrapped.get(handler, handler) for method, handler in methods.items()})
        for pattern, methods in emulator.HANDLERS
    )


@contextmanager
def running_emulator():
    """An in-memory emulator on a free port; yields the server and its ``http://host:port``.

    One per test module: ``server.wipe()`` empties it between tests (starting
    and stopping one costs half a second).
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(emulator, "HANDLERS", _enforcing_handlers())
        port = free_port()
        server = emulator.create_server("127.0.0.1", port, in_memory=True)
        server.start()
        try:
            yield server, f"http://127.0.0.1:{port}"
        finally:
            server.stop()
