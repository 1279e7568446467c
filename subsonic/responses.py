"""The Subsonic response envelope, as XML (the default) or JSON (``f=json``), and the API's errors.

Payloads are plain dicts written once for both formats: in XML a scalar becomes an attribute, a dict a child
element, a list repeated child elements, and the key ``value`` an element's text (``<genre songCount="3">Rock</genre>``
is ``{"value": "Rock", "songCount": 3}`` in JSON).
"""

from __future__ import annotations

import json
import re
from xml.etree import ElementTree

from django.http import HttpResponse

API_VERSION = "1.16.1"
SERVER_TYPE = "SKYBEAT"
SERVER_VERSION = "1.0.0"
XML_NAMESPACE = "http://subsonic.org/restapi"
_XML_ILLEGAL = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class SubsonicError(Exception):
    """An error answered in the Subsonic envelope (HTTP 200, ``status="failed"``), with one of the API's codes."""

    GENERIC = 0
    MISSING_PARAMETER = 10
    WRONG_CREDENTIALS = 40
    CONFLICTING_AUTHENTICATION = 43
    INVALID_API_KEY = 44
    NOT_AUTHORISED = 50
    NOT_FOUND = 70

    def __init__(self, code: int, message: str, help_url: str = ""):
        super().__init__(message)
        self.code, self.message, self.help_url = code, message, help_url

    @classmethod
    def missing(cls, name: str) -> SubsonicError:
        return cls(cls.MISSING_PARAMETER, f"Required parameter is missing: {name}")

    @classmethod
    def not_found(cls, what: str) -> SubsonicError:
        return cls(cls.NOT_FOUND, f"{what} not found")

    @classmethod
    def not_authorised(cls, message: str) -> SubsonicError:
        return cls(cls.NOT_AUTHORISED, message)

    @classmethod
    def invalid(cls, message: str) -> SubsonicError:
        return cls(cls.GENERIC, message)

    def payload(self) -> dict:
        error = {"code": self.code, "message": self.message}
        if self.help_url:
            error["helpUrl"] = self.help_url
        return {"error": error}


def answer(payload: dict | None, response_format: str, status: str = "ok") -> HttpResponse:
    body = {"status": status, "version": API_VERSION, "type": SERVER_TYPE, "serverVersion": SERVER_VERSION,
            "openSubsonic": True, **(payload or {})}
    if response_format == "json":
        return HttpResponse(json.dumps({"subsonic-response": body}, ensure_ascii=False),
                            content_type="application/json; charset=utf-8")
    root = ElementTree.Element("subsonic-response", xmlns=XML_NAMESPACE)
    _fill(root, body)
    document = '<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(root, encoding="unicode")
    return HttpResponse(document.encode(), content_type="text/xml; charset=utf-8")


def failure(error: SubsonicError, response_format: str, http_status: int = 200) -> HttpResponse:
    response = answer(error.payload(), response_format, status="failed")
    response.status_code = http_status
    return response


def _fill(element: ElementTree.Element, mapping: dict) -> None:
    for key, value in mapping.items():
        if value is None:
            continue
        if isinstance(value, dict):
            _fill(ElementTree.SubElement(element, key), value)
        elif isinstance(value, (list, tuple)):
            for item in value:
                child = ElementTree.SubElement(element, key)
                if isinstance(item, dict):
                    _fill(child, item)
                else:
                    child.text = _text(item)
        elif key == "value":
            element.text = _text(value)
        else:
            element.set(key, _text(value))


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return _XML_ILLEGAL.sub("", str(value))
