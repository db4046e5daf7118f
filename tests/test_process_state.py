"""Nothing that correctness depends on lives in one process's memory: sessions, throttles and
tokens are rows (see docs/operations.md, "Deployment"). The one thing on disk, the development
secret, is the same for every process that starts at once."""

from __future__ import annotations

from pathlib import Path

from app import settings as settings_module


def test_the_development_secret_is_made_once_and_kept(tmp_path):
    path = tmp_path / "data" / ".secret_key"

    first = settings_module._development_secret(path)

    assert len(first) >= 64 and path.read_text() == first
    assert settings_module._development_secret(path) == first


def test_a_process_that_loses_the_race_for_the_development_secret_uses_the_winners(tmp_path, monkeypatch):
    path = tmp_path / ".secret_key"
    path.write_text("written-by-the-other-server-process")
    real_read = Path.read_text
    reads = []

    def read_text(self, *args, **kwargs):
        reads.append(self)
        if len(reads) == 1:
            raise FileNotFoundError(self)  # not there yet when this process looked
        return real_read(self, *args, **kwargs)

    monkeypatch.setattr(Path, "read_text", read_text)

    assert settings_module._development_secret(path) == "written-by-the-other-server-process"
    assert real_read(path) == "written-by-the-other-server-process"
    assert [p.name for p in tmp_path.iterdir()] == [".secret_key"]  # no spare file left behind
