"""Resampling and mel spectrograms with numpy and soxr alone, computing exactly what librosa computes.

librosa would import numba, llvmlite and scipy into every classification worker (~150 MB of resident memory)
for three functions; these are the same computations (tests/test_features.py compares them with librosa's):
``librosa.resample`` (soxr, high quality, fixed length), ``librosa.feature.melspectrogram`` (centred,
zero-padded STFT with a periodic Hann window, power 2, Slaney mel filters) and ``librosa.mel_frequencies``.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import soxr

_F_SP = 200.0 / 3  # Slaney's mel scale: linear below 1 kHz, logarithmic above
_MIN_LOG_HZ = 1000.0
_MIN_LOG_MEL = _MIN_LOG_HZ / _F_SP
_LOG_STEP = np.log(6.4) / 27.0


def resample(audio: np.ndarray, orig_sr: int, target_sr: int) -> np.ndarray:
    """Mono float32 ``audio`` from ``orig_sr`` to ``target_sr`` Hz, ceil(n * ratio) samples long."""
    if orig_sr == target_sr:
        return audio
    out = soxr.resample(audio, orig_sr, target_sr, quality="soxr_hq")
    size = math.ceil(len(audio) * float(target_sr) / orig_sr)
    out = out[:size] if len(out) >= size else np.pad(out, (0, size - len(out)))
    return np.asarray(out, dtype=audio.dtype)


def _hz_to_mel(hz: np.ndarray | float) -> np.ndarray:
    hz = np.asanyarray(hz, dtype=np.float64)
    mels = hz / _F_SP
    log_part = hz >= _MIN_LOG_HZ
    return np.where(log_part, _MIN_LOG_MEL + np.log(np.maximum(hz, _MIN_LOG_HZ) / _MIN_LOG_HZ) / _LOG_STEP, mels)


def _mel_to_hz(mels: np.ndarray) -> np.ndarray:
    hz = _F_SP * mels
    log_part = mels >= _MIN_LOG_MEL
    return np.where(log_part, _MIN_LOG_HZ * np.exp(_LOG_STEP * (mels - _MIN_LOG_MEL)), hz)


def mel_frequencies(n_mels: int, fmax: float, fmin: float = 0.0) -> np.ndarray:
    """``n_mels`` frequencies (Hz) evenly spaced on Slaney's mel scale from ``fmin`` to ``fmax``."""
    return _mel_to_hz(np.linspace(_hz_to_mel(fmin), _hz_to_mel(fmax), n_mels))


@functools.cache
def mel_filters(sample_rate_hz: int, n_fft: int, n_mels: int) -> np.ndarray:
    """(n_mels, n_fft // 2 + 1) float32 Slaney-normalised triangular mel filters from 0 Hz to Nyquist."""
    weights = np.zeros((n_mels, 1 + n_fft // 2), dtype=np.float32)
    fft_hz = np.fft.rfftfreq(n=n_fft, d=1.0 / sample_rate_hz)
    mel_hz = mel_frequencies(n_mels + 2, fmax=sample_rate_hz / 2)
    widths = np.diff(mel_hz)
    ramps = np.subtract.outer(mel_hz, fft_hz)
    for i in range(n_mels):
        weights[i] = np.maximum(0, np.minimum(-ramps[i] / widths[i], ramps[i + 2] / widths[i + 1]))
    weights *= (2.0 / (mel_hz[2:n_mels + 2] - mel_hz[:n_mels]))[:, np.newaxis]
    weights.flags.writeable = False
    return weights


@functools.cache
def _hann(n_fft: int) -> np.ndarray:
    """The periodic Hann window, computed as scipy.signal.get_window("hann", n_fft) does."""
    window = 0.5 + 0.5 * np.cos(np.linspace(-np.pi, np.pi, n_fft + 1)[:n_fft])
    window.flags.writeable = False
    return window


def power_mel(audio: np.ndarray, sample_rate_hz: int, n_fft: int, hop_length: int, n_mels: int,
              center: bool = True) -> np.ndarray:
    """(n_mels, frames) float32 power mel spectrogram of float32 ``audio``."""
    audio = np.asarray(audio, dtype=np.float32)
    if center:
        audio = np.pad(audio, n_fft // 2)
    if len(audio) < n_fft:
        raise ValueError(f"{len(audio)} samples are fewer than one FFT window ({n_fft})")
    frames = np.lib.stride_tricks.sliding_window_view(audio, n_fft)[::hop_length]  # (frames, n_fft), no copy
    spectrum = np.fft.rfft(_hann(n_fft) * frames, axis=-1).astype(np.complex64)  # float64 FFT, like librosa
    return mel_filters(sample_rate_hz, n_fft, n_mels) @ (np.abs(spectrum) ** 2).T
