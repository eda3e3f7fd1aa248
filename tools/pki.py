"""``virtwire pki``: make and check a libvirt TLS PKI.

Usage::

    virtwire pki init DIR [--ca-cn CN] [--server-cn CN] [--server-san NAME]...
                          [--client-cn CN] [--days N] [--force]
    virtwire pki check DIR [--host NAME]

``init`` writes one directory that serves both ends, in libvirt's ``pkipath`` layout:
``cacert.pem`` (the CA), ``servercert.pem``/``serverkey.pem`` (for ``virtwire serve
--pki-dir DIR`` or libvirtd's ``cert_file``/``key_file``), ``clientcert.pem``/
``clientkey.pem`` (for ``?pkipath=DIR`` in a client URI) and ``cakey.pem`` (to issue more
certificates later; keep it off production hosts). Private keys are mode 0600. Existing
files are never overwritten without ``--force``.

``check`` prints one line per defect that libvirt (or ``virt-pki-validate``) would reject
and exits 1 if there is any; warnings (printed, exit 0) are what libvirt only logs.
"""

from __future__ import annotations

import argparse
import datetime
import ipaddress
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from virtwire.server.tls import check_pki

__all__ = [
    "Issued",
    "build_parser",
    "issue",
    "main",
    "make_ca",
    "new_key",
    "write_key",
    "write_pki",
]

FILES = ("cacert.pem", "cakey.pem", "servercert.pem", "serverkey.pem",
         "clientcert.pem", "clientkey.pem")  # fmt: skip
DEFAULT_SANS = ("localhost", "127.0.0.1", "::1")
ORG = "virtwire"


@dataclass(frozen=True, slots=True)
class Issued:
    cert: x509.Certificate
    key: rsa.RSAPrivateKey


def new_key(bits: int = 2048) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORG),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])  # fmt: skip


def _usage(**on: bool) -> x509.KeyUsage:
    names = ("digital_signature", "content_commitment", "key_encipherment", "data_encipherment",
             "key_agreement", "key_cert_sign", "crl_sign", "encipher_only", "decipher_only")  # fmt: skip
    return x509.KeyUsage(**{n: on.get(n, False) for n in names})


def _window(
    days: int, start: datetime.datetime | None
) -> tuple[datetime.datetime, datetime.datetime]:
    start = start or (datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=5))
    return start, start + datetime.timedelta(days=days)


def make_ca(cn: str = "virtwire CA", days: int = 3650, *, start: datetime.datetime | None = None,
            key: rsa.RSAPrivateKey | None = None) -> Issued:  # fmt: skip
    """A self-signed CA: basic constraints CA (critical), keyCertSign + cRLSign (critical)."""
    key = key or new_key()
    not_before, not_after = _window(days, start)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(_name(cn))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_usage(key_cert_sign=True, crl_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return Issued(cert, key)


def _san(names: list[str] | tuple[str, ...]) -> x509.SubjectAlternativeName:
    out: list[x509.GeneralName] = []
    for n in names:
        try:
            out.append(x509.IPAddress(ipaddress.ip_address(n.strip("[]"))))
        except ValueError:
            out.append(x509.DNSName(n))
    return x509.SubjectAlternativeName(out)


def issue(
    ca: Issued,
    cn: str,
    role: str,
    *,
    sans: list[str] | tuple[str, ...] | None = None,
    days: int = 3650,
    start: datetime.datetime | None = None,
    eku: list[x509.ObjectIdentifier] | None = None,
    key: rsa.RSAPrivateKey | None = None,
) -> Issued:
    """A server or client certificate signed by ``ca`` (libvirt's key usage and purpose)."""
    key = key or new_key()
    not_before, not_after = _window(days, start)
    if eku is None:
        eku = [ExtendedKeyUsageOID.SERVER_AUTH if role == "server"
               else ExtendedKeyUsageOID.CLIENT_AUTH]  # fmt: skip
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(digital_signature=True, key_encipherment=True), critical=True)
        .add_extension(x509.ExtendedKeyUsage(eku), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), critical=False
        )
    )
    if sans:
        builder = builder.add_extension(_san(sans), critical=False)
    return Issued(builder.sign(ca.key, hashes.SHA256()), key)


def write_cert(path: Path, cert: x509.Certificate) -> None:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    os.chmod(path, 0o644)


def write_key(path: Path, key: rsa.RSAPrivateKey) -> None:
    """PEM (PKCS#8, unencrypted), created 0600 so it is never readable by others."""
    data = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())  # fmt: skip
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(path, 0o600)


def write_pki(
    directory: Path,
    *,
    ca_cn: str = "virtwire CA",
    server_cn: str = "localhost",
    server_sans: list[str] | tuple[str, ...] = DEFAULT_SANS,
    client_cn: str = "virtwire client",
    days: int = 3650,
) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    ca = make_ca(ca_cn, days)
    server = issue(ca, server_cn, "server", sans=server_sans, days=days)
    client = issue(ca, client_cn, "client", days=days)
    write_cert(directory / "cacert.pem", ca.cert)
    write_key(directory / "cakey.pem", ca.key)
    write_cert(directory / "servercert.pem", server.cert)
    write_key(directory / "serverkey.pem", server.key)
    write_cert(directory / "clientcert.pem", client.cert)
    write_key(directory / "clientkey.pem", client.key)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="virtwire pki", description="Make or check a libvirt TLS PKI."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    init = sub.add_parser("init", help="create a CA, a server and a client certificate in DIR")
    init.add_argument("dir", type=Path)
    init.add_argument("--ca-cn", default="virtwire CA")
    init.add_argument("--server-cn", default="localhost")
    init.add_argument("--server-san", action="append", metavar="NAME",
                      help="DNS name or IP for the server certificate (repeatable; "
                      "default: localhost, 127.0.0.1, ::1)")  # fmt: skip
    init.add_argument("--client-cn", default="virtwire client")
    init.add_argument("--days", type=int, default=3650)
    init.add_argument("--force", action="store_true", help="replace existing files")
    check = sub.add_parser("check", help="report what libvirt would reject in DIR")
    check.add_argument("dir", type=Path)
    check.add_argument("--host", help="the name clients dial: the server certificate must name it")
    return parser


def _init(args: argparse.Namespace) -> int:
    if args.days < 1:
        print("virtwire pki: error: --days must be at least 1", file=sys.stderr)
        return 2
    present = [n for n in FILES if (args.dir / n).exists()]
    if present and not args.force:
        print(f"virtwire pki: error: {args.dir} already has {', '.join(present)}; "
              "use --force to replace them", file=sys.stderr)  # fmt: skip
        return 1
    write_pki(args.dir, ca_cn=args.ca_cn, server_cn=args.server_cn,
              server_sans=args.server_san or DEFAULT_SANS, client_cn=args.client_cn,
              days=args.days)  # fmt: skip
    for n in FILES:
        print(args.dir / n)
    return 0


def _check(args: argparse.Namespace) -> int:
    d: Path = args.dir
    pairs = []
    for role in ("server", "client"):
        cert, key = d / f"{role}cert.pem", d / f"{role}key.pem"
        if cert.exists() or key.exists():
            pairs.append((role, cert, key))
    if not pairs:
        print(f"error: {d}: neither servercert.pem nor clientcert.pem is there")
        return 1
    defects = check_pki(d / "cacert.pem", pairs, host=args.host)
    for defect in defects:
        print(defect)
    if any(x.fatal for x in defects):
        return 1
    print(f"{d}: OK ({', '.join(role for role, _, _ in pairs)}"
          f"{'; host ' + args.host if args.host else ''})")  # fmt: skip
    return 0


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    return _init(args) if args.command == "init" else _check(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(sys.argv[1:]))
