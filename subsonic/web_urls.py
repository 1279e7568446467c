from django.urls import path

from . import web

urlpatterns = [
    path("accounts/profile/", web.profile, name="profile"),
    path("accounts/profile/app-password", web.regenerate_app_password, name="profile-app-password"),
]
