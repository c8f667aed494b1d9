"""`python -m abordo ...`: the same as the `abordo` command."""
import sys

from abordo.cli import main

sys.exit(main())
