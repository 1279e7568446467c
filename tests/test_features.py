"""Audio decoding, log-mel features and multi-framing (classifier.features). No database, no TensorFlow."""

import subprocess
from dataclasses import replace
import sys
import tracemalloc
from pathlib import Path

import librosa
import numpy as np
import pytest

from classifier import spectral
from classifier.features import (
    FrameSettings, audio_duration_s, decode_audio, log_mel, mel_spectrogram_png, normalise_loudness, plan_frames,
    song_frames, song_loudness_dbfs,
)
from skybeat.errors import InvalidAudio
from tests.audio_fixtures import (
    drum_pulses, ffmpeg_encode, multichannel, tone, write_audio, write_drums, write_garbage,
    write_long_wav, write_silence, write_tone,
)

SETTINGS = FrameSettings()
REFERENCE = Path(__file__).resolve().parents[2] / "shared/data/musicnn-reference"


@pytest.fixture(scope="module")
def two_hour_wav(tmp_path_factory) -> Path:
    return write_long_wav(tmp_path_factory.mktemp("long") / "two_hours.wav", 2 * 3600, sr=8000)


def dominant_hz(audio: np.ndarray, sr: int) -> float:
    spectrum = np.abs(np.fft.rfft(audio))
    return float(np.fft.rfftfreq(audio.size, 1 / sr)[spectrum.argmax()])


def test_frame_settings_round_trip_and_defaults():
    assert SETTINGS.frame_s == pytest.approx(2.992)
    assert FrameSettings.from_dict(SETTINGS.to_dict()) == SETTINGS
    assert FrameSettings.from_dict({"skip_s": 2}).skip_s == 2.0
    levelled = FrameSettings(min_loudness_dbfs=-17, max_loudness_dbfs=-11.5)
    assert FrameSettings.from_dict(levelled.to_dict()) == levelled and SETTINGS.max_loudness_dbfs is None
    with pytest.raises(ValueError, match="unknown"):
        FrameSettings.from_dict({**SETTINGS.to_dict(), "window": "hann"})
    with pytest.raises(ValueError):
        FrameSettings(max_frames=0)


def test_log_mel_is_musicnn_input():
    audio = tone(2.0, 16000)
    mel = log_mel(audio, SETTINGS)
    expected = librosa.feature.melspectrogram(y=audio, sr=16000, n_fft=512, hop_length=256, n_mels=96).T
    assert mel.shape == (2 * 16000 // 256 + 1, 96) and mel.dtype == np.float32
    np.testing.assert_allclose(mel, np.log10(10000 * expected.astype(np.float32) + 1), rtol=1e-6)
    assert log_mel(audio, SETTINGS, center=False).shape == (1 + (32000 - 512) // 256, 96)


def test_multi_framing_skips_ends_and_cuts_3s_frames(tmp_path):
    song = song_frames(write_drums(tmp_path / "a.wav", 60, sr=44100, channels=2), SETTINGS)
    assert song.frames.shape == (16, 187, 96) and song.frames.dtype == np.float32  # (60 - 2 * 5) // 2.992
    assert song.duration_s == pytest.approx(60)
    assert song.starts_s[0] == pytest.approx(5, abs=0.02)
    np.testing.assert_allclose(np.diff(song.starts_s), SETTINGS.frame_s)
    assert song.starts_s[-1] + SETTINGS.frame_s <= 55


def test_frames_equal_rows_of_the_whole_song_spectrogram(tmp_path):
    """Decoding only each frame's region (seek + resample) gives the same features as decoding everything."""
    path = write_audio(tmp_path / "mix.wav", drum_pulses(40, 44100) + tone(40, 44100, 660, 0.2), 44100)
    song = song_frames(path, SETTINGS)
    whole = log_mel(decode_audio(path, SETTINGS), SETTINGS)
    for frame, start_s in zip(song.frames, song.starts_s, strict=True):
        first = round(start_s * 16000 / 256)
        np.testing.assert_allclose(frame, whole[first:first + 187], atol=1e-3)


def test_long_song_keeps_k_evenly_spaced_frames_with_flat_memory(two_hour_wav):
    tracemalloc.start()
    try:
        song = song_frames(two_hour_wav, SETTINGS)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert song.frames.shape == (40, 187, 96)
    assert peak < 40e6, f"peak {peak / 1e6:.0f} MB: the whole file (115 MB, 460 MB at 16 kHz float) was decoded"
    assert song.starts_s[0] == pytest.approx(5, abs=0.02)
    assert song.starts_s[-1] + SETTINGS.frame_s <= 7200 - 5
    gaps = np.diff(song.starts_s)
    assert gaps.min() > 0.95 * gaps.mean() and gaps.max() < 1.05 * gaps.mean()
    assert np.isfinite(song.frames).all() and song.frames.max() > 1  # the tone is there


@pytest.mark.parametrize("seconds", [20.0, 2.0])  # frames cut from a song, and a short song repeated
def test_songs_recorded_louder_or_quieter_than_the_training_range_are_brought_into_it(tmp_path, seconds):
    music = drum_pulses(seconds, 22050, amplitude=0.5)
    level = song_loudness_dbfs([music])
    settings = FrameSettings(skip_s=1, min_loudness_dbfs=level - 6, max_loudness_dbfs=level + 6)

    def frames(gain_db: float, bounds: FrameSettings = settings) -> np.ndarray:
        path = write_audio(tmp_path / f"{gain_db}.wav", music * 10 ** (gain_db / 20), 22050, subtype="FLOAT")
        return song_frames(path, bounds).frames

    as_recorded = replace(settings, min_loudness_dbfs=None, max_loudness_dbfs=None)
    assert np.abs(frames(-20, as_recorded) - frames(0, as_recorded)).max() > 0.5  # log-mel is not level-invariant
    np.testing.assert_allclose(frames(-20), frames(-30), atol=1e-4)  # both raised to the range's floor
    np.testing.assert_allclose(frames(10), frames(18), atol=1e-4)  # both lowered to its ceiling
    assert np.abs(frames(-20) - frames(10)).max() > 0.5  # which are 12 dB apart
    np.testing.assert_allclose(frames(3), frames(3, as_recorded), atol=0)  # within the range: as recorded


def test_loudness_is_the_songs_rms_and_near_silence_is_raised_no_more_than_the_cap():
    chunks = [tone(1.0, 16000, amplitude=0.05), tone(2.0, 16000, amplitude=0.05)]
    assert song_loudness_dbfs(chunks) == pytest.approx(20 * np.log10(0.05 / np.sqrt(2)), abs=1e-3)
    floor = FrameSettings(min_loudness_dbfs=-14.0)
    assert song_loudness_dbfs(normalise_loudness(chunks, floor)) == pytest.approx(-14.0, abs=1e-3)
    assert normalise_loudness(chunks, FrameSettings()) is chunks
    whisper = tone(1.0, 16000, amplitude=1e-4)
    assert np.abs(normalise_loudness([whisper], floor)[0]).max() == pytest.approx(1e-4 * 100, rel=1e-3)  # +40 dB


def test_plan_frames_edge_cases():
    assert plan_frames(2.0, SETTINGS).size == 0  # shorter than a frame: padded by song_frames
    assert plan_frames(3.0, SETTINGS).tolist() == [0]  # exactly one frame: no skip possible
    assert plan_frames(8.0, SETTINGS).tolist() == [(501 - 187) // 2]  # skip shrinks: one frame, centred
    assert plan_frames(16.0, SETTINGS).tolist() == [312, 312 + 187]  # 5 s skipped at each end
    assert plan_frames(3600.0, SETTINGS).size == 40


def test_exactly_one_frame(tmp_path):
    song = song_frames(write_tone(tmp_path / "three.wav", 3.0, sr=16000), SETTINGS)
    assert song.frames.shape == (1, 187, 96) and song.starts_s.tolist() == [0.0]


def test_short_song_is_padded_by_repetition_not_silence(tmp_path):
    song = song_frames(write_tone(tmp_path / "short.flac", 1.0, sr=22050), SETTINGS)
    assert song.frames.shape == (1, 187, 96) and song.starts_s.tolist() == [0.0]
    first, last = song.frames[0, 10:60].mean(), song.frames[0, 130:180].mean()  # the 1st and 3rd second
    assert first > 0.1 and last == pytest.approx(first, rel=0.05)  # the tone again, not silence (log10(1) = 0)


@pytest.mark.parametrize("sr", [8000, 22050, 44100, 48000, 96000, 192000])
@pytest.mark.parametrize("n_channels", [1, 2, 6])
def test_any_rate_and_layout_decodes_to_mono_16k(tmp_path, sr, n_channels):
    path = write_audio(tmp_path / "t.wav", multichannel(tone(1.5, sr, 440), n_channels), sr)
    audio = decode_audio(path, SETTINGS)
    assert audio.ndim == 1 and audio.dtype == np.float32
    assert audio.size == pytest.approx(1.5 * 16000, abs=2)
    assert dominant_hz(audio, 16000) == pytest.approx(440, abs=2)
    assert audio_duration_s(path) == pytest.approx(1.5, abs=1e-3)


def test_decode_region(tmp_path):
    path = write_drums(tmp_path / "d.wav", 10, sr=44100)
    whole = decode_audio(path, SETTINGS)
    part = decode_audio(path, SETTINGS, offset_s=2.0, duration_s=1.0)
    assert part.size == 16000
    np.testing.assert_allclose(part, whole[32000:48000], atol=1e-4)


def test_silence_is_rejected(tmp_path):
    with pytest.raises(InvalidAudio, match="silent"):
        song_frames(write_silence(tmp_path / "quiet.wav", 20), SETTINGS)
    with pytest.raises(InvalidAudio, match="silent"):
        song_frames(write_silence(tmp_path / "blip.wav", 1), SETTINGS)


@pytest.mark.parametrize("name", ["noise.mp3", "noise.wav", "noise.m4a", "noise"])
def test_garbage_is_rejected_with_a_reason(tmp_path, name):
    path = write_garbage(tmp_path / name)
    with pytest.raises(InvalidAudio, match="decode|audio"):
        song_frames(path, SETTINGS)


def test_empty_file_is_rejected(tmp_path):
    (tmp_path / "empty.wav").write_bytes(b"")
    with pytest.raises(InvalidAudio):
        song_frames(tmp_path / "empty.wav", SETTINGS)
    with pytest.raises(InvalidAudio, match="no audio"):
        song_frames(write_silence(tmp_path / "zero.wav", 0), SETTINGS)


def test_nan_and_inf_never_escape(tmp_path):
    samples = tone(12, 22050)
    samples[::1000] = np.nan
    samples[5::1000] = np.inf
    samples[7::1000] = 1e30
    song = song_frames(write_audio(tmp_path / "bad.wav", samples, 22050, subtype="FLOAT"), SETTINGS)
    assert np.isfinite(song.frames).all()
    assert np.isfinite(decode_audio(tmp_path / "bad.wav", SETTINGS)).all()


def test_m4a_decodes_through_ffmpeg(tmp_path):
    wav = write_drums(tmp_path / "d.wav", 20, sr=44100, channels=2)
    m4a = ffmpeg_encode(wav, tmp_path / "d.m4a", "-c:a", "aac", "-b:a", "128k")
    song = song_frames(m4a, SETTINGS)
    reference = song_frames(wav, SETTINGS)
    assert song.frames.shape == reference.frames.shape == (3, 187, 96)
    assert audio_duration_s(m4a) == pytest.approx(20, abs=0.1)
    # lossy codec and its encoder delay: the same sound, not the same samples
    assert np.abs(song.frames.mean(axis=(0, 1)) - reference.frames.mean(axis=(0, 1))).mean() < 0.2


@pytest.mark.skipif(not REFERENCE.is_dir(), reason=f"{REFERENCE} is absent")
def test_mp3_regions_equal_whole_decode():
    clip = REFERENCE / "TRWJAZW128F42760DD_test.mp3"
    song = song_frames(clip, FrameSettings(skip_s=0))
    whole = log_mel(librosa.load(clip, sr=16000)[0], SETTINGS)
    assert len(song.frames) == 10
    for i, frame in enumerate(song.frames):
        np.testing.assert_allclose(frame, whole[i * 187:(i + 1) * 187], atol=1e-4)


def _assert_png(path: Path) -> None:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000


def test_mel_spectrogram_png(tmp_path):
    _assert_png(mel_spectrogram_png(write_drums(tmp_path / "d.wav", 20), tmp_path / "file.png", SETTINGS))
    _assert_png(mel_spectrogram_png(tone(5, 16000), tmp_path / "array.png", SETTINGS))


def test_mel_spectrogram_png_of_a_long_song_is_bounded(two_hour_wav, tmp_path):
    tracemalloc.start()
    try:
        _assert_png(mel_spectrogram_png(two_hour_wav, tmp_path / "long.png", SETTINGS))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 150e6


@pytest.mark.parametrize("seconds", [0.01, 0.7, 4.0])
def test_spectral_computes_what_librosa_computes(seconds):
    noise = np.random.default_rng(3).uniform(-1, 1, round(seconds * 44100)).astype(np.float32)
    for rate in (44100, 22050, 48000):
        assert np.array_equal(spectral.resample(noise, rate, 16000), librosa.resample(noise, orig_sr=rate, target_sr=16000))
    audio = librosa.resample(noise, orig_sr=44100, target_sr=16000)
    for center in (True, False):
        if not center and audio.size < 512:
            continue
        expected = librosa.feature.melspectrogram(y=audio, sr=16000, n_fft=512, hop_length=256, n_mels=96, center=center)
        ours = spectral.power_mel(audio, 16000, 512, 256, 96, center)
        assert ours.dtype == np.float32 and ours.shape == expected.shape
        np.testing.assert_allclose(ours, expected, rtol=2e-6, atol=1e-12)
    assert np.array_equal(spectral.mel_filters(16000, 512, 96), librosa.filters.mel(sr=16000, n_fft=512, n_mels=96))
    assert np.array_equal(spectral.mel_frequencies(96, fmax=8000), librosa.mel_frequencies(96, fmax=8000))


def test_classifying_imports_neither_librosa_nor_numba():
    """They would cost every classification worker ~150 MB of memory."""
    code = ("import sys, numpy as np; from classifier import features; "
            "features.log_mel(np.zeros(16000, np.float32), features.FrameSettings()); "
            "print(sorted(m for m in ('librosa', 'numba', 'llvmlite') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          cwd=Path(__file__).resolve().parent.parent)
    assert done.stdout.strip() == "[]"
