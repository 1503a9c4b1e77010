"""Figures, montages and static widget frames shared by the notebook and the book."""
