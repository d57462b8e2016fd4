"""python -m helpers.sql build-dbs | ...: the command line of helpers.sql (see its main)."""

from . import main

main()
