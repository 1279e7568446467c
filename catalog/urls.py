from django.urls import path
from django.views.generic import TemplateView

app_name = "catalog"
placeholder = TemplateView.as_view(template_name="base.html")
urlpatterns = [
    path("genres/", placeholder, name="genre-list"),
    path("genres/<slug:slug>/", placeholder, name="genre-detail"),
    path("songs/", placeholder, name="song-list"),
    path("songs/<int:pk>/", placeholder, name="song-detail"),
    path("upload/", placeholder, name="upload"),
    path("history/", placeholder, name="history"),
]
