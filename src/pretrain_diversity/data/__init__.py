"""Pre-training data sources: the embedded glyph bank and its sampler, the class pool, real data read from disk."""
