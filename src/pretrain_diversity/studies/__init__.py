"""One module group per figure or finding: statistics, verdict prose, figures."""
