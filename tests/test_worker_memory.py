"""A classification worker hands back what only its start-up needed (classifier.memory), and still classifies
exactly as before."""

import json
import subprocess
import sys
from pathlib import Path

WORKER = """
import json, numpy as np
from classifier.genre_model import configure_tensorflow_threads
configure_tensorflow_threads(1)
from classifier.backbones import load_musicnn
from classifier.memory import release_startup_memory, resident_bytes
frames = np.random.default_rng(0).standard_normal((2, 187, 96)).astype(np.float32)
tagger = load_musicnn("MSD_musicnn")
before = tagger.predict(frames)["logits"]
loaded = resident_bytes()
released = release_startup_memory()
after = tagger.predict(frames)["logits"]
print(json.dumps({"loaded_mb": loaded / 2**20, "released_mb": released / 2**20,
                  "after_mb": resident_bytes() / 2**20, "same": bool(np.array_equal(before, after))}))
"""


def test_a_loaded_worker_releases_start_up_memory_and_predicts_the_same():
    done = subprocess.run([sys.executable, "-c", WORKER], capture_output=True, text=True, check=True,
                          cwd=Path(__file__).resolve().parent.parent)
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["same"]
    assert figures["released_mb"] > 150, figures  # TensorFlow's start-up code pages, at least
    assert figures["after_mb"] < figures["loaded_mb"] - 150, figures
