import sys

from tinygrad_ref.cli import main

sys.exit(main())
