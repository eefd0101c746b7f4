"""A small ``org.freedesktop.Notifications`` service for tests (run as a process).

It owns the name on the session bus, answers ``Notify`` (checking the spec's signature
``susssasa{sv}i`` as GDBus-based services do) and prints each call as a JSON line on
stdout; a line ``invoke ID KEY`` on stdin emits ``ActionInvoked(ID, KEY)``.
``GetCapabilities`` answers the comma-separated ``FAKE_NOTIFY_CAPS`` (default: body,
body-markup, actions).
The first stdout line is ``{"ready": true}`` once the name is owned.
"""

from __future__ import annotations

import json
import os
import sys
import threading

from jeepney import HeaderFields, MessageType, new_error, new_method_return, new_signal
from jeepney.bus_messages import DBusNameFlags, message_bus
from jeepney.io.blocking import open_dbus_connection
from jeepney.wrappers import DBusAddress

PATH = "/org/freedesktop/Notifications"
IFACE = "org.freedesktop.Notifications"
SIGNATURE = "susssasa{sv}i"


def main() -> None:
    conn = open_dbus_connection(bus="SESSION")
    lock = threading.Lock()
    reply = conn.send_and_get_reply(message_bus.RequestName(IFACE, DBusNameFlags.do_not_queue))
    if reply.body[0] != 1:
        print(json.dumps({"ready": False, "code": reply.body[0]}), flush=True)
        return
    print(json.dumps({"ready": True}), flush=True)
    emitter = DBusAddress(PATH, interface=IFACE)

    def commands() -> None:
        for line in sys.stdin:
            parts = line.split()
            if len(parts) == 3 and parts[0] == "invoke":
                sig = new_signal(emitter, "ActionInvoked", "us", (int(parts[1]), parts[2]))
                with lock:
                    conn.send(sig)

    threading.Thread(target=commands, daemon=True).start()
    next_id = 0
    while True:
        msg = conn.receive()
        if msg.header.message_type is not MessageType.method_call:
            continue
        member = msg.header.fields.get(HeaderFields.member)
        signature = msg.header.fields.get(HeaderFields.signature, "")
        if member == "Notify" and signature == SIGNATURE:
            next_id += 1
            app, replaces, icon, summary, body, actions, hints, timeout = msg.body
            print(
                json.dumps(
                    {
                        "id": next_id,
                        "app_name": app,
                        "replaces_id": replaces,
                        "app_icon": icon,
                        "summary": summary,
                        "body": body,
                        "actions": actions,
                        "hints": {k: [sig, val] for k, (sig, val) in hints.items()},
                        "timeout": timeout,
                    }
                ),
                flush=True,
            )
            out = new_method_return(msg, "u", (next_id,))
        elif member == "GetCapabilities":
            caps = os.environ.get("FAKE_NOTIFY_CAPS", "body,body-markup,actions").split(",")
            out = new_method_return(msg, "as", ([c for c in caps if c],))
        elif member == "Notify":
            out = new_error(
                msg, "org.freedesktop.DBus.Error.InvalidArgs", "s", (f"signature {signature}",)
            )
        else:
            out = new_error(msg, "org.freedesktop.DBus.Error.UnknownMethod", "s", (member,))
        with lock:
            conn.send(out)


if __name__ == "__main__":
    main()
