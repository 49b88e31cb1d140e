"""``python -m solace.cli``."""

from solace.cli import main

main()
