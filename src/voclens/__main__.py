import sys

from voclens.cli import main

sys.exit(main())
