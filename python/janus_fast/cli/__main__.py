"""``python -m janus_fast.cli``: the ``janus-fast`` command."""

import sys

from janus_fast.cli import main

sys.exit(main())
