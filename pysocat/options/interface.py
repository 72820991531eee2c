"""Options of network interfaces (socat's GROUP_INTERFACE, alias TUN).

``tun-*`` and ``iff-no-pi`` shape the TUNSETIFF request; the ``iff-*`` flags
are collected into a set mask and a clear mask (socat's OFUNC_OFFSET_MASKS:
``iff-up`` sets IFF_UP, ``iff-up=0`` clears it) and merged into the
interface's flags after it exists. The TUN opener reads all of them.
"""
from .table import OFFSET, opt

# iff-* option name -> (IFF_* bit, aliases), linux/if.h
IFF_FLAGS = {
    "iff-up": (0x1, ("up",)),
    "iff-broadcast": (0x2, ()),
    "iff-debug": (0x4, ()),
    "iff-loopback": (0x8, ("loopback",)),
    "iff-pointopoint": (0x10, ("pointopoint",)),
    "iff-notrailers": (0x20, ("notrailers",)),
    "iff-running": (0x40, ("running",)),
    "iff-noarp": (0x80, ("noarp",)),
    "iff-promisc": (0x100, ("promisc",)),
    "iff-allmulti": (0x200, ("allmulti",)),
    "iff-master": (0x400, ("master",)),
    "iff-slave": (0x800, ("slave",)),
    "iff-multicast": (0x1000, ("multicast",)),
    "iff-portsel": (0x2000, ("portsel",)),
    "iff-automedia": (0x4000, ("automedia",)),
}

opt("tun-device", "STRING", "INTERFACE", "OPEN", ("addr",),
    "the TUN cloning device (default /dev/net/tun)")
opt("tun-name", "STRING", "INTERFACE", "FD", ("addr",),
    "name of the network interface to create")
opt("interface-mtu", "UINT", "INTERFACE", "LATE", ("addr",),
    "the MTU of the new interface (set through rtnetlink)", ("if-mtu",), nick="if-mtu",
    since="1.8")
opt("retrieve-vlan", "CONST", "INTERFACE", "LATE", ("addr",),
    "INTERFACE: put the VLAN tag the kernel took off back into each frame read "
    "(PACKET_AUXDATA)", since="1.8")
opt("tun-type", "STRING", "INTERFACE", "FD", ("addr",),
    "tun (IP packets, default) or tap (Ethernet frames)", choices=("tun", "tap"))
opt("iff-no-pi", "BOOL", "INTERFACE", "FD", ("addr",),
    "no packet information header before each packet", ("no-pi", "tun-no-pi"), nick="no-pi")
for _name, (_bit, _aliases) in IFF_FLAGS.items():
    opt(_name, "BOOL", "INTERFACE", "FD", ("addr",),
        f"set (or with =0 clear) the interface flag IFF_{_name[4:].upper()}", _aliases,
        nick=_aliases[0] if _aliases and _name != "iff-multicast" else None,
        help18=OFFSET)
