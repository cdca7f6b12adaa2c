"""`python -m local.twilio_emulator [--port 8020]`: the emulator alone, its URL on the first line of stdout."""
from local.twilio_emulator.server import main

raise SystemExit(main())
