"""Network reach: what a NetworkPolicy, Service or Ingress opens or closes.

netpol-selects-all         an empty podSelector selects every pod in the namespace
netpol-denies-all-ingress  policyTypes Ingress without a single ingress rule
netpol-denies-all-egress   policyTypes Egress without a single egress rule (DNS included)
service-load-balancer      type LoadBalancer: an address outside the cluster
service-node-port          type NodePort: a port on every node
service-external-ips       externalIPs: traffic to those addresses, anywhere in the cluster,
                           goes to this Service (CVE-2020-8554)
ingress-any-host           a rule without a host or with a wildcard host, or a default
                           backend: the Ingress answers for names it does not own
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Final

from pydantic import JsonValue

from orchestrator.adapters.kubernetes_objects import as_dict, as_list, is_empty_selector
from orchestrator.analysis.kubernetes_facts import Fact, strings

# Annotations that keep a cloud load balancer inside the network (recorded, still a finding:
# the Service is reachable from outside the cluster).
INTERNAL_LOAD_BALANCER: Final = {
    "service.beta.kubernetes.io/aws-load-balancer-internal": ("true",),
    "service.beta.kubernetes.io/aws-load-balancer-scheme": ("internal",),
    "networking.gke.io/load-balancer-type": ("internal",),
    "cloud.google.com/load-balancer-type": ("internal",),
    "service.beta.kubernetes.io/azure-load-balancer-internal": ("true",),
    "service.beta.kubernetes.io/oci-load-balancer-internal": ("true",),
}


def network_policy_facts(obj: Mapping[str, Any], namespace: str | None) -> Iterator[Fact]:
    """Policies that select every pod, and policies that deny a direction outright."""
    spec = as_dict(obj.get("spec"))
    if is_empty_selector(spec.get("podSelector")):
        detail: JsonValue = {"namespace": namespace, "podSelector": {}}
        yield Fact("netpol-selects-all", detail, (("spec", "podSelector"),))
    types = strings(spec.get("policyTypes"))
    if not types:
        # Kubernetes' default: Ingress always, Egress only when egress rules are given.
        types = ["Ingress", *(["Egress"] if spec.get("egress") else [])]
    for direction, field in (("Ingress", "ingress"), ("Egress", "egress")):
        if direction in types and not as_list(spec.get(field)):
            shown: JsonValue = {"namespace": namespace, "policyTypes": [*types]}
            where = ("spec", "policyTypes") if "policyTypes" in spec else ("spec",)
            yield Fact(f"netpol-denies-all-{field}", shown, (where,))


def service_facts(obj: Mapping[str, Any]) -> Iterator[Fact]:
    """A Service reachable from outside the cluster, or claiming other addresses."""
    spec = as_dict(obj.get("spec"))
    kind = spec.get("type")
    ports: list[JsonValue] = [
        {k: v for k, v in as_dict(p).items() if k in ("port", "nodePort", "protocol")}
        for p in as_list(spec.get("ports"))
    ]
    if kind == "LoadBalancer":
        annotations = as_dict(as_dict(obj.get("metadata")).get("annotations"))
        internal = any(
            str(annotations.get(key, "")).lower() in values
            for key, values in INTERNAL_LOAD_BALANCER.items()
        )
        ranges: list[JsonValue] = [*strings(spec.get("loadBalancerSourceRanges"))]
        # No loadBalancerSourceRanges: the cloud's default, open to every address.
        detail: JsonValue = {"ports": ports, "internal": internal, "source_ranges": ranges}
        yield Fact("service-load-balancer", detail, (("spec", "type"),))
    elif kind == "NodePort":
        yield Fact("service-node-port", {"ports": ports}, (("spec", "type"),))
    addresses = strings(spec.get("externalIPs"))
    if addresses:
        shown: JsonValue = {"externalIPs": list[JsonValue](addresses)}
        yield Fact("service-external-ips", shown, (("spec", "externalIPs"),))


def ingress_facts(obj: Mapping[str, Any]) -> Iterator[Fact]:
    """Ingress rules that answer for every host, or for a wildcard of hosts."""
    spec = as_dict(obj.get("spec"))
    hosts: list[JsonValue] = []
    paths: list[tuple[str | int, ...]] = []
    if spec.get("defaultBackend") or spec.get("backend"):
        hosts.append("(default backend: every host)")
        paths.append(("spec", "defaultBackend" if "defaultBackend" in spec else "backend"))
    for index, rule in enumerate(as_list(spec.get("rules"))):
        host = as_dict(rule).get("host")
        if not isinstance(host, str) or not host.strip():
            hosts.append("(no host: every host)")
            paths.append(("spec", "rules", index))
        elif "*" in host:
            hosts.append(host)
            paths.append(("spec", "rules", index, "host"))
    if hosts:
        yield Fact("ingress-any-host", {"hosts": hosts}, tuple(paths))
