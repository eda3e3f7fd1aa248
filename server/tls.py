"""TLS for the daemon: libvirt's PKI checks, the client DN as libvirt spells it, contexts.

What libvirtd does (``src/rpc/virnettlscontext.c``, ``virnetserverclient.c``) and what we
do the same way:

- At start the daemon checks its own certificate and the CA (validity times, basic
  constraints, key usage, purpose, signed by the CA) and refuses to start with a clear
  message when one is wrong (:func:`check_pki`, also behind ``virtwire pki check``).
- A client must present a certificate signed by the CA (``tls_no_verify_certificate = 1``
  lets anyone in). After the handshake the daemon checks the client certificate (not a
  CA, key usage, purpose clientAuth, ``tls_allowed_dn_list``) and then writes the single
  byte ``\\x01`` inside the TLS session; a refused client gets nothing: the socket is
  closed (:func:`refusal_reason`).
- ``tls_allowed_dn_list`` patterns are ``fnmatch`` globs matched against the DN in
  GnuTLS's compatibility form: the RDNs in the order the certificate encodes them,
  ``C=GB,O=Example,CN=client`` (:func:`gnutls_dn`), not the reversed RFC 4514 order.

What differs, because the stdlib ``ssl`` module cannot defer chain verification: a
certificate OpenSSL rejects itself (unknown CA, expired, revoked, none at all) fails the
handshake with a TLS alert instead of a completed handshake followed by a silent close.
Either way the client learns nothing beyond "refused" and no RPC byte is exchanged.
"""

from __future__ import annotations

import datetime
import fnmatch
import ipaddress
import os
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = [
    "DEFAULT_CA_FILE",
    "DEFAULT_CERT_FILE",
    "DEFAULT_CRL_FILE",
    "DEFAULT_KEY_FILE",
    "Defect",
    "TLSFiles",
    "check_certificate",
    "check_pki",
    "dn_allowed",
    "gnutls_dn",
    "host_matches",
    "refusal_reason",
    "server_context",
]

# libvirt's compiled-in locations for the daemon (LIBVIRT_PKI_DIR = /etc/pki)
DEFAULT_CA_FILE = "/etc/pki/CA/cacert.pem"
DEFAULT_CRL_FILE = "/etc/pki/CA/cacrl.pem"
DEFAULT_CERT_FILE = "/etc/pki/libvirt/servercert.pem"
DEFAULT_KEY_FILE = "/etc/pki/libvirt/private/serverkey.pem"


@dataclass(frozen=True, slots=True)
class TLSFiles:
    """The daemon's credentials; ``crl`` may be None (no revocation list)."""

    ca: Path
    cert: Path
    key: Path
    crl: Path | None = None

    @classmethod
    def from_pki_dir(cls, pki_dir: str | os.PathLike[str]) -> TLSFiles:
        """libvirt's ``pkipath`` layout: cacert.pem, servercert.pem, serverkey.pem, cacrl.pem."""
        d = Path(pki_dir)
        crl = d / "cacrl.pem"
        return cls(d / "cacert.pem", d / "servercert.pem", d / "serverkey.pem",
                   crl if crl.exists() else None)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Defect:
    """One problem found in a PKI: ``fatal`` ones make libvirt refuse it."""

    path: str
    message: str
    fatal: bool = True

    def __str__(self) -> str:
        return f"{'error' if self.fatal else 'warning'}: {self.path}: {self.message}"


# --- the DN as GnuTLS prints it ------------------------------------------------------------

_SHORT = {
    NameOID.COMMON_NAME: "CN",
    NameOID.COUNTRY_NAME: "C",
    NameOID.STATE_OR_PROVINCE_NAME: "ST",
    NameOID.LOCALITY_NAME: "L",
    NameOID.ORGANIZATION_NAME: "O",
    NameOID.ORGANIZATIONAL_UNIT_NAME: "OU",
    NameOID.STREET_ADDRESS: "STREET",
    NameOID.DOMAIN_COMPONENT: "DC",
    NameOID.USER_ID: "UID",
    NameOID.EMAIL_ADDRESS: "EMAIL",
    NameOID.SERIAL_NUMBER: "serialNumber",
    NameOID.TITLE: "title",
    NameOID.SURNAME: "surName",
    NameOID.GIVEN_NAME: "givenName",
    NameOID.INITIALS: "initials",
    NameOID.PSEUDONYM: "pseudonym",
    NameOID.GENERATION_QUALIFIER: "generationQualifier",
    NameOID.DN_QUALIFIER: "dnQualifier",
}


def _escape(value: str) -> str:
    out = []
    for i, ch in enumerate(value):
        if ch in ',+"\\<>;=' or (ch == "#" and i == 0) or (ch == " " and i in (0, len(value) - 1)):
            out.append("\\" + ch)
        else:
            out.append(ch)
    return "".join(out)


def gnutls_dn(name: x509.Name) -> str:
    """``gnutls_x509_crt_get_dn``'s string: RDNs in certificate order, joined by ``,``."""
    parts = []
    for rdn in name.rdns:
        attrs = []
        for attr in rdn:
            key = _SHORT.get(attr.oid, attr.oid.dotted_string)
            value = attr.value if isinstance(attr.value, str) else attr.value.hex()
            attrs.append(f"{key}={_escape(value)}")
        parts.append("+".join(attrs))
    return ",".join(parts)


def dn_allowed(dn: str, patterns: list[str] | tuple[str, ...] | None) -> bool:
    """libvirt's ``tls_allowed_dn_list``: None allows all, an empty list nobody, else fnmatch."""
    if patterns is None:
        return True
    return any(fnmatch.fnmatchcase(dn, p) for p in patterns)


def host_matches(cert: x509.Certificate, host: str) -> bool:
    """Does ``cert`` name ``host`` (SAN IP / DNS with ``*.`` wildcards; CN if no SAN DNS)?"""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        san = None
    try:
        ip = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        ip = None
    if ip is not None:
        return san is not None and ip in san.get_values_for_type(x509.IPAddress)
    names = san.get_values_for_type(x509.DNSName) if san is not None else []
    if not names:
        names = [a.value for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    host = host.lower().rstrip(".")
    for pattern in names:
        pattern = str(pattern).lower().rstrip(".")
        if pattern == host:
            return True
        if pattern.startswith("*.") and "." in host and host.split(".", 1)[1] == pattern[2:]:
            return True
    return False


# --- libvirt's certificate checks ----------------------------------------------------------


def check_certificate(
    cert: x509.Certificate, path: str, role: str, now: datetime.datetime | None = None
) -> list[Defect]:
    """virNetTLSContextCheckCert: ``role`` is "ca", "server" or "client"."""
    now = now or datetime.datetime.now(datetime.UTC)
    out: list[Defect] = []
    what = {"ca": "CA certificate", "server": "server certificate", "client": "client certificate"}
    if cert.not_valid_after_utc < now:
        out.append(Defect(path, f"the {what[role]} has expired "
                          f"(not after {cert.not_valid_after_utc:%Y-%m-%d %H:%M:%S} UTC)"))  # fmt: skip
    if cert.not_valid_before_utc > now:
        out.append(Defect(path, f"the {what[role]} is not yet active "
                          f"(not before {cert.not_valid_before_utc:%Y-%m-%d %H:%M:%S} UTC)"))  # fmt: skip
    try:
        bc = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
        is_ca = bc.ca
    except x509.ExtensionNotFound:
        bc, is_ca = None, False
    if role == "ca" and bc is None:
        out.append(Defect(path, "missing basic constraints for a CA"))
    elif role == "ca" and not is_ca:
        out.append(Defect(path, "basic constraints do not show a CA"))
    elif role != "ca" and is_ca:
        out.append(Defect(path, f"basic constraints show a CA, but we need one for a {role}"))
    try:
        ku_ext = cert.extensions.get_extension_for_class(x509.KeyUsage)
    except x509.ExtensionNotFound:
        ku_ext = None
    if ku_ext is not None:
        ku, critical = ku_ext.value, ku_ext.critical
        needs = (
            [("key_cert_sign", "certificate signing")]
            if role == "ca"
            else [("digital_signature", "digital signature"),
                  ("key_encipherment", "key encipherment")]
        )  # fmt: skip
        for attr, label in needs:
            if not getattr(ku, attr):
                out.append(Defect(path, f"key usage does not permit {label}", fatal=critical))
    if role != "ca":
        try:
            eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        except x509.ExtensionNotFound:
            eku = None
        if eku is not None:
            wanted = (
                ExtendedKeyUsageOID.SERVER_AUTH if role == "server"
                else ExtendedKeyUsageOID.CLIENT_AUTH
            )  # fmt: skip
            if wanted not in eku and ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE not in eku:
                # libvirt only warns when the extension is not critical, but OpenSSL (and
                # so this daemon, and GnuTLS peers that check purpose) refuse it: report it.
                out.append(Defect(path, f"purpose does not allow use as a TLS {role} "
                                  f"(extended key usage lacks {role}Auth)"))  # fmt: skip
    return out


def _issued_by(cert: x509.Certificate, ca: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _load_certs(path: Path) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(path.read_bytes())


def _key_matches(cert: x509.Certificate, key_path: Path) -> bool:
    key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    fmt = serialization.PublicFormat.SubjectPublicKeyInfo
    der = serialization.Encoding.DER
    return key.public_key().public_bytes(der, fmt) == cert.public_key().public_bytes(der, fmt)


def check_pki(
    ca_file: Path,
    pairs: list[tuple[str, Path, Path]],
    host: str | None = None,
    now: datetime.datetime | None = None,
) -> list[Defect]:
    """Check a CA file and (role, cert, key) pairs as libvirt and virt-pki-validate do.

    ``host``: the name clients will dial; the server certificate must name it.
    """
    out: list[Defect] = []
    cas: list[x509.Certificate] = []
    try:
        cas = _load_certs(ca_file)
    except FileNotFoundError:
        out.append(Defect(str(ca_file), "missing (the CA certificate)"))
    except (OSError, ValueError) as exc:
        out.append(Defect(str(ca_file), f"cannot read a PEM certificate: {exc}"))
    for ca in cas:
        out.extend(check_certificate(ca, str(ca_file), "ca", now))
    for role, cert_path, key_path in pairs:
        try:
            certs = _load_certs(cert_path)
        except FileNotFoundError:
            out.append(Defect(str(cert_path), f"missing (the {role} certificate)"))
            continue
        except (OSError, ValueError) as exc:
            out.append(Defect(str(cert_path), f"cannot read a PEM certificate: {exc}"))
            continue
        cert = certs[0]
        out.extend(check_certificate(cert, str(cert_path), role, now))
        if cas and not any(_issued_by(cert, ca) for ca in cas):
            out.append(Defect(str(cert_path), f"not signed by the CA in {ca_file}"))
        try:
            if not _key_matches(cert, key_path):
                out.append(Defect(str(key_path), f"private key does not match {cert_path.name}"))
            mode = key_path.stat().st_mode & 0o777
            if mode & 0o077:
                out.append(Defect(str(key_path),
                                  f"private key is readable by others (mode {mode:04o}; use 0600)",
                                  fatal=False))  # fmt: skip
        except FileNotFoundError:
            out.append(Defect(str(key_path), f"missing (the {role} private key)"))
        except (OSError, ValueError, TypeError) as exc:
            out.append(Defect(str(key_path), f"cannot read a private key: {exc}"))
        if role == "server" and host and not host_matches(cert, host):
            out.append(Defect(str(cert_path), f"no subject alternative name matches {host!r}"))
    return out


# --- the server side ----------------------------------------------------------------------


def server_context(files: TLSFiles, verify_client: bool = True) -> ssl.SSLContext:
    """TLS ≥ 1.2, our certificate, the CA (and CRL) to verify clients, certificates required."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    # No session tickets: libvirt's client polls once after the handshake and reads one
    # record expecting the confirmation byte; a TLS 1.3 NewSessionTicket arriving first
    # makes it fail with "Unable to read TLS confirmation: Resource temporarily unavailable".
    ctx.num_tickets = 0
    ctx.options |= ssl.OP_NO_TICKET
    ctx.load_cert_chain(os.fspath(files.cert), os.fspath(files.key))
    ctx.load_verify_locations(cafile=os.fspath(files.ca))
    if files.crl is not None:
        ctx.load_verify_locations(cafile=os.fspath(files.crl))
        ctx.verify_flags |= ssl.VERIFY_CRL_CHECK_LEAF
    # libvirt with tls_no_verify_certificate=1 ignores every client certificate problem;
    # not asking for one at all has the same effect with OpenSSL.
    ctx.verify_mode = ssl.CERT_REQUIRED if verify_client else ssl.CERT_NONE
    return ctx


def refusal_reason(
    der: bytes | None, allowed_dns: list[str] | tuple[str, ...] | None
) -> tuple[str, str | None]:
    """(DN, reason to refuse or None) for a verified client certificate in DER."""
    if der is None:
        return "", "the client sent no certificate"
    cert = x509.load_der_x509_certificate(der)
    dn = gnutls_dn(cert.subject)
    fatal = [d for d in check_certificate(cert, "[session]", "client") if d.fatal]
    if fatal:
        return dn, fatal[0].message
    if not dn_allowed(dn, allowed_dns):
        return dn, "the Distinguished Name is not on tls_allowed_dn_list"
    return dn, None
