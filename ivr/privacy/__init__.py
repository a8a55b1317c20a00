"""Privacy by design: the personal-data registry, transcripts apart, retention, export, erasure, audit."""
