"""The intent, numbers and speech command groups, run through click's test runner."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from click.testing import CliRunner

from speech.cli import intent_cli, numbers_cli, speech_cli
from tests.speech.test_speech_models import make_model_zip, served  # noqa: F401


def test_intent_classify_text_and_file(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(intent_cli, ["classify", "ich möchte einen rückruf"])
    assert result.exit_code == 0, result.output
    record = json.loads(result.output)
    assert record["intent"] == "callback" and record["lang"] == "de"
    assert 0 < record["confidence"] <= 1
    utterances = tmp_path / "u.txt"
    utterances.write_text("wo ist mein paket\n\nmy parcel arrived damaged\n", encoding="utf-8")
    result = runner.invoke(intent_cli, ["classify", "--file", str(utterances)])
    records = [json.loads(line) for line in result.output.splitlines()]
    assert [(r["intent"], r["lang"]) for r in records] == [
        ("order_status", "de"),
        ("delivery_issue", "en"),
    ]


def test_intent_eval_reports_accuracy_and_confusion(tmp_path: Path) -> None:
    tsv = tmp_path / "set.tsv"
    tsv.write_text(
        "label\tlang\tutterance\n"
        "callback\tde\tbitte rufen sie mich zurück\n"
        "order_status\tde\twann kommt meine lieferung\n"
        "agent\ten\tput me through to a person\n"
        "agent\ten\tmy toaster is broken\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(intent_cli, ["eval", str(tsv)])
    assert result.exit_code == 0, result.output
    assert "de: 100.0% (2/2)" in result.output
    assert "en: 50.0% (1/2)" in result.output
    assert "ECE" in result.output and "confusion" in result.output
    assert "my toaster" not in result.output  # errors only on request
    matrix = result.output.split("confusion")[1].splitlines()[2:]
    assert [line.split()[0] for line in matrix if line.strip()] == ["order_status", "agent", "callback"]

    result = CliRunner().invoke(intent_cli, ["eval", "--json", str(tsv)])
    report = json.loads(result.output)[str(tsv)]
    assert report["per_lang"]["en"] == {"correct": 1, "total": 2, "accuracy": 0.5}
    assert report["labels"]["agent"]["precision"] == 1.0
    assert report["labels"]["agent"]["recall"] == 0.5
    assert report["confusion"]["agent"]["agent"] == 1
    assert 0.0 <= report["ece"] <= 1.0

    result = CliRunner().invoke(intent_cli, ["eval", "--show-errors", str(tsv)])
    assert "agent -> warranty_defect" in result.output and "my toaster is broken" in result.output


def test_intent_eval_never_lists_the_dev_or_heldout_rows(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    dev = tmp_path / "intents.tsv"
    dev.write_text("label\tlang\tutterance\nagent\ten\tmy toaster is broken\n", encoding="utf-8")
    monkeypatch.setenv("IVR_INTENT_DEV_CORPUS", str(dev))
    result = CliRunner().invoke(intent_cli, ["eval", "--show-errors"])
    assert result.exit_code == 2 and "not the dev or held-out" in result.output
    result = CliRunner().invoke(intent_cli, ["eval", "--show-errors", str(dev)])
    assert result.exit_code == 2 and "toaster" not in result.output
    result = CliRunner().invoke(intent_cli, ["eval"])
    assert result.exit_code == 0, result.output
    assert "== dev: accuracy 0.0% (0/1)" in result.output and "== heldout:" in result.output
    assert "toaster" not in result.output


def test_intent_eval_rejects_a_file_without_the_header(tmp_path: Path) -> None:
    tsv = tmp_path / "bad.tsv"
    tsv.write_text("wo ist mein paket\n", encoding="utf-8")
    result = CliRunner().invoke(intent_cli, ["eval", str(tsv)])
    assert result.exit_code == 1 and "label<TAB>lang<TAB>utterance" in result.output


def test_intent_leaks_counts_without_showing(tmp_path: Path) -> None:
    tsv = tmp_path / "mine.tsv"
    tsv.write_text("label\tlang\tutterance\nweather\ten\tzebra crossing quantum\n", encoding="utf-8")
    result = CliRunner().invoke(intent_cli, ["leaks", str(tsv)])
    assert result.exit_code == 0, result.output
    assert f"{tsv}: 0 training phrases within the leak threshold" in result.output


def test_numbers_parse(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(numbers_cli, ["parse", "vier sieben eins eins"])
    assert json.loads(result.output) == {"text": "vier sieben eins eins", "digits": "4711"}
    lines = tmp_path / "n.txt"
    lines.write_text("siebenundvierzig elf\nhallo\n", encoding="utf-8")
    result = runner.invoke(numbers_cli, ["parse", "--file", str(lines)])
    assert [json.loads(x)["digits"] for x in result.output.splitlines()] == ["4711", None]
    result = runner.invoke(numbers_cli, ["parse", "--letters", "h wie heinrich null sieben"])
    assert json.loads(result.output)["digits"] == "H07"


def test_speech_models_lists_catalog() -> None:
    result = CliRunner().invoke(speech_cli, ["models"])
    assert result.exit_code == 0
    assert "vosk-model-small-de-0.15" in result.output
    assert "UNKNOWN (download needs --sha256)" in result.output


def test_speech_download_refuses_unverifiable_model(tmp_path: Path) -> None:
    result = CliRunner().invoke(speech_cli, ["download", "vosk-model-de-0.21", "--dest", str(tmp_path)])
    assert result.exit_code == 1
    assert "--sha256" in result.output
    assert list(tmp_path.iterdir()) == []


def test_speech_download_default_destination(
    served: tuple[str, Path],  # noqa: F811
    tmp_path: Path,
    monkeypatch,  # type: ignore[no-untyped-def]
) -> None:
    import speech.models as models

    base, www = served
    digest = make_model_zip(www / "m.zip", "vosk-model-small-de-0.15")
    entry = models.CATALOG["vosk-model-small-de-0.15"]
    monkeypatch.setitem(
        models.CATALOG,
        entry.name,
        models.ModelInfo(entry.name, f"{base}/m.zip", digest, None, "test"),
    )
    monkeypatch.setenv("IVR_INSTANCE_PATH", str(tmp_path / "instance"))
    result = CliRunner().invoke(speech_cli, ["download", "vosk-model-small-de-0.15"])
    assert result.exit_code == 0, result.output
    installed = tmp_path / "instance" / "models" / "vosk-model-small-de-0.15"
    assert (installed / "am" / "final.mdl").is_file()
    assert hashlib.sha256((www / "m.zip").read_bytes()).hexdigest() == digest
