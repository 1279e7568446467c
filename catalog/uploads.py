"""Upload handler that refuses over-size files while they stream in, before the body is read fully."""

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import QueryDict
from django.utils.datastructures import MultiValueDict


class SizeCappedUploadHandler(FileUploadHandler):
    """Stops the upload as soon as the declared or received size passes SKYBEAT_MAX_UPLOAD_MB.

    The request gets ``upload_too_large`` set so the view can answer with a clear message.
    """

    def __init__(self, request=None):
        super().__init__(request)
        self.max_bytes = settings.SKYBEAT_MAX_UPLOAD_MB * 1024 * 1024
        self.received = 0

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        # A body declared larger than the cap (plus multipart overhead) is not read at all.
        if content_length and content_length > self.max_bytes + 1024 * 1024:
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
