"""`python -m starreid` is the `starreid` console script."""
import sys

from starreid.app.cli import main

sys.exit(main())
