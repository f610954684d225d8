"""Starting, stopping and cleaning up MockAuthServer: context managers, the lazy ``url``, the
finalizer, restarts, and that nothing (thread, socket) outlives the server."""

from __future__ import annotations

import gc
import re
import subprocess
import sys
import threading

import httpx
import pytest

from mcp_oauth_dynamicclient.testing import MockAuthServer, ServerSettings


def _server_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("MockAuthServer:")]


def test_url_is_a_loopback_issuer_without_trailing_slash() -> None:
    with MockAuthServer() as server:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", server.url)
        assert server.issuer == server.url
        assert server.resource_url == server.url + "/mcp"
        assert server.metadata_url == server.url + "/.well-known/oauth-authorization-server"


def test_the_seed_example_works_without_a_context_manager() -> None:
    mock_server = MockAuthServer()
    assert not mock_server.running
    url = mock_server.url  # starts the server
    assert mock_server.running
    assert httpx.get(url + "/.well-known/oauth-authorization-server").status_code == 200
    threads = _server_threads()
    assert len(threads) == 1
    del mock_server
    gc.collect()
    threads[0].join(5)
    assert not threads[0].is_alive()
    with pytest.raises(httpx.ConnectError):
        httpx.get(url + "/jwks")


def test_a_never_stopped_server_does_not_hang_interpreter_exit() -> None:
    code = (
        "from mcp_oauth_dynamicclient.testing import MockAuthServer\n"
        "import httpx\n"
        "server = MockAuthServer()\n"
        "print(httpx.get(server.url + '/jwks').status_code)\n"
    )
    done = subprocess.run(
        [sys.executable, "-W", "error", "-c", code], capture_output=True, text=True, timeout=20
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "200"
    assert done.stderr == ""


def test_with_block_leaks_no_thread_and_closes_kept_alive_connections() -> None:
    before = len(_server_threads())
    with MockAuthServer() as server, httpx.Client() as client:
        assert len(_server_threads()) == before + 1
        assert client.get(server.url + "/jwks").status_code == 200  # connection kept alive
        server.stop()
        with pytest.raises(httpx.ConnectError):  # the kept-alive connection is gone too
            client.get(server.url + "/jwks")
    assert len(_server_threads()) == before
    assert not server.running


@pytest.mark.anyio
async def test_async_with_serves_async_clients() -> None:
    async with MockAuthServer() as server, httpx.AsyncClient() as client:
        assert server.running
        response = await client.get(server.url + "/.well-known/openid-configuration")
        assert response.json()["issuer"] == server.url
    assert not server.running


def test_close_is_stop_and_both_are_idempotent() -> None:
    server = MockAuthServer().start()
    assert server.running
    server.close()
    assert not server.running
    server.stop()
    server.close()
    assert not server.running


def test_stopped_server_refuses_connections_and_url_does_not_restart_it() -> None:
    server = MockAuthServer().start()
    url = server.url
    server.stop()
    assert server.url == url
    assert not server.running
    with pytest.raises(httpx.ConnectError):
        httpx.get(url + "/jwks")


def test_restart_serves_the_same_state_on_the_same_port() -> None:
    server = MockAuthServer()
    with server:
        info = server.create_client({"redirect_uris": ["https://app.example/cb"]})
        url = server.url
    with server:
        assert server.url == url
        response = httpx.get(
            str(info.registration_client_uri),
            headers={"Authorization": f"Bearer {info.registration_access_token}"},
        )
        assert response.status_code == 200
        assert response.json()["client_id"] == info.client_id


def test_two_servers_get_two_ports() -> None:
    with MockAuthServer() as first, MockAuthServer() as second:
        assert first.url != second.url


def test_settings_object_or_knobs_but_not_both() -> None:
    settings = ServerSettings(subject="alice")
    assert MockAuthServer(settings).settings is settings
    assert MockAuthServer(subject="bob").settings.subject == "bob"
    with pytest.raises(TypeError):
        MockAuthServer(settings, subject="carol")


def test_repr_says_where_and_whether_running() -> None:
    server = MockAuthServer()
    assert "not started" in repr(server)
    with server:
        assert server.url in repr(server)
        assert "running=True" in repr(server)
