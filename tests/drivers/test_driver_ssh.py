"""hpnctl.drivers.ssh: Netmiko parameters, connect-error translation, the marker-based shell."""
from __future__ import annotations

import socket
import threading
from pathlib import Path

import paramiko
import pytest
from driver_fakes import SECRET
from netmiko.exceptions import NetmikoAuthenticationException

from hpnctl.drivers.nvue import NvueDriver
from hpnctl.drivers.sonic import SonicDriver
from hpnctl.drivers.ssh import RC_MARK, NetmikoShell, connect_shell, netmiko_params, parse_marked_output
from hpnctl.errors import ConnectError

# ---------------------------------------------------------------------- parameters


def test_strict_host_keys_by_default_use_users_known_hosts(make_target):
    params = netmiko_params(make_target("sonic"), "linux")
    assert params["ssh_strict"] is True
    assert params["system_host_keys"] is True
    assert params["alt_host_keys"] is False
    assert params["password"] == SECRET
    assert params["username"] == "admin"


def test_explicit_known_hosts_is_the_only_trust_anchor(make_target, tmp_path: Path):
    known = tmp_path / "known_hosts"
    known.write_text("")
    params = netmiko_params(make_target("sonic", known_hosts=str(known)), "linux")
    assert (params["ssh_strict"], params["system_host_keys"], params["alt_host_keys"]) == (True, False, True)
    assert params["alt_key_file"] == str(known)


def test_missing_known_hosts_file_is_reported(make_target, tmp_path: Path):
    with pytest.raises(ConnectError, match="known_hosts file .* does not exist"):
        netmiko_params(make_target("sonic", known_hosts=str(tmp_path / "nope")), "linux")


def test_lab_mode_opts_out_of_host_key_checks(make_target):
    params = netmiko_params(make_target("sonic", strict_host_keys=False), "linux")
    assert params["ssh_strict"] is False


def test_key_file_comes_from_the_named_env_var(make_target, monkeypatch):
    from hpnctl.drivers.base import Credentials

    monkeypatch.setenv("HPNCTL_TEST_KEY", "/home/op/.ssh/id_ed25519")
    creds = Credentials(username_env="HPNCTL_TEST_USER", key_file_env="HPNCTL_TEST_KEY", use_agent=False)
    params = netmiko_params(make_target("nvue", credentials=creds), "cumulus_linux")
    assert params["key_file"] == "/home/op/.ssh/id_ed25519"
    assert params["use_keys"] is True
    assert "password" not in params


def test_unset_password_variable_names_the_variable(make_target, monkeypatch):
    monkeypatch.delenv("HPNCTL_TEST_PASSWORD")
    with pytest.raises(ConnectError, match="HPNCTL_TEST_PASSWORD"):
        netmiko_params(make_target("sonic"), "linux")


# ---------------------------------------------------------------------- connect failures


@pytest.mark.parametrize("driver_cls", [SonicDriver, NvueDriver])
def test_auth_failure_is_connect_error_without_password(make_target, driver_cls):
    def handler(**params):
        # Some stacks echo what they were given; the driver must still not leak it.
        raise NetmikoAuthenticationException(f"Authentication to device failed (user admin, password {params['password']})")

    target = make_target("sonic" if driver_cls is SonicDriver else "nvue")
    driver = driver_cls(target, shell_factory_=lambda t: connect_shell(t, "linux", handler=handler))
    with pytest.raises(ConnectError) as err:
        driver.open()
    text = str(err.value)
    assert "leaf1" in text and "192.0.2.11:22" in text
    assert "authentication failed" in text
    assert SECRET not in text


def _closed_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def test_refused_connection_is_connect_error(make_target):
    target = make_target("sonic", host="127.0.0.1", port=_closed_port(), strict_host_keys=False, timeout_s=3.0)
    with pytest.raises(ConnectError) as err:
        SonicDriver(target).open()
    assert "127.0.0.1" in str(err.value)
    assert SECRET not in str(err.value)


def _ssh_server() -> int:
    """A real SSH server on localhost with a fresh host key that nobody knows; rejects all logins."""
    host_key = paramiko.RSAKey.generate(2048)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)

    class RejectAll(paramiko.ServerInterface):
        def get_allowed_auths(self, username: str) -> str:
            return "password"

        def check_auth_password(self, username: str, password: str) -> int:
            return paramiko.AUTH_FAILED

    def serve() -> None:
        conn, _ = listener.accept()
        transport = paramiko.Transport(conn)
        transport.add_server_key(host_key)
        try:
            transport.start_server(server=RejectAll())
        except (paramiko.SSHException, EOFError):
            pass

    threading.Thread(target=serve, daemon=True).start()
    return listener.getsockname()[1]


def test_unknown_host_key_is_refused_under_strict_checking(make_target, tmp_path: Path):
    known = tmp_path / "known_hosts"
    known.write_text("")
    target = make_target("nvue", host="127.0.0.1", port=_ssh_server(), known_hosts=str(known), timeout_s=5.0)
    with pytest.raises(ConnectError) as err:
        NvueDriver(target).open()
    assert "not in known_hosts" in str(err.value)


def test_lab_mode_reaches_authentication_with_unknown_host_key(make_target):
    target = make_target("nvue", host="127.0.0.1", port=_ssh_server(), strict_host_keys=False, timeout_s=5.0)
    with pytest.raises(ConnectError) as err:
        NvueDriver(target).open()
    assert "authentication failed" in str(err.value)
    assert SECRET not in str(err.value)


# ---------------------------------------------------------------------- the shell


def test_marker_gives_exit_status_and_clean_output():
    result = parse_marked_output(f"Error: Checkpoint 'x' does not exist\n{RC_MARK}2\n")
    assert (result.output, result.rc, result.ok) == ("Error: Checkpoint 'x' does not exist", 2, False)
    assert parse_marked_output("lost the marker").rc == 255


class _FakeSftp:
    def __init__(self, log: list):
        self.log = log

    def open(self, path: str, mode: str):
        log = self.log

        class Handle:
            def write(self, data: str) -> None:
                log.append(("write", path, data))

            def close(self) -> None:
                log.append(("close", path))

        log.append(("open", path, mode))
        return Handle()

    def chmod(self, path: str, mode: int) -> None:
        self.log.append(("chmod", path, oct(mode)))

    def close(self) -> None:
        self.log.append(("sftp-close",))


class _FakeConnection:
    def __init__(self, answer: str):
        self.answer = answer
        self.sent: list[str] = []
        self.log: list = []
        outer = self

        class Pre:
            def open_sftp(self):
                return _FakeSftp(outer.log)

        self.remote_conn_pre = Pre()

    def send_command(self, command: str, read_timeout: float) -> str:
        self.sent.append(command)
        return self.answer

    def disconnect(self) -> None:
        self.log.append(("disconnect",))


def test_netmiko_shell_appends_marker_and_parses_status(make_target):
    conn = _FakeConnection(f"Checkpoint created successfully.\n{RC_MARK}0")
    shell = NetmikoShell(conn, make_target("sonic"))
    result = shell.run("sudo -n config checkpoint cp1")
    assert conn.sent == [f"sudo -n config checkpoint cp1; echo {RC_MARK}$?"]
    assert result.ok and result.output == "Checkpoint created successfully."


def test_put_file_restricts_mode_before_writing(make_target):
    conn = _FakeConnection("")
    NetmikoShell(conn, make_target("sonic")).put_file("/tmp/x.json", "{}")
    assert conn.log == [
        ("open", "/tmp/x.json", "w"),
        ("chmod", "/tmp/x.json", "0o600"),
        ("write", "/tmp/x.json", "{}"),
        ("close", "/tmp/x.json"),
        ("sftp-close",),
    ]
