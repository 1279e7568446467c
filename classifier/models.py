"""Django records of the genre classifier: model versions, training jobs, which model classified each song and
songs' audio embeddings.

The Keras network definitions live in ``classifier/networks.py`` (``models.py`` is Django's module name).
"""

import numpy as np
from django.conf import settings
from django.db import models, transaction


class ModelVersion(models.Model):
    class Architecture(models.TextChoices):
        PRETRAINED_TAGS = "pretrained-tags", "Pretrained musicnn taggers mapped to genres"
        CRNN_FUSION = "crnn-fusion", "CRNN on frozen pretrained embeddings, fused with the pretrained genre tags"
        CRNN_FEATURE_EXTRACTOR = "crnn-feature-extractor", "CRNN on a frozen pretrained backbone"
        CRNN_FINE_TUNE = "crnn-fine-tune", "CRNN with a fine-tuned pretrained backbone"
        CRNN_FROM_SCRATCH = "crnn-from-scratch", "CRNN trained from scratch"

    name = models.CharField(max_length=100, unique=True)
    architecture = models.CharField(max_length=32, choices=Architecture.choices)
    genres = models.JSONField(default=list, help_text="Genre slugs in the order of the model's outputs")
    feature_params = models.JSONField(default=dict, help_text="The FrameSettings the model was trained with")
    metrics = models.JSONField(default=dict, blank=True)
    model_card = models.JSONField(default=dict, blank=True)
    artefact_path = models.CharField(max_length=500, blank=True, help_text="Relative to SKYBEAT_MODELS_DIR")
    created_at = models.DateTimeField(auto_now_add=True)
    active = models.BooleanField(default=False)
    load_error = models.TextField(blank=True, help_text="Why the last attempt to load this model failed")
    shipped_build = models.CharField(
        max_length=64, blank=True, help_text="A model that comes with SKYBEAT: the SHA-256 of the shipped manifest "
        "of the build it was last loaded as (a worker that loads another build classifies its songs again)")

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["active"], condition=models.Q(active=True), name="one_active_model")
        ]

    def __str__(self) -> str:
        return f"{self.name}{' (active)' if self.active else ''}"

    @classmethod
    def get_active(cls) -> "ModelVersion | None":
        return cls.objects.filter(active=True).first()

    def activate(self) -> None:
        with transaction.atomic():
            ModelVersion.objects.filter(active=True).exclude(pk=self.pk).update(active=False)
            ModelVersion.objects.filter(pk=self.pk).update(active=True)
        self.active = True


class TrainingJob(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    class Mode(models.TextChoices):
        FUSION = "fusion", "Fusion: frozen backbones, CRNN head and pretrained genre tags (recommended)"
        FEATURE_EXTRACTOR = "feature-extractor", "Feature extractor (backbone frozen)"
        FINE_TUNE = "fine-tune", "Fine-tune the backbone"
        FROM_SCRATCH = "from-scratch", "From scratch (baseline)"

    mode = models.CharField(max_length=20, choices=Mode.choices, default=Mode.FUSION)
    genres = models.JSONField(default=list, blank=True, help_text="Genre slugs to train on; empty = all with enough labels")
    epochs = models.PositiveIntegerField(default=30)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    progress = models.FloatField(default=0, help_text="0 to 1")
    epoch = models.PositiveIntegerField(default=0)
    history = models.JSONField(default=list, blank=True, help_text="Per-epoch metrics")
    eta_s = models.FloatField(null=True, blank=True, help_text="Estimated seconds left")
    message = models.TextField(blank=True)
    model_version = models.ForeignKey(ModelVersion, on_delete=models.SET_NULL, null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True, help_text="The running job's latest progress report")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Training job {self.pk} ({self.mode}, {self.status})"


class ReclassifyJob(models.Model):
    """Reclassification of the whole library after a model is activated, in batches; a stalled one is resumed or
    failed by the periodic sweep (classifier.sweeps.resume_stalled_reclassify_jobs)."""

    model_version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True, help_text="The job's latest progress or resumption")
    resumes = models.PositiveSmallIntegerField(default=0, help_text="Times the sweep sent its songs again since "
                                                                     "its latest progress")
    message = models.TextField(blank=True, help_text="What went wrong, or how it was resumed")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Reclassify with {self.model_version.name}: {self.done}/{self.total}"

    @property
    def failed(self) -> bool:
        """Ended with songs left: the message says why."""
        return self.finished_at is not None and self.done < self.total


class SongClassification(models.Model):
    """Which model version gave a song its genre vector (catalog's GenrePrediction rows and the song's top genre)."""

    song = models.OneToOneField("catalog.Song", on_delete=models.CASCADE, primary_key=True,
                                related_name="classification")
    model_version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="classifications")

    def __str__(self) -> str:
        return f"{self.song_id} by {self.model_version_id}"


class AudioEmbedding(models.Model):
    """What a song sounds like to the network: the mean of its frames' backbone embeddings, L2-normalised, stored
    as float16 bytes. One per stored audio (identical bytes sound identical), written with each classification."""

    audio = models.OneToOneField("catalog.AudioBlob", on_delete=models.CASCADE, related_name="embedding")
    model_version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="+")
    vector = models.BinaryField()
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    def __str__(self) -> str:
        return f"Embedding of audio {self.audio_id} ({len(self.vector) // 2}-d)"

    @classmethod
    def store(cls, audio_id: int, model_version_id: int, embedding: np.ndarray) -> None:
        cls.objects.update_or_create(audio_id=audio_id, defaults={
            "model_version_id": model_version_id, "vector": np.asarray(embedding, "<f2").tobytes()})

    @staticmethod
    def decode(vector: bytes) -> np.ndarray:
        return np.frombuffer(vector, dtype="<f2").astype(np.float32)
