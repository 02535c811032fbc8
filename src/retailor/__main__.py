"""``python -m retailor`` runs the command line."""

from retailor.cli import main

main()
