"""``python -m pretrain_diversity.cli``: the same commands as ``pretrain-diversity``."""

import sys

from pretrain_diversity.cli import main

sys.exit(main())
