"""The one training loop (pre-training; fine-tuning reuses it)."""
