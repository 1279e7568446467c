from django.urls import path

from . import views

app_name = "catalog"
urlpatterns = [
    path("genres/", views.genre_list, name="genre-list"),
    path("genres/<slug:slug>/", views.genre_detail, name="genre-detail"),
    path("songs/", views.song_list, name="song-list"),
    path("songs/<int:pk>/", views.song_detail, name="song-detail"),
    path("songs/<int:pk>/stream", views.song_stream, name="song-stream"),
    path("songs/<int:pk>/spectrogram.png", views.song_spectrogram, name="song-spectrogram"),
    path("songs/<int:pk>/label", views.song_label, name="song-label"),
    path("songs/<int:pk>/visibility", views.song_visibility, name="song-visibility"),
    path("songs/<int:pk>/delete", views.song_delete, name="song-delete"),
    path("upload/", views.upload, name="upload"),
    path("history/", views.history, name="history"),
]
