"""Receiving a multipart/form-data upload straight into a file: the body is parsed as it streams in,
the file part written to disk in ~1 MiB writes, so a 2 GiB upload never sits in memory (Starlette's own
form parser would spool it through a temporary file, often on a RAM-backed /tmp). Parsing and writing
run in the thread pool, off the event loop."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from rapport.errors import BadRequest, Invalid, UnsupportedMediaType

FEED_BYTES = 1 << 20
MAX_FIELD_BYTES = 1024
MAX_FIELDS = 16
HEAD_BYTES = 4096  # kept for format sniffing


@dataclass
class Upload:
    fields: dict[str, str] = field(default_factory=dict)
    file_field: str | None = None
    filename: str | None = None
    content_type: str | None = None
    path: Path | None = None
    size: int = 0
    head: bytes = b""


class _Receiver:
    """python-multipart callbacks: form fields in memory, the one file part to `path`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.upload = Upload()
        self._file: IO[bytes] | None = None
        self._part_headers: dict[bytes, bytes] = {}
        self._header_name = b""
        self._header_value = b""
        self._field: tuple[str, bytearray] | None = None
        self._is_file = False

    def callbacks(self) -> dict[str, Callable[..., None]]:
        return {
            "on_part_begin": self._part_begin,
            "on_header_field": self._header_field,
            "on_header_value": self._header_value_data,
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
        }

    def _part_begin(self) -> None:
        self._part_headers = {}

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def _header_value_data(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _header_end(self) -> None:
        self._part_headers[self._header_name.lower()] = self._header_value
        self._header_name = self._header_value = b""

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._part_headers.get(b"content-disposition", b""))
        name = options.get(b"name")
        if name is None:
            raise Invalid("Each multipart part needs a Content-Disposition name.")
        name_text = name.decode("utf-8", errors="replace")
        self._is_file = b"filename" in options
        if not self._is_file:
            if len(self.upload.fields) >= MAX_FIELDS:
                raise Invalid(f"At most {MAX_FIELDS} form fields.")
            self._field = (name_text, bytearray())
            return
        if self._file is not None:
            raise Invalid(
                "Send exactly one file per import.", errors=[{"loc": f"body.{name_text}", "msg": "a second file"}]
            )
        self.upload.file_field = name_text
        self.upload.filename = options[b"filename"].decode("utf-8", errors="replace")
        media = self._part_headers.get(b"content-type")
        self.upload.content_type = media.decode("latin-1") if media else None
        self.upload.path = self.path
        self._file = open(self.path, "wb")  # noqa: SIM115 - closed by close()

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._is_file:
            assert self._file is not None
            piece = data[start:end]
            self._file.write(piece)
            if len(self.upload.head) < HEAD_BYTES:
                self.upload.head += piece[: HEAD_BYTES - len(self.upload.head)]
            self.upload.size += len(piece)
            return
        assert self._field is not None
        self._field[1].extend(data[start:end])
        if len(self._field[1]) > MAX_FIELD_BYTES:
            raise Invalid(f"Form field {self._field[0]!r} is longer than {MAX_FIELD_BYTES} bytes.")

    def _part_end(self) -> None:
        if self._is_file:
            return
        assert self._field is not None
        name, value = self._field
        self.upload.fields[name] = value.decode("utf-8", errors="replace").strip()
        self._field = None

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


async def receive(request: Request, directory: Path) -> Upload:
    """Stream the multipart body of `request`, its file part into `directory`/upload.part. Raises 415
    for another media type, 400 for a broken multipart body, 422 for more than one file or odd fields;
    the directory is removed when anything fails."""
    media, options = parse_options_header(request.headers.get("content-type", ""))
    if media != b"multipart/form-data":
        raise UnsupportedMediaType(
            "Upload the file as multipart/form-data (a `file` part and the form fields kind, format, source); "
            f"got {media.decode('latin-1') or 'no Content-Type'}.",
            headers={"Accept": "multipart/form-data"},
        )
    boundary = options.get(b"boundary")
    if not boundary:
        raise BadRequest("The multipart/form-data Content-Type has no boundary.")
    await run_in_threadpool(directory.mkdir, parents=True, exist_ok=False)
    receiver = _Receiver(directory / "upload.part")
    parser = MultipartParser(boundary, receiver.callbacks())  # type: ignore[arg-type]

    def feed(data: bytes) -> None:
        parser.write(data)

    try:
        pending: list[bytes] = []
        waiting = 0
        async for piece in request.stream():
            pending.append(piece)
            waiting += len(piece)
            if waiting >= FEED_BYTES:
                await run_in_threadpool(feed, b"".join(pending))
                pending, waiting = [], 0
        await run_in_threadpool(_finish, parser, b"".join(pending))
    except MultipartParseError as error:
        _discard(receiver, directory)
        raise BadRequest(f"The multipart body cannot be read: {error}.") from None
    except BaseException:
        _discard(receiver, directory)
        raise
    receiver.close()
    return receiver.upload


def _finish(parser: Any, rest: bytes) -> None:
    if rest:
        parser.write(rest)
    parser.finalize()


def _discard(receiver: _Receiver, directory: Path) -> None:
    receiver.close()
    shutil.rmtree(directory, ignore_errors=True)
