"""`manage.py classify`: top genres of files for people without the web UI, JSON for scripts."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from classifier.management.commands.classify import Command
from tests.audio_fixtures import synthetic_genre_clip, write_audio, write_garbage
from tests.classifier_factories import SR_HZ, active_model, forget_failed_loads  # noqa: F401


@pytest.mark.django_db(transaction=True)  # run_from_argv closes the database connections when it ends
def test_json_output_and_exit_code_of_the_command_line(active_model, tmp_path, capsys):
    song = write_audio(tmp_path / "beat.wav", synthetic_genre_clip("pulse", 20.0, SR_HZ, seed=60), SR_HZ)
    garbage = write_garbage(tmp_path / "broken.mp3")
    with pytest.raises(SystemExit) as exit_code:
        Command().run_from_argv(["manage.py", "classify", str(song), str(garbage), "--json"])
    assert exit_code.value.code == 1
    out, err = capsys.readouterr()
    good, bad = (json.loads(line) for line in out.splitlines())
    assert (good["path"], good["model"]) == (str(song), active_model.name)
    assert set(good["genres"]) == set(active_model.genres)
    assert sum(good["genres"].values()) == pytest.approx(1.0, abs=1e-3)
    assert good["top_genre"] == max(good["genres"], key=good["genres"].get)
    assert good["frames"] >= 2 and good["duration_s"] == pytest.approx(20.0, abs=0.01)
    assert bad["path"] == str(garbage) and bad["error"].startswith("could not decode audio")
    assert f"{garbage}: error: could not decode audio" in err
    assert "1 of 2 file(s) could not be classified" in err
    assert "Traceback" not in err


def test_text_output_lists_the_top_three(active_model, tmp_path):
    song = write_audio(tmp_path / "drone.wav", synthetic_genre_clip("drone", 12.0, SR_HZ, seed=61), SR_HZ)
    out = StringIO()
    call_command("classify", str(song), "--model", active_model.name, stdout=out)
    line = out.getvalue().strip()
    assert line.startswith(f"{song}: ") and line.endswith("(1 frames, 12.0 s)")
    top = line.split(": ", 1)[1].split("  (")[0].split(", ")
    assert len(top) == 3 and all(slug in active_model.genres for slug, _ in (item.split() for item in top))


def test_missing_files_and_unknown_models_are_clear_errors(active_model, tmp_path):
    err = StringIO()
    with pytest.raises(CommandError, match="1 of 1 file"):
        call_command("classify", str(tmp_path / "nope.wav"), stderr=err)
    assert f"{tmp_path / 'nope.wav'}: error: No such file" in err.getvalue()
    with pytest.raises(CommandError, match="No model named 'nonesuch' \\(known: genre-crnn-gtzan, pretrained-tags\\)"):
        call_command("classify", str(tmp_path / "nope.wav"), "--model", "nonesuch")
