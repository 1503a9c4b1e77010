"""Downstream tasks for probing and transfer, with their registry."""
