"""`make run`'s first minutes: a port already taken ends it with one line naming the variable that moves it,
and the generated admin password pastes into a shell as it is (issue 23)."""
import re
import socket

from local import runtime


def test_a_port_in_use_is_one_line_naming_its_variable(monkeypatch):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        for variable in ("PORT", "WS_PORT", "TWILIO_EMULATOR_PORT", "STRIPE_EMULATOR_PORT"):
            for name, _ in runtime.PORT_VARIABLES:
                monkeypatch.setenv(name, "0")
            monkeypatch.setenv(variable, str(taken))
            message = runtime.taken_port()
            assert message is not None and "\n" not in message
            assert f"port {taken} is in use" in message and f"{variable}=" in message
    for name, _ in runtime.PORT_VARIABLES:
        monkeypatch.setenv(name, "0")
    assert runtime.taken_port() is None


def test_the_generated_admin_password_has_nothing_a_shell_reads(monkeypatch):
    monkeypatch.delenv("ADMIN_PASSWORD", raising=False)
    from chalicelib.domain.passwords import policy_problem

    for _ in range(50):
        _, password, generated = runtime._admin_credentials()
        assert generated and re.fullmatch(r"[A-Za-z0-9_-]+", password) and policy_problem(password) is None
