from django.urls import path

from . import views

app_name = "moods"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("radio/", views.radio, name="radio"),
]
