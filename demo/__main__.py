"""``python -m demo …``: see demo.command."""

import sys

from demo.command import main

sys.exit(main())
