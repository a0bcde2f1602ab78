import sys

from archiver.cli.main import main

sys.exit(main())
