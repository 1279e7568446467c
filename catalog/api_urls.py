from django.urls import path
from rest_framework.routers import DefaultRouter

from . import api


class OptionalSlashRouter(DefaultRouter):
    """Routes that answer with or without the trailing slash (`/api/songs/`, `/api/songs/1/stream`)."""

    include_root_view = False

    def __init__(self):
        super().__init__()
        self.trailing_slash = "/?"


router = OptionalSlashRouter()
router.register("songs", api.SongViewSet, basename="api-song")
router.register("genres", api.GenreViewSet, basename="api-genre")
router.register("listens", api.ListenViewSet, basename="api-listen")

urlpatterns = [
    path("me/history/", api.HistoryView.as_view(), name="api-history"),
    *router.urls,
]
