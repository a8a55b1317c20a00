"""Model catalog and verified downloads over real HTTP from a local server."""

from __future__ import annotations

import functools
import hashlib
import http.server
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from speech.models import CATALOG, ModelDownloadError, ModelInfo, download, list_models


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A local HTTP server on 127.0.0.1 serving tmp_path/www; yields (base URL, folder)."""
    www = tmp_path / "www"
    www.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(www)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", www
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def make_model_zip(path: Path, name: str) -> str:
    """A zip laid out like an official model; returns its SHA-256."""
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(f"{name}/am/final.mdl", b"\x00" * 2048)
        zf.writestr(f"{name}/conf/mfcc.conf", "--allow-upsample=true\n")
        zf.writestr(f"{name}/README", "test model\n")
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_catalog_lists_the_production_models() -> None:
    names = [m.name for m in list_models()]
    assert names == ["vosk-model-small-de-0.15", "vosk-model-de-0.21", "vosk-model-small-en-us-0.15"]
    for info in CATALOG.values():
        assert info.url == f"https://alphacephei.com/vosk/models/{info.name}.zip"
        assert info.sha256 is None or len(info.sha256) == 64


def test_download_verifies_and_installs(served: tuple[str, Path], tmp_path: Path) -> None:
    base, www = served
    digest = make_model_zip(www / "m.zip", "vosk-model-test-1")
    info = ModelInfo("vosk-model-test-1", f"{base}/m.zip", digest, None, "test")
    seen: list[tuple[int, int | None]] = []
    target = download(info, tmp_path / "models", progress=lambda d, t: seen.append((d, t)))
    assert target == tmp_path / "models" / "vosk-model-test-1"
    assert (target / "am" / "final.mdl").stat().st_size == 2048
    assert seen[-1][0] == seen[-1][1] == (www / "m.zip").stat().st_size
    assert [p.name for p in (tmp_path / "models").iterdir()] == ["vosk-model-test-1"]
    with pytest.raises(ModelDownloadError, match="already exists"):
        download(info, tmp_path / "models")


def test_checksum_mismatch_installs_nothing(served: tuple[str, Path], tmp_path: Path) -> None:
    base, www = served
    make_model_zip(www / "m.zip", "vosk-model-test-2")
    info = ModelInfo("vosk-model-test-2", f"{base}/m.zip", "0" * 64, None, "test")
    with pytest.raises(ModelDownloadError, match="checksum mismatch"):
        download(info, tmp_path / "models")
    assert list((tmp_path / "models").iterdir()) == []


def test_unknown_checksum_needs_one_from_the_user(served: tuple[str, Path], tmp_path: Path) -> None:
    base, www = served
    digest = make_model_zip(www / "m.zip", "vosk-model-test-3")
    info = ModelInfo("vosk-model-test-3", f"{base}/m.zip", None, None, "test")
    with pytest.raises(ModelDownloadError, match="--sha256"):
        download(info, tmp_path / "models")
    assert download(info, tmp_path / "models", sha256=digest.upper()).is_dir()
    with pytest.raises(ModelDownloadError, match="--sha256"):
        download("vosk-model-de-0.21", tmp_path / "other")


def test_missing_file_and_non_model_archives(served: tuple[str, Path], tmp_path: Path) -> None:
    base, www = served
    info = ModelInfo("vosk-model-gone", f"{base}/gone.zip", "a" * 64, None, "test")
    with pytest.raises(ModelDownloadError, match="404"):
        download(info, tmp_path / "models")
    with zipfile.ZipFile(www / "junk.zip", "w") as zf:
        zf.writestr("hello.txt", "not a model")
    digest = hashlib.sha256((www / "junk.zip").read_bytes()).hexdigest()
    junk = ModelInfo("vosk-model-junk", f"{base}/junk.zip", digest, None, "test")
    with pytest.raises(ModelDownloadError, match="does not contain a Vosk model"):
        download(junk, tmp_path / "models")
    assert list((tmp_path / "models").iterdir()) == []


def test_unknown_model_name() -> None:
    with pytest.raises(ModelDownloadError, match="supported"):
        download("vosk-model-xx", "/nonexistent")
