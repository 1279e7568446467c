"""Admin for training: "Train a new model" (a TrainingJob on the training queue), its live progress, a
trained model's metrics panel and confusion matrix (the genre actions are in classifier.catalog_admin).
"""

from __future__ import annotations

import logging
from pathlib import Path

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.db import transaction
from django.http import FileResponse, Http404, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from skybeat.queue import BrokerUnavailable, publish

from . import labels
from .artefacts import live_artefact_dir
from .models import ModelVersion, TrainingJob
from .training_options import FUSION_HEAD_EPOCHS

logger = logging.getLogger(__name__)

MODEL_PICTURES = {"confusion": "confusion.png", "reliability": "reliability.png"}  # URL name -> file in the artefact
TRAIN_TASK = "classifier.training_tasks.train_model"  # routed to the training queue by CELERY_TASK_ROUTES
MAX_EPOCHS = 500


class TrainingJobForm(forms.ModelForm):
    genres = forms.MultipleChoiceField(
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Leave all unticked to train on every genre that has enough labelled songs.",
    )
    epochs = forms.IntegerField(
        min_value=1, max_value=MAX_EPOCHS, initial=30,
        help_text=f"At most this many; training stops early when validation loss stops improving. Fusion trains "
                  f"each head for exactly this many ({FUSION_HEAD_EPOCHS} made the shipped model).",
    )

    class Meta:
        model = TrainingJob
        fields = ["mode", "genres", "epochs"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "genres" in self.fields:  # the read-only view of an existing job has no form fields
            self.fields["genres"].choices = [(item.genre.slug, genre_choice_label(item))
                                             for item in labels.readiness()]


def genre_choice_label(item: labels.GenreReadiness) -> str:
    verdict = "enough to train" if item.ready else f"needs {item.needed}"
    return f"{item.genre.name} — {item.labelled} labelled songs ({verdict})"


def job_progress(job: TrainingJob) -> dict:
    """What the admin's progress panel shows, as JSON."""
    version = job.model_version
    return {
        "status": job.status,
        "status_label": job.get_status_display(),
        "progress": job.progress,
        "epoch": job.epoch,
        "epochs": job.epochs,
        "eta_s": job.eta_s,
        "message": job.message,
        "history": job.history,
        "finished": job.status in (TrainingJob.Status.SUCCEEDED, TrainingJob.Status.FAILED),
        "model_version": None if version is None else {
            "name": version.name,
            "url": reverse("admin:classifier_modelversion_change", args=[version.pk]),
        },
    }


def enqueue(job: TrainingJob) -> None:
    """Send the job to the training queue; if the broker cannot take it, the job fails saying so."""
    try:
        publish(TRAIN_TASK, [[job.pk]])
    except BrokerUnavailable as exc:  # the job must not sit "queued" forever
        logger.warning("Could not enqueue training job %s: %s", job.pk, exc)
        TrainingJob.objects.filter(pk=job.pk).update(
            status=TrainingJob.Status.FAILED, finished_at=timezone.now(),
            message=f"could not reach the task queue, nothing was started ({exc}); try again later",
        )


@admin.register(TrainingJob)
class TrainingJobAdmin(admin.ModelAdmin):
    form = TrainingJobForm
    list_display = ("__str__", "mode", "status", "progress_bar", "epoch", "model_version", "created_by", "created_at")
    list_filter = ("status", "mode")
    change_list_template = "admin/classifier/trainingjob/change_list.html"

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["mode", "genres", "epochs"]
        return ["live_progress", "mode", "genres", "epochs", "created_by", "created_at", "heartbeat_at", "finished_at",
                "model_version"]

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.get_fields(request, obj)

    def has_change_permission(self, request, obj=None):
        return False if obj is not None else super().has_change_permission(request, obj)

    def add_view(self, request, form_url="", extra_context=None):
        return super().add_view(request, form_url, {**(extra_context or {}), "title": "Train a new model"})

    def save_model(self, request, obj, form, change):
        obj.created_by = request.user
        super().save_model(request, obj, form, change)
        transaction.on_commit(lambda: enqueue(obj))

    def response_add(self, request, obj, post_url_continue=None):
        """Straight to the job's page, where its progress shows live."""
        self.message_user(request, f"{obj} is queued on the training queue.", messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:classifier_trainingjob_change", args=[obj.pk]))

    @admin.display(description="Progress")
    def progress_bar(self, obj: TrainingJob) -> str:
        return format_html('<progress max="1" value="{}"></progress> {}%', obj.progress, round(obj.progress * 100))

    @admin.display(description="Progress")
    def live_progress(self, obj: TrainingJob) -> str:
        return render_to_string("admin/classifier/trainingjob/_progress.html", {
            "job": obj,
            "data": job_progress(obj),
            "url": reverse("admin:classifier_trainingjob_progress", args=[obj.pk]),
        })

    def get_urls(self):
        own = [
            path("<int:pk>/progress.json", self.admin_site.admin_view(self.progress_json),
                 name="classifier_trainingjob_progress"),
            path("model/<int:pk>/confusion.png", self.admin_site.admin_view(self.model_picture),
                 {"picture": "confusion"}, name="classifier_modelversion_confusion"),
            path("model/<int:pk>/reliability.png", self.admin_site.admin_view(self.model_picture),
                 {"picture": "reliability"}, name="classifier_modelversion_reliability"),
        ]
        return own + super().get_urls()

    def progress_json(self, request, pk: int) -> JsonResponse:
        if not self.has_view_permission(request):
            raise Http404
        return JsonResponse(job_progress(get_object_or_404(TrainingJob, pk=pk)))

    def model_picture(self, request, pk: int, picture: str) -> FileResponse:
        if not request.user.is_staff:
            raise Http404
        image = model_picture_path(get_object_or_404(ModelVersion, pk=pk), picture)
        if image is None:
            raise Http404(f"this model has no {picture} picture")
        return FileResponse(open(image, "rb"), content_type="image/png")


def model_picture_path(version: ModelVersion, picture: str) -> Path | None:
    """The model's confusion matrix or reliability diagram PNG, if it has one inside the models folder."""
    if not version.artefact_path:
        return None
    models_dir = Path(settings.SKYBEAT_MODELS_DIR).resolve()
    image = (live_artefact_dir(version) / MODEL_PICTURES[picture]).resolve()
    if not image.is_relative_to(models_dir) or not image.is_file():
        return None
    return image


def metrics_panel(version: ModelVersion) -> str:
    """The metrics of a trained model for its admin page (ModelVersionAdmin shows it as a read-only field)."""
    metrics = version.metrics or {}
    genres = version.genres or []
    per_genre = metrics.get("per_genre", {})
    rows = [{"slug": slug, **per_genre.get(slug, {})} for slug in genres]
    confusion = metrics.get("confusion") or []
    return render_to_string("admin/classifier/modelversion/_metrics.html", {
        "version": version,
        "metrics": metrics,
        "rows": rows,
        "confusion": list(zip(genres, confusion)),
        "genres": genres,
        **{f"{picture}_url": reverse(f"admin:classifier_modelversion_{picture}", args=[version.pk])
           if model_picture_path(version, picture) else None for picture in MODEL_PICTURES},
    })
