import sys

from frontage.cli import main

sys.exit(main())
