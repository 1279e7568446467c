"""A storage without local paths, as S3 and the like: files live in memory and ``path()`` raises."""

from django.core.files.base import ContentFile, File
from django.core.files.storage import Storage


class PathlessMemoryStorage(Storage):
    """Files kept in memory by name. Like the base Storage, ``path()`` raises NotImplementedError (Django's own
    InMemoryStorage answers a path under MEDIA_ROOT, where nothing is, so it would hide a wrong ``path()`` call)."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}

    def _open(self, name: str, mode: str = "rb") -> File:
        if set(mode) & set("wa+"):
            raise ValueError(f"{type(self).__name__} opens files for reading only (write with save())")
        return ContentFile(self._content(name), name=name)

    def _save(self, name: str, content: File) -> str:
        content.seek(0)
        self.files[name] = b"".join(content.chunks())
        return name

    def _content(self, name: str) -> bytes:
        try:
            return self.files[name]
        except KeyError:
            raise FileNotFoundError(name) from None

    def delete(self, name: str) -> None:
        self.files.pop(name, None)

    def exists(self, name: str) -> bool:
        return name in self.files

    def size(self, name: str) -> int:
        return len(self._content(name))
