"""Synthetic test audio (numpy + soundfile, ffmpeg for compressed formats): no third-party recordings needed.

Signal generators return float32 arrays shaped (samples,) for mono or (samples, channels); the ``write_*``
helpers write them to ``path`` (format from the extension unless ``fmt`` is given, e.g. "WAV", "FLAC", "OGG")
and return the path.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import soundfile


def tone(seconds: float, sr: int = 22050, freq: float = 440.0, amplitude: float = 0.5) -> np.ndarray:
    """A sine tone, (samples,) float32."""
    t = np.arange(round(seconds * sr)) / sr
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def noise(seconds: float, sr: int = 22050, amplitude: float = 0.3, seed: int = 0) -> np.ndarray:
    """Uniform white noise in [-amplitude, amplitude], (samples,) float32."""
    rng = np.random.default_rng(seed)
    return rng.uniform(-amplitude, amplitude, round(seconds * sr)).astype(np.float32)


def drum_pulses(seconds: float, sr: int = 22050, bpm: float = 120.0, amplitude: float = 0.8,
                seed: int = 0) -> np.ndarray:
    """A drum-like pulse train: on every beat a decaying 60 Hz "kick" plus a noise "snare" burst on off-beats,
    (samples,) float32."""
    out = np.zeros(round(seconds * sr), np.float32)
    beat = round(60.0 / bpm * sr)
    hit_t = np.arange(round(0.25 * sr)) / sr
    kick = np.sin(2 * np.pi * 60 * hit_t) * np.exp(-hit_t * 18)
    snare = np.random.default_rng(seed).uniform(-1, 1, hit_t.size) * np.exp(-hit_t * 30)
    for i, start in enumerate(range(0, out.size, beat)):
        hit = (kick if i % 2 == 0 else 0.6 * snare)[: out.size - start]
        out[start:start + hit.size] += amplitude * hit.astype(np.float32)
    return out


def multichannel(mono: np.ndarray, n: int) -> np.ndarray:
    """(samples,) -> (samples, n): the signal in every channel, each scaled a little differently."""
    return np.stack([mono * (1.0 - 0.1 * i) for i in range(n)], axis=1).astype(np.float32) if n > 1 else mono


def write_audio(path: str | Path, samples: np.ndarray, sr: int, subtype: str = "PCM_16",
                fmt: str | None = None) -> Path:
    """Write (samples,) or (samples, channels) float audio with soundfile."""
    path = Path(path)
    soundfile.write(path, samples, sr, subtype=subtype, format=fmt)
    return path


def write_tone(path: str | Path, seconds: float, sr: int = 22050, channels: int = 1, freq: float = 440.0,
               subtype: str = "PCM_16", fmt: str | None = None, amplitude: float = 0.5) -> Path:
    return write_audio(path, multichannel(tone(seconds, sr, freq, amplitude), channels), sr, subtype, fmt)


def write_noise(path: str | Path, seconds: float, sr: int = 22050, channels: int = 1, subtype: str = "PCM_16",
                fmt: str | None = None, amplitude: float = 0.3, seed: int = 0) -> Path:
    return write_audio(path, multichannel(noise(seconds, sr, amplitude, seed), channels), sr, subtype, fmt)


def write_drums(path: str | Path, seconds: float, sr: int = 22050, channels: int = 1, bpm: float = 120.0,
                subtype: str = "PCM_16", fmt: str | None = None) -> Path:
    return write_audio(path, multichannel(drum_pulses(seconds, sr, bpm), channels), sr, subtype, fmt)


def write_silence(path: str | Path, seconds: float, sr: int = 22050, channels: int = 1, subtype: str = "PCM_16",
                  fmt: str | None = None) -> Path:
    return write_audio(path, np.zeros((round(seconds * sr), channels), np.float32), sr, subtype, fmt)


def write_garbage(path: str | Path, n_bytes: int = 65536, seed: int = 0) -> Path:
    """Random bytes (not audio), e.g. saved as "song.mp3" to test rejection."""
    path = Path(path)
    path.write_bytes(np.random.default_rng(seed).integers(0, 256, n_bytes, dtype=np.uint8).tobytes())
    return path


def write_long_wav(path: str | Path, seconds: float, sr: int = 8000, chunk_s: float = 60.0,
                   freq: float = 330.0) -> Path:
    """A long 16-bit mono WAV written chunk by chunk (memory stays small): 4 s of tone, 1 s of silence, repeated.
    2 h at 8 kHz is ~115 MB."""
    pattern = np.concatenate([tone(4.0, sr, freq, 0.4), np.zeros(sr, np.float32)])
    return _write_repeating(path, np.tile(pattern, int(chunk_s // 5) or 1), seconds, sr, "PCM_16")


def ffmpeg_encode(src: str | Path, dst: str | Path, *args: str) -> Path:
    """Encode ``src`` to ``dst`` with ffmpeg (codec from dst's extension unless ``args`` say, e.g. "-c:a", "aac")."""
    dst = Path(dst)
    command = ["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-i", str(src), *args, str(dst)]
    subprocess.run(command, check=True)
    return dst


# --- Synthetic labelled "genres" (training tests and bench/train.py) -----------------------------------------------

#: Three made-up genres of clearly different timbre and rhythm.
SYNTHETIC_GENRES = ("drone", "pulse", "chime")


def _drone(seconds: float, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Sustained low harmonic chord with a slow tremolo: no rhythm, dark timbre."""
    t = np.arange(round(seconds * sr)) / sr
    root = rng.uniform(70, 110)
    chord = sum(np.sin(2 * np.pi * root * ratio * t + rng.uniform(0, 6)) / (i + 1)
                for i, ratio in enumerate((1, 1.5, 2, 3)))
    return 0.3 * chord * (1 + 0.3 * np.sin(2 * np.pi * rng.uniform(0.2, 0.5) * t))


def _pulse(seconds: float, sr: int, rng: np.random.Generator) -> np.ndarray:
    """A fast drum pattern (kick and noise snare) over a hi-hat hiss: strong regular rhythm, noisy timbre."""
    beats = drum_pulses(seconds, sr, bpm=rng.uniform(115, 150), amplitude=0.9, seed=int(rng.integers(1 << 30)))
    hat = np.zeros_like(beats)
    step = round(sr * 60 / rng.uniform(230, 300))
    burst = rng.uniform(-1, 1, round(0.03 * sr)) * np.exp(-np.arange(round(0.03 * sr)) / (0.006 * sr))
    for start in range(0, hat.size - burst.size, step):
        hat[start:start + burst.size] += 0.25 * burst
    return beats + hat


def _chime(seconds: float, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Bright plucked bell notes at irregular times: high pitch, sparse, ringing decay."""
    out = np.zeros(round(seconds * sr))
    note_t = np.arange(round(0.8 * sr)) / sr
    start = 0
    while start < out.size:
        freq = rng.choice([880, 988, 1175, 1319, 1568, 1760]) * rng.uniform(0.98, 1.02)
        note = (np.sin(2 * np.pi * freq * note_t) + 0.4 * np.sin(2 * np.pi * 2.76 * freq * note_t)) * np.exp(-note_t * 5)
        end = min(out.size, start + note.size)
        out[start:end] += 0.35 * note[: end - start]
        start += round(rng.uniform(0.15, 0.6) * sr)
    return out


_SYNTHETIC = {"drone": _drone, "pulse": _pulse, "chime": _chime}


def synthetic_genre_clip(genre: str, seconds: float, sr: int = 16000, seed: int = 0) -> np.ndarray:
    """One clip of a SYNTHETIC_GENRES genre, (samples,) float32; every seed gives a different clip."""
    rng = np.random.default_rng(seed)
    signal = _SYNTHETIC[genre](seconds, sr, rng) + rng.normal(0, 0.003, round(seconds * sr))
    return (0.9 * signal / max(np.abs(signal).max(), 1e-9)).astype(np.float32)


def write_labelled_folder(root: str | Path, per_genre: int, seconds: float = 10.0, sr: int = 16000,
                          seed: int = 0, genres: tuple[str, ...] = SYNTHETIC_GENRES) -> Path:
    """A labelled folder in the GTZAN layout, ``root/<genre>/<genre>.00000.wav``, of synthetic clips."""
    root = Path(root)
    for g, genre in enumerate(genres):
        (root / genre).mkdir(parents=True, exist_ok=True)
        for i in range(per_genre):
            clip = synthetic_genre_clip(genre, seconds, sr, seed=seed * 100_003 + g * 10_007 + i)
            write_audio(root / genre / f"{genre}.{i:05d}.wav", clip, sr)
    return root


def write_long_silence(path: str | Path, seconds: float, sr: int = 8000, subtype: str = "PCM_U8",
                       chunk_s: float = 60.0) -> Path:
    """A long silent mono WAV written chunk by chunk (memory stays small). 2 h at 8 kHz, 8-bit is ~58 MB."""
    return _write_repeating(path, np.zeros(round(chunk_s * sr), np.float32), seconds, sr, subtype)


def _write_repeating(path: str | Path, chunk: np.ndarray, seconds: float, sr: int, subtype: str) -> Path:
    """A mono WAV of ``seconds``, ``chunk`` written again and again (only one chunk is ever in memory)."""
    path = Path(path)
    with soundfile.SoundFile(path, "w", samplerate=sr, channels=1, subtype=subtype, format="WAV") as f:
        written, total = 0, round(seconds * sr)
        while written < total:
            block = chunk[: total - written]
            f.write(block)
            written += block.size
    return path


def write_ogg_with_stray_page(path: str | Path, seconds: float = 2.0, sr: int = 22050) -> Path:
    """A valid Ogg Vorbis tone with an empty page (bad CRC, no segments) slipped in after the first page.

    libogg skips the page and decodes the stream; a tag reader that trusts it finds no comment packet.
    """
    path = Path(path)
    data = write_tone(path, seconds, sr=sr, subtype="VORBIS", fmt="OGG").read_bytes()
    second = data.index(b"OggS", 4)
    serial = data[14:18]
    stray = b"OggS\x00\x00" + bytes(8) + serial + (1).to_bytes(4, "little") + bytes(4) + b"\x00"
    path.write_bytes(data[:second] + stray + data[second:])
    return path
