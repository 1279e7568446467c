"""Small display helpers of the library pages."""

from django import template
from django.utils.safestring import mark_safe

from catalog import extensions

register = template.Library()


@register.filter
def duration(seconds: float | None) -> str:
    """Seconds as m:ss (or h:mm:ss); an em dash when unknown."""
    if seconds is None:
        return "—"
    total = int(round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


@register.filter
def percent(probability: float | None) -> str:
    """A probability (0–1) as a whole percentage, e.g. 0.873 → "87 %"."""
    return "—" if probability is None else f"{probability * 100:.0f} %"


@register.filter
def filesize_mb(size_bytes: int | None) -> str:
    return "—" if size_bytes is None else f"{size_bytes / 1_000_000:.1f} MB"


@register.simple_tag(takes_context=True)
def own_playlists(context) -> list:
    """The signed-in member's playlists (id and name), for the "add to playlist" menus of song rows."""
    user = context.get("user")
    if user is None or not user.is_authenticated:
        return []
    return list(user.playlists.order_by("name", "pk").values("pk", "name"))


@register.simple_tag
def song_columns() -> list:
    """The extra song-table columns other apps registered (see catalog.extensions)."""
    return extensions.panels("song_columns")


@register.simple_tag(takes_context=True)
def render_panels(context, slot: str, obj=None) -> str:
    """Render the panels registered for ``slot`` (see catalog.extensions) with the page's context."""
    html = []
    engine = context.template.engine
    for panel in extensions.panels(slot):
        extra = panel.context(context.get("request"), obj) if panel.context else {}
        with context.push(extra):
            html.append(engine.get_template(panel.template).render(context))
    return mark_safe("".join(html))
