"""One run end to end: checks, the run folder, its record."""
