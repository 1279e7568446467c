"""The persisted approximate-nearest-neighbour index of songs' sounds (see similar.index)."""

from django.db import models


class IndexBuild(models.Model):
    """One build of the approximate index over the library's audio embeddings (faiss, stored through the storage
    API). Every web process loads the newest build; embeddings written after ``watermark`` are searched exactly."""

    file = models.FileField(max_length=300, upload_to="similar/")
    space = models.CharField(max_length=16, help_text="Fingerprint of the similarity space of its vectors")
    items = models.PositiveIntegerField()
    watermark = models.DateTimeField(help_text="Embeddings updated after this are not in the index")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-pk"]

    def __str__(self) -> str:
        return f"Similarity index {self.pk} ({self.items} songs)"
