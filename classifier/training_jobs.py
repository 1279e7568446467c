"""Training jobs (the admin's "Train a new model", and the nightly run when enough new labels arrived).

A ``fusion`` job is how the library teaches the model: it trains on the shipped base set (the known genres) plus
the songs people labelled, holding some labelled songs out. The candidate and the active model classify the same
held-out songs; the candidate is activated only if it does better, and both scores go into its metrics. Other
modes train on the library's labels alone and register the model inactive, for a person to judge.
"""

from __future__ import annotations

import logging
import time

import numpy as np
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from catalog.models import Genre, GenreLabel

from . import inference
from .dispatch import activate
from .datasets import LabelledClip, TrainingError, library_dataset, split_by_song
from .genre_model import GenreModel
from .models import ModelVersion, TrainingJob
from .training_options import FUSION_HEAD_EPOCHS, Progress, TrainingOptions

logger = logging.getLogger(__name__)

HOLDOUT_FRACTION = 0.25  # of each genre's labelled library songs, to compare the candidate with the active model


class JobProgress:
    """Writes a run's progress into its TrainingJob row, for the admin's live view; each report is also the job's
    heartbeat (classifier.sweeps.fail_stalled_training_jobs)."""

    def __init__(self, job: TrainingJob):
        self.job = job

    def __call__(self, progress: Progress) -> None:
        job = self.job
        job.progress, job.eta_s, job.message = min(progress.fraction, 1.0), progress.eta_s, progress.stage
        job.heartbeat_at = timezone.now()
        fields = ["progress", "eta_s", "message", "heartbeat_at"]
        if progress.epoch and progress.epoch != job.epoch:
            job.epoch = progress.epoch
            job.history = [*job.history, {"epoch": progress.epoch, **progress.metrics}]
            fields += ["epoch", "history"]
        TrainingJob.objects.filter(pk=job.pk).update(**{name: getattr(job, name) for name in fields})


def holdout_score(genre_model: GenreModel, clips: list[LabelledClip]) -> dict:
    """How ``genre_model`` classifies the held-out songs: accuracy, and the mean probability it gives the true
    genre (to break ties). Songs it cannot decode are skipped for both models alike (they fail for both)."""
    hits, true_probs = [], []
    for clip in clips:
        with clip.local_path() as path:
            result = inference.classify_file(path, genre_model)
        probs = dict(zip(result.genres, result.song_probs, strict=True))
        hits.append(result.top(1)[0][0] == clip.genre)
        true_probs.append(float(probs.get(clip.genre, 0.0)))
    return {"accuracy": float(np.mean(hits)), "mean_true_probability": float(np.mean(true_probs))}


def compare_with_active(version: ModelVersion, holdout: list[LabelledClip]) -> dict:
    """Scores of the candidate ``version`` and of the active model on the same held-out library songs, and
    whether the candidate is better (higher accuracy, or equal accuracy and surer of the true genres)."""
    candidate = holdout_score(inference.load_version(version), holdout)
    active = ModelVersion.get_active()
    active_score = holdout_score(inference.load_version(active), holdout) if active else None
    better = active_score is None or (candidate["accuracy"], candidate["mean_true_probability"]) > (
        active_score["accuracy"], active_score["mean_true_probability"])
    return {"songs": [clip.split_id for clip in holdout], "candidate": candidate,
            "active": None if active is None else {"model": active.name, **active_score}, "candidate_better": better}


def train_on_library(job: TrainingJob, options: TrainingOptions, report: JobProgress) -> tuple[ModelVersion, str]:
    """Run ``job``; returns the new model version and a summary for the job's message."""
    from .fusion_training import base_set_songs, train_fusion
    from .model_cards import new_model_name
    from .training import prepare_inputs, train

    if options.mode != TrainingJob.Mode.FUSION:
        result = train(library_dataset(job.genres or None), options, source="library", on_progress=report)
        metrics = result.model_version.metrics
        return result.model_version, (f"Registered {result.model_version.name} (inactive): song-level accuracy "
                                      f"{metrics['song_accuracy']:.0%} on {metrics['validation_songs']} validation songs.")
    started = time.monotonic()
    clips = library_dataset(job.genres or None, min_genres=1)
    train_clips, holdout = split_by_song(clips, HOLDOUT_FRACTION, options.seed)
    songs, skipped, cache_stats = prepare_inputs(train_clips, options, report)
    retired = set(Genre.objects.filter(retired=True).values_list("slug", flat=True))
    result = train_fusion(new_model_name(options), base_set_songs() + songs, skipped, cache_stats, options,
                          "base set + library", report, started, retired)
    version = result.model_version
    report(Progress(0.97, "comparing with the active model on held-out library songs"))
    comparison = compare_with_active(version, holdout)
    version.metrics = {**version.metrics, "library_holdout": comparison}
    version.save(update_fields=["metrics"])
    active = comparison["active"]
    scores = (f"held-out library songs ({len(holdout)}): candidate {comparison['candidate']['accuracy']:.0%}"
              + (f", active {active['model']} {active['accuracy']:.0%}" if active else ""))
    if comparison["candidate_better"]:
        activate(version, reclassify=True)
        return version, f"Activated {version.name}, better on {scores}; the library is being reclassified."
    return version, f"Kept the active model: {version.name} was not better on {scores}."


def run_job(job_id: int, time_limit_s: float | None = None) -> TrainingJob | None:
    """Run a queued training job; the job ends ``succeeded`` or ``failed`` with why.

    A job that is not queued (already run, or delivered twice) is left alone, a deleted one skipped (None).
    """
    with transaction.atomic():
        job = TrainingJob.objects.select_for_update().filter(pk=job_id).first()
        if job is None:
            logger.info("Training job %s no longer exists; nothing to run", job_id)
            return None
        if job.status != TrainingJob.Status.QUEUED:
            logger.info("Training job %s is %s, not queued; not running it again", job.pk, job.status)
            return job
        job.status, job.message, job.heartbeat_at = TrainingJob.Status.RUNNING, "reading the labels", timezone.now()
        job.save(update_fields=["status", "message", "heartbeat_at"])
    options = TrainingOptions(mode=job.mode, epochs=job.epochs, seed=job.pk)
    try:
        version, summary = train_on_library(job, options, JobProgress(job))
    except TrainingError as exc:
        return _finish(job, TrainingJob.Status.FAILED, str(exc))
    except SoftTimeLimitExceeded:
        return _finish(job, TrainingJob.Status.FAILED, f"training took longer than {time_limit_s} s and was stopped")
    except Exception as exc:
        logger.exception("Training job %s failed", job.pk)
        return _finish(job, TrainingJob.Status.FAILED, f"training failed unexpectedly: {type(exc).__name__}: {exc}")
    job.model_version, job.progress, job.eta_s = version, 1.0, 0.0
    return _finish(job, TrainingJob.Status.SUCCEEDED, summary)


def _finish(job: TrainingJob, status: str, message: str) -> TrainingJob:
    job.status, job.message, job.finished_at = status, message, timezone.now()
    if status == TrainingJob.Status.FAILED:
        job.eta_s = None
    job.save(update_fields=["status", "message", "finished_at", "eta_s", "progress", "model_version"])
    return job


def nightly_job_due() -> TrainingJob | None:
    """A queued fusion job when at least SKYBEAT_NIGHTLY_MIN_NEW_LABELS labels were given or changed since the
    last job started, and no job is queued or running; else None."""
    jobs = TrainingJob.objects.all()
    if jobs.filter(status__in=[TrainingJob.Status.QUEUED, TrainingJob.Status.RUNNING]).exists():
        return None
    last = jobs.order_by("-created_at").first()
    new_labels = GenreLabel.objects.filter(created_at__gt=last.created_at) if last else GenreLabel.objects.all()
    if new_labels.count() < settings.SKYBEAT_NIGHTLY_MIN_NEW_LABELS:
        return None
    return TrainingJob.objects.create(mode=TrainingJob.Mode.FUSION, epochs=FUSION_HEAD_EPOCHS,
                                      message="queued by the nightly run: new labels")
