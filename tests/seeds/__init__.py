"""Every HTTP-level test case of the two seeds (000: the DID buy system, TypeScript; 003: the call exchange,
Go), one test each, named after it, with the seed's name in its docstring. Every one of them runs and must pass:
none is skipped or expected to fail. Where we answer differently on purpose, the test asserts what we do (its
docstring or a comment says how it differs), and README.md ("Where we differ from the seeds, and why") says why.

Not here:
- The seeds' test scaffolding (jest config, setup, TestHelpers, mocks, builders, CI): it holds no test case.
- Load and resource tests, which are not for `make test` (bench/ prints figures instead):
  - seed 000 §6.2, k6 auth-load-test.js;
  - seed 000 §6.3: "should not leak memory during repeated operations", "should handle database connection pool
    efficiently", "should handle concurrent API requests efficiently";
  - seed 003 TestPerformance_APILoad: "Call Creation Load", "Concurrent Bidding Load", "Call Routing
    Performance";
  - seed 003 TestPerformance_WebSocketLoad: "Concurrent WebSocket Connections".
- seed 003 TestSecurity_DataProtection "HTTPS Enforcement": the seed skips it too. API Gateway serves HTTPS
  only, and this is not a request the app answers.
"""
