"""Forms of the library pages; the API validates its query parameters with the same filter form."""

import copy

from django import forms

from . import extensions
from .models import Genre, Song
from .services import SORTS

SORT_LABELS = {
    "newest": "Newest first",
    "oldest": "Oldest first",
    "title": "Title",
    "artist": "Artist",
    "duration": "Duration",
    "confidence": "Genre confidence",
}


class SongFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=200, label="Search",
                        widget=forms.TextInput(attrs={"placeholder": "Title, artist or album", "type": "search"}))
    genre = forms.ModelChoiceField(queryset=Genre.objects.all(), to_field_name="slug", required=False,
                                   empty_label="All genres")
    uploader = forms.CharField(required=False, max_length=150, widget=forms.TextInput(attrs={"placeholder": "Username"}))
    status = forms.ChoiceField(choices=[("", "Any status"), *Song.Status.choices], required=False)
    sort = forms.ChoiceField(choices=[(key, SORT_LABELS[key]) for key in SORTS], required=False)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for song_filter in extensions.song_filters():  # other apps' filters (catalog.extensions)
            self.fields[song_filter.name] = copy.deepcopy(song_filter.field)

    def extra_fields(self) -> list:
        """The bound fields of the other apps' filters, to show their errors."""
        return [self[song_filter.name] for song_filter in extensions.song_filters()]

    def filters(self) -> dict:
        """The valid filters (an invalid one is dropped on the page; the API refuses it instead)."""
        data = getattr(self, "cleaned_data", {})
        return {key: data[key] for key in self.fields if data.get(key) not in (None, "")}


class VisibilityForm(forms.Form):
    visibility = forms.ChoiceField(choices=Song.Visibility.choices, initial=Song.Visibility.SHARED)


class LabelForm(forms.Form):
    genre = forms.ModelChoiceField(queryset=Genre.objects.filter(retired=False), to_field_name="slug",
                                   empty_label=None, label="Genre")


class PlaylistForm(forms.Form):
    name = forms.CharField(max_length=200)
    comment = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))
    public = forms.BooleanField(required=False, label="Public",
                                help_text="Other members may play it (never the private songs in it).")
