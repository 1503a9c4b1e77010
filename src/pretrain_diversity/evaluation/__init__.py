"""Linear probes and few-shot transfer of a trained backbone."""
