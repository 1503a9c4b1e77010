"""One run: its folder layout, validation, execution and the machine it ran on."""
