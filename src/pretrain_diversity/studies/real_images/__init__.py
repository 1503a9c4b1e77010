"""Does pre-training transfer to real images? The transfer page and "Figure 1 on real fonts".

- ``load``: the studies' tables (glyphs and fonts on the real tasks, the one-factor search,
  Figure 1), read from their records, and a sentence for a table not recorded yet.
- ``stats``: error against K at a budget, the K chosen on validation and its test error, the gain
  over each no-pre-training baseline, with seed-bootstrap intervals that re-choose K per draw.
- ``verdicts``: "pre-training beats raw pixels / a random network", per (source, task) cell and
  combined by ``analysis.verdict_rule.combine_cells``; the closing table.
- ``search``: the one-factor search in full (every variant tried).
- ``fonts_tradeoff``: Figure 1's optima on both sources (located on validation), the slope
  readings, and n* against a font class's face ceiling.
- ``figures``: the plots.
"""
