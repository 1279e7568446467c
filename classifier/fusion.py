"""Fusing the trained CRNN head with the pretrained taggers' genre tags, calibrated by cross-validation.

The head knows only the genres it was trained on (GTZAN's ten, plus the library's own); the musicnn taggers
(MSD and MTT) have tags for more genres (electronic, folk, punk, ...). Per 3 s frame, with ``head_probs``
(n, K) from the head and ``evidence`` (n, T) = log of the likeliest tag's probability for each tagged genre
(:func:`tag_evidence`):

- a genre the head knows: ``s_k = log p_k + w * e_k + b_k`` (``e_k`` = 0 where it has no tag, e.g. reggae);
- a genre only the taggers know: ``s_x = log p_k* + b_k* + (e_x - sum_k q_k e_k) + d - a * log q_k*``, where k*
  is the head's best genre and ``q`` the head's probabilities after the biases. It takes k*'s place scaled by how
  much likelier the taggers find its tags than those of the genres the head hears (a log-ratio of tag
  probabilities, so no weight needs fitting; against the head's mixture of genres rather than k* alone, which
  found held-out genres 4 points more often in cross-validation). The doubt term (``a`` >= 0) lowers the bar
  where the head is unsure: a head never trained on a genre spreads its probability over the genres it knows (the
  maximum softmax probability as an open-set signal). For a head genre without tags, ``e_k`` here is the evidence
  its labelled songs' frames typically show for their likeliest tagged genre (:func:`untagged_references`):
  measured against no evidence (0, the log of certainty), no tag-only genre could ever win a frame the head hears
  as disco or reggae, and funk or dance heard as disco would stay disco. Fusions fitted before these two terms keep
  their rule (:attr:`Fusion.head_reference` "best", ``a`` = 0).

Frame probabilities are ``softmax(s / temperature)``; a song's are their mean (the average stage). ``w`` and ``b``
minimise the cross-validated log-loss of the labelled genres. Genres without labelled audio cannot be fitted
directly, so their situation is simulated (:class:`Holdout`): each tagged genre the head knows is held out in turn,
a head is trained on the others, and that genre's songs are scored as a tag-only genre. ``d``, ``a`` and
``temperature`` minimise the log-loss of the known genres' cross-validated songs and the held-out genres' songs
together, weighted as if every genre of the model were equally common (a library's mix of genres is unknown).
Without holdouts (a head of too few tagged genres) ``d`` falls back to letting ``EXTRA_FALSE_ALARM`` of labelled
frames flip to an extra genre, and ``a`` is 0. The confidence threshold is the lowest :func:`song_confidence`
above which those songs are right at least ``CONFIDENT_PRECISION`` of the time. Calibration songs should be real
tracks (a held-out excerpt is one): frames of one track err together, so songs stitched from several tracks would
look far surer than real songs are.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import numpy as np
from scipy.optimize import minimize, minimize_scalar
from scipy.special import expit, log_softmax, logsumexp

EXTRA_FALSE_ALARM = 0.05  # without holdouts: share of labelled frames that may flip to a tag-only genre
CONFIDENT_PRECISION = 0.9  # songs above the confidence threshold are right at least this often
RELIABILITY_BINS = 10
_LOG_FLOOR = 1e-6  # probabilities are floored before logs, so one frame can never veto a genre outright


TAG_POOLINGS = {"max": np.max, "sum": np.sum}  # how a genre's tag probabilities are pooled (see tag_evidence)


def tag_evidence(logits: np.ndarray, tag_columns: list[list[int]], pooling: str = "max") -> np.ndarray:
    """(n, tags) tagger logits -> (n, len(tag_columns)): log of each genre's tag columns' sigmoid probabilities
    pooled by ``pooling`` (0 for a genre without columns). Probabilities, unlike logits centred on each tag's
    mean, do not inflate rare tags.

    "max" (a genre is as likely as its likeliest tag) replaced "sum", which favours genres with many tags (rock
    has seven, blues one): in 5-fold cross-validation on genre-train with three seeds, it found tag-only genres
    (each tagged GTZAN genre held out of the head) first 2-5 points more often and labelled excerpts' own genres
    1 point more often; genre-balanced top-1 61.9/61.6/62.3 % -> 64.5/62.7/63.8 %. Models fitted with "sum"
    keep it (:attr:`Fusion.tag_pooling`).
    """
    probs = expit(np.asarray(logits, dtype=np.float64))
    pool = TAG_POOLINGS[pooling]
    out = np.zeros((len(probs), len(tag_columns)))
    for j, columns in enumerate(tag_columns):
        if columns:
            out[:, j] = np.log(pool(probs[:, columns], axis=1))
    return out


@dataclass(frozen=True)
class Fusion:
    """Fitted fusion parameters (JSON-serialisable with :meth:`to_dict`).

    ``head_genres`` (K) are the head's outputs; ``extra_genres`` are genres only the tags know. ``tagged`` marks,
    for each of ``head_genres + extra_genres``, whether it has tag evidence; ``tag_pooling`` is the evidence's
    (:func:`tag_evidence`; saved models without one were fitted with "sum"). ``head_reference`` is what a tag-only
    genre's evidence is measured against: "mixture" (the head's genres' evidence weighted by their probabilities)
    or "best" (its best genre's alone, as fusions saved without one were fitted).
    """

    head_genres: list[str]
    extra_genres: list[str]
    tagged: list[bool]
    tag_weight: float = 0.0
    head_bias: tuple[float, ...] = ()
    extra_offset: float = -np.inf
    temperature: float = 1.0
    confidence_threshold: float = 0.0
    tag_pooling: str = "max"
    untagged_reference: tuple[float, ...] = ()
    doubt_weight: float = 0.0
    head_reference: str = "mixture"

    @property
    def genres(self) -> list[str]:
        return [*self.head_genres, *self.extra_genres]

    def to_dict(self) -> dict:
        data = asdict(self)
        data["head_bias"] = list(self.head_bias)
        data["untagged_reference"] = list(self.untagged_reference)
        data["extra_offset"] = float(self.extra_offset) if np.isfinite(self.extra_offset) else None
        return data

    @classmethod
    def from_dict(cls, data: dict) -> Fusion:
        offset = data.get("extra_offset")
        return cls(**{"tag_pooling": "sum", "head_reference": "best", **data, "head_bias": tuple(data["head_bias"]),
                      "untagged_reference": tuple(data.get("untagged_reference", ())),
                      "extra_offset": -np.inf if offset is None else float(offset)})

    def _scores(self, head_probs: np.ndarray, evidence: np.ndarray, tag_weight: float, head_bias: np.ndarray,
                extra_offset: float) -> np.ndarray:
        k = len(self.head_genres)
        evidence = evidence * np.asarray(self.tagged)
        head = np.log(np.maximum(head_probs, _LOG_FLOOR)) + head_bias
        known = head + tag_weight * evidence[:, :k]
        if not self.extra_genres:
            return known
        best = head.argmax(axis=1)
        rows = np.arange(len(head))
        reference = np.where(self.tagged[:k], evidence[:, :k], self.untagged_reference or 0.0)
        log_q = head - logsumexp(head, axis=1, keepdims=True)
        expected = (np.exp(log_q) * reference).sum(axis=1) if self.head_reference == "mixture" \
            else reference[rows, best]
        extra = (head[rows, best] - expected - self.doubt_weight * log_q[rows, best])[:, None] \
            + evidence[:, k:] + extra_offset
        return np.concatenate([known, extra], axis=1)

    def scores(self, head_probs: np.ndarray, evidence: np.ndarray) -> np.ndarray:
        """Fused log-scores (n, len(genres)) of frames, before the temperature."""
        bias = np.asarray(self.head_bias) if self.head_bias else np.zeros(len(self.head_genres))
        return self._scores(head_probs, evidence, self.tag_weight, bias, self.extra_offset)

    def frame_probs(self, head_probs: np.ndarray, evidence: np.ndarray) -> np.ndarray:
        """(n, K) head probabilities and (n, len(genres)) tag evidence of frames -> (n, len(genres))."""
        return np.exp(log_softmax(self.scores(head_probs, evidence) / self.temperature, axis=1))


@dataclass
class Calibration:
    """Cross-validated songs to fit a :class:`Fusion` on: per song, its frames' head probabilities (n_i, K) and
    tag evidence (n_i, len(genres)), and its true genre's index in ``head_genres``."""

    head_probs: list[np.ndarray]
    evidence: list[np.ndarray]
    truth: np.ndarray


@dataclass
class Holdout:
    """Songs of a genre the head was not trained on, met as a tag-only genre: ``template`` is the fusion of a head
    trained without it (the genre among the extras), ``data`` its songs (``truth`` indexes ``template.genres``)."""

    template: Fusion
    data: Calibration


def song_confidence(frame_probs: np.ndarray) -> float:
    """How sure a song's genre is, the number its unsure mark is decided on: the normalised geometric mean of its
    frames' (n, G) probabilities, at the genre their arithmetic mean (the song's genre vector) ranks first.

    The arithmetic mean is flatter than its frames whenever they differ, so a threshold fitted on single 3 s
    excerpts marked nearly every multi-frame song unsure: in cross-validation on genre-train, 90 % of song-like
    sequences of 4 or more frames, which were 94-100 % right. The geometric mean is a frame's own probability when
    a song's frames agree, as the frames of one track mostly do, and falls when they disagree; for one frame it is
    that frame's probability, so a threshold fitted on excerpts applies to songs unchanged.
    """
    log_probs = np.log(np.maximum(frame_probs, _LOG_FLOOR)).mean(axis=0)
    top = int(np.asarray(frame_probs).mean(axis=0).argmax())
    return float(np.exp(log_probs[top] - logsumexp(log_probs)))


def song_confidences(fusion: Fusion, data: Calibration) -> np.ndarray:
    """Each calibration song's :func:`song_confidence` (songs,)."""
    return np.array([song_confidence(fusion.frame_probs(h, e)) for h, e in zip(data.head_probs, data.evidence,
                                                                                strict=True)])


def song_probs(fusion: Fusion, data: Calibration) -> np.ndarray:
    """Each calibration song's fused probabilities (songs, len(genres)): the mean of its frames'."""
    return np.stack([fusion.frame_probs(h, e).mean(axis=0) for h, e in zip(data.head_probs, data.evidence,
                                                                             strict=True)])


def _log_loss(fusion: Fusion, data: Calibration) -> float:
    probs = song_probs(fusion, data)
    return float(-np.log(np.maximum(probs[np.arange(len(probs)), data.truth], 1e-12)).mean())


def holdout_fusion(holdout: Holdout, fitted: Fusion) -> Fusion:
    """``fitted``'s parameters on the holdout's genres (its head biases by genre name)."""
    bias = dict(zip(fitted.head_genres, fitted.head_bias, strict=True))
    reference = dict(zip(fitted.head_genres, fitted.untagged_reference or [0.0] * len(fitted.head_genres),
                         strict=True))
    return replace(holdout.template, tag_weight=fitted.tag_weight, extra_offset=fitted.extra_offset,
                   temperature=fitted.temperature, doubt_weight=fitted.doubt_weight,
                   head_reference=fitted.head_reference,
                   head_bias=tuple(bias[g] for g in holdout.template.head_genres),
                   untagged_reference=tuple(reference[g] for g in holdout.template.head_genres))


def fit_fusion(template: Fusion, data: Calibration, holdouts: list[Holdout] = ()) -> Fusion:
    """Fit ``template``'s parameters on cross-validated songs and genre holdouts (see the module docstring)."""
    k = len(template.head_genres)
    head = np.concatenate(data.head_probs)
    evidence = np.concatenate(data.evidence)
    frame_truth = np.concatenate([[t] * len(h) for h, t in zip(data.head_probs, data.truth, strict=True)])
    known_only = Fusion(template.head_genres, [], template.tagged[:k])

    def frame_loss(params: np.ndarray) -> float:
        scores = known_only._scores(head, evidence[:, :k], params[0], params[1:], 0.0)
        return -(scores[np.arange(len(scores)), frame_truth] - logsumexp(scores, axis=1)).mean()

    params = minimize(frame_loss, np.zeros(k + 1), method="L-BFGS-B").x
    fitted = replace(template, tag_weight=float(params[0]), head_bias=tuple(float(b) for b in params[1:]),
                     untagged_reference=untagged_references(template, data))
    if template.extra_genres and holdouts:
        extra_share = len(template.extra_genres) / len(template.genres)

        def balanced(x: np.ndarray) -> Fusion:
            return replace(fitted, extra_offset=float(x[0]), temperature=float(np.exp(x[1])),
                           doubt_weight=max(float(x[2]), 0.0))

        def genre_balanced_loss(x: np.ndarray) -> float:
            trial = balanced(x)
            extra = np.mean([_log_loss(holdout_fusion(h, trial), h.data) for h in holdouts])
            return (1 - extra_share) * _log_loss(trial, data) + extra_share * extra

        fitted = balanced(minimize(genre_balanced_loss, np.array([_extra_offset(fitted, head, evidence), 0.0, 0.0]),
                                   method="Nelder-Mead").x)
    else:
        if template.extra_genres:
            fitted = replace(fitted, extra_offset=_extra_offset(fitted, head, evidence))
        temperature = float(np.exp(minimize_scalar(
            lambda log_t: _log_loss(replace(fitted, temperature=float(np.exp(log_t))), data),
            bounds=(-2.5, 2.5), method="bounded").x))
        fitted = replace(fitted, temperature=temperature)
    fusions = [(fitted, data)] + [(holdout_fusion(h, fitted), h.data) for h in holdouts]
    confidence = np.concatenate([song_confidences(f, d) for f, d in fusions])
    right = np.concatenate([song_probs(f, d).argmax(axis=1) == d.truth for f, d in fusions])
    return replace(fitted, confidence_threshold=confidence_threshold(confidence, right))


def untagged_references(template: Fusion, data: Calibration) -> tuple[float, ...]:
    """Per head genre without tags, the evidence its labelled songs' frames typically show for their likeliest
    tagged genre (mean over frames, a log-probability); 0 for tagged genres and genres without songs."""
    tagged = np.asarray(template.tagged)
    if not tagged.any():
        return (0.0,) * len(template.head_genres)
    references = []
    for index, has_tags in enumerate(template.tagged[:len(template.head_genres)]):
        frames = [e[:, tagged].max(axis=1) for e, t in zip(data.evidence, data.truth, strict=True) if t == index]
        references.append(float(np.concatenate(frames).mean()) if frames and not has_tags else 0.0)
    return tuple(references)


def _extra_offset(fusion: Fusion, head: np.ndarray, evidence: np.ndarray) -> float:
    """The offset at which EXTRA_FALSE_ALARM of labelled frames would flip to a genre only the tags know."""
    k = len(fusion.head_genres)
    scores = fusion._scores(head, evidence, fusion.tag_weight, np.asarray(fusion.head_bias), 0.0)
    # A frame flips once the offset exceeds (best known score) - (best extra score without offset).
    flip_at = scores[:, :k].max(axis=1) - scores[:, k:].max(axis=1)
    return float(np.quantile(flip_at, EXTRA_FALSE_ALARM))


def confidence_threshold(confidence: np.ndarray, correct: np.ndarray) -> float:
    """The lowest song confidence above which songs are right at least CONFIDENT_PRECISION of the time (1.0:
    no threshold achieves it, every song is unsure)."""
    order = np.argsort(-confidence)
    precision = np.cumsum(correct[order]) / np.arange(1, len(order) + 1)
    good = np.flatnonzero(precision >= CONFIDENT_PRECISION)
    return float(confidence[order][good[-1]]) if good.size else 1.0


def reliability(top_probs: np.ndarray, correct: np.ndarray, bins: int = RELIABILITY_BINS) -> dict:
    """Expected calibration error and the reliability diagram's bins (confidence, accuracy, count per bin)."""
    edges = np.linspace(0, 1, bins + 1)
    index = np.clip(np.digitize(top_probs, edges[1:-1]), 0, bins - 1)
    rows, ece = [], 0.0
    for b in range(bins):
        chosen = index == b
        if not chosen.any():
            continue
        confidence, accuracy = float(top_probs[chosen].mean()), float(correct[chosen].mean())
        ece += chosen.mean() * abs(confidence - accuracy)
        rows.append({"low": float(edges[b]), "high": float(edges[b + 1]), "confidence": confidence,
                     "accuracy": accuracy, "songs": int(chosen.sum())})
    return {"ece": float(ece), "bins": rows}
