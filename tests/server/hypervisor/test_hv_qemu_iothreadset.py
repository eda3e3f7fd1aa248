"""QEMU hosts: ``iothreadset`` (qemuDomainSetIOThreadParams) and ``domstats --iothread``."""

from __future__ import annotations

import pytest
from virtwire.protocol import typed_params as tp
from virtwire.protocol.errors import ErrorCode, ErrorDomain, LibvirtError

LIVE, CONFIG = 1, 2
STATS_IOTHREAD = 0x80
GUEST = (
    "<domain type='kvm'><name>io</name><memory unit='KiB'>1048576</memory><vcpu>2</vcpu>"
    "<iothreads>2</iothreads><os><type>hvm</type></os><devices/></domain>"
)
TYPES = {"poll_max_ns": tp.ULLONG, "poll_grow": tp.UINT, "poll_shrink": tp.UINT,
         "thread_pool_min": tp.INT, "thread_pool_max": tp.INT}  # fmt: skip


def params(**values: int) -> list:
    return tp.to_wire(values, TYPES)


def err(exc_info) -> tuple[int, int, str]:
    e = exc_info.value
    return int(e.code), int(e.domain), e.message


@pytest.fixture
def drv(registry):
    return registry.open("qemu:///system")


@pytest.fixture
def dom(drv):
    return drv.domain_define_xml_flags(GUEST)


def iothread_stats(drv, dom) -> dict:
    (record,) = drv.connect_get_all_domain_stats([dom], STATS_IOTHREAD)
    return tp.from_wire(record.params)


def test_polling_is_live_and_shows_in_domstats(drv, dom):
    assert iothread_stats(drv, dom) == {}  # inactive: no group
    drv.domain_create(dom)
    assert iothread_stats(drv, dom) == {
        "iothread.count": 2,
        "iothread.1.poll-max-ns": 32768, "iothread.1.poll-grow": 0, "iothread.1.poll-shrink": 0,
        "iothread.2.poll-max-ns": 32768, "iothread.2.poll-grow": 0, "iothread.2.poll-shrink": 0,
    }  # fmt: skip
    drv.domain_set_io_thread_params(dom, 2, params(poll_max_ns=4000, poll_grow=2), 0)
    stats = iothread_stats(drv, dom)
    assert (stats["iothread.2.poll-max-ns"], stats["iothread.2.poll-grow"]) == (4000, 2)
    assert stats["iothread.1.poll-max-ns"] == 32768
    xml = drv.domain_get_xml_desc(dom, 0)
    assert "<iothreads>2</iothreads>" in xml and "iothreadids" not in xml  # nothing in the XML
    drv.domain_destroy(dom)
    drv.domain_create(dom)  # a new QEMU starts from its defaults
    assert iothread_stats(drv, dom)["iothread.2.poll-max-ns"] == 32768


def test_polling_cannot_be_persistent(drv, dom):
    with pytest.raises(LibvirtError) as exc:
        drv.domain_set_io_thread_params(dom, 1, params(poll_max_ns=10), 0)  # inactive: config
    assert err(exc) == (ErrorCode.OPERATION_UNSUPPORTED, ErrorDomain.QEMU,
                        "Operation not supported: configuring persistent polling values "
                        "is not supported")  # fmt: skip
    drv.domain_create(dom)
    with pytest.raises(LibvirtError) as exc:
        drv.domain_set_io_thread_params(dom, 1, params(poll_grow=3), LIVE | CONFIG)
    assert err(exc)[0] == ErrorCode.OPERATION_UNSUPPORTED
    assert iothread_stats(drv, dom)["iothread.1.poll-grow"] == 0  # nothing changed live


def test_thread_pool_is_written_to_the_definitions(drv, dom):
    drv.domain_set_io_thread_params(dom, 2, params(thread_pool_min=1, thread_pool_max=8), CONFIG)
    assert (
        "<iothreads>2</iothreads>\n  <iothreadids>\n    <iothread id='1'/>\n"
        "    <iothread id='2' thread_pool_min='1' thread_pool_max='8'/>\n  </iothreadids>"
    ) in drv.domain_get_xml_desc(dom, CONFIG)
    drv.domain_set_io_thread_params(dom, 2, params(thread_pool_min=-1), CONFIG)  # unset
    assert "<iothread id='2' thread_pool_max='8'/>" in drv.domain_get_xml_desc(dom, CONFIG)
    drv.domain_create(dom)
    drv.domain_set_io_thread_params(dom, 2, params(thread_pool_min=2, poll_shrink=4), LIVE)
    live = drv.domain_get_xml_desc(dom, 0)
    assert "<iothread id='2' thread_pool_min='2' thread_pool_max='8'/>" in live
    assert "<iothread id='2' thread_pool_max='8'/>" in drv.domain_get_xml_desc(dom, CONFIG)
    assert iothread_stats(drv, dom)["iothread.2.poll-shrink"] == 4
    drv.domain_add_io_thread(dom, 3, LIVE)  # the other entries keep their attributes
    assert "<iothread id='2' thread_pool_min='2' thread_pool_max='8'/>" in (
        drv.domain_get_xml_desc(dom, 0)
    )
    assert iothread_stats(drv, dom)["iothread.count"] == 3


@pytest.mark.parametrize(
    ("values", "flags", "code", "text"),
    [
        ({"poll_max_ns": 2**31}, LIVE, ErrorCode.CONFIG_UNSUPPORTED,
         "unsupported configuration: poll-max-ns (2147483648) must be less than or equal to "
         "2147483647"),
        ({"poll_grow": 2**31}, LIVE, ErrorCode.CONFIG_UNSUPPORTED,
         "unsupported configuration: poll-grow (2147483648) must be less than or equal to "
         "2147483647"),
        ({"poll_shrink": 2**32 - 1}, LIVE, ErrorCode.CONFIG_UNSUPPORTED,
         "unsupported configuration: poll-shrink (4294967295) must be less than or equal to "
         "2147483647"),
        ({"thread_pool_min": -2}, LIVE, ErrorCode.CONFIG_UNSUPPORTED,
         "unsupported configuration: thread_pool_min (-2) must be equal to or greater than -1"),
        ({"thread_pool_max": 0}, LIVE, ErrorCode.CONFIG_UNSUPPORTED,
         "unsupported configuration: thread_pool_max (0) must be a positive number or -1"),
        ({"thread_pool_max": -1}, LIVE, ErrorCode.OPERATION_INVALID,
         "Requested operation is not valid: thread_pool_max (-1) must be equal to or greater "
         "than 0 for live change"),
        ({"thread_pool_min": 3}, CONFIG, ErrorCode.OPERATION_INVALID,
         "Requested operation is not valid: thread_pool_min (3) can't be greater than "
         "thread_pool_max (-1)"),
        ({"thread_pool_min": 5, "thread_pool_max": 4}, LIVE, ErrorCode.OPERATION_INVALID,
         "Requested operation is not valid: thread_pool_min (5) can't be greater than "
         "thread_pool_max (4)"),
    ],
)  # fmt: skip
def test_ranges_as_libvirt(drv, dom, values, flags, code, text):
    drv.domain_create(dom)
    with pytest.raises(LibvirtError) as exc:
        drv.domain_set_io_thread_params(dom, 1, params(**values), flags)
    assert err(exc) == (code, ErrorDomain.QEMU, text)


def test_ids_state_and_types(drv, dom):
    cases = [
        (0, params(poll_grow=1), LIVE, (ErrorCode.INVALID_ARG, ErrorDomain.QEMU,
                                        "invalid argument: invalid value of 0 for iothread_id")),
        (1, params(poll_grow=1), LIVE, (ErrorCode.OPERATION_INVALID, ErrorDomain.DOMAIN,
                                        "Requested operation is not valid: domain is not running")),
        (7, params(thread_pool_max=2), CONFIG, (ErrorCode.INVALID_ARG, ErrorDomain.QEMU,
                                                "invalid argument: cannot find IOThread '7' in "
                                                "iothreadids")),
        (1, tp.to_wire({"poll_grow": 1}, {"poll_grow": tp.ULLONG}), LIVE,
         (ErrorCode.INVALID_ARG, ErrorDomain.NONE, "invalid argument: invalid type 'ullong' for "
                                                   "parameter 'poll_grow', expected 'uint'")),
        (1, tp.to_wire({"aio_max_batch": 1}, {"aio_max_batch": tp.UINT}), LIVE,
         (ErrorCode.INVALID_ARG, ErrorDomain.NONE,
          "invalid argument: parameter 'aio_max_batch' not supported")),
    ]  # fmt: skip
    for tid, plist, flags, expected in cases:
        with pytest.raises(LibvirtError) as exc:
            drv.domain_set_io_thread_params(dom, tid, plist, flags)
        assert err(exc) == expected, tid
    drv.domain_create(dom)
    with pytest.raises(LibvirtError) as exc:
        drv.domain_set_io_thread_params(dom, 9, params(poll_grow=1), LIVE)
    assert err(exc)[2] == "invalid argument: cannot find IOThread '9' in iothreadids"
    with pytest.raises(LibvirtError) as exc:
        drv.domain_set_io_thread_params(dom, 1, params(), 4)
    assert err(exc)[0] == ErrorCode.INVALID_ARG  # virCheckFlags


def test_deleted_iothread_loses_its_polling(drv, dom):
    drv.domain_create(dom)
    drv.domain_set_io_thread_params(dom, 2, params(poll_max_ns=1), LIVE)
    drv.domain_del_io_thread(dom, 2, LIVE)
    assert "iothread.2.poll-max-ns" not in iothread_stats(drv, dom)
    drv.domain_add_io_thread(dom, 2, LIVE)
    assert iothread_stats(drv, dom)["iothread.2.poll-max-ns"] == 32768
