"""The OpenSubsonic response shapes clients rely on, as JSON Schemas: the envelope, child (a song or folder),
AlbumID3, ArtistID3, playlist and genre, with the spec's required fields and types.

Artist and playlist entries allow no field beyond the spec's: clients (knuckles among them) build objects from
them that refuse unknown keys.
"""

from jsonschema import Draft202012Validator

DATE = {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$"}
STRING, INT, BOOL, NUMBER = {"type": "string"}, {"type": "integer"}, {"type": "boolean"}, {"type": "number"}
RATING = {"type": "integer", "minimum": 1, "maximum": 5}
STRINGS = {"type": "array", "items": STRING}
ITEM_GENRES = {"type": "array", "items": {"type": "object", "required": ["name"], "properties": {"name": STRING}}}
ARTIST_REFS = {"type": "array", "items": {"type": "object", "required": ["id", "name"],
                                          "properties": {"id": STRING, "name": STRING}}}

ENVELOPE = {
    "type": "object",
    "required": ["status", "version", "type", "openSubsonic"],
    "properties": {"status": {"enum": ["ok", "failed"]}, "version": {"const": "1.16.1"}, "type": STRING,
                   "serverVersion": STRING, "openSubsonic": {"const": True},
                   "error": {"type": "object", "required": ["code"],
                             "properties": {"code": INT, "message": STRING, "helpUrl": STRING}}},
}

CHILD = {
    "type": "object",
    "required": ["id", "isDir", "title"],
    "properties": {
        "id": STRING, "parent": STRING, "isDir": BOOL, "title": STRING, "album": STRING, "artist": STRING,
        "track": INT, "year": INT, "genre": STRING, "coverArt": STRING, "size": INT, "contentType": STRING,
        "suffix": STRING, "transcodedContentType": STRING, "transcodedSuffix": STRING, "duration": INT,
        "bitRate": INT, "bitDepth": INT, "samplingRate": INT, "channelCount": INT, "path": STRING, "isVideo": BOOL,
        "userRating": RATING, "averageRating": NUMBER, "playCount": INT, "discNumber": INT, "created": DATE,
        "starred": DATE, "albumId": STRING, "artistId": STRING,
        "type": {"enum": ["music", "podcast", "audiobook", "video"]},
        "mediaType": {"enum": ["song", "album", "artist"]}, "bookmarkPosition": INT, "played": DATE, "bpm": INT,
        "comment": STRING, "sortName": STRING, "musicBrainzId": STRING, "isrc": STRINGS, "genres": ITEM_GENRES,
        "artists": ARTIST_REFS, "displayArtist": STRING, "albumArtists": ARTIST_REFS,
        "displayAlbumArtist": STRING, "displayComposer": STRING, "moods": STRINGS, "explicitStatus": STRING,
        # nowPlaying entries are children with these:
        "username": STRING, "minutesAgo": INT, "playerId": INT, "playerName": STRING,
    },
}

ALBUM = {
    "type": "object",
    "required": ["id", "name", "songCount", "duration", "created"],
    "properties": {
        "id": STRING, "name": STRING, "artist": STRING, "artistId": STRING, "coverArt": STRING, "songCount": INT,
        "duration": INT, "playCount": INT, "created": DATE, "starred": DATE, "year": INT, "genre": STRING,
        "played": DATE, "userRating": RATING, "genres": ITEM_GENRES, "artists": ARTIST_REFS,
        "displayArtist": STRING, "sortName": STRING, "musicBrainzId": STRING, "isCompilation": BOOL,
        "releaseTypes": STRINGS, "moods": STRINGS, "song": {"type": "array"},
    },
}

ARTIST = {
    "type": "object",
    "required": ["id", "name"],
    "additionalProperties": False,
    "properties": {
        "id": STRING, "name": STRING, "coverArt": STRING, "artistImageUrl": STRING, "albumCount": INT,
        "starred": DATE, "userRating": RATING, "averageRating": NUMBER, "musicBrainzId": STRING, "sortName": STRING,
        "roles": STRINGS, "album": {"type": "array"},
    },
}

PLAYLIST = {
    "type": "object",
    "required": ["id", "name", "songCount", "duration", "created", "changed"],
    "additionalProperties": False,
    "properties": {
        "id": STRING, "name": STRING, "comment": STRING, "owner": STRING, "public": BOOL, "songCount": INT,
        "duration": INT, "created": DATE, "changed": DATE, "coverArt": STRING, "allowedUser": STRINGS,
        "entry": {"type": "array"},
    },
}

GENRE = {
    "type": "object",
    "required": ["value", "songCount", "albumCount"],
    "additionalProperties": False,
    "properties": {"value": STRING, "songCount": INT, "albumCount": INT},
}

#: Payload key -> schema of the entries under it (a dict, or each dict of a list).
ENTRY_KEYS = {"song": CHILD, "entry": CHILD, "child": CHILD, "album": ALBUM, "artist": ARTIST, "playlist": PLAYLIST,
              "genre": GENRE}
VALIDATORS = {id(schema): Draft202012Validator(schema) for schema in (ENVELOPE, *ENTRY_KEYS.values())}


def shape_errors(body: dict) -> tuple[list[str], set[str]]:
    """Every way ``body`` (a ``subsonic-response``) breaks the shapes, and the entry kinds it holds."""
    errors = [f"envelope: {error.message}" for error in VALIDATORS[id(ENVELOPE)].iter_errors(body)]
    seen: set[str] = set()

    def walk(value, path: str) -> None:
        if isinstance(value, list):
            for index, item in enumerate(value):
                walk(item, f"{path}[{index}]")
            return
        if not isinstance(value, dict):
            return
        for key, child in value.items():
            entries = child if isinstance(child, list) else [child]
            if key in ENTRY_KEYS and all(isinstance(entry, dict) for entry in entries):
                seen.add(key)
                validator = VALIDATORS[id(ENTRY_KEYS[key])]
                errors.extend(f"{path}.{key}: {error.message}" for entry in entries for error in validator.iter_errors(entry))
            walk(child, f"{path}.{key}")

    walk(body, "subsonic-response")
    return errors, seen
