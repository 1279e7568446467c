from django.urls import path

from .api import MyMixView, SimilarSongsView

urlpatterns = [
    path("songs/<int:pk>/similar/", SimilarSongsView.as_view(), name="song-similar"),
    path("me/mix/", MyMixView.as_view(), name="my-mix"),
]
