"""Network exposure: what a security group, NACL, firewall or NSG lets in from the internet.

Ingress from `0.0.0.0/0` or `::/0` (Azure: `*`, `Internet`, `Any`) is read
with its ports: every port, an administrative port (22 SSH, 3389 RDP), a
database port, or another port. Public IP addresses, internet-facing load
balancers, databases marked publicly accessible, S3 public access blocks
turned off and public ACLs are exposure too.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Final

from orchestrator.analysis.access import AccessKind, Fact
from orchestrator.analysis.values import as_int, dicts, is_true, listed, strings

# addresses to recognise in rules, not to bind to
WORLD: Final = frozenset({"0.0.0.0/0", "::/0", "*", "internet", "any", "0.0.0.0"})  # noqa: S104
ADMIN_PORTS: Final = {22: "SSH", 3389: "RDP", 5985: "WinRM", 5986: "WinRM"}
DATABASE_PORTS: Final = {
    1433: "SQL Server",
    1521: "Oracle",
    3306: "MySQL",
    5432: "PostgreSQL",
    6379: "Redis",
    9042: "Cassandra",
    9200: "Elasticsearch",
    11211: "Memcached",
    27017: "MongoDB",
    2379: "etcd",
}
_ALL_PROTOCOLS: Final = frozenset({"-1", "all", "*"})
PUBLIC_ACLS: Final = frozenset({"public-read", "public-read-write", "authenticated-read"})
_PUBLIC_GRANTEES: Final = ("/global/AllUsers", "/global/AuthenticatedUsers")
PUBLIC_ACCESS_FLAGS: Final = (
    "block_public_acls",
    "block_public_policy",
    "ignore_public_acls",
    "restrict_public_buckets",
)

Range = tuple[int, int]


def port_facts(
    sources: list[str], ports: list[Range] | None, where: str, line: int | None
) -> Iterator[Fact]:
    """Facts of ingress from `sources` on `ports` (None: every port)."""
    world = sorted({s for s in sources if s.strip().lower() in WORLD})
    if not world:
        return
    origin = f"from {listed(world)}"
    if ports is None or any(lo <= 1 and hi >= 65535 for lo, hi in ports):
        yield Fact(AccessKind.WORLD_OPEN_ALL_PORTS, where, f"every port open {origin}", line)
        return
    shown = ", ".join(str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in ports)
    admin = _named(ports, ADMIN_PORTS)
    database = _named(ports, DATABASE_PORTS)
    if admin:
        yield Fact(
            AccessKind.WORLD_OPEN_ADMIN_PORT, where, f"{admin} (ports {shown}) open {origin}", line
        )
    if database:
        detail = f"{database} (ports {shown}) open {origin}"
        yield Fact(AccessKind.WORLD_OPEN_DATABASE_PORT, where, detail, line)
    if not admin and not database:
        yield Fact(AccessKind.WORLD_OPEN_PORT, where, f"ports {shown} open {origin}", line)


def aws_rule_facts(rule: dict[str, Any], where: str, line: int | None = None) -> Iterator[Fact]:
    """One AWS ingress rule (a security group's `ingress` block or rule resource, a NACL entry)."""
    sources = [
        *strings(rule.get("cidr_blocks")),
        *strings(rule.get("ipv6_cidr_blocks")),
        *strings(rule.get("cidr_ipv4")),
        *strings(rule.get("cidr_ipv6")),
        *strings(rule.get("cidr_block")),
        *strings(rule.get("ipv6_cidr_block")),
    ]
    protocol = str(rule.get("protocol", rule.get("ip_protocol", "")) or "").lower()
    lo, hi = as_int(rule.get("from_port")), as_int(rule.get("to_port"))
    ports: list[Range] | None = None
    if protocol not in _ALL_PROTOCOLS and lo is not None:
        hi = lo if hi is None else hi
        # a range written backwards (from 443 to 22) is read as the ports between
        ports = [(min(lo, hi), max(lo, hi))]
    yield from port_facts(sources, ports, where, as_int(rule.get("__line__")) or line)


def security_group_facts(rtype: str, values: dict[str, Any], line: int | None = None) -> list[Fact]:
    """Ingress facts of AWS security groups, rules and network ACLs."""
    facts: list[Fact] = []
    if rtype in ("aws_security_group", "aws_default_security_group"):
        for index, rule in enumerate(dicts(values.get("ingress"))):
            facts.extend(aws_rule_facts(rule, f"ingress[{index}]", line))
    elif rtype in ("aws_network_acl", "aws_default_network_acl"):
        for index, rule in enumerate(dicts(values.get("ingress"))):
            if str(rule.get("action", "allow")).lower() == "allow":
                facts.extend(aws_rule_facts(rule, f"ingress[{index}]", line))
    elif rtype == "aws_network_acl_rule":
        if (
            not is_true(values.get("egress"))
            and str(values.get("rule_action", "")).lower() == "allow"
        ):
            facts.extend(aws_rule_facts(values, "rule", line))
    elif rtype == "aws_security_group_rule":
        if str(values.get("type", "")).lower() == "ingress":
            facts.extend(aws_rule_facts(values, "rule", line))
    elif rtype == "aws_vpc_security_group_ingress_rule":
        facts.extend(aws_rule_facts(values, "rule", line))
    return facts


def gcp_firewall_facts(values: dict[str, Any], line: int | None = None) -> list[Fact]:
    """Ingress facts of a GCP firewall rule (INGRESS is its default direction)."""
    if str(values.get("direction") or "INGRESS").upper() != "INGRESS" or is_true(
        values.get("disabled")
    ):
        return []
    sources = list(strings(values.get("source_ranges")))
    facts: list[Fact] = []
    for index, allow in enumerate(dicts(values.get("allow"))):
        protocol = str(allow.get("protocol") or "").lower()
        listed_ports = _port_ranges(strings(allow.get("ports")))
        ports = None if protocol in _ALL_PROTOCOLS or not listed_ports else listed_ports
        facts.extend(
            port_facts(sources, ports, f"allow[{index}]", as_int(allow.get("__line__")) or line)
        )
    return facts


def azure_nsg_facts(rtype: str, values: dict[str, Any], line: int | None = None) -> list[Fact]:
    """Inbound Allow facts of an Azure NSG's rules or one NSG rule."""
    rules = (
        [(f"security_rule[{i}]", r) for i, r in enumerate(dicts(values.get("security_rule")))]
        if rtype == "azurerm_network_security_group"
        else [("rule", values)]
    )
    facts: list[Fact] = []
    for where, rule in rules:
        if str(rule.get("direction", "")).lower() != "inbound":
            continue
        if str(rule.get("access", "")).lower() != "allow":
            continue
        sources = [
            *strings(rule.get("source_address_prefix")),
            *strings(rule.get("source_address_prefixes")),
        ]
        raw = [
            *strings(rule.get("destination_port_range")),
            *strings(rule.get("destination_port_ranges")),
        ]
        ports = None if not raw or "*" in raw else _port_ranges(raw)
        facts.extend(port_facts(sources, ports, where, as_int(rule.get("__line__")) or line))
    return facts


def public_facts(rtype: str, values: dict[str, Any], line: int | None = None) -> list[Fact]:
    """Public addresses, internet-facing load balancers, public ACLs, public access blocks off."""
    facts: list[Fact] = []
    add = facts.append
    if rtype in ("aws_eip", "azurerm_public_ip", "azurerm_public_ip_prefix"):
        add(Fact(AccessKind.PUBLIC_ADDRESS, rtype, "allocates a public IP address", line))
    elif rtype in ("google_compute_address", "google_compute_global_address"):
        if str(values.get("address_type") or "EXTERNAL").upper() == "EXTERNAL":
            add(
                Fact(
                    AccessKind.PUBLIC_ADDRESS,
                    "address_type",
                    "reserves an external IP address",
                    line,
                )
            )
    elif rtype in ("aws_instance", "aws_subnet", "aws_db_instance", "aws_rds_cluster_instance"):
        for flag in (
            "associate_public_ip_address",
            "map_public_ip_on_launch",
            "publicly_accessible",
        ):
            if is_true(values.get(flag)):
                add(Fact(AccessKind.PUBLIC_ADDRESS, flag, f"{flag} = true", line))
    elif rtype == "google_compute_instance":
        for index, nic in enumerate(dicts(values.get("network_interface"))):
            if dicts(nic.get("access_config")):
                add(
                    Fact(
                        AccessKind.PUBLIC_ADDRESS,
                        f"network_interface[{index}]",
                        "has an access_config (external IP)",
                        line,
                    )
                )
    elif rtype in ("aws_lb", "aws_alb", "aws_elb"):
        if not is_true(values.get("internal")):
            add(
                Fact(
                    AccessKind.PUBLIC_LOAD_BALANCER,
                    "internal",
                    "internet-facing (internal = false)",
                    line,
                )
            )
    elif rtype in ("google_compute_forwarding_rule", "google_compute_global_forwarding_rule"):
        scheme = str(values.get("load_balancing_scheme") or "EXTERNAL").upper()
        if scheme.startswith("EXTERNAL"):
            add(
                Fact(
                    AccessKind.PUBLIC_LOAD_BALANCER,
                    "load_balancing_scheme",
                    f"load_balancing_scheme {scheme}",
                    line,
                )
            )
    elif rtype == "azurerm_lb":
        for index, front in enumerate(dicts(values.get("frontend_ip_configuration"))):
            if front.get("public_ip_address_id") or front.get("public_ip_prefix_id"):
                add(
                    Fact(
                        AccessKind.PUBLIC_LOAD_BALANCER,
                        f"frontend_ip_configuration[{index}]",
                        "a public frontend IP",
                        line,
                    )
                )
    elif rtype in ("aws_s3_bucket", "aws_s3_bucket_acl"):
        facts.extend(_acl_facts(values, line))
    elif rtype in ("aws_s3_bucket_public_access_block", "aws_s3_account_public_access_block"):
        off = [
            flag
            for flag in PUBLIC_ACCESS_FLAGS
            if values.get(flag) is False or values.get(flag) == "false"
        ]
        if off:
            add(
                Fact(AccessKind.PUBLIC_ACCESS_BLOCK_OFF, "flags", f"{', '.join(off)} = false", line)
            )
    return facts


def removed_block_facts(rtype: str) -> list[Fact]:
    """What deleting a protective resource leaves: an S3 public access block deleted is off."""
    if rtype in ("aws_s3_bucket_public_access_block", "aws_s3_account_public_access_block"):
        detail = "the public access block is deleted: every flag is off"
        return [Fact(AccessKind.PUBLIC_ACCESS_BLOCK_OFF, "resource", detail)]
    return []


def _acl_facts(values: dict[str, Any], line: int | None) -> Iterator[Fact]:
    acl = values.get("acl")
    if isinstance(acl, str) and acl.lower() in PUBLIC_ACLS:
        yield Fact(AccessKind.PUBLIC_ACL, "acl", f'acl = "{acl}"', line)
    for policy in dicts(values.get("access_control_policy")):
        for grant in dicts(policy.get("grant")):
            for grantee in dicts(grant.get("grantee")):
                uri = str(grantee.get("uri") or "")
                if uri.endswith(_PUBLIC_GRANTEES):
                    detail = f"grants {grant.get('permission')} to {uri}"
                    yield Fact(AccessKind.PUBLIC_ACL, "access_control_policy", detail, line)


def _port_ranges(raw: tuple[str, ...] | list[str]) -> list[Range]:
    ranges: list[Range] = []
    for item in raw:
        for part in item.split(","):
            lo, _, hi = part.strip().partition("-")
            first, last = as_int(lo), as_int(hi) if hi else as_int(lo)
            if first is not None and last is not None:
                ranges.append((min(first, last), max(first, last)))
    return ranges


def _named(ports: list[Range], names: dict[int, str]) -> str:
    hits = sorted({f"{names[p]} {p}" for p in names for lo, hi in ports if lo <= p <= hi})
    return ", ".join(hits)
