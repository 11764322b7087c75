"""SSRF guard: odd spellings of loopback, private and metadata addresses are refused unless
allowed, and the fetch step connects to the address it checked (one DNS lookup)."""

from __future__ import annotations

import ipaddress
import socket

import pytest

from newsflow.transforms.fetch import netguard
from newsflow.transforms.fetch.download import FetchOptions, fetch_pages
from newsflow.transforms.fetch.robots import RobotsCache
from tests.unit.fetch_server import page, send, serve

HINT = "(allow it with NEWSFLOW_ALLOWED_PRIVATE_NETWORKS)"


@pytest.mark.parametrize(
    "url",
    [
        "http://2130706433/",
        "http://0x7f.1/",
        "http://0177.0.0.1/",
        "http://127.1/",
        "http://[::ffff:127.0.0.1]/",
    ],
)
def test_loopback_spellings_are_refused_when_not_allowed(url):
    pages, failures = fetch_pages([url], FetchOptions(robots=RobotsCache()))
    assert not pages
    host = url.split("//")[1].rstrip("/").strip("[]")
    assert failures[0].reason in (
        f"refused: {host} resolves to 127.0.0.1, a loopback address {HINT}",
        f"refused: 127.0.0.1 is a loopback address {HINT}",  # literal ::ffff:127.0.0.1
    )


def test_ipv6_loopback_and_localhost_are_refused():
    pages, failures = fetch_pages(
        ["http://[::1]:9/", "http://localhost:9/x"], FetchOptions(robots=RobotsCache())
    )
    reasons = [f.reason for f in failures]
    assert not pages
    assert reasons[0] == f"refused: ::1 is a loopback address {HINT}"
    assert reasons[1].startswith("refused: localhost resolves to") and "loopback" in reasons[1]


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("10.1.2.3", "private"),
        ("192.168.0.1", "private"),
        ("172.16.5.4", "private"),
        ("169.254.169.254", "cloud metadata"),
        ("fd00:ec2::254", "cloud metadata"),
        ("169.254.1.1", "link-local"),
        ("fe80::1", "link-local"),
        ("fd12:3456::1", "unique-local"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("240.0.0.1", "reserved"),
        ("100.64.0.1", "non-public"),
        ("::ffff:10.0.0.1", "private"),
        ("93.184.216.34", None),
        ("2606:2800:220:1:248:1893:25c8:1946", None),
    ],
)
def test_classify(address, kind):
    assert netguard.classify(ipaddress.ip_address(address)) == kind


def test_allowed_networks_let_addresses_through():
    allowed = netguard.parse_networks(["127.0.0.0/8", "10.0.0.0/8"])
    netguard.check_address(ipaddress.ip_address("127.0.0.5"), allowed)
    netguard.check_address(ipaddress.ip_address("::ffff:10.1.1.1"), allowed)
    with pytest.raises(netguard.RefusedAddress, match=r"192\.168\.1\.1 is a private address"):
        netguard.check_address(ipaddress.ip_address("192.168.1.1"), allowed)
    with pytest.raises(ValueError, match="not a CIDR network"):
        netguard.parse_networks(["10.0.0.0/33"])


def test_connects_to_the_checked_address_without_a_second_lookup(monkeypatch):
    """A name that answers 127.0.0.1 first and 10.0.0.1 afterwards (DNS rebinding) is looked
    up once per run and every request goes to the address that passed the check."""
    real = socket.getaddrinfo
    lookups = []

    def rebinding(host, port, *args, **kwargs):
        if host == "rebind.test":
            lookups.append(host)
            address = "127.0.0.1" if len(lookups) == 1 else "10.0.0.1"
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    routes = {f"/p{i}": (lambda h: send(h, 200, page("pinned"))) for i in range(3)}
    with serve(routes) as site:
        port = site.server.server_address[1]
        urls = [f"http://rebind.test:{port}/p{i}" for i in range(3)]
        opts = FetchOptions(allowed_networks=("127.0.0.0/8",), robots=RobotsCache())
        pages, failures = fetch_pages(urls, opts)
        hosts = {h.headers["host"] for h in site.recorder.hits}
    assert not failures and len(pages) == 3 and all("pinned" in p.html for p in pages)
    assert lookups == ["rebind.test"]
    assert hosts == {f"rebind.test:{port}"}  # the name, not the address, in Host


def test_international_host_names_are_checked_and_pinned_in_their_ascii_form(monkeypatch):
    real = socket.getaddrinfo
    asked = []

    def resolver(host, port, *args, **kwargs):
        if "bcher" in str(host):
            asked.append(host)
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    with serve({"/a": lambda h: send(h, 200, page("idn"))}) as site:
        port = site.server.server_address[1]
        opts = FetchOptions(allowed_networks=("127.0.0.0/8",), robots=RobotsCache())
        pages, failures = fetch_pages([f"http://Bücher.test:{port}/a"], opts)
        host = site.recorder.of("/a")[0].headers["host"]
    assert not failures and "idn" in pages[0].html
    assert asked == ["xn--bcher-kva.test"] and host == f"xn--bcher-kva.test:{port}"


def _self_signed(tmp_path):
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sni.test")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("sni.test")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


def test_https_to_a_pinned_address_sends_the_host_name_as_sni_and_verifies_it(
    tmp_path, monkeypatch
):
    """The connection goes to the checked IP, but TLS still names (and verifies) the host:
    a self-signed certificate is rejected, and the server saw SNI 'sni.test'."""
    import ssl
    import threading

    cert_file, key_file = _self_signed(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    names = []
    context.sni_callback = lambda sock, name, ctx: names.append(name)
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def accept_one():
        conn, _ = listener.accept()
        try:
            context.wrap_socket(conn, server_side=True).close()
        except (ssl.SSLError, OSError):
            pass  # the client refuses our certificate: expected
        finally:
            conn.close()

    thread = threading.Thread(target=accept_one, daemon=True)
    thread.start()
    real = socket.getaddrinfo

    def resolver(host, p, *args, **kwargs):
        if host == "sni.test":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", p))]
        return real(host, p, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    opts = FetchOptions(
        allowed_networks=("127.0.0.0/8",), robots=RobotsCache(), obey_robots=False, retries=0
    )
    pages, failures = fetch_pages([f"https://sni.test:{port}/"], opts)
    thread.join(5)
    listener.close()
    assert not pages and "CERTIFICATE_VERIFY_FAILED" in failures[0].reason
    assert names == ["sni.test"]


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ("127.0.0.0/8, 10.0.0.0/8", ["127.0.0.0/8", "10.0.0.0/8"]),
        ('["127.0.0.0/8", "::1/128"]', ["127.0.0.0/8", "::1/128"]),
        ("", []),
    ],
)
def test_allowed_private_networks_setting_reads_json_or_comma_lists(monkeypatch, env, expected):
    from newsflow.settings import Settings

    monkeypatch.setenv("NEWSFLOW_ALLOWED_PRIVATE_NETWORKS", env)
    assert Settings().allowed_private_networks == expected


def test_allowed_private_networks_setting_rejects_bad_cidrs(monkeypatch):
    from pydantic import ValidationError

    from newsflow.settings import Settings

    monkeypatch.setenv("NEWSFLOW_ALLOWED_PRIVATE_NETWORKS", "10.0.0.0/33")
    with pytest.raises(ValidationError, match=r"10\.0\.0\.0/33"):
        Settings()


def test_unresolvable_host_fails_once_without_retries(monkeypatch):
    real = socket.getaddrinfo
    asked = []

    def resolver(host, port, *args, **kwargs):
        if host == "dead.test":
            asked.append(host)
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    opts = FetchOptions(retries=3, robots=RobotsCache())
    _, failures = fetch_pages(["http://dead.test/a", "http://dead.test/b"], opts)
    assert [f.reason for f in failures] == [
        "connection failed: cannot resolve dead.test: [Errno -2] Name or service not known"
    ] * 2
    assert asked == ["dead.test"]
