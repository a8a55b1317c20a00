"""Pure speech and language: audio, Vosk recognition, intents, spoken numbers."""
