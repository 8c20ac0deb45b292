"""What rabbitmqctl does that a caller must know, written once for the ctl transport.

Each entry names the RabbitMQ versions it was seen on (3.10.8 and 4.0.5 on this project's nodes).
"""

from __future__ import annotations

#: Words in rabbitmqctl's stderr meaning "no such object" (a delete then reached its goal). 3.10.8 says
#: "not found" / "does not exist"; errors from ``rabbit_*`` modules print ``no_such``/``not_found`` atoms.
NOT_FOUND_MARKERS = ("not found", "does not exist", "no_such", "not_found")
#: Words meaning the node could not be reached at all (``ConnectionFailed``, exit 3).
UNREACHABLE_MARKERS = ("unable to perform an operation on node", "nodedown", "unable to connect to node")
