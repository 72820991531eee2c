"""``python -m pysocat``: the same as the ``pysocat`` command."""
import sys

from .cli import main

sys.exit(main(["pysocat"] + sys.argv[1:]))
