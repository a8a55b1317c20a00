"""Click command groups for intents, numbers and speech models (registered by `ivr`)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import click

from speech.models import ModelDownloadError, download, list_models

if TYPE_CHECKING:
    from speech.intents.evaluation import Row


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


def _eval_sets(files: tuple[Path, ...]) -> list[tuple[str, list[Row], bool]]:
    """(name, rows, own) per evaluation set: the FILEs, or the dev corpus and the held-out set."""
    from speech.intents.evaluation import dev_corpus_path, heldout_rows, load_rows

    sets: list[tuple[str, list[Row], bool]] = []
    try:
        if files:
            dev = dev_corpus_path().resolve()
            for path in files:
                sets.append((str(path), load_rows(path), path.resolve() != dev))
        else:
            dev_path = dev_corpus_path()
            if dev_path.is_file():
                sets.append(("dev", load_rows(dev_path), False))
            else:
                click.echo(f"(no dev corpus at {dev_path}; set IVR_INTENT_DEV_CORPUS)", err=True)
            sets.append(("heldout", heldout_rows(), False))
    except (OSError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    return sets


@intent_cli.command("eval")
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="One JSON object with every set's aggregates.")
@click.option(
    "--show-errors",
    is_flag=True,
    help="List misclassified rows of your own FILEs (never of the dev or held-out sets).",
)
def eval_command(files: tuple[Path, ...], as_json: bool, show_errors: bool) -> None:
    """Accuracy per language, per-label precision/recall/F1, confusion matrix and expected
    calibration error on label<TAB>lang<TAB>utterance TSV FILEs (default: dev corpus and
    the built-in held-out set, reported in aggregate only)."""
    from speech.intents import default_classifier
    from speech.intents.evaluation import evaluate, format_report

    sets = _eval_sets(files)
    if show_errors and not all(own for _, _, own in sets):
        raise click.UsageError("--show-errors only for your own files, not the dev or held-out sets")
    classifier = default_classifier()
    results: dict[str, object] = {}
    for name, rows, _own in sets:
        report = evaluate(classifier, rows, keep_errors=show_errors)
        if as_json:
            results[name] = report.as_dict()
            continue
        click.echo(format_report(name, report))
        for row, predicted, confidence in report.errors:
            click.echo(f"  {row.label} -> {predicted} ({confidence:.2f}): {row.utterance}")
        click.echo("")
    if as_json:
        click.echo(json.dumps(results))


@intent_cli.command("calibrate")
def calibrate_command() -> None:
    """Fit the confidence temperature on the tuning set; print it and the ECE before/after."""
    from speech.intents import default_classifier
    from speech.intents.evaluation import evaluate, fit_temperature, tuning_rows

    classifier = default_classifier()
    rows = tuning_rows()
    before = evaluate(classifier, rows).ece
    temperature = fit_temperature(classifier, rows)
    saved, classifier.temperature = classifier.temperature, temperature
    try:
        after = evaluate(classifier, rows).ece
    finally:
        classifier.temperature = saved
    click.echo(f"temperature {temperature} (now {saved}); tuning-set ECE {before:.3f} -> {after:.3f}")


@intent_cli.command("leaks")
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--remove", is_flag=True, help="Drop the leaked phrases from the built-in example files.")
def leaks_command(files: tuple[Path, ...], remove: bool) -> None:
    """Count built-in training phrases within 0.8 similarity of evaluation rows (default: the
    dev corpus and the held-out set); with --remove, delete them without showing them."""
    from speech.intents.evaluation import built_in_examples, leaked_examples, remove_examples

    sets = _eval_sets(files)
    while True:
        examples = built_in_examples()
        leaked: set[tuple[str, str]] = set()
        for name, rows, _own in sets:
            found = leaked_examples(examples, rows)
            click.echo(f"{name}: {len(found)} training phrases within the leak threshold")
            leaked.update(found)
        if not (remove and leaked):
            return
        # Removing phrases changes the idf weights, so check again until nothing leaks.
        click.echo(f"removed {remove_examples(leaked)} lines from the example files")


@click.group("numbers")
def numbers_cli() -> None:
    """Turn spoken numbers into digits."""


@numbers_cli.command("parse")
@click.argument("text", required=False)
@click.option("--file", "file", type=click.File("r", encoding="utf-8"), help="One utterance per line.")
@click.option("--letters", is_flag=True, help="Keep letters read in a spelling alphabet (tracking codes).")
def parse_command(text: str | None, file: TextIO | None, letters: bool) -> None:
    """Print one JSON object per utterance: text, digits (null when none)."""
    from speech.numbers import parse_digits, parse_reference

    parse = parse_reference if letters else parse_digits
    for line in _lines(text, file):
        click.echo(json.dumps({"text": line, "digits": parse(line)}, ensure_ascii=False))


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
