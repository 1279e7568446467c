"""Training the default ``crnn-fusion`` model: a CRNN head on frozen musicnn embeddings, fused with the taggers'
genre tags (:mod:`classifier.fusion`), everything calibrated by grouped cross-validation.

1. Every song's frames become (n, 500) features: MSD + MTT embeddings and tag logits (cached per song).
2. ``CV_FOLDS``-fold cross-validation by song: a head is trained on the other folds and predicts each held-out
   song, and held-out frame sequences (:func:`classifier.datasets.frame_sequences`) shaped like library songs.
3. Genre holdouts: each tagged genre is left out of a head in turn, and its songs are scored as a genre only the
   tags know (:class:`classifier.fusion.Holdout`): how the fusion meets electronic or funk, which have no audio.
4. The fusion is fitted on those out-of-fold predictions; its cross-validated metrics go into the model card.
5. The final head is trained on every song and saved with the fusion.

Sequence length: the head (2-layer GRU, per-frame softmax) reads every 3 s frame as a sequence of its own, and a
song's genre vector is the mean of its frames' (the multi-frame average stage), so it is trained on single frames
(``MAX_SEQUENCE_FRAMES`` = 1), as it sees them at inference. A GRU reading a song's frames in one sequence would
count them as independent evidence, but a song's frames are alike: in cross-validation on genre-train, a head
trained on sequences of 1-24 excerpts of one genre grew surer when a held-out excerpt was repeated 6 times (mean
top probability 0.85 -> 0.92) at the same accuracy (78 %), doubling its calibration error (0.07 -> 0.16).

Seed ensemble: the head is the average of ``ENSEMBLE_HEADS`` heads trained with different seeds: with 479
excerpts one head's predictions vary with its seed. In 5-fold cross-validation on genre-train, 3 heads of 10 epochs
averaged had a held-out log-loss of 0.68 against 0.73 for one head of 10 epochs and 0.86 for one of 20 (top-1
80.8 %, 80.6 %, 79.3 %).
"""

from __future__ import annotations

import time
from pathlib import Path

import keras
import numpy as np

from .artefacts import live_artefact_dir
from .datasets import LabelledClip, frame_sequences, song_folds
from .fusion import (
    Calibration, Fusion, Holdout, fit_fusion, holdout_fusion, reliability, song_confidences, song_probs, tag_evidence,
)
from .genre_model import FUSION_BACKBONES, FusionGenreModel, default_genre_tags, fusion_tag_columns
from .model_cards import CARD_FILE, card_header, save_and_register
from .networks import average_heads, build_crnn_head
from .song_batches import SongInputs, pad_songs
from .training_options import FIT_SHARE, PREPARE_SHARE, Progress, ProgressCallback, TrainingOptions, TrainingResult

CV_FOLDS = 5
MAX_SEQUENCE_FRAMES = 1  # longest training sequence (frames); see the module docstring
ENSEMBLE_HEADS = 3  # heads of different seeds averaged into one; see the module docstring
SEQUENCES_PER_EPOCH = 800
SEQUENCES_PER_BATCH = 32
CALIBRATION_SEQUENCES_PER_FOLD = 120
SONG_LIKE_FRAMES = 24  # longest held-out sequence stitched from excerpts to measure multi-frame accuracy
MIN_HOLDOUT_HEAD_GENRES = 3  # a genre is held out only if the head keeps at least this many others
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


class FitProgress:
    """Reports the share of head fits done (cross-validation folds, genre holdouts, the final head); a fit trains
    ``ENSEMBLE_HEADS`` heads of ``epochs`` epochs each."""

    def __init__(self, report: ProgressCallback, fits: int, epochs: int):
        self.report, self.fits, self.epochs, self.done = report, fits, epochs * ENSEMBLE_HEADS, 0

    def epoch_callback(self, stage: str):
        def on_epoch(epoch: int) -> None:
            share = (self.done + epoch / self.epochs) / self.fits
            self.report(Progress(PREPARE_SHARE + FIT_SHARE * share, f"{stage}, epoch {epoch}/{self.epochs}"))
            if epoch == self.epochs:
                self.done += 1
        return on_epoch


class HeadTrainer:
    """Trains CRNN heads on songs' (n, 500) features for ``head_genres``, standardising the embeddings: a seed
    ensemble of ``ENSEMBLE_HEADS`` heads, averaged (see the module docstring)."""

    def __init__(self, head_genres: list[str], options: TrainingOptions):
        self.head_genres, self.options = head_genres, options
        self.index = {genre: i for i, genre in enumerate(head_genres)}

    def fit(self, songs: list[SongInputs], seed: int, on_epoch=None) -> tuple[keras.Model, np.ndarray, np.ndarray]:
        """(network, mean, std) trained on ``songs``; ``on_epoch`` counts the epochs of all heads."""
        embeddings = np.concatenate([s.frames[:, :EMBEDDING_DIM] for s in songs])
        mean, std = embeddings.mean(axis=0), embeddings.std(axis=0) + 1e-6
        inputs = [(s.frames[:, :EMBEDDING_DIM] - mean) / std for s in songs]
        targets = [self.index[s.clip.genre] for s in songs]
        heads = []
        for number in range(ENSEMBLE_HEADS):
            done = number * self.options.epochs
            report = (lambda epoch, done=done: on_epoch(done + epoch)) if on_epoch else None
            heads.append(self._fit_head(inputs, targets, seed + 1000 * number, f"crnn_head_{number}", report))
        return average_heads(heads), mean.astype(np.float32), std.astype(np.float32)

    def _fit_head(self, inputs: list[np.ndarray], targets: list[int], seed: int, name: str, on_epoch=None
                  ) -> keras.Model:
        """One head trained for ``options.epochs`` epochs of fresh sequences."""
        keras.utils.set_random_seed(seed)
        rng = np.random.default_rng(seed)
        network = build_crnn_head(EMBEDDING_DIM, len(self.head_genres), name=name)
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
        return network


def head_frame_probs(network: keras.Model, songs: list[np.ndarray]) -> list[np.ndarray]:
    """Per-frame head probabilities (n_i, K) of each song's standardised frames (n_i, 400), every frame read as a
    sequence of its own, as :class:`~classifier.genre_model.FusionGenreModel` reads them."""
    frames = np.concatenate(songs)[:, None].astype(np.float32)
    probs = network.predict(frames, batch_size=256, verbose=0)["frames"][:, 0]
    return np.split(probs, np.cumsum([len(song) for song in songs])[:-1])


def cross_validate(songs: list[SongInputs], trainer: HeadTrainer, template: Fusion, tags: dict,
                   progress: FitProgress) -> tuple[Calibration, Calibration]:
    """Out-of-fold predictions for ``template``'s genres and tag pooling: (held-out songs as they are, held-out
    frame sequences like library songs)."""
    tag_columns, pooling = fusion_tag_columns(template.genres, tags), template.tag_pooling
    by_key = {song.clip.key: song for song in songs}
    folds = song_folds([song.clip for song in songs], CV_FOLDS, trainer.options.seed)
    single, sequences = Calibration([], [], np.empty(0, int)), Calibration([], [], np.empty(0, int))
    for number, fold in enumerate(folds):
        held_out = {clip.key for clip in fold}
        train = [song for song in songs if song.clip.key not in held_out]
        test = [by_key[key] for key in sorted(held_out)]

        stage = f"cross-validation fold {number + 1}/{CV_FOLDS}"
        network, mean, std = trainer.fit(train, seed=trainer.options.seed + number + 1,
                                         on_epoch=progress.epoch_callback(stage))
        rng = np.random.default_rng(trainer.options.seed + 100 + number)
        test_features = [song.frames for song in test]
        picked, genres = frame_sequences(test_features, [trainer.index[s.clip.genre] for s in test],
                                         CALIBRATION_SEQUENCES_PER_FOLD, SONG_LIKE_FRAMES, rng)
        for target, features, truth in ((single, test_features, [trainer.index[s.clip.genre] for s in test]),
                                        (sequences, picked, genres)):
            probs = head_frame_probs(network, [(f[:, :EMBEDDING_DIM] - mean) / std for f in features])
            target.head_probs.extend(probs)
            target.evidence.extend(tag_evidence(f[:, EMBEDDING_DIM:], tag_columns, pooling) for f in features)
            target.truth = np.concatenate([target.truth, truth])
    return single, sequences


def holdout_genres(head_genres: list[str], tags: dict) -> list[str]:
    """The head's tagged genres that can each be left out of a head of at least MIN_HOLDOUT_HEAD_GENRES others."""
    if len(head_genres) <= MIN_HOLDOUT_HEAD_GENRES:
        return []
    return [genre for genre in head_genres if any(tags.get(genre, {}).values())]


def genre_holdouts(songs: list[SongInputs], head_genres: list[str], tags: dict, options: TrainingOptions,
                   progress: FitProgress, retired: set[str] = frozenset()) -> list[Holdout]:
    """For each of :func:`holdout_genres`, a head trained without it and its songs scored as a tag-only genre."""
    holdouts = []
    for number, genre in enumerate(holdout_genres(head_genres, tags)):
        others = [g for g in head_genres if g != genre]
        template = fusion_template(others, tags, retired)
        network, mean, std = HeadTrainer(others, options).fit(
            [s for s in songs if s.clip.genre != genre], seed=options.seed + 200 + number,
            on_epoch=progress.epoch_callback(f"genre holdout {genre}"))
        held = [s for s in songs if s.clip.genre == genre]
        columns = fusion_tag_columns(template.genres, tags)
        data = Calibration(head_frame_probs(network, [(s.frames[:, :EMBEDDING_DIM] - mean) / std for s in held]),
                           [tag_evidence(s.frames[:, EMBEDDING_DIM:], columns, template.tag_pooling) for s in held],
                           np.full(len(held), template.genres.index(genre)))
        holdouts.append(Holdout(template, data))
    return holdouts


def _holdout_metrics(fusion: Fusion, holdouts: list[Holdout]) -> dict:
    """Per held-out genre, how often its songs come out first and in the top 3 as a tag-only genre."""
    out = {}
    for holdout in holdouts:
        probs = song_probs(holdout_fusion(holdout, fusion), holdout.data)
        rank = (np.argsort(-probs, axis=1) == holdout.data.truth[:, None]).argmax(axis=1)
        out[holdout.template.genres[holdout.data.truth[0]]] = {
            "songs": len(rank), "recall": float((rank == 0).mean()), "top3_recall": float((rank < 3).mean())}
    return out


def cv_metrics(fusion: Fusion, single: Calibration, sequences: Calibration, holdouts: list[Holdout] = ()) -> dict:
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
    confidence = song_confidences(fusion, single)
    confident = confidence >= fusion.confidence_threshold
    tag_only = _holdout_metrics(fusion, holdouts)
    extra_share = len(fusion.extra_genres) / len(genres)
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
        "reliability": reliability(confidence, excerpt_correct),
        "confidence_threshold": fusion.confidence_threshold,
        "confident_share": float(confident.mean()),
        "confident_accuracy": float(excerpt_correct[confident].mean()) if confident.any() else None,
        "extra_genre_false_alarms": float((excerpt_predicted >= len(fusion.head_genres)).mean()),
        "tag_only_genres": tag_only,
        "genre_balanced_accuracy": float(extra_share * np.mean([m["recall"] for m in tag_only.values()])
                                         + (1 - extra_share) * excerpt_correct.mean()) if tag_only else None,
        "fusion": fusion.to_dict(),
    }


def fusion_template(head_genres: list[str], tags: dict, retired: set[str] = frozenset()) -> Fusion:
    """The fusion's shape: the head's genres, then every tagged genre the head lacks (not retired)."""
    extra = [genre for genre in tags if genre not in head_genres and genre not in retired]
    tagged = [any(tags.get(genre, {}).values()) for genre in [*head_genres, *extra]]
    return Fusion(head_genres, extra, tagged)


def cross_validated_fusion(songs: list[SongInputs], options: TrainingOptions, progress: FitProgress,
                           retired: set[str] = frozenset()) -> tuple[Fusion, dict]:
    """Steps 2-4 of the module docstring: the fitted fusion and its cross-validated metrics."""
    tags = default_genre_tags()
    head_genres = sorted({song.clip.genre for song in songs})
    template = fusion_template(head_genres, tags, retired)
    single, sequences = cross_validate(songs, HeadTrainer(head_genres, options), template, tags, progress)
    holdouts = genre_holdouts(songs, head_genres, tags, options, progress, retired)
    fusion = fit_fusion(template, single, holdouts)
    return fusion, cv_metrics(fusion, single, sequences, holdouts)


def head_fits(songs: list[SongInputs]) -> int:
    """How many heads :func:`fit_fusion_model` trains: folds, genre holdouts and the final one."""
    return CV_FOLDS + len(holdout_genres(sorted({s.clip.genre for s in songs}), default_genre_tags())) + 1


def fit_fusion_model(name: str, songs: list[SongInputs], skipped: list[dict], cache_stats: dict,
                     options: TrainingOptions, source: str, report: ProgressCallback, started: float,
                     retired: set[str] = frozenset()) -> tuple[FusionGenreModel, dict]:
    """Cross-validate, fit the fusion and train the final head on every song: (the model, its card)."""
    progress = FitProgress(report, head_fits(songs), options.epochs)
    fusion, metrics = cross_validated_fusion(songs, options, progress, retired)
    trainer = HeadTrainer(fusion.head_genres, options)
    network, mean, std = trainer.fit(songs, seed=options.seed, on_epoch=progress.epoch_callback("final head"))
    report(Progress(PREPARE_SHARE + FIT_SHARE, "saving", eta_s=None))
    model = FusionGenreModel(fusion.genres, options.frame_settings(), network, fusion, default_genre_tags(),
                             mean, std)
    card = {
        **card_header(name, options, source, fusion.genres, list(FUSION_BACKBONES)),
        "head_genres": fusion.head_genres,
        "training": {"cv_folds": CV_FOLDS, "max_sequence_frames": MAX_SEQUENCE_FRAMES,
                     "song_like_frames": SONG_LIKE_FRAMES,
                     "sequences_per_epoch": SEQUENCES_PER_EPOCH},
        "data": {"songs": {genre: sum(s.clip.genre == genre for s in songs) for genre in fusion.head_genres},
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
