"""Click command groups for intents, numbers and speech models (registered by `ivr`)."""

from __future__ import annotations

import csv
import json
import os
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import TextIO

import click

from speech.models import ModelDownloadError, download, list_models


def _lines(text: str | None, file: TextIO | None) -> list[str]:
    """The utterances to process: TEXT, or one per non-empty line of FILE ("-" = stdin)."""
    if file is not None:
        return [line.strip() for line in file if line.strip()]
    if text is None:
        raise click.UsageError("give TEXT or --file FILE")
    return [text]


@click.group("intent")
def intent_cli() -> None:
    """Classify why callers call."""


@intent_cli.command("classify")
@click.argument("text", required=False)
@click.option("--file", "file", type=click.File("r", encoding="utf-8"), help="One utterance per line.")
@click.option("--lang", type=click.Choice(["de", "en"]), help="Skip language detection.")
def classify_command(text: str | None, file: TextIO | None, lang: str | None) -> None:
    """Print one JSON object per utterance: text, intent, confidence, lang."""
    from speech.intents import classify

    for line in _lines(text, file):
        result = classify(line, lang)
        record = {
            "text": result.text,
            "intent": result.intent,
            "confidence": round(result.confidence, 4),
            "lang": result.lang,
            "runner_up": result.runner_up,
            "runner_up_confidence": round(result.runner_up_confidence, 4),
        }
        click.echo(json.dumps(record, ensure_ascii=False))


@intent_cli.command("eval")
@click.argument("tsv", type=click.File("r", encoding="utf-8"))
def eval_command(tsv: TextIO) -> None:
    """Accuracy per language and label, and the confusion matrix, on a label/lang/utterance TSV."""
    from speech.intents import LABELS, classify

    reader = csv.DictReader(tsv, delimiter="\t")
    missing = {"label", "lang", "utterance"} - set(reader.fieldnames or [])
    if missing:
        raise click.UsageError(f"TSV header must be label<TAB>lang<TAB>utterance (missing {missing})")
    confusion: dict[str, Counter[str]] = defaultdict(Counter)
    per_lang: dict[str, Counter[str]] = defaultdict(Counter)
    for row in reader:
        predicted = classify(row["utterance"], row["lang"] or None).intent
        confusion[row["label"]][predicted] += 1
        per_lang[row["lang"]]["total"] += 1
        per_lang[row["lang"]]["correct"] += predicted == row["label"]
    if not per_lang:
        raise click.ClickException("no rows")
    for lang, counts in sorted(per_lang.items()):
        acc = counts["correct"] / counts["total"]
        click.echo(f"{lang}: {acc:.1%} ({counts['correct']}/{counts['total']})")
    labels = [label for label in LABELS if label in confusion or any(label in c for c in confusion.values())]
    extra = {p for c in confusion.values() for p in c} | set(confusion)
    labels += sorted(extra - set(labels))  # admin-defined labels after the built-in ones
    click.echo("\nlabel              accuracy")
    for label in labels:
        total = sum(confusion[label].values())
        if total:
            click.echo(
                f"{label:<18} {confusion[label][label] / total:6.1%}  ({confusion[label][label]}/{total})"
            )
    short = [label[:6] for label in labels]
    click.echo("\nconfusion (rows: true, columns: predicted)")
    click.echo(" " * 18 + " ".join(f"{s:>6}" for s in short))
    for label in labels:
        if sum(confusion[label].values()):
            click.echo(f"{label:<18}" + " ".join(f"{confusion[label][p]:>6}" for p in labels))


@click.group("numbers")
def numbers_cli() -> None:
    """Turn spoken numbers into digits."""


@numbers_cli.command("parse")
@click.argument("text", required=False)
@click.option("--file", "file", type=click.File("r", encoding="utf-8"), help="One utterance per line.")
def parse_command(text: str | None, file: TextIO | None) -> None:
    """Print one JSON object per utterance: text, digits (null when none)."""
    from speech.numbers import parse_digits

    for line in _lines(text, file):
        click.echo(json.dumps({"text": line, "digits": parse_digits(line)}, ensure_ascii=False))


@click.group("speech")
def speech_cli() -> None:
    """Manage the offline speech-recognition models."""


@speech_cli.command("models")
def models_command() -> None:
    """List the supported Vosk models."""
    for info in list_models():
        checksum = info.sha256 or "UNKNOWN (download needs --sha256)"
        click.echo(f"{info.name}\n  {info.description}\n  {info.url}\n  sha256 {checksum}")


def _default_dest() -> Path:
    """$IVR_INSTANCE_PATH/models, or ./instance/models."""
    instance = os.environ.get("IVR_INSTANCE_PATH")
    return Path(instance) / "models" if instance else Path("instance") / "models"


@speech_cli.command("download")
@click.argument("name")
@click.option("--dest", type=click.Path(file_okay=False, path_type=Path), help="Target folder.")
@click.option("--sha256", help="Expected SHA-256 of the zip (required when none is pinned).")
def download_command(name: str, dest: Path | None, sha256: str | None) -> None:
    """Download, verify and unpack a model; print where it was installed."""
    last = [-1]

    def progress(done: int, total: int | None) -> None:
        mb = done // (1024 * 1024)
        if mb != last[0]:
            last[0] = mb
            share = f" of {total // (1024 * 1024)} MB" if total else " MB"
            click.echo(f"\r{mb}{share}", nl=False, err=True)

    try:
        target = download(name, dest or _default_dest(), progress=progress, sha256=sha256)
    except ModelDownloadError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        if last[0] >= 0:
            click.echo("", err=True)
    click.echo(f"installed {name} in {target}; set IVR_VOSK_MODEL={target}")


if __name__ == "__main__":  # pragma: no cover - manual use without the ivr CLI
    cli = click.Group(commands=[intent_cli, numbers_cli, speech_cli])
    sys.exit(cli())
