"""The README's `make test` on a machine without the Debian packages the tests need: it installs them as root,
and otherwise stops before any test, printing the one command to run. Here ffmpeg is hidden from PATH."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

from django.conf import settings

INSTALL_FFMPEG = "sudo sh -c 'apt-get update && apt-get install -y ffmpeg'"


def path_without_ffmpeg(folder: Path) -> str:
    """A PATH holding only the few commands the Makefile's own lines use (not ffmpeg, not apt-get)."""
    folder.mkdir()
    for command in ("id", "cat", "cksum", "cut"):
        (folder / command).symlink_to(shutil.which(command))
    folder.chmod(0o755)
    return str(folder)


def as_unprivileged_user(command: list[str]) -> list[str]:
    return [shutil.which("runuser"), "-u", "nobody", "--", *command] if os.geteuid() == 0 else command


def test_make_test_without_root_stops_before_any_test_naming_the_command(tmp_path):
    tmp_path.chmod(0o755)
    make = as_unprivileged_user(["/usr/bin/make", "--no-print-directory", "test", f"VENV={Path(sys.executable).parents[1]}"])
    result = subprocess.run(make, cwd=settings.BASE_DIR, capture_output=True, text=True, timeout=120,
                            env={"PATH": path_without_ffmpeg(tmp_path / "bin"), "HOME": str(tmp_path)})

    assert result.returncode != 0
    assert INSTALL_FFMPEG in result.stderr, result.stderr
    assert "pytest" not in result.stdout + result.stderr  # stopped before the suite, not in it


def test_pytest_stops_at_session_start_naming_the_command(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "tests/test_features.py", "-p", "no:cacheprovider", "-q"],
        cwd=settings.BASE_DIR, capture_output=True, text=True, timeout=300,
        env={**os.environ, "PATH": path_without_ffmpeg(tmp_path / "bin"), "SKYBEAT_VAR_DIR": str(tmp_path / "var")},
    )

    assert result.returncode == 4, result.stdout + result.stderr  # pytest's usage error, not a failed test
    assert INSTALL_FFMPEG in result.stdout, result.stdout
    assert "passed" not in result.stdout and "FileNotFoundError" not in result.stdout
