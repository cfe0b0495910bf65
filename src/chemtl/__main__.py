import sys

from chemtl.cli.main import main

sys.exit(main())
