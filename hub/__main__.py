# SPDX-License-Identifier: AGPL-3.0-or-later
"""``python -m hub`` runs the ``classroom-hub`` command."""

import sys

from .cli import main

sys.exit(main())
