import sys

from local.stripe_emulator.server import main

sys.exit(main())
