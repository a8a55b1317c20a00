"""The catalog of supported Vosk models and a verified, atomic downloader."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import requests

BASE_URL = "https://alphacephei.com/vosk/models"
_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class ModelInfo:
    """A downloadable Vosk model: where it lives and how to verify it."""

    name: str
    url: str
    sha256: str | None  # None: no published checksum we could verify; the user must give one
    size_bytes: int | None
    description: str


# Checksums are of the .zip as served by alphacephei.com. The two small models' SHA-256
# values are pinned by many independent projects (Yocto recipes, install scripts, app
# catalogs) that agree with each other, and small-de's size matches the official
# model-list.json (46499967 bytes, md5 4f21f92c0897b48287ef8839420608eb). For the 1.9 GB
# telephony model no published SHA-256 was found, so none is invented here.
CATALOG: dict[str, ModelInfo] = {
    info.name: info
    for info in (
        ModelInfo(
            "vosk-model-small-de-0.15",
            f"{BASE_URL}/vosk-model-small-de-0.15.zip",
            "b7e53c90b1f0a38456f4cd62b366ecd58803cd97cd42b06438e2c131713d5e43",
            46_499_967,
            "German small (45 MB, 16 kHz, runtime grammars, accepts 8 kHz input)",
        ),
        ModelInfo(
            "vosk-model-de-0.21",
            f"{BASE_URL}/vosk-model-de-0.21.zip",
            None,
            None,
            "German telephony (1.9 GB, 8 kHz-trained, no runtime grammars, slow to load)",
        ),
        ModelInfo(
            "vosk-model-small-en-us-0.15",
            f"{BASE_URL}/vosk-model-small-en-us-0.15.zip",
            "30f26242c4eb449f948e42cb302dd7a686cb29a3423a8367f99ff41780942498",
            None,
            "English (US) small (40 MB, 16 kHz, runtime grammars)",
        ),
    )
}


class ModelDownloadError(RuntimeError):
    """A model could not be downloaded, verified or installed."""


def list_models() -> list[ModelInfo]:
    """The supported production models."""
    return list(CATALOG.values())


def _resolve(model: str | ModelInfo) -> ModelInfo:
    """The catalog entry for a model name (or the given entry)."""
    if isinstance(model, ModelInfo):
        return model
    try:
        return CATALOG[model]
    except KeyError:
        known = ", ".join(CATALOG)
        raise ModelDownloadError(f"unknown model {model!r}; supported: {known}") from None


def _expected_sha256(info: ModelInfo, sha256: str | None) -> str:
    """The checksum to verify against; refuses when none is known."""
    given = sha256.strip().lower() if sha256 else None
    if given is not None and (len(given) != 64 or any(c not in "0123456789abcdef" for c in given)):
        raise ModelDownloadError("--sha256 must be 64 hexadecimal characters")
    if info.sha256 and given and given != info.sha256:
        raise ModelDownloadError(
            f"the given SHA-256 differs from the one pinned for {info.name} ({info.sha256})"
        )
    expected = given or info.sha256
    if not expected:
        raise ModelDownloadError(
            f"no published SHA-256 is pinned for {info.name}; get it from a trusted source "
            "and pass it with --sha256 (we never install an unverified model)"
        )
    return expected


def download(
    name: str | ModelInfo,
    dest_dir: str | os.PathLike[str],
    progress: Callable[[int, int | None], None] | None = None,
    sha256: str | None = None,
) -> Path:
    """Download, verify and unpack a model into dest_dir/<name>; return its directory."""
    info = _resolve(name)
    expected = _expected_sha256(info, sha256)
    dest = Path(dest_dir)
    target = dest / info.name
    if target.exists():
        raise ModelDownloadError(f"{target} already exists; remove it to reinstall")
    dest.mkdir(parents=True, exist_ok=True)
    # Everything happens inside dest_dir so the final rename stays on one filesystem.
    with tempfile.TemporaryDirectory(prefix=f".{info.name}-", dir=dest) as work:
        archive = Path(work) / "model.zip"
        digest = _fetch(info.url, archive, progress)
        if digest != expected:
            raise ModelDownloadError(
                f"checksum mismatch for {info.name}: expected {expected}, got {digest}; "
                "the download was discarded"
            )
        root = _unpack(archive, Path(work) / "unpacked")
        try:
            os.replace(root, target)
        except OSError as exc:
            raise ModelDownloadError(f"could not install into {target}: {exc}") from None
    return target


def _fetch(url: str, archive: Path, progress: Callable[[int, int | None], None] | None) -> str:
    """Stream url into archive; return the SHA-256 of what was received."""
    digest = hashlib.sha256()
    try:
        with requests.get(url, stream=True, timeout=(10, 60)) as response:
            response.raise_for_status()
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            done = 0
            with archive.open("wb") as out:
                for chunk in response.iter_content(_CHUNK):
                    out.write(chunk)
                    digest.update(chunk)
                    done += len(chunk)
                    if progress is not None:
                        progress(done, total)
    except requests.RequestException as exc:
        raise ModelDownloadError(f"download of {url} failed: {exc}") from None
    return digest.hexdigest()


def _unpack(archive: Path, into: Path) -> Path:
    """Extract a verified zip safely; return the model's root directory."""
    try:
        with zipfile.ZipFile(archive) as zf:
            for member in zf.namelist():
                # Refuse absolute paths and ".." even in a verified archive: the check is cheap.
                resolved = (into / member).resolve()
                if not resolved.is_relative_to(into.resolve()):
                    raise ModelDownloadError(f"unsafe path in archive: {member}")
            zf.extractall(into)
    except zipfile.BadZipFile as exc:
        raise ModelDownloadError(f"not a valid zip archive: {exc}") from None
    entries = [p for p in into.iterdir() if not p.name.startswith("__MACOSX")]
    # Official archives hold one top-level folder named like the model.
    root = entries[0] if len(entries) == 1 and entries[0].is_dir() else into
    if not (root / "am").is_dir() and not (root / "conf").is_dir():
        shutil.rmtree(into, ignore_errors=True)
        raise ModelDownloadError("archive does not contain a Vosk model (no am/ or conf/)")
    return root
