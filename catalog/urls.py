from django.urls import path

from . import playlist_views, views

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
    path("playlists/", playlist_views.playlist_list, name="playlist-list"),
    path("playlists/add", playlist_views.playlist_add, name="playlist-add"),
    path("playlists/<int:pk>/", playlist_views.playlist_detail, name="playlist-detail"),
    path("playlists/<int:pk>/edit", playlist_views.playlist_edit, name="playlist-edit"),
    path("playlists/<int:pk>/delete", playlist_views.playlist_delete, name="playlist-delete"),
    path("playlists/<int:pk>/remove", playlist_views.playlist_remove, name="playlist-remove"),
]
