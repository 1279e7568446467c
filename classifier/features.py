"""Audio decoding and the log-mel features the musicnn-based genre models take.

A song is represented by up to ``max_frames`` log-mel *frames* of 187 spectrogram frames (3 s) each: the first
and last ``skip_s`` seconds are discarded (intros and fades), the rest is cut into consecutive frames, and long
songs keep an evenly spaced subset. Only the audio under the selected frames is ever decoded, so time and
memory stay bounded whatever the song's length. A model's settings may bound the level (RMS, dBFS) of that audio:
songs louder or quieter than its training data are brought into the training range (:func:`normalise_loudness`).

Decoding: libsndfile (``soundfile``: WAV, FLAC, OGG, MP3 with libsndfile >= 1.1) seeks straight to each region;
other formats (M4A/AAC, ...) stream once through ``audioread``'s ffmpeg backend, keeping only the regions
needed. Audio is mixed to mono (channel mean) and resampled to 16 kHz with soxr, as ``librosa.load`` does
(:mod:`classifier.spectral`: librosa's computations without importing librosa into the workers).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

import audioread
from audioread.ffdec import FFmpegAudioFile
import mutagen
import numpy as np
import soundfile

from skybeat.errors import InvalidAudio

from . import spectral

SILENCE_PEAK = 1e-4  # peak amplitude (-80 dBFS) below which decoded audio counts as silent
_RESAMPLE_MARGIN_S = 0.1  # extra audio decoded on each side of a region so resampling has no edge effects
_MAX_AMPLITUDE = 8.0  # decoded samples are clipped to +-8 (see _to_mono)
_OVERVIEW_MAX_S = 600.0  # mel pictures of longer songs are built from excerpts totalling at most this much audio
MAX_LOUDNESS_GAIN_DB = 40.0  # loudness normalisation never raises a near-silent song by more than this


@dataclass(frozen=True)
class FrameSettings:
    """Every parameter of the features; saved with each model so it is always fed what it was trained on."""

    sample_rate_hz: int = 16000
    n_mels: int = 96
    n_fft: int = 512  # samples per FFT window
    hop_length: int = 256  # samples between spectrogram frames
    frame_length: int = 187  # spectrogram frames per network input frame (2.99 s)
    skip_s: float = 5.0  # seconds discarded at each end of a song (less for short songs)
    max_frames: int = 40  # most frames kept per song (evenly spaced)
    # RMS levels (dBFS) a song's frames are brought within, a quieter song raised to the first, a louder one lowered
    # to the second (None: no bound)
    min_loudness_dbfs: float | None = None
    max_loudness_dbfs: float | None = None

    def __post_init__(self) -> None:
        if min(self.sample_rate_hz, self.n_mels, self.n_fft, self.hop_length, self.frame_length, self.max_frames) < 1:
            raise ValueError(f"frame settings must be positive: {self}")
        if self.skip_s < 0:
            raise ValueError(f"skip_s must be >= 0, got {self.skip_s}")

    @property
    def frame_s(self) -> float:
        """Seconds of audio between the starts of two consecutive frames (2.992 s by default)."""
        return self.frame_length * self.hop_length / self.sample_rate_hz

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> FrameSettings:
        """The settings saved by :meth:`to_dict`; unknown keys are an error (a newer format), missing ones default."""
        known = {f.name: f.type for f in fields(cls)}
        unknown = set(data) - set(known)
        if unknown:
            raise ValueError(f"unknown frame settings: {', '.join(sorted(unknown))}")
        return cls(**{k: (None if v is None else float(v) if known[k].startswith("float") else int(v))
                      for k, v in data.items()})


@dataclass
class SongFrames:
    """A song's selected frames: ``frames`` (n, frame_length, n_mels) float32 log-mel, ``starts_s`` (n,) start
    time of each frame in the song (s), ``duration_s`` the song's duration (s)."""

    frames: np.ndarray
    starts_s: np.ndarray
    duration_s: float


# --- decoding ----------------------------------------------------------------------------------------------------

def _open_soundfile(path: Path) -> soundfile.SoundFile | None:
    """The file opened by libsndfile, or None if libsndfile does not know its format."""
    try:
        return soundfile.SoundFile(path)
    except (soundfile.LibsndfileError, RuntimeError, TypeError):
        return None


def _open_ffmpeg(path: Path) -> FFmpegAudioFile:
    """The file through audioread's ffmpeg backend only. Its other backend, the stdlib WAV/AIFF/AU readers, would
    only see files libsndfile refused, and raises bare RuntimeError, ZeroDivisionError or audioop.error on them."""
    try:
        return audioread.audio_open(str(path), backends=[FFmpegAudioFile])
    except audioread.NoBackendError as exc:  # its message is empty
        raise InvalidAudio("could not decode audio: neither libsndfile nor ffmpeg recognise the format") from exc


def audio_duration_s(path: str | Path) -> float:
    """The duration of an audio file in seconds, read from its header (no decoding). Raises InvalidAudio."""
    path = Path(path)
    sf = _open_soundfile(path)
    if sf is not None:
        with sf:
            if sf.frames <= 0:
                raise InvalidAudio("the file contains no audio")
            return sf.frames / sf.samplerate
    try:
        info = mutagen.File(path)
        if info is not None and getattr(info.info, "length", 0) > 0:
            return float(info.info.length)
    except Exception:  # mutagen parses hostile bytes in pure Python and can raise anything; audioread decides next
        pass
    try:
        with _open_ffmpeg(path) as f:
            if f.duration > 0:
                return float(f.duration)
    except (audioread.DecodeError, OSError, EOFError) as exc:
        raise InvalidAudio(f"could not decode audio: {str(exc) or type(exc).__name__}") from exc
    raise InvalidAudio("could not read the audio's duration")


def _to_mono(block: np.ndarray) -> np.ndarray:
    """(samples, channels) float -> (samples,) float32, the channel mean; NaN/inf become 0 and samples are
    clipped to +-8 (+18 dBFS), so corrupt float files cannot overflow the spectrogram."""
    block = np.clip(np.nan_to_num(block, nan=0.0, posinf=0.0, neginf=0.0), -_MAX_AMPLITUDE, _MAX_AMPLITUDE)
    return block.mean(axis=1, dtype=np.float32) if block.shape[1] > 1 else block[:, 0].astype(np.float32)


def _read_soundfile(sf: soundfile.SoundFile, regions: list[tuple[int, int]]) -> list[np.ndarray]:
    """Mono samples [start, stop) at the file's rate for each region, by seeking."""
    out = []
    for start, stop in regions:
        start, stop = min(start, sf.frames), min(stop, sf.frames)
        sf.seek(start)
        out.append(_to_mono(sf.read(stop - start, dtype="float32", always_2d=True)))
    return out


def _read_audioread(f, regions: list[tuple[int, int]]) -> list[np.ndarray]:
    """Mono samples [start, stop) at the file's rate for each region, in one pass over the decoded stream of
    the open audioread file ``f``."""
    parts: list[list[np.ndarray]] = [[] for _ in regions]
    position, last = 0, max(stop for _, stop in regions)
    for buffer in f:
        block = np.frombuffer(buffer, dtype="<i2").reshape(-1, f.channels)
        end = position + len(block)
        for part, (start, stop) in zip(parts, regions, strict=True):
            if start < end and stop > position:
                samples = block[max(start - position, 0):stop - position]
                part.append(_to_mono(samples.astype(np.float32) / 32768.0))
        position = end
        if position >= last:
            break
    return [np.concatenate(p) if p else np.zeros(0, np.float32) for p in parts]


def _sample_regions(regions_s: list[tuple[float, float]], native: int, rate: int) -> list[tuple[int, int]]:
    """(start_s, stop_s) regions -> [start, stop) sample indices at the file's rate, with a resampling margin.
    Starts are aligned to fall on both sample grids, so resampling introduces no fractional offset."""
    align = native // math.gcd(native, rate)
    margin = math.ceil(_RESAMPLE_MARGIN_S * native)
    return [(max(0, math.floor(start_s * native) - margin) // align * align,
             math.ceil(stop_s * native) + margin if math.isfinite(stop_s) else 2**62) for start_s, stop_s in regions_s]


def _decode_regions(path: str | Path, regions_s: list[tuple[float, float]], rate: int) -> list[np.ndarray]:
    """Mono float32 audio at ``rate`` Hz for each (start_s, stop_s) region (stop may be inf: to the end).

    Each region is decoded with a margin, resampled, and trimmed to the region; it is shorter only where the
    file ends. Raises InvalidAudio if the file cannot be decoded.
    """
    path = Path(path)
    sf = _open_soundfile(path)
    try:
        if sf is not None:
            with sf:
                native = sf.samplerate
                plan = _sample_regions(regions_s, native, rate)
                chunks = _read_soundfile(sf, plan)
        else:
            with _open_ffmpeg(path) as f:
                native = f.samplerate
                plan = _sample_regions(regions_s, native, rate)
                chunks = _read_audioread(f, plan)
    except (soundfile.LibsndfileError, RuntimeError, audioread.DecodeError, OSError, EOFError, ValueError) as exc:
        raise InvalidAudio(f"could not decode audio: {str(exc) or type(exc).__name__}") from exc
    out = []
    for (start_s, stop_s), (start, _), chunk in zip(regions_s, plan, chunks, strict=True):
        audio = spectral.resample(chunk, native, rate)
        skip = max(0, round(start_s * rate) - start * rate // native)
        length = round((stop_s - start_s) * rate) if math.isfinite(stop_s) else len(audio)
        out.append(audio[skip:skip + length].astype(np.float32, copy=False))
    return out


def decode_audio(path: str | Path, settings: FrameSettings, offset_s: float = 0.0,
                 duration_s: float | None = None) -> np.ndarray:
    """Mono float32 samples at ``settings.sample_rate_hz`` of ``duration_s`` seconds (None: to the end) from
    ``offset_s``. Raises InvalidAudio if the file cannot be decoded or holds no audio at all."""
    stop_s = math.inf if duration_s is None else offset_s + duration_s
    audio = _decode_regions(path, [(offset_s, stop_s)], settings.sample_rate_hz)[0]
    if offset_s == 0 and audio.size == 0:
        raise InvalidAudio("the file contains no audio")
    return audio


# --- spectrograms ------------------------------------------------------------------------------------------------

def log_mel(audio: np.ndarray, settings: FrameSettings, center: bool = True) -> np.ndarray:
    """Log-compressed mel spectrogram (time_frames, n_mels) float32: ``log10(10000 * mel + 1)`` of the power
    mel spectrogram (Slaney mel bands, Hann window). ``center`` pads n_fft/2 zeros at each end as librosa does;
    without it, frame i covers samples [i * hop, i * hop + n_fft)."""
    mel = spectral.power_mel(audio, settings.sample_rate_hz, settings.n_fft, settings.hop_length, settings.n_mels,
                             center)
    return np.log10(np.float32(10000) * mel.T.astype(np.float32) + np.float32(1))


def plan_frames(duration_s: float, settings: FrameSettings) -> np.ndarray:
    """Start indices (in spectrogram frames) of the frames :func:`song_frames` keeps for a song this long.

    Skips ``skip_s`` at each end (less if the song is short, so that at least one frame fits), cuts the rest
    into consecutive frames and keeps at most ``max_frames`` of them, evenly spaced. Empty if the song is
    shorter than one frame.
    """
    length = settings.frame_length
    total = round(duration_s * settings.sample_rate_hz) // settings.hop_length + 1  # centred spectrogram frames
    if total < length:
        return np.zeros(0, dtype=np.int64)
    skip = min(round(settings.skip_s * settings.sample_rate_hz / settings.hop_length), (total - length) // 2)
    count = (total - 2 * skip) // length
    chosen = np.arange(count)
    if count > settings.max_frames:
        chosen = np.round(np.linspace(0, count - 1, settings.max_frames)).astype(np.int64)
    return skip + chosen * length


def _runs(starts: np.ndarray, length: int) -> list[tuple[int, int]]:
    """Group frame starts into runs of consecutive frames: [(first start, number of frames), ...]."""
    runs: list[tuple[int, int]] = []
    for start in starts.tolist():
        if runs and runs[-1][0] + runs[-1][1] * length == start:
            runs[-1] = (runs[-1][0], runs[-1][1] + 1)
        else:
            runs.append((start, 1))
    return runs


def _check_audible(chunks: list[np.ndarray]) -> None:
    if not any(chunk.size for chunk in chunks):
        raise InvalidAudio("the file contains no audio")
    if max(float(np.abs(chunk).max(initial=0.0)) for chunk in chunks) < SILENCE_PEAK:
        raise InvalidAudio("the file is silent")


def song_loudness_dbfs(chunks: list[np.ndarray]) -> float:
    """The RMS level (dBFS; a full-scale sine is -3) of a song's chunks together."""
    power = sum(float(np.square(chunk, dtype=np.float64).sum()) for chunk in chunks) / sum(c.size for c in chunks)
    return 10 * math.log10(max(power, 1e-20))


def normalise_loudness(chunks: list[np.ndarray], settings: FrameSettings) -> list[np.ndarray]:
    """A song's chunks scaled together so that their level lies within ``settings``' loudness bounds, raised by at
    most MAX_LOUDNESS_GAIN_DB; unchanged when it does already.

    The musicnn front-end's log compression is not level-invariant: in cross-validation on genre-train (RMS
    -17 to -12 dBFS for 80 % of excerpts), held-out excerpts played 5 dB louder were classified right 7.5 points
    less often (75.8 -> 68.3 %), 10 dB quieter 7 points less often, and today's masters are several dB louder than
    GTZAN's. Levels within the training range are kept, as the genre partly shows in them.
    """
    low, high = settings.min_loudness_dbfs, settings.max_loudness_dbfs
    if low is None and high is None:
        return chunks
    level = song_loudness_dbfs(chunks)
    target = min(max(level, -math.inf if low is None else low), math.inf if high is None else high)
    gain_db = min(target - level, MAX_LOUDNESS_GAIN_DB)
    return chunks if gain_db == 0 else [chunk * np.float32(10 ** (gain_db / 20)) for chunk in chunks]


def _short_song_frames(path: str | Path, settings: FrameSettings, duration_s: float) -> SongFrames:
    """A song shorter than one frame: its audio repeated to fill one frame (repetition, not silence)."""
    audio = decode_audio(path, settings)
    _check_audible([audio])
    audio = normalise_loudness([audio], settings)[0]
    needed = settings.frame_length * settings.hop_length
    audio = np.tile(audio, -(-needed // audio.size))[:needed]
    frames = log_mel(audio, settings)[None, :settings.frame_length]
    return SongFrames(frames, np.zeros(1), duration_s)


def song_frames(path: str | Path, settings: FrameSettings) -> SongFrames:
    """The song's frames for the network (see :func:`plan_frames`), decoding only the audio under them.

    Each run of consecutive frames is decoded once, with n_fft/2 samples of context on each side, so every
    frame equals the same rows of the whole song's centred spectrogram. Raises InvalidAudio with a reason if the
    file cannot be decoded, holds no audio or is silent. The audio under the frames is first brought within the
    settings' loudness bounds (:func:`normalise_loudness`).
    """
    duration_s = audio_duration_s(path)
    starts = plan_frames(duration_s, settings)
    if starts.size == 0:
        return _short_song_frames(path, settings, duration_s)
    rate, hop, half = settings.sample_rate_hz, settings.hop_length, settings.n_fft // 2
    length = settings.frame_length
    runs = _runs(starts, length)
    # run of n frames from spectrogram frame f: samples [f * hop - n_fft/2, (f + n * length - 1) * hop + n_fft/2)
    bounds = [(first * hop - half, (first + n * length - 1) * hop + half) for first, n in runs]
    chunks = _decode_regions(path, [(max(a, 0) / rate, b / rate) for a, b in bounds], rate)
    _check_audible(chunks)
    chunks = normalise_loudness(chunks, settings)
    frames, kept = [], []
    for (first, n), (a, b), chunk in zip(runs, bounds, chunks, strict=True):
        audio = np.zeros(b - a, np.float32)  # zeros where the run reaches past either end of the song
        audio[max(-a, 0):max(-a, 0) + chunk.size] = chunk[:b - max(a, 0)]
        mel = log_mel(audio, settings, center=False).reshape(n, length, settings.n_mels)
        audio_end = max(-a, 0) + chunk.size  # where the decoded audio stops in the run's buffer
        for i in range(n):
            # a frame less than half covered by audio (the header over-stated the duration) is dropped
            if i * length * hop + half + length * hop // 2 <= audio_end:
                frames.append(mel[i])
                kept.append(first + i * length)
    if not frames:
        raise InvalidAudio("the audio ends long before the duration its header states")
    return SongFrames(np.stack(frames), np.asarray(kept) * hop / rate, duration_s)


# --- picture -----------------------------------------------------------------------------------------------------

def _overview(path: str | Path, settings: FrameSettings) -> tuple[np.ndarray, float, float]:
    """(spectrogram (columns, n_mels), seconds per column, duration_s) for the picture of a song file.

    Songs up to 10 minutes are decoded whole; longer ones are summarised by evenly spaced 3 s excerpts totalling
    10 minutes of audio, each averaged into one column, so the cost is bounded whatever the length.
    """
    duration_s = audio_duration_s(path)
    if duration_s <= _OVERVIEW_MAX_S:
        mel = log_mel(decode_audio(path, settings), settings)
        return mel, settings.hop_length / settings.sample_rate_hz, duration_s
    excerpts = int(_OVERVIEW_MAX_S // settings.frame_s)
    song = song_frames(path, replace(settings, skip_s=0.0, max_frames=excerpts))
    return song.frames.mean(axis=1), duration_s / len(song.frames), duration_s


def mel_spectrogram_png(path_or_audio: str | Path | np.ndarray, out_path: str | Path,
                        settings: FrameSettings) -> Path:
    """Draw the song's log-mel spectrogram (dark background, time in s, frequency in Hz) into a PNG file.

    ``path_or_audio``: an audio file, or mono samples at ``settings.sample_rate_hz``. Raises InvalidAudio if the
    file cannot be decoded.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if isinstance(path_or_audio, np.ndarray):
        if path_or_audio.size == 0:
            raise InvalidAudio("the file contains no audio")
        mel = log_mel(np.nan_to_num(path_or_audio), settings)
        column_s = settings.hop_length / settings.sample_rate_hz
        duration_s = path_or_audio.size / settings.sample_rate_hz
    else:
        mel, column_s, duration_s = _overview(path_or_audio, settings)
    figure = Figure(figsize=(10, 3), dpi=100, facecolor="#111418")
    FigureCanvasAgg(figure)
    ax = figure.add_axes((0.08, 0.17, 0.9, 0.75), facecolor="#111418")
    ax.imshow(mel.T, origin="lower", aspect="auto", cmap="magma", interpolation="nearest",
              extent=(0, max(len(mel) * column_s, column_s), 0, settings.n_mels))
    band_hz = spectral.mel_frequencies(settings.n_mels, fmax=settings.sample_rate_hz / 2)
    ticks_hz = [hz for hz in (100, 250, 500, 1000, 2000, 4000, 8000) if hz < band_hz[-1]]
    ax.set_yticks(np.interp(ticks_hz, band_hz, np.arange(settings.n_mels)),
                  [f"{hz // 1000}k" if hz >= 1000 else str(hz) for hz in ticks_hz])
    ax.set_xlim(0, max(duration_s, column_s))
    ax.set_xlabel("Time (s)", color="#d8dee9")
    ax.set_ylabel("Frequency (Hz)", color="#d8dee9")
    ax.tick_params(colors="#d8dee9")
    for spine in ax.spines.values():
        spine.set_color("#4c566a")
    out_path = Path(out_path)
    figure.savefig(out_path, format="png", facecolor=figure.get_facecolor())
    return out_path
