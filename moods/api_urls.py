from django.urls import path

from .api import MyMoodView

urlpatterns = [path("me/mood/", MyMoodView.as_view(), name="my-mood")]
