"""`python -m emulators`: see `emulators.cli`."""

import sys

from emulators.cli import main

sys.exit(main())
