"""cluster/exec.py against the fake API server's WebSocket exec endpoint, and the fake against the
recordings of a real v1.24 server (exec-ws-*.json)."""
from __future__ import annotations

import base64
import json
import ssl

import pytest

from kubectl_pss.cluster import ConnectionOptions, connect
from kubectl_pss.cluster.errors import ClusterUnreachable, Forbidden
from kubectl_pss.cluster.exec import (
    CHANNEL_PROTOCOLS,
    CommandNotFound,
    ContainerNotFound,
    ExecFailed,
    ExecForbidden,
    ExecNotFound,
    NonZeroExit,
    exec_argv,
    exec_url,
)
from tests.apiserver import load_recording
from tests.apiserver.runtime import EINVAL, PROTOCOLS_1_30, ExecOutcome, FakeContainer

STATUS_TEXT = load_recording("exec-ws-cat-status")["frames"][1]["payload_text"]


@pytest.fixture
def lab(apiserver):
    """The recordings' namespace rt-lab: p-runtime/c-runtime runs; p-aa-runtime/c-aa-runtime is blocked."""
    apiserver.add_namespace("rt-lab")
    apiserver.runtime.add_pod("rt-lab", "p-runtime", [{"name": "c-runtime"}], handlers={"c-runtime": FakeContainer(
        {"/proc/1/status": STATUS_TEXT, "/proc/1/attr/current": EINVAL})})
    apiserver.runtime.add_pod("rt-lab", "p-aa-runtime", [{"name": "c-aa-runtime"}], phase="Pending",
                              states={"c-aa-runtime": {"waiting": {"reason": "Blocked"}}})
    apiserver.cluster = connect(ConnectionOptions(kubeconfig=str(apiserver.kubeconfig_path)))
    return apiserver


def run(lab, argv, pod="p-runtime", container="c-runtime", **kwargs):
    return exec_argv(lab.cluster, "rt-lab", pod, container, argv, **kwargs)


def test_stdout_and_exit_0(lab):
    result = run(lab, ["cat", "/proc/1/status"])
    assert (result.stdout_text, result.stderr, result.exit_code, result.protocol) == (
        STATUS_TEXT, b"", 0, "v4.channel.k8s.io")
    [req] = lab.requests_to("/api/v1/namespaces/rt-lab/pods/p-runtime/exec")
    recorded = load_recording("exec-ws-cat-status")["request"]
    assert req.raw_query == recorded["url"].split("?", 1)[1]  # argv as repeated command= parameters
    assert req.header("Sec-WebSocket-Protocol") == ",".join(recorded["offered_subprotocols"])
    assert req.header("Authorization") == f"Bearer {lab.token}" and req.header("Upgrade") == "websocket"


def test_nonzero_exit_is_a_result(lab):
    result = run(lab, ["cat", "/proc/1/attr/current"])
    assert (result.exit_code, result.stderr_text, result.ok) == (1, "cat: read error: Invalid argument\n", False)
    with pytest.raises(NonZeroExit) as info:
        run(lab, ["cat", "/proc/1/attr/current"], check=True)
    assert info.value.result.exit_code == 1 and "Invalid argument" in str(info.value)


def test_exit_code_from_causes(lab):
    lab.runtime.on_exec("rt-lab", "p-runtime", "c-runtime", lambda call: ExecOutcome(exit_code=3))
    assert run(lab, ["sh", "-c", "exit 3"]).exit_code == 3


def test_argv_is_never_a_shell_string(lab):
    seen = []
    lab.runtime.on_exec("rt-lab", "p-runtime", "c-runtime", lambda call: seen.append(call.argv) or ExecOutcome())
    run(lab, ["printf", "%s", "a b; rm -rf / && $(x)", "--", "'quoted'"])
    assert seen == [["printf", "%s", "a b; rm -rf / && $(x)", "--", "'quoted'"]]
    with pytest.raises(TypeError):
        run(lab, "cat /proc/1/status")


def test_command_not_found(lab):
    with pytest.raises(CommandNotFound) as info:
        run(lab, ["no-such-binary"])
    assert info.value.reason == "InternalError" and info.value.status == 500
    assert "executable file not found in $PATH" in str(info.value)


def test_blocked_container_is_container_not_found(lab):
    with pytest.raises(ContainerNotFound) as info:
        run(lab, ["cat", "/proc/1/attr/current"], pod="p-aa-runtime", container="c-aa-runtime")
    assert info.value.status == 500 and 'container not found ("c-aa-runtime")' in str(info.value)


def test_missing_pod_is_not_found(lab):
    with pytest.raises(ExecNotFound) as info:
        run(lab, ["ls"], pod="does-not-exist")
    assert str(info.value) == load_recording("exec-missing-pod")["response"]["body"]["message"]


def test_forbidden(lab):
    lab.forbid("pods/exec", namespace="rt-lab")
    with pytest.raises(ExecForbidden) as info:
        run(lab, ["cat", "/proc/1/status"])
    assert isinstance(info.value, Forbidden) and info.value.status == 403
    assert 'cannot create resource "pods/exec"' in str(info.value)


def test_unknown_container_is_bad_request(lab):
    with pytest.raises(ExecFailed) as info:
        run(lab, ["ls"], container="nope")
    assert info.value.status == 400 and "container nope is not valid for pod p-runtime" in str(info.value)


@pytest.mark.parametrize("protocols, chosen", [
    (("channel.k8s.io",), "channel.k8s.io"),  # plain-text error channel
    (("v2.channel.k8s.io", "channel.k8s.io"), "v2.channel.k8s.io"),
    (PROTOCOLS_1_30, "v5.channel.k8s.io"),
])
def test_older_and_newer_protocols(lab, protocols, chosen):
    lab.runtime.supported_protocols = protocols
    ok = run(lab, ["cat", "/proc/1/status"])
    failed = run(lab, ["cat", "/proc/1/attr/current"])
    assert (ok.protocol, ok.exit_code, failed.exit_code) == (chosen, 0, 1)
    with pytest.raises(CommandNotFound):
        run(lab, ["nope"])


def test_large_binary_output_is_intact(lab):
    blob = bytes(range(256)) * 400  # 100 KiB, several frames
    lab.runtime.on_exec("rt-lab", "p-runtime", "c-runtime", lambda call: ExecOutcome(stdout=blob, stderr=b"\xff"))
    result = run(lab, ["cat", "/bin/busybox"])
    assert result.stdout == blob and result.stderr == b"\xff"


def test_dropped_stream_without_status(lab):
    lab.runtime.on_exec("rt-lab", "p-runtime", "c-runtime", lambda call: ExecOutcome(drop=True))
    assert run(lab, ["true"]).exit_code == 0  # like kubectl: no error on the error channel


def test_dead_server(lab):
    lab.stop()
    with pytest.raises(ClusterUnreachable):
        run(lab, ["true"])


def test_exec_url():
    assert exec_url("https://k8s.example.com:6443/prefix/", "a b", "p", "c", ["cat", "/x y"]) == (
        "wss://k8s.example.com:6443/prefix/api/v1/namespaces/a%20b/pods/p/exec?command=cat&command=%2Fx+y"
        "&container=c&stdout=true&stderr=true")
    assert CHANNEL_PROTOCOLS[0] == "v5.channel.k8s.io"


# --- the fake against the recordings -------------------------------------------------------------
def raw_frames(server, argv, protocols, pod="p-runtime", container="c-runtime"):
    """Server frames as a plain websocket-client sees them (no kubectl_pss code involved)."""
    import websocket

    url = exec_url(server.url, "rt-lab", pod, container, argv)
    ws = websocket.WebSocket(sslopt={"cert_reqs": ssl.CERT_REQUIRED, "ca_certs": str(server.cert.cert_path)})
    ws.connect(url, header=[f"Authorization: Bearer {server.token}"], subprotocols=list(protocols))
    frames = []
    while True:
        opcode, frame = ws.recv_data_frame(True)
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            close = int.from_bytes(frame.data[:2], "big")
            break
        frames.append((frame.data[0], frame.data[1:]))
    protocol = ws.getsubprotocol()
    ws.shutdown()
    return protocol, frames, close


@pytest.mark.parametrize("name, argv", [
    ("exec-ws-cat-status", ["cat", "/proc/1/status"]),
    ("exec-ws-cat-attr-current-nonzero", ["cat", "/proc/1/attr/current"]),
    ("exec-ws-exit-3-v4only", ["sh", "-c", "exit 3"]),
    ("exec-ws-v1-channel-exit-1", ["sh", "-c", "exit 1"]),
])
def test_fake_frames_match_recordings(lab, name, argv):
    recording = load_recording(name)
    code = {"exec-ws-exit-3-v4only": 3, "exec-ws-v1-channel-exit-1": 1}.get(name)
    if code is not None:
        lab.runtime.on_exec("rt-lab", "p-runtime", "c-runtime", lambda call: ExecOutcome(exit_code=code))
    protocol, frames, close = raw_frames(lab, argv, recording["request"]["offered_subprotocols"])
    assert protocol == recording["response"]["subprotocol"]
    assert frames == [(f["channel"], base64.b64decode(f["payload_b64"])) for f in recording["frames"]]
    assert close == recording["close"]["code"]


def test_fake_command_not_found_matches_recording_shape(lab):
    recording = load_recording("exec-ws-command-not-found")
    _, frames, _ = raw_frames(lab, ["no-such-binary"], recording["request"]["offered_subprotocols"])
    want = json.loads(recording["frames"][1]["payload_text"])
    got = json.loads(frames[1][1])
    assert [c for c, _ in frames] == [1, 3]
    assert (got["status"], got["reason"], got["code"], list(got)) == (want["status"], want["reason"], want["code"],
                                                                      list(want))
    assert got["message"].endswith('exec: "no-such-binary": executable file not found in $PATH: unknown')


def test_fake_blocked_container_matches_recording(lab):
    import websocket

    recording = load_recording("exec-ws-container-blocked")
    with pytest.raises(websocket.WebSocketBadStatusException) as info:
        raw_frames(lab, ["cat", "/proc/1/attr/current"], CHANNEL_PROTOCOLS, "p-aa-runtime", "c-aa-runtime")
    assert info.value.status_code == 500 and info.value.resp_body.decode() == recording["response"]["body"]
    assert info.value.resp_headers["content-type"] == "text/plain; charset=utf-8"
