"""hostPorts pluralises containers and ports independently, as upstream's check_hostPorts.go does:

    pluralize("container", "containers", len(badContainers)), joinQuote(badContainers),
    pluralize("uses", "use", len(badContainers)),
    pluralize("hostPort", "hostPorts", len(forbiddenHostPorts)), strings.Join(forbiddenHostPorts.List(), ", ")

``forbiddenHostPorts`` is a set of strings: a port shared by two containers is named once.
"""
from __future__ import annotations

from kubectl_pss.policy import evaluate


def pod(*containers: dict) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": list(containers)}}


def host_port_detail(obj: dict) -> tuple[str, str]:
    [violation] = [v for v in evaluate(obj, "baseline", "latest").violations if v.check == "hostPorts"]
    return violation.reason, violation.detail


def test_one_container_with_two_host_ports():
    web = {"name": "web", "image": "x", "ports": [{"containerPort": 80, "hostPort": 80},
                                                   {"containerPort": 443, "hostPort": 443}]}
    assert host_port_detail(pod(web)) == ("hostPort", 'container "web" uses hostPorts 443, 80')


def test_two_containers_sharing_one_host_port():
    a = {"name": "a", "image": "x", "ports": [{"containerPort": 8080, "hostPort": 8080}]}
    b = {"name": "b", "image": "x", "ports": [{"containerPort": 8080, "hostPort": 8080, "protocol": "UDP"}]}
    assert host_port_detail(pod(a, b)) == ("hostPort", 'containers "a", "b" use hostPort 8080')
