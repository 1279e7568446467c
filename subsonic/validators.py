"""A login password must never be the app password (AUTH_PASSWORD_VALIDATORS): phone apps keep the app password
in clear, so it must not open the web site too."""

from django.core.exceptions import ValidationError

from .models import AppPassword


class NotTheAppPasswordValidator:
    def validate(self, password: str, user=None) -> None:
        if user is not None and user.pk and AppPassword.objects.filter(user_id=user.pk, password=password).exists():
            raise ValidationError("Your password cannot be your app password.", code="password_is_app_password")

    def get_help_text(self) -> str:
        return "Your password cannot be your app password."
