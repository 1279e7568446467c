"""Errors of SKYBEAT's own that cross app boundaries."""


class InvalidAudio(ValueError):
    """The bytes are not audio SKYBEAT can use; the message is the reason, readable by the uploader."""
