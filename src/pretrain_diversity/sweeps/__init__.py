"""Studies: specs that expand to runs, jobs, locks, launchers, the runner, cost models."""
