"""Property: whatever bytes arrive, the probe and the decoder return a result or raise InvalidAudio, nothing else.

Arbitrary bytes rarely look like audio, so most examples start from a real small file of each format
(WAV, FLAC, OGG, MP3) and damage it: truncate it, flip bytes (headers included), append garbage.
"""

import shutil
import tempfile
from functools import cache
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, example, given, settings, strategies as st

from catalog.audio_probe import probe_audio
from classifier.features import FrameSettings, audio_duration_s, song_frames
from skybeat.errors import InvalidAudio
from tests.audio_fixtures import ffmpeg_encode, tone, write_audio, write_ogg_with_stray_page

FRAME_SETTINGS = FrameSettings(max_frames=4)  # decode few frames per example: the property, not the speed
EXAMPLES = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@cache
def seed_files() -> dict[str, bytes]:
    """Small valid files, one per format (2.5 s of tone, so both the short and the framed path are reachable)."""
    folder = Path(tempfile.mkdtemp(prefix="skybeat-fuzz-seeds-"))
    try:
        audio = tone(2.5, 8000, 440.0, 0.4)
        files = {
            "wav": write_audio(folder / "s.wav", audio, 8000),
            "wav24": write_audio(folder / "s24.wav", audio, 8000, subtype="PCM_24"),
            "flac": write_audio(folder / "s.flac", audio, 8000),
            "ogg": write_audio(folder / "s.ogg", audio, 8000, subtype="VORBIS"),
        }
        files["mp3"] = ffmpeg_encode(files["wav"], folder / "s.mp3")
        return {name: path.read_bytes() for name, path in files.items()}
    finally:
        shutil.rmtree(folder)


@st.composite
def damaged_audio(draw) -> bytes:
    data = bytearray(seed_files()[draw(st.sampled_from(sorted(seed_files())))])
    cut = draw(st.one_of(st.none(), st.integers(0, len(data))))
    if cut is not None:
        del data[cut:]
    # Flips concentrated in the first 128 bytes, where headers declare rates, channels, sizes.
    for position in draw(st.lists(st.integers(0, 127) | st.integers(0, 1 << 20), max_size=8)):
        if data:
            data[position % len(data)] = draw(st.integers(0, 255))
    data += draw(st.binary(max_size=64))
    return bytes(data)


AUDIO_BYTES = st.one_of(st.binary(max_size=2048), damaged_audio())


def riff_overrun() -> bytes:
    """Found by this test: an unknown chunk reaching past the RIFF size made the stdlib wave reader (audioread's
    fallback) raise a bare RuntimeError."""
    data = bytearray(seed_files()["wav"].replace(b"data", b"\x00ata", 1))
    data[4] = 0  # RIFF size 40036 -> 39936: the renamed chunk now overruns it
    return bytes(data)


def outcome(function, path: Path):
    """The function's result, or the InvalidAudio it raised; any other exception fails the property."""
    try:
        return function(path)
    except InvalidAudio as exc:
        assert str(exc).strip() and not str(exc).rstrip().endswith(":"), f"an InvalidAudio must say why: {exc!r}"
        return exc


# Found by this test: WAV headers libsndfile refuses made the stdlib wave reader behind audioread divide by a zero
# sample rate, or fail in audioop on a block size that is not a whole number of frames.
RATE_ZERO_WAV = (b"RIFF\x00\x00\x00\x01WAVEfmt \x10\x00\x00\x00\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00"
                 b"\x00\x00\x01\x00data\x00\x00\x00\x00")
ODD_BLOCK_WAV = (b"RIFF\x00\x00\x00\x01WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x04\x00\x00\x00\x01\x00\x00\x00\x00"
                 b"\x00\x00\t\x00data\x00\x00\x00\x01\x00")


def stray_ogg_page() -> bytes:
    """Found by this test: an empty Ogg page made mutagen raise IndexError (in tags and the duration fallback)."""
    with tempfile.TemporaryDirectory() as folder:
        return write_ogg_with_stray_page(Path(folder) / "stray.ogg").read_bytes()


@EXAMPLES
@example(data=riff_overrun(), suffix=".wav")
@example(data=stray_ogg_page(), suffix=".ogg")
@example(data=RATE_ZERO_WAV, suffix=".wav")
@example(data=ODD_BLOCK_WAV, suffix=".wav")
@given(data=AUDIO_BYTES, suffix=st.sampled_from([".mp3", ".wav", ".flac", ".ogg", ""]))
def test_probe_and_decoder_only_return_or_raise_invalid_audio(data: bytes, suffix: str):
    with tempfile.TemporaryDirectory(prefix="skybeat-fuzz-") as folder:
        path = Path(folder) / f"upload{suffix}"
        path.write_bytes(data)

        probed = outcome(probe_audio, path)
        if not isinstance(probed, InvalidAudio):
            assert probed.format in {"wav", "mp3", "ogg", "opus", "flac", "m4a", "aac"}
            assert probed.duration_s is None or probed.duration_s > 0

        duration = outcome(audio_duration_s, path)
        assert isinstance(duration, InvalidAudio) or duration > 0

        frames = outcome(lambda p: song_frames(p, FRAME_SETTINGS), path)
        if not isinstance(frames, InvalidAudio):
            assert frames.frames.ndim == 3 and frames.frames.shape[1:] == (187, 96)
            assert 1 <= len(frames.frames) <= FRAME_SETTINGS.max_frames
            assert np.isfinite(frames.frames).all()
