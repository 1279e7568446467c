"""The genre model the rest of SKYBEAT uses: predict a song's genres from its frames, save and load it.

Architectures (``classifier.models.ModelVersion.Architecture``):

- ``pretrained-tags``: no training needed. The pretrained musicnn taggers (MSD and MTT) tag every frame; the
  tags that name genres are mapped onto SKYBEAT's default genres (:data:`GENRE_TAGS`) and calibrated (see
  :class:`PretrainedTagsGenreModel`).
- ``crnn-feature-extractor``: a frozen musicnn backbone embeds each frame; a trained CRNN head classifies them.
- ``crnn-fine-tune`` / ``crnn-from-scratch``: one trained Keras network from frames to genres.

An artefact is a directory: ``manifest.json`` (format version, architecture, genres, FrameSettings, backbones
with their weight versions, and the SHA-256 of every other file) plus the architecture's files, saved as one
version of the model's artefact directory (``classifier.artefacts``). Backbone weights are never copied into an
artefact; they are re-read from the installed musicnn package, whose version must match.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import NamedTuple

import numpy as np

from classifier.features import FrameSettings

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
log = logging.getLogger(__name__)


class ModelLoadError(Exception):
    """A genre model artefact cannot be used; the message says why."""


class GenreTags(NamedTuple):
    msd: tuple[str, ...]  # MSD_musicnn tags naming this genre
    mtt: tuple[str, ...]  # MTT_musicnn tags naming this genre


# Which pretrained tags name each of SKYBEAT's default genres (catalog.default_genres), by slug: only tags that
# name a genre or a sub-genre of it (instruments, moods and decades are left out). Disco and reggae have no tag in
# either tagger, so the pretrained-tags model cannot predict them; a trained model can.
GENRE_TAGS: dict[str, GenreTags] = {
    "blues": GenreTags(("blues",), ()),
    "classical": GenreTags((), ("classical", "classic", "harpsichord", "opera", "choral")),
    "country": GenreTags(("country",), ("country",)),
    "electronic": GenreTags(("electronic", "electronica", "electro"), ("electronic", "techno")),
    "folk": GenreTags(("folk",), ()),
    "hip-hop": GenreTags(("Hip-Hop",), ()),
    "jazz": GenreTags(("jazz",), ()),
    "metal": GenreTags(("metal", "heavy metal"), ("metal",)),
    "pop": GenreTags(("pop", "indie pop"), ("pop",)),
    "punk": GenreTags(("punk",), ()),
    "rnb-soul": GenreTags(("soul", "rnb"), ()),
    "rock": GenreTags(("rock", "classic rock", "alternative rock", "indie rock", "hard rock", "Progressive rock"),
                      ("rock",)),
    "ambient": GenreTags(("ambient", "chillout"), ("ambient", "new age")),
    "dance": GenreTags(("dance", "House"), ("dance",)),
    "funk": GenreTags(("funk",), ()),
}


def configure_tensorflow_threads(n: int) -> None:
    """Use ``n`` threads inside TensorFlow ops and ``n`` for running independent ops in parallel.

    Call it once per process before TensorFlow runs its first operation (before any model is built or
    loaded), e.g. at worker start-up: TensorFlow fixes its thread pools when its runtime starts, after which
    this only logs a warning. Also sets TF_NUM_INTRAOP_THREADS / TF_NUM_INTEROP_THREADS for child processes.
    """
    os.environ["TF_NUM_INTRAOP_THREADS"] = os.environ["TF_NUM_INTEROP_THREADS"] = str(n)
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(n)
        tf.config.threading.set_inter_op_parallelism_threads(n)
    except RuntimeError:
        log.warning("TensorFlow is already running; its thread pools keep their size (asked for %d)", n)


def _require_musicnn_features(settings: FrameSettings) -> None:
    """The musicnn backbones were trained on these features only (skip_s, max_frames and the level are free)."""
    musicnn = FrameSettings(skip_s=settings.skip_s, max_frames=settings.max_frames,
                            min_loudness_dbfs=settings.min_loudness_dbfs, max_loudness_dbfs=settings.max_loudness_dbfs)
    if settings != musicnn:
        raise ValueError(f"musicnn backbones need {musicnn}, got {settings}")


# --- models ------------------------------------------------------------------------------------------------------

class GenreModel:
    """Predicts genre probabilities from a song's log-mel frames (see ``classifier.features.song_frames``).

    ``genres``: genre slugs in output order; ``settings``: the FrameSettings frames must be computed with;
    ``architecture``: one of ModelVersion.Architecture's values.
    """

    architecture: str = ""
    #: Songs whose confidence (classifier.fusion.song_confidence) is below this are marked unsure (0: the model has
    #: no calibrated one).
    confidence_threshold: float = 0.0

    def __init__(self, genres: list[str], settings: FrameSettings):
        self.genres = list(genres)
        self.settings = settings

    def predict(self, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """frames (n, frame_length, n_mels) -> (frame_probs (n, G), song_probs (G,)), float64.

        One call per network for all the frames (inside, the musicnn backbones take them one by one, which is
        fastest on CPU: see MusicnnTagger.predict). Each row of frame_probs, and song_probs (their mean), sums to 1.
        """
        frame_probs, song_probs, _ = self.predict_with_embedding(frames)
        return frame_probs, song_probs

    def predict_with_embedding(self, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """:meth:`predict`, plus the song's audio embedding from the same pass: the mean of the per-frame backbone
        embeddings, L2-normalised, float32: the MSD + MTT musicnn embeddings (400-d) for the fusion and
        pretrained-tags models, None for the others."""
        frames = np.asarray(frames, dtype=np.float32)
        expected = (self.settings.frame_length, self.settings.n_mels)
        if frames.ndim != 3 or frames.shape[1:] != expected or len(frames) == 0:
            raise ValueError(f"expected frames shaped (n >= 1, {expected[0]}, {expected[1]}), got {frames.shape}")
        frame_probs, frame_embeddings = self._frame_outputs(frames)
        frame_probs = frame_probs.astype(np.float64)
        frame_probs /= frame_probs.sum(axis=1, keepdims=True)
        song_probs = frame_probs.mean(axis=0)
        embedding = None
        if frame_embeddings is not None:
            embedding = frame_embeddings.mean(axis=0).astype(np.float32)
            embedding /= max(float(np.linalg.norm(embedding)), 1e-12)
        return frame_probs, song_probs / song_probs.sum(), embedding

    def _frame_outputs(self, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """(n, frame_length, n_mels) float32 -> (n, G) probabilities and (n, D) backbone embeddings (or None)."""
        return self._frame_probs(frames), None

    def _frame_probs(self, frames: np.ndarray) -> np.ndarray:
        """(n, frame_length, n_mels) float32 -> (n, G) probabilities."""
        raise NotImplementedError

    def _save_files(self, directory: Path) -> dict:
        """Write the architecture's files into ``directory``; return its extra manifest entries."""
        raise NotImplementedError

    @classmethod
    def _load_files(cls, directory: Path, manifest: dict, genres: list[str], settings: FrameSettings) -> GenreModel:
        raise NotImplementedError


class PretrainedTagsGenreModel(GenreModel):
    """Genres from the pretrained MSD and MTT musicnn taggers' genre tags (:data:`GENRE_TAGS`), no training.

    Calibration, per frame:

    1. Each tag's logit minus its mean logit over the tagger's training data, which the weights themselves give
       exactly (:meth:`MusicnnTagger.training_mean_logits`): z = how many log-odds more this frame says "tag"
       than the average training clip. This removes the tags' different base rates (MSD's "rock" is the most
       frequent tag, "House" one of the rarest) without any audio data, which SKYBEAT does not ship.
    2. A genre's score is the max of z over its tags in both taggers: families owning many tags (rock owns six
       MSD tags) are not favoured as a sum would, and a genre named by both taggers uses the stronger evidence.
    3. softmax(score / temperature) over the genres, temperature 1: probabilities proportional to the odds
       ratios of step 1.

    Nothing here is fitted to audio: the two reference clips only check the result (tests/test_genre_model.py).
    Honest limits: the reference is the taggers' training sets (MSD / MagnaTagATune), not this library; genres
    without a tag (reggae) are not predicted; the max over more tags is slightly optimistic for big families.
    """

    architecture = "pretrained-tags"
    TAG_MAP = "tag_map.json"

    def __init__(self, genres: list[str], settings: FrameSettings, tag_columns: dict[str, dict[str, list[str]]],
                 mean_logits: dict[str, list[float]], temperature: float = 1.0):
        super().__init__(genres, settings)
        from classifier.backbones import load_musicnn

        self.tag_columns, self.mean_logits, self.temperature = tag_columns, mean_logits, temperature
        self.backbones = sorted(tag_columns)
        self._taggers = {name: load_musicnn(name) for name in self.backbones}
        _require_musicnn_features(settings)
        # Column indices of each genre's tags in the concatenation of the backbones' outputs.
        offsets = dict(zip(self.backbones, np.cumsum([0] + [len(self._taggers[n].labels) for n in self.backbones])))
        self._columns = []
        for genre in self.genres:
            columns = [offsets[name] + self._taggers[name].labels.index(tag)
                       for name in self.backbones for tag in tag_columns[name].get(genre, [])]
            if not columns:
                raise ValueError(f"genre {genre!r} has no tag")
            self._columns.append(columns)
        self._mean = np.concatenate([np.asarray(mean_logits[name], np.float32) for name in self.backbones])

    def _frame_outputs(self, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        outputs = {name: self._taggers[name].predict(frames) for name in self.backbones}
        z = np.concatenate([outputs[name]["logits"] for name in self.backbones], 1) - self._mean
        scores = np.stack([z[:, columns].max(axis=1) for columns in self._columns], axis=1) / self.temperature
        scores = np.exp(scores - scores.max(axis=1, keepdims=True))
        embeddings = None
        if tuple(self.backbones) == FUSION_BACKBONES:  # the default model's embedding space
            embeddings = np.concatenate([outputs[name]["embedding"] for name in FUSION_BACKBONES], axis=1)
        return scores / scores.sum(axis=1, keepdims=True), embeddings

    def _save_files(self, directory: Path) -> dict:
        payload = {"tag_columns": self.tag_columns, "mean_logits": self.mean_logits, "temperature": self.temperature}
        (directory / self.TAG_MAP).write_text(json.dumps(payload, indent=1))
        return {"backbones": self.backbones}

    @classmethod
    def _load_files(cls, directory, manifest, genres, settings):
        payload = json.loads((directory / cls.TAG_MAP).read_text())
        return cls(genres, settings, payload["tag_columns"], payload["mean_logits"], float(payload["temperature"]))


def build_pretrained_tags_model(settings: FrameSettings | None = None) -> PretrainedTagsGenreModel:
    """The out-of-the-box genre model: :data:`GENRE_TAGS`' genres, from both musicnn taggers."""
    from classifier.backbones import load_musicnn

    tag_columns = {"MSD_musicnn": {slug: list(tags.msd) for slug, tags in GENRE_TAGS.items() if tags.msd},
                   "MTT_musicnn": {slug: list(tags.mtt) for slug, tags in GENRE_TAGS.items() if tags.mtt}}
    mean_logits = {name: load_musicnn(name).training_mean_logits().tolist() for name in tag_columns}
    return PretrainedTagsGenreModel(list(GENRE_TAGS), settings or FrameSettings(), tag_columns, mean_logits)


class _KerasGenreModel(GenreModel):
    """A genre model around one Keras network (see classifier.networks) saved as ``network.keras``."""

    NETWORK = "network.keras"

    def __init__(self, genres: list[str], settings: FrameSettings, network, backbone: str | None = None):
        super().__init__(genres, settings)
        import tensorflow as tf

        self.network, self.backbone = network, backbone
        shape = network.input.shape[2:]
        spec = tf.TensorSpec((None, None, *shape), tf.float32)
        self._infer = tf.function(lambda x: network(x, training=False)["frames"], input_signature=[spec])

    def _network_input(self, frames: np.ndarray) -> np.ndarray:
        """(n, frame_length, n_mels) -> the network's input for one song, (1, n, ...)."""
        return frames[None]

    def _frame_probs(self, frames: np.ndarray) -> np.ndarray:
        return self._infer(self._network_input(frames)).numpy()[0]

    def _save_files(self, directory: Path) -> dict:
        self.network.save(directory / self.NETWORK)
        return {"backbones": [self.backbone] if self.backbone else []}

    @classmethod
    def _load_files(cls, directory, manifest, genres, settings):
        import keras

        import classifier.networks  # noqa: F401  (registers the custom layers)

        network = keras.saving.load_model(directory / cls.NETWORK, compile=False)
        if network.output["frames"].shape[-1] != len(genres):
            raise ModelLoadError(f"the network has {network.output['frames'].shape[-1]} outputs for "
                                 f"{len(genres)} genres")
        backbones = manifest["backbones"]
        return cls(genres, settings, network, backbones[0] if backbones else None)


class CrnnFineTuneGenreModel(_KerasGenreModel):
    """The fine-tuned pretrained encoder + CRNN head, one network from frames (networks.build_finetune_model)."""

    architecture = "crnn-fine-tune"


class CrnnFromScratchGenreModel(_KerasGenreModel):
    """The CRNN baseline trained from scratch (networks.build_from_scratch_model)."""

    architecture = "crnn-from-scratch"


class CrnnFeatureExtractorGenreModel(_KerasGenreModel):
    """A frozen musicnn backbone's per-frame embeddings into a trained head (networks.build_crnn_head)."""

    architecture = "crnn-feature-extractor"

    def __init__(self, genres: list[str], settings: FrameSettings, network, backbone: str | None = None):
        from classifier.backbones import load_musicnn

        if backbone is None:
            raise ValueError("a feature-extractor model needs its backbone's name")
        _require_musicnn_features(settings)
        super().__init__(genres, settings, network, backbone)
        self._tagger = load_musicnn(backbone)

    def _network_input(self, frames: np.ndarray) -> np.ndarray:
        return self._tagger.embed(frames)[None]


FUSION_BACKBONES = ("MSD_musicnn", "MTT_musicnn")


def fusion_frame_features(frames: np.ndarray) -> np.ndarray:
    """Log-mel frames (n, 187, 96) -> (n, 500) float32: the MSD and MTT taggers' penultimate embeddings (200 + 200)
    then their tag logits (50 + 50), from one pass of each tagger. The fused model's input, cached for training."""
    from classifier.backbones import load_musicnn

    outputs = [load_musicnn(name).predict(frames) for name in FUSION_BACKBONES]
    return np.concatenate([o["embedding"] for o in outputs] + [o["logits"] for o in outputs], axis=1)


def fusion_tag_columns(genres: list[str], tags: dict[str, dict[str, list[str]]]) -> list[list[int]]:
    """Each genre's tag columns in :func:`fusion_frame_features`' logits part (MSD's 50, then MTT's 50)."""
    from classifier.backbones import backbone_labels

    columns, offset = [[] for _ in genres], 0
    for name in FUSION_BACKBONES:
        labels = backbone_labels(name)
        for j, genre in enumerate(genres):
            columns[j] += [offset + labels.index(tag) for tag in tags.get(genre, {}).get(name, [])]
        offset += len(labels)
    return columns


def default_genre_tags() -> dict[str, dict[str, list[str]]]:
    """:data:`GENRE_TAGS` per genre slug and tagger."""
    return {slug: {"MSD_musicnn": list(tags.msd), "MTT_musicnn": list(tags.mtt)} for slug, tags in GENRE_TAGS.items()}


class FusionGenreModel(_KerasGenreModel):
    """The default model: a CRNN head (2-layer GRU) on the frozen MSD + MTT musicnn embeddings of each frame,
    fused with both taggers' genre tags (:mod:`classifier.fusion`), so genres without labelled training audio are
    still predicted from the tags. Every frame is predicted on its own and the song averages them (why: see
    classifier.fusion_training). Input standardisation, tag mapping and fusion parameters are in ``fusion.json``.
    """

    architecture = "crnn-fusion"
    FUSION = "fusion.json"
    EMBEDDING_DIM = 400

    def __init__(self, genres: list[str], settings: FrameSettings, network, fusion, tags: dict,
                 mean: np.ndarray, std: np.ndarray):
        _require_musicnn_features(settings)
        super().__init__(genres, settings, network, None)
        if list(genres) != fusion.genres:
            raise ValueError(f"the fusion's genres {fusion.genres} differ from the model's {genres}")
        self.fusion, self.tags = fusion, tags
        self.mean, self.std = np.asarray(mean, np.float32), np.asarray(std, np.float32)
        self.confidence_threshold = fusion.confidence_threshold
        self._tag_columns = fusion_tag_columns(fusion.genres, tags)

    def head_input(self, features: np.ndarray) -> np.ndarray:
        """(n, 500) frame features -> the head's standardised embeddings (n, 400)."""
        return (features[:, :self.EMBEDDING_DIM] - self.mean) / self.std

    def fuse(self, features: np.ndarray, head_probs: np.ndarray) -> np.ndarray:
        """(n, 500) frame features and the head's (n, K) probabilities -> fused frame probabilities (n, G)."""
        from classifier.fusion import tag_evidence

        evidence = tag_evidence(features[:, self.EMBEDDING_DIM:], self._tag_columns, self.fusion.tag_pooling)
        return self.fusion.frame_probs(head_probs, evidence)

    def feature_probs(self, features: np.ndarray) -> np.ndarray:
        """(n, 500) frame features (:func:`fusion_frame_features`) -> fused frame probabilities (n, G)."""
        # Each frame is a sequence of its own (see classifier.fusion_training): (n, 1, 400) -> (n, K).
        head_probs = self._infer(self.head_input(features)[:, None].astype(np.float32)).numpy()[:, 0]
        return self.fuse(features, head_probs)

    def _frame_outputs(self, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        features = fusion_frame_features(frames)
        return self.feature_probs(features), features[:, :self.EMBEDDING_DIM]

    def _save_files(self, directory: Path) -> dict:
        extra = super()._save_files(directory)
        payload = {"fusion": self.fusion.to_dict(), "tags": self.tags,
                   "mean": self.mean.tolist(), "std": self.std.tolist()}
        (directory / self.FUSION).write_text(json.dumps(payload))
        return {**extra, "backbones": list(FUSION_BACKBONES)}

    @classmethod
    def _load_files(cls, directory, manifest, genres, settings):
        import keras

        import classifier.networks  # noqa: F401  (registers the custom layers)
        from classifier.fusion import Fusion

        payload = json.loads((directory / cls.FUSION).read_text())
        fusion = Fusion.from_dict(payload["fusion"])
        network = keras.saving.load_model(directory / cls.NETWORK, compile=False)
        if network.output["frames"].shape[-1] != len(fusion.head_genres):
            raise ModelLoadError(f"the head has {network.output['frames'].shape[-1]} outputs for "
                                 f"{len(fusion.head_genres)} genres")
        return cls(genres, settings, network, fusion, payload["tags"], payload["mean"], payload["std"])
