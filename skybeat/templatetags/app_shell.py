"""{% app_shell %}: the stylesheet and script tags of every page, from the list the service worker caches."""

from django import template
from django.templatetags.static import static
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from skybeat.pwa import SHELL_SCRIPTS, SHELL_STYLES

register = template.Library()


@register.simple_tag
def app_shell() -> SafeString:
    styles = format_html_join("\n", '<link rel="stylesheet" href="{}">', ((static(path),) for path in SHELL_STYLES))
    scripts = format_html_join("\n", '<script src="{}" defer></script>', ((static(path),) for path in SHELL_SCRIPTS))
    return format_html("{}\n{}", styles, scripts)
