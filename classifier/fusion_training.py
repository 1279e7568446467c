"""Training the default ``crnn-fusion`` model: a CRNN head on frozen musicnn embeddings, fused with the taggers'
genre tags (:mod:`classifier.fusion`), everything calibrated by grouped cross-validation.

1. Every song's frames become (n, 500) features: MSD + MTT embeddings and tag logits (cached per song).
2. ``CV_FOLDS``-fold cross-validation by song: a head is trained on the other folds and predicts each held-out
   song, and held-out frame sequences (:func:`classifier.datasets.frame_sequences`) shaped like library songs.
3. The fusion is fitted on those out-of-fold predictions; its cross-validated metrics go into the model card.
4. The final head is trained on every song and saved with the fusion.

The head (2-layer GRU, per-frame softmax, mean over frames) is trained on frame sequences of 1 to
``MAX_SEQUENCE_FRAMES`` frames, because a 2-3 s excerpt is one frame but a library song has up to 40: sequences
of one genre's excerpts teach the GRU to read songs of that length.
"""

from __future__ import annotations

import time
from pathlib import Path

import keras
import numpy as np

from .artefacts import live_artefact_dir
from .datasets import LabelledClip, frame_sequences, song_folds
from .fusion import Calibration, Fusion, fit_fusion, reliability, song_probs, tag_evidence
from .genre_model import FUSION_BACKBONES, FusionGenreModel, default_genre_tags, fusion_tag_columns
from .model_cards import CARD_FILE, card_header, save_and_register
from .networks import build_crnn_head
from .song_batches import SongInputs, pad_songs
from .training_options import FIT_SHARE, PREPARE_SHARE, Progress, ProgressCallback, TrainingOptions, TrainingResult

CV_FOLDS = 5
MAX_SEQUENCE_FRAMES = 24  # longest training sequence (frames); inference songs have 1 to 40
SEQUENCES_PER_EPOCH = 800
SEQUENCES_PER_BATCH = 32
CALIBRATION_SEQUENCES_PER_FOLD = 120
EMBEDDING_DIM = FusionGenreModel.EMBEDDING_DIM
BASE_SET = Path(__file__).resolve().parent / "shipped" / "base-set.npz"


def base_set_songs(path: Path = BASE_SET) -> list[SongInputs]:
    """The shipped base set: cached fusion features (float16) of the labelled excerpts the default model was
    trained on (genre-train; derived numbers, no audio), so a library run keeps the known genres."""
    with np.load(path, allow_pickle=False) as data:
        features, lengths = data["features"].astype(np.float32), data["lengths"]
        genres, keys = data["genres"].tolist(), data["keys"].tolist()
    bounds = np.concatenate([[0], np.cumsum(lengths)])
    return [SongInputs(LabelledClip(key, genre), features[bounds[i]:bounds[i + 1]])
            for i, (key, genre) in enumerate(zip(keys, genres, strict=True))]


def save_base_set(songs: list[SongInputs], path: Path = BASE_SET) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, features=np.concatenate([s.frames for s in songs]).astype(np.float16),
                        lengths=np.array([len(s.frames) for s in songs]),
                        genres=np.array([s.clip.genre for s in songs]), keys=np.array([s.clip.key for s in songs]))
    return path


class HeadTrainer:
    """Trains CRNN heads on songs' (n, 500) features for ``head_genres``, standardising the embeddings."""

    def __init__(self, head_genres: list[str], options: TrainingOptions):
        self.head_genres, self.options = head_genres, options
        self.index = {genre: i for i, genre in enumerate(head_genres)}

    def fit(self, songs: list[SongInputs], seed: int, on_epoch=None) -> tuple[keras.Model, np.ndarray, np.ndarray]:
        """(network, mean, std) trained on ``songs`` for ``options.epochs`` epochs of fresh sequences."""
        keras.utils.set_random_seed(seed)
        rng = np.random.default_rng(seed)
        embeddings = np.concatenate([s.frames[:, :EMBEDDING_DIM] for s in songs])
        mean, std = embeddings.mean(axis=0), embeddings.std(axis=0) + 1e-6
        inputs = [(s.frames[:, :EMBEDDING_DIM] - mean) / std for s in songs]
        targets = [self.index[s.clip.genre] for s in songs]
        network = build_crnn_head(EMBEDDING_DIM, len(self.head_genres))
        song_view = keras.Model(network.input, network.output["song"])
        song_view.compile(optimizer=network.optimizer, loss="categorical_crossentropy")
        one_hot = np.eye(len(self.head_genres), dtype=np.float32)
        for epoch in range(self.options.epochs):
            sequences, genres = frame_sequences(inputs, targets, SEQUENCES_PER_EPOCH, MAX_SEQUENCE_FRAMES, rng)
            # Batches of similar lengths waste little time on padding; their order is shuffled.
            order = np.argsort([len(seq) for seq in sequences], kind="stable")
            batches = [order[i:i + SEQUENCES_PER_BATCH] for i in range(0, len(order), SEQUENCES_PER_BATCH)]
            for batch in rng.permutation(len(batches)):
                chosen = batches[batch]
                song_view.train_on_batch(pad_songs([sequences[i] for i in chosen]), one_hot[genres[chosen]])
            if on_epoch:
                on_epoch(epoch + 1)
        return network, mean.astype(np.float32), std.astype(np.float32)


def head_frame_probs(network: keras.Model, sequences: list[np.ndarray]) -> list[np.ndarray]:
    """Per-frame head probabilities (n_i, K) of each standardised sequence (n_i, 400)."""
    out = []
    for start in range(0, len(sequences), SEQUENCES_PER_BATCH):
        batch = sequences[start:start + SEQUENCES_PER_BATCH]
        frames = network.predict(pad_songs(batch), verbose=0)["frames"]
        out += [frames[i, :len(seq)] for i, seq in enumerate(batch)]
    return out


def cross_validate(songs: list[SongInputs], trainer: HeadTrainer, all_genres: list[str], tags: dict,
                   report: ProgressCallback) -> tuple[Calibration, Calibration]:
    """Out-of-fold predictions: (held-out songs as they are, held-out frame sequences like library songs)."""
    tag_columns = fusion_tag_columns(all_genres, tags)
    by_key = {song.clip.key: song for song in songs}
    folds = song_folds([song.clip for song in songs], CV_FOLDS, trainer.options.seed)
    single, sequences = Calibration([], [], np.empty(0, int)), Calibration([], [], np.empty(0, int))
    for number, fold in enumerate(folds):
        held_out = {clip.key for clip in fold}
        train = [song for song in songs if song.clip.key not in held_out]
        test = [by_key[key] for key in sorted(held_out)]

        def on_epoch(epoch: int, number=number) -> None:
            done = (number + epoch / trainer.options.epochs) / (CV_FOLDS + 1)
            report(Progress(PREPARE_SHARE + FIT_SHARE * done, f"cross-validation fold {number + 1}/{CV_FOLDS}, "
                            f"epoch {epoch}/{trainer.options.epochs}"))

        network, mean, std = trainer.fit(train, seed=trainer.options.seed + number + 1, on_epoch=on_epoch)
        rng = np.random.default_rng(trainer.options.seed + 100 + number)
        test_features = [song.frames for song in test]
        picked, genres = frame_sequences(test_features, [trainer.index[s.clip.genre] for s in test],
                                         CALIBRATION_SEQUENCES_PER_FOLD, MAX_SEQUENCE_FRAMES, rng)
        for target, features, truth in ((single, test_features, [trainer.index[s.clip.genre] for s in test]),
                                        (sequences, picked, genres)):
            probs = head_frame_probs(network, [(f[:, :EMBEDDING_DIM] - mean) / std for f in features])
            target.head_probs.extend(probs)
            target.evidence.extend(tag_evidence(f[:, EMBEDDING_DIM:], tag_columns) for f in features)
            target.truth = np.concatenate([target.truth, truth])
    return single, sequences


def cv_metrics(fusion: Fusion, single: Calibration, sequences: Calibration) -> dict:
    """Cross-validated metrics of the fused model. Calibration, confusion and recall are on the held-out
    excerpts, one real track each (what the fusion was fitted on, so slightly optimistic); song accuracy is on
    held-out frame sequences, whose frames come from several tracks of a genre and so agree less often than a real
    song's frames do errors: an upper bound for multi-frame songs."""
    genres = fusion.genres

    probs, single_probs = song_probs(fusion, sequences), song_probs(fusion, single)
    truth, predicted = sequences.truth, probs.argmax(axis=1)
    top3 = (np.argsort(-probs, axis=1)[:, :3] == truth[:, None]).any(axis=1)
    correct = predicted == truth
    excerpt_predicted = single_probs.argmax(axis=1)
    excerpt_correct = excerpt_predicted == single.truth
    confusion = np.zeros((len(genres), len(genres)), dtype=int)
    np.add.at(confusion, (single.truth, excerpt_predicted), 1)
    confident = single_probs.max(axis=1) >= fusion.confidence_threshold
    return {
        "song_accuracy": float(correct.mean()),
        "song_top3_accuracy": float(top3.mean()),
        "frame_accuracy": float(excerpt_correct.mean()),
        "multi_frame_gain": float(correct.mean() - excerpt_correct.mean()),
        "validation_songs": int(len(truth)),
        "validation_excerpts": int(len(single.truth)),
        "per_genre": {genre: {"songs": int((single.truth == i).sum()),
                              "recall": float(excerpt_correct[single.truth == i].mean())
                              if (single.truth == i).any() else None}
                      for i, genre in enumerate(fusion.head_genres)},
        "confusion": confusion.tolist(),
        "confusion_genres": genres,
        "reliability": reliability(single_probs.max(axis=1), excerpt_correct),
        "confidence_threshold": fusion.confidence_threshold,
        "confident_share": float(confident.mean()),
        "confident_accuracy": float(excerpt_correct[confident].mean()) if confident.any() else None,
        "extra_genre_false_alarms": float((excerpt_predicted >= len(fusion.head_genres)).mean()),
        "fusion": fusion.to_dict(),
    }


def fusion_template(head_genres: list[str], tags: dict, retired: set[str] = frozenset()) -> Fusion:
    """The fusion's shape: the head's genres, then every tagged genre the head lacks (not retired)."""
    extra = [genre for genre in tags if genre not in head_genres and genre not in retired]
    tagged = [any(tags.get(genre, {}).values()) for genre in [*head_genres, *extra]]
    return Fusion(head_genres, extra, tagged)


def fit_fusion_model(name: str, songs: list[SongInputs], skipped: list[dict], cache_stats: dict,
                     options: TrainingOptions, source: str, report: ProgressCallback, started: float,
                     retired: set[str] = frozenset()) -> tuple[FusionGenreModel, dict]:
    """Cross-validate, fit the fusion and train the final head on every song: (the model, its card)."""
    tags = default_genre_tags()
    head_genres = sorted({song.clip.genre for song in songs})
    template = fusion_template(head_genres, tags, retired)
    trainer = HeadTrainer(head_genres, options)
    single, sequences = cross_validate(songs, trainer, template.genres, tags, report)
    fusion = fit_fusion(template, single)
    metrics = cv_metrics(fusion, single, sequences)

    def on_epoch(epoch: int) -> None:
        done = (CV_FOLDS + epoch / options.epochs) / (CV_FOLDS + 1)
        report(Progress(PREPARE_SHARE + FIT_SHARE * done, f"final head, epoch {epoch}/{options.epochs}"))

    network, mean, std = trainer.fit(songs, seed=options.seed, on_epoch=on_epoch)
    report(Progress(PREPARE_SHARE + FIT_SHARE, "saving", eta_s=None))
    model = FusionGenreModel(template.genres, options.frame_settings(), network, fusion, tags, mean, std)
    card = {
        **card_header(name, options, source, template.genres, list(FUSION_BACKBONES)),
        "head_genres": head_genres,
        "training": {"cv_folds": CV_FOLDS, "max_sequence_frames": MAX_SEQUENCE_FRAMES,
                     "sequences_per_epoch": SEQUENCES_PER_EPOCH},
        "data": {"songs": {genre: sum(s.clip.genre == genre for s in songs) for genre in head_genres},
                 "frames": int(sum(len(s.frames) for s in songs)), "skipped": skipped},
        "metrics": metrics,
        "embedding_cache": cache_stats,
        "training_seconds": round(time.monotonic() - started, 1),
    }
    return model, card


def train_fusion(name: str, songs: list[SongInputs], skipped: list[dict], cache_stats: dict,
                 options: TrainingOptions, source: str, report: ProgressCallback, started: float,
                 retired: set[str] = frozenset()) -> TrainingResult:
    """:func:`fit_fusion_model`, then save the model and register it (inactive)."""
    model, card = fit_fusion_model(name, songs, skipped, cache_stats, options, source, report, started, retired)
    version = save_and_register(name, model, card)
    report(Progress(1.0, f"registered {name}", eta_s=0.0))
    return TrainingResult(version, card, live_artefact_dir(version) / CARD_FILE, [], cache_stats)
