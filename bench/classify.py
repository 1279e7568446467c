"""Benchmark genre classification with the default model (crnn-fusion over the MSD + MTT musicnn taggers), on one
core, as a classification worker runs it.

    .venv/bin/python bench/classify.py              # songs of 30 s, 4 min, 20 min and 2 h
    .venv/bin/python bench/classify.py --no-original --model pretrained-tags

Songs are MP3s (44.1 kHz stereo) looped from the two musicnn reference clips, built in a temporary directory.
Per song, in a process that loads the model as a worker does (TensorFlow's threads, the model, a warm-up, then
classifier.memory.release_startup_memory, as classifier.inference does): decode, mel and network time, real-time
factor (song seconds per second of work), the peak resident memory while classifying it and the process's peak
since it started (loading included). Then the network alone against the original musicnn
TF1 graph (../shared/tools/musicnn_reference.py, beside the repository; run in its own process and environment) on the reference
clips' 3 s patches. That environment is var/bench-venv: a venv that sees this project's packages through a .pth
file and adds tf-keras (what the original's tf.compat.v1.layers need), created with pip on first run.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

os.environ.update({"TF_CPP_MIN_LOG_LEVEL": "3", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
                   "MKL_NUM_THREADS": "1", "TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1"})
BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

REFERENCE = BASE_DIR.parent / "shared/data/musicnn-reference"
CLIPS = ["joram-moments_of_clarity-08-solipsism-59-88.mp3", "TRWJAZW128F42760DD_test.mp3"]
ORIGINAL_TOOL = BASE_DIR.parent / "shared/tools/musicnn_reference.py"
BENCH_VENV = BASE_DIR / "var" / "bench-venv"
DEFAULT_MODEL = "genre-crnn-gtzan"  # classifier/shipped/, the model a new SKYBEAT classifies with
LENGTHS_S = {"30 s": 30, "4 min": 240, "20 min": 1200, "2 h": 7200}
TARGET_PEAK_MB = 700


def build_songs(directory: Path) -> dict[str, Path]:
    """MP3s of each length: both reference clips at 44.1 kHz stereo, encoded once, then looped without
    re-encoding (ffmpeg -stream_loop -c copy)."""
    import librosa
    import numpy as np
    import soundfile

    base = np.concatenate([librosa.load(REFERENCE / clip, sr=44100, mono=True)[0] for clip in CLIPS])
    soundfile.write(directory / "base.wav", np.stack([base, base], axis=1), 44100)
    ffmpeg = ["ffmpeg", "-nostdin", "-loglevel", "error", "-y"]
    subprocess.run([*ffmpeg, "-i", directory / "base.wav", "-b:a", "192k", directory / "base.mp3"], check=True)
    songs = {}
    for label, seconds in LENGTHS_S.items():
        loops = int(seconds // (len(base) / 44100))
        songs[label] = directory / f"song-{seconds}s.mp3"
        subprocess.run([*ffmpeg, "-stream_loop", str(loops), "-i", directory / "base.mp3", "-t", str(seconds),
                        "-c", "copy", songs[label]], check=True)
    return songs


class Timers:
    """Accumulated CPU seconds of wrapped functions."""

    def __init__(self):
        self.cpu: dict[str, float] = {}

    def wrap(self, module, name: str, label: str) -> None:
        function = getattr(module, name)

        def timed(*args, **kwargs):
            start = time.process_time()
            try:
                return function(*args, **kwargs)
            finally:
                self.cpu[label] = self.cpu.get(label, 0.0) + time.process_time() - start

        setattr(module, name, timed)


@contextmanager
def peak_rss():
    """Samples the resident set size every 5 ms; yields a dict that gets "peak_mb" when the block ends."""
    import psutil

    process, result, stop = psutil.Process(), {}, threading.Event()
    peak = [process.memory_info().rss]

    def sample():
        while not stop.wait(0.005):
            peak[0] = max(peak[0], process.memory_info().rss)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield result
    finally:
        stop.set()
        thread.join()
        result["peak_mb"] = max(peak[0], process.memory_info().rss) / 2**20


def load_model(model: str):
    """The model as a worker has it: TensorFlow's threads set, the model loaded and warmed up, start-up memory
    released (classifier.inference.configure_threads and load_version)."""
    from classifier.genre_model import configure_tensorflow_threads
    from classifier.memory import release_startup_memory

    configure_tensorflow_threads(1)
    release_startup_memory()
    from classifier.genre_model import build_pretrained_tags_model
    from classifier.model_store import load_genre_model

    if model == "pretrained-tags":
        genre_model = build_pretrained_tags_model()
    else:
        genre_model = load_genre_model(BASE_DIR / "classifier" / "shipped" / DEFAULT_MODEL)
    return genre_model


def song_worker(path: Path, repeats: int, model_name: str) -> None:
    """(runs in its own process) Classify one song ``repeats`` times after a warm-up; print one JSON line of
    medians: CPU seconds per stage, wall seconds, peak RSS while classifying, frames, duration, top genre, and the
    process's peak RSS (loading included)."""
    import resource

    from classifier import features
    from classifier.memory import release_startup_memory

    model = load_model(model_name)
    timers = Timers()
    timers.wrap(features, "_decode_regions", "decode")
    timers.wrap(features, "log_mel", "mel")
    model.predict(features.song_frames(path, model.settings).frames)  # warm-up: tracing, JIT, caches
    release_startup_memory()
    runs = []
    for _ in range(repeats):
        timers.cpu.clear()
        with peak_rss() as memory:
            wall, cpu = time.perf_counter(), time.process_time()
            song = features.song_frames(path, model.settings)
            network = time.process_time()
            _, song_probs = model.predict(song.frames)
            done = time.process_time()
            wall = time.perf_counter() - wall
        runs.append({**timers.cpu, "network": done - network, "total": done - cpu, "wall": wall,
                     "peak_mb": memory["peak_mb"]})
    median = {key: sorted(run[key] for run in runs)[len(runs) // 2] for key in runs[0]}
    top = int(song_probs.argmax())
    print(json.dumps({**median, "frames": len(song.frames), "duration_s": song.duration_s,
                      "process_peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "top": f"{model.genres[top]} ({song_probs[top]:.2f})"}))


def classify_songs(songs: dict[str, Path], repeats: int, model: str) -> dict[str, dict]:
    """One warm process per song (so peak memory is comparable across lengths); print the table."""
    from bench.machine import describe_cpu

    print(f"\n{model} genre model (MSD + MTT musicnn), one core, median of {repeats}, on {describe_cpu()}")
    print("CPU seconds per stage; RTF = song seconds / total CPU seconds; peak RSS of the whole process while "
          "classifying, and since it started (loading included)")
    print(f"{'song':>7} {'frames':>6} {'decode':>7} {'mel':>7} {'network':>8} {'total':>7} {'RTF':>6} "
          f"{'wall s':>7} {'peak RSS':>9} {'since start':>12}  top genre")
    results = {}
    for label, path in songs.items():
        done = subprocess.run([sys.executable, __file__, "--song-worker", str(path), "--repeats", str(repeats),
                               "--model", model], check=True, capture_output=True, text=True)
        r = results[label] = json.loads(done.stdout.strip().splitlines()[-1])
        r["rtf"] = r["duration_s"] / r["total"]
        print(f"{label:>7} {r['frames']:>6} {r['decode']:>7.3f} {r['mel']:>7.3f} {r['network']:>8.3f} "
              f"{r['total']:>7.3f} {r['rtf']:>5.0f}x {r['wall']:>7.2f} {r['peak_mb']:>6.0f} MB "
              f"{r['process_peak_mb']:>9.0f} MB  {r['top']}")
    return results


def reference_patches() -> list:
    """The reference clips' 3 s patches, prepared as expected.json describes."""
    import librosa
    import numpy as np

    patches = []
    for clip in CLIPS:
        audio, sr = librosa.load(REFERENCE / clip, sr=16000)
        mel = librosa.feature.melspectrogram(y=audio, sr=sr, n_fft=512, hop_length=256, n_mels=96).T
        mel = np.log10(10000 * mel.astype(np.float32) + 1)
        patches.append(np.stack([mel[s:s + 187] for s in range(0, len(mel) - 186, 187)]))
    return patches


def time_network(run, batches, seconds: float = 8.0) -> dict:
    """Wall and CPU ms per patch of ``run(batch)`` over the batches, repeated for about ``seconds``."""
    for batch in batches:
        run(batch)  # warm-up
    patches, wall, cpu = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - wall < seconds:
        for batch in batches:
            run(batch)
            patches += len(batch)
    return {"wall_ms": (time.perf_counter() - wall) / patches * 1000,
            "cpu_ms": (time.process_time() - cpu) / patches * 1000, "patches": patches}


def original_worker(model: str) -> None:
    """(runs in the bench venv) Time the original TF1 graph on the reference patches; print one JSON line."""
    sys.path.insert(0, str(ORIGINAL_TOOL.parent))
    import musicnn_reference

    tagger = musicnn_reference.Tagger(model)
    print(json.dumps(time_network(tagger, reference_patches())))


def ensure_bench_venv() -> Path:
    """var/bench-venv: this project's packages (via a .pth file) plus tf-keras 2.21. Returns its python."""
    python = BENCH_VENV / "bin" / "python"
    if not (BENCH_VENV / ".ready").exists():
        subprocess.run([sys.executable, "-m", "venv", "--clear", BENCH_VENV], check=True)
        site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                              check=True, capture_output=True, text=True).stdout.strip()
        import sysconfig

        Path(site, "skybeat-main-venv.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
        pip = subprocess.run([python, "-m", "pip", "install", "--quiet", "--no-deps", "tf-keras==2.21.0"],
                             capture_output=True, text=True)
        if pip.returncode:
            raise RuntimeError(f"could not install tf-keras into {BENCH_VENV}:\n{pip.stdout}{pip.stderr}")
        (BENCH_VENV / ".ready").touch()
    return python


def compare_with_original() -> dict[str, float]:
    """Print and return the CPU speed-up of our network over the original, per backbone."""
    from classifier.backbones import load_musicnn

    patches = reference_patches()
    print("\nnetwork only, reference clips' 3 s patches (one core): ours vs the original musicnn TF1 graph")
    print(f"{'model':>12} {'ours wall':>10} {'ours CPU':>9} {'orig wall':>10} {'orig CPU':>9} {'speed-up (CPU)':>15}")
    python, speed_ups = ensure_bench_venv(), {}
    for model in ("MSD_musicnn", "MTT_musicnn"):
        ours = time_network(load_musicnn(model).predict, patches)
        env = {**os.environ, "TF_USE_LEGACY_KERAS": "1"}
        done = subprocess.run([python, __file__, "--original-worker", model], check=True, capture_output=True,
                              text=True, env=env)
        original = json.loads(done.stdout.strip().splitlines()[-1])
        speed_ups[model] = original["cpu_ms"] / ours["cpu_ms"]
        print(f"{model:>12} {ours['wall_ms']:>7.1f} ms {ours['cpu_ms']:>6.1f} ms {original['wall_ms']:>7.1f} ms "
              f"{original['cpu_ms']:>6.1f} ms {speed_ups[model]:>14.2f}x")
    return speed_ups


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--model", choices=["default", "pretrained-tags"], default="default",
                        help=f"the shipped default ({DEFAULT_MODEL}) or the pretrained-tags model")
    parser.add_argument("--no-original", action="store_true", help="skip the comparison with the original")
    parser.add_argument("--original-worker", metavar="MODEL", help=argparse.SUPPRESS)
    parser.add_argument("--song-worker", metavar="PATH", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.original_worker:
        original_worker(args.original_worker)
        return
    if args.song_worker:
        song_worker(args.song_worker, args.repeats, args.model)
        return
    with tempfile.TemporaryDirectory(prefix="skybeat-bench-") as tmp:
        results = classify_songs(build_songs(Path(tmp)), args.repeats, args.model)
    speed_ups = {} if args.no_original else compare_with_original()
    print("\ntargets")
    for label, r in results.items():
        print(f"  >= 100x real time on one core, {label:>6}: {r['rtf']:5.0f}x  {'met' if r['rtf'] >= 100 else 'MISSED'}")
    for label, r in results.items():
        peak = max(r["peak_mb"], r["process_peak_mb"])
        print(f"  peak RSS <= {TARGET_PEAK_MB} MB, {label:>6}: {peak:5.0f} MB  {'met' if peak <= TARGET_PEAK_MB else 'MISSED'}")
    growth = results["2 h"]["peak_mb"] - results["4 min"]["peak_mb"]
    print(f"  flat memory from 4 min to 2 h: {growth:+.0f} MB  {'met' if growth < 50 else 'MISSED'}")
    for model, speed_up in speed_ups.items():
        print(f"  network >= 2x the original's patch throughput, {model}: {speed_up:.2f}x  "
              f"{'met' if speed_up >= 2 else 'MISSED'}")


if __name__ == "__main__":
    main()
