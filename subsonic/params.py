"""The parameters of a Subsonic call, read alike from the query string and from a form POST body (formPost).

Bad values answer a Subsonic error naming the parameter: code 10 when a required one is missing, 0 otherwise.
"""

from __future__ import annotations

from django.http import HttpRequest

from .responses import SubsonicError

TRUE, FALSE = {"true", "1", "yes"}, {"false", "0", "no"}
LARGEST = 2**53  # beyond any id, size or time a client sends; keeps database parameters in range


class Params:
    def __init__(self, request: HttpRequest):
        self._values: dict[str, list[str]] = {}
        sources = [request.GET] + ([request.POST] if request.method == "POST" else [])
        for source in sources:
            for key in source:  # NUL never means anything here, and PostgreSQL refuses it in text
                self._values.setdefault(key, []).extend(value.replace("\x00", "") for value in source.getlist(key))

    def __contains__(self, name: str) -> bool:
        return name in self._values

    @property
    def response_format(self) -> str:
        return "json" if (self.get("f") or "").lower() == "json" else "xml"

    def get(self, name: str, default: str | None = None) -> str | None:
        values = self._values.get(name)
        return values[0] if values else default

    def required(self, name: str) -> str:
        value = (self.get(name) or "").strip()
        if not value:
            raise SubsonicError.missing(name)
        return value

    def all(self, name: str) -> list[str]:
        return [value.strip() for value in self._values.get(name, []) if value.strip()]

    def required_all(self, name: str) -> list[str]:
        values = self.all(name)
        if not values:
            raise SubsonicError.missing(name)
        return values

    def integer(self, name: str, default: int | None = None, *, minimum: int | None = None,
                maximum: int | None = None) -> int | None:
        """The whole number given (clamped to [minimum, maximum]), or ``default`` when absent."""
        text = (self.get(name) or "").strip()
        if not text:
            return default
        number = _whole_number(name, text)
        if minimum is not None:
            number = max(minimum, number)
        return min(maximum, number) if maximum is not None else number

    def required_integer(self, name: str) -> int:
        return _whole_number(name, self.required(name))

    def integers(self, name: str) -> list[int]:
        return [_whole_number(name, value) for value in self.all(name)]

    def boolean(self, name: str, default: bool | None = None) -> bool | None:
        text = (self.get(name) or "").strip().lower()
        if not text:
            return default
        if text in TRUE | FALSE:
            return text in TRUE
        raise SubsonicError.invalid(f"Parameter {name} must be true or false.")


def _whole_number(name: str, text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        number = None
    if number is None or abs(number) > LARGEST:
        raise SubsonicError.invalid(f"Parameter {name} must be a whole number.")
    return number
