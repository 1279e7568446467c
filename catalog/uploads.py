"""Upload size limits: a handler that refuses over-size files while they stream in, before the body is read fully,
and a WSGI middleware that gives a body sent without Content-Length (chunked) a length Django can read."""

import tempfile

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import QueryDict
from django.utils.datastructures import MultiValueDict

#: Room for the multipart framing and the form's other fields on top of the file size limit.
MULTIPART_ALLOWANCE_BYTES = 1024 * 1024
COPY_CHUNK_BYTES = 64 * 1024


def max_upload_bytes() -> int:
    return settings.SKYBEAT_MAX_UPLOAD_MB * 1024 * 1024


def max_body_bytes() -> int:
    """The largest request body read: the upload size limit plus the multipart allowance."""
    return max_upload_bytes() + MULTIPART_ALLOWANCE_BYTES


class SizeCappedUploadHandler(FileUploadHandler):
    """Stops the upload as soon as the declared or received size passes SKYBEAT_MAX_UPLOAD_MB.

    The request gets ``upload_too_large`` set so the view can answer with a clear message.
    """

    def __init__(self, request=None):
        super().__init__(request)
        self.max_bytes = max_upload_bytes()
        self.received = 0

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        # A body declared larger than the cap (plus multipart overhead) is not read at all.
        if content_length and content_length > max_body_bytes():
            self.request.upload_too_large = True
            return QueryDict(), MultiValueDict()
        return None

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self.received = 0

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > self.max_bytes:
            self.request.upload_too_large = True
            raise StopUpload(connection_reset=False)  # drain the rest unread into nothing, so a response gets out
        return raw_data

    def file_complete(self, file_size):
        return None


class ChunkedBodyLength:
    """WSGI middleware for bodies sent with ``Transfer-Encoding: chunked`` and no ``Content-Length``.

    Django reads nothing of a body whose length it is not told, so such an upload looked empty ("attach a file").
    The body (which the server has already de-chunked) is spooled to a temporary file, and its length declared.
    Reading stops one byte past :func:`max_body_bytes`: the length then declared is over the limit, and the
    upload handler answers with the size message without reading anything.
    """

    def __init__(self, application):
        self.application = application

    def __call__(self, environ, start_response):
        if environ.get("CONTENT_LENGTH") or "chunked" not in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
            return self.application(environ, start_response)
        with tempfile.SpooledTemporaryFile(max_size=settings.FILE_UPLOAD_MAX_MEMORY_SIZE,
                                           dir=settings.FILE_UPLOAD_TEMP_DIR) as body:
            length = copy_at_most(environ["wsgi.input"], body, max_body_bytes() + 1)
            body.seek(0)
            # Django reads the body while the view runs, before the response is returned: closing it after is safe.
            return self.application({**environ, "CONTENT_LENGTH": str(length), "wsgi.input": body}, start_response)


def copy_at_most(source, target, limit: int) -> int:
    """Copy up to ``limit`` bytes from one file-like object to another; returns how many were copied."""
    copied = 0
    while copied < limit and (chunk := source.read(min(COPY_CHUNK_BYTES, limit - copied))):
        target.write(chunk)
        copied += len(chunk)
    return copied
