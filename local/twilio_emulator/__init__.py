"""A local, stateful emulator of the parts of Twilio's REST API (2010-04-01) that the product uses.

The real `twilio` SDK talks to it over HTTP (see `chalicelib.gateways.twilio_http.BaseUrlHttpClient`),
so tests and `make run` send the same requests, and get the same bodies and error codes, as
production does, without network or Twilio account. It behaves like Twilio, not like a mock of
the product:

- `AvailablePhoneNumbers/{Country}/{Local,TollFree,Mobile}.json` searches a stock of numbers that
  is generated deterministically per (country, type, area code); every number is valid for
  `phonenumbers`, of the right type and region, with locality and region from its geocoder.
- `IncomingPhoneNumbers.json` buys (a bought number leaves the stock, a released one returns) and
  lists; `IncomingPhoneNumbers/{Local,TollFree,Mobile}.json` does the same for one type;
  `IncomingPhoneNumbers/{Sid}.json` fetches, updates and releases.
- `Calls.json` creates an outbound call resource (no call is placed), `Calls/{Sid}.json` fetches it.
- `Recordings.json` lists the recordings the voice simulator made (?CallSid=), `Recordings/{Sid}.json` fetches
  one, `Recordings/{Sid}.wav` (or no extension) answers its audio once completed: a real WAV, short.
- HTTP Basic auth, Twilio's error body `{code, message, more_info, status}` and its error codes;
  the test-credential magic inputs for buying numbers (+15005550000, +15005550001, +15005550006,
  AreaCode 533 and 500) work with the emulator's ordinary credentials.

And the phone network around it, the voice simulator: `POST /simulator/calls` (no auth: it is not
Twilio's API) with `{"from", "to", "talk_seconds", "dial_outcomes"}` places a call to a number of the
account and does what Twilio does with it: requests the number's VoiceUrl, signed, with Twilio's
parameters; follows the TwiML (`<Say>`, `<Play>`, `<Pause>`, `<Hangup>`, `<Reject>`, `<Redirect>`,
`<Dial>` with one `<Number>`, recorded when its `record` says so); sends the dialed leg's status callbacks,
the `<Dial action>` request and the recording's status callbacks; and answers, once the call has ended, what happened and every request it made (see `VoiceSimulator`).
Talk and ringing are simulated time: nothing waits unless a `sleep` is injected.
`python -m local.call` drives it from a shell (`make call`).

For tests: request counts per (method, kind) and injected faults (`inject_faults`), also over HTTP
for other processes: `POST /_emulator/faults`, `GET /_emulator/state`, `POST /_emulator/reset`.
Run alone: `python -m local.twilio_emulator --port 8020` (defaults: TWILIO_EMULATOR_PORT, else
a free port; the auth token is TWILIO_AUTH_TOKEN, else DEFAULT_AUTH_TOKEN, as for `TwilioEmulator()`).

One module per seam, each importing only modules above it (voice_simulator.py names TwilioEmulator
for type checking only):

- account.py: the account's state (bought numbers, calls, recordings, injected faults, counts) and TwilioError.
- recordings.py: a recording's resource, its callback's parameters and its audio (a WAV made with `wave`).
- stock.py: the numbers for sale, and the Contains pattern a search filters them by.
- resources.py: the REST resources and routing; `answer` takes one request (fault, auth, resource).
- call_script.py: the request to the phone network, checked (CallScript).
- voice_simulator.py: the phone network playing one call against the product's webhooks.
- server.py: TwilioEmulator, the HTTP server tying them together, with the control API; `main`.
"""
from local.twilio_emulator.server import TwilioEmulator

__all__ = ["TwilioEmulator"]
